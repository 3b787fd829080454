"""Issue 15: from a workspace to xen-devel: changelogs, mail options, threading, send, export, b4."""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import am_series, git, porter, porter_json
from tests.minirepos import learned_workspace as make_ws

SENDER = "Sam Sender <sam@example.net>"


def files_of(rev: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(rev.iterdir())}


def header(text: str, name: str) -> str:
    m = re.search(rf"^{name}: (.*(?:\n[ \t].*)*)", text.split("\n\n", 1)[0], re.MULTILINE)
    return re.sub(r"\n[ \t]+", " ", m.group(1)) if m else ""


def test_rfc_v1_sender_date_and_thread(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    code, out = porter("resync", "--from", "t1", "--rfc", "-v", "1", "--sender", SENDER, cwd=ws)
    assert code == 0, out
    rev = ws / "series/foo/v1"
    texts = [p.read_text() for p in sorted(rev.iterdir())]
    cover = texts[0]
    assert header(cover, "Subject") == "[RFC PATCH v1 0/4] Add foo support"
    assert header(cover, "From") == SENDER
    assert header(cover, "Date") == "Tue, 14 Nov 2023 22:13:20 +0000"     # SOURCE_DATE_EPOCH (conftest)
    assert all(header(t, "Subject").startswith("[RFC PATCH v1 ") for t in texts)
    assert header(texts[1], "From") == "Tess Tester <tess@example.org>"     # patches keep their author
    ids = [header(t, "Message-Id") for t in texts]
    assert len(set(ids)) == 5 and all(re.fullmatch(r"<porter-foo-v1-\d-[0-9a-f]{16}@example\.net>", i) for i in ids)
    for t in texts[1:]:
        assert header(t, "In-Reply-To") == ids[0] and header(t, "References") == ids[0]
    assert not header(cover, "In-Reply-To")
    # git format-patch --thread's place: right after the "From <sha> <magic date>" line
    assert all(t.split("\n")[1].startswith("Message-Id: <") for t in texts)
    # the same inputs elsewhere give the same bytes; check regenerates them exactly
    other = make_ws(tmp_path, repos, "other")
    assert porter("resync", "--from", "t1", "--rfc", "-v", "1", "--sender", SENDER, cwd=other)[0] == 0
    assert files_of(rev) == files_of(other / "series/foo/v1")
    code, out = porter("check", cwd=ws)
    assert code == 0, out
    # git am takes the files as they are
    up, xen = repos
    assert len(am_series(xen, "base", rev, tmp_path / "am")) == 4


def test_date_is_now_without_source_date_epoch(tmp_path, repos, monkeypatch):
    monkeypatch.delenv("SOURCE_DATE_EPOCH")
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", "--sender", SENDER, cwd=ws)[0] == 0
    cover = (ws / "series/foo/v1/0000-cover-letter.patch").read_text()
    import time
    from email.utils import parsedate_to_datetime
    assert abs(parsedate_to_datetime(header(cover, "Date")).timestamp() - time.time()) < 120
    assert porter("check", cwd=ws)[0] == 0         # check keeps the date the revision was written with


def test_changelog_notes_per_patch_and_refresh_in_place(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    recipe = ws / "series/foo/recipe.toml"
    recipe.write_text(recipe.read_text().replace('subject_prefix = "PATCH"', 'subject_prefix = "RFC PATCH"')
                      + '\n[changes.v2]\ncover = ["Address the review of v1"]\n2 = ["Keep foo_reset out of the build"]\n')
    assert porter("resync", "--from", "t1", "--sender", SENDER, cwd=ws)[0] == 0
    assert porter_json("resync", "--from", "t2", cwd=ws)[1]["revision"] == "v2"
    rev = ws / "series/foo/v2"
    cover = (rev / "0000-cover-letter.patch").read_text()
    assert header(cover, "Subject").startswith("[RFC PATCH v2 0/4]")      # the prefix keeps the changelog
    section = cover.split("Changes since v1:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert section[0] == "  - Address the review of v1"                   # the author's words first
    assert "  - Rebase on upstream t2 (v1 was on t1)" in section
    port = next(rev.glob("0002-*")).read_text()
    block = port.split("\n---\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert block[:2] == ["Changes in v2:", "- Keep foo_reset out of the build"]
    assert "- Disable new upstream code that uses Linux-only API (kept under #if 0)" in block
    first = next(rev.glob("0001-*")).read_text()
    sha = git(repos[0], "rev-parse", "--short=12", "t2")
    assert f'- Follow upstream commit {sha} ("foo: add foo_reset")' in first
    build = next(rev.glob("0003-*")).read_text()
    assert "Changes in v2" not in build                                   # nothing changed there
    assert porter("check", cwd=ws)[0] == 0
    # a note written after the fact: resync rewrites v2 in place (same patches), check agrees
    recipe.write_text(recipe.read_text() + '3 = ["Build it only with CONFIG_FOO"]\n')
    assert porter("check", cwd=ws)[0] == 1
    code, res = porter_json("resync", "--from", "t2", cwd=ws)
    assert res["revision"] == "v2" and res["refreshed"], res
    assert "- Build it only with CONFIG_FOO" in next(rev.glob("0003-*")).read_text()
    assert not (ws / "series/foo/v3").exists()
    assert porter("check", cwd=ws)[0] == 0
    # v3 keeps the older "Changes in v2" below its own, as xen-devel patches do
    (ws / "series/foo/steps" / sorted(os.listdir(ws / "series/foo/steps"))[3] / "message").write_text(
        "iommu/arm: foo: Track coherency\n\nSay why.\n\nSigned-off-by: Tess Tester <tess@example.org>\n")
    assert porter_json("resync", "--from", "t2", cwd=ws)[1]["revision"] == "v3"
    carry = next((ws / "series/foo/v3").glob("0004-*")).read_text()
    assert re.search(r"\n---\nChanges in v3:\n- Reword the commit message\n\n", carry)
    port3 = next((ws / "series/foo/v3").glob("0002-*")).read_text()
    assert "\n---\nChanges in v2:\n- Keep foo_reset out of the build\n" in port3


def test_explicit_version_must_not_go_back(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    assert porter("resync", "--from", "t2", cwd=ws)[0] in (0, 1)
    code, out = porter("resync", "--from", "t1", "-v", "1", cwd=ws)
    assert code == 2 and "already has v2" in out and len(out.strip().splitlines()) == 1
    code, out = porter("resync", "--from", "t1", "--subject-prefix", "PATCH]x", cwd=ws)
    assert code == 2 and "invalid subject prefix" in out


@pytest.mark.skipif(not os.path.exists(
    os.path.join(subprocess.run(["git", "--exec-path"], capture_output=True, text=True).stdout.strip(),
                 "git-send-email")), reason="git send-email not installed")
def test_send_dry_run_uses_the_cover_recipients(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", "--sender", SENDER, cwd=ws)[0] == 0
    code, doc = porter_json("send", "--dry-run", "--cc", "Extra Reviewer <extra@example.com>", cwd=ws / "series")
    assert code == 0, doc
    out = doc["output"]
    assert out.count("Result: OK") == 5
    assert "RCPT TO:<devel@lists.example.org>" in out and "RCPT TO:<alice@example.org>" in out
    assert "RCPT TO:<extra@example.com>" in out and "MAIL FROM:<sam@example.net>" in out
    cover_id = header((ws / "series/foo/v1/0000-cover-letter.patch").read_text(), "Message-Id")
    assert f"Message-Id: {cover_id}" in out and out.count(f"In-Reply-To: {cover_id}") == 4
    assert "--dry-run" in doc["command"] and not any(";" in a for a in doc["command"])
    code, out = porter("send", "--dry-run", "--to", "--smtp-server=evil", cwd=ws)
    assert code == 2 and "invalid address" in out
    # a reply to the previous posting: only the cover letter answers it, the patches answer the cover
    code, doc = porter_json("send", "v1", "--dry-run", "--in-reply-to", "<v0-cover@example.net>", cwd=ws)
    assert code == 0, doc
    assert doc["output"].count("In-Reply-To: <v0-cover@example.net>") == 1
    assert doc["output"].count(f"In-Reply-To: {cover_id}") == 4
    assert header((ws / "series/foo/v1/0000-cover-letter.patch").read_text(), "In-Reply-To") == ""
    code, out = porter("send", "--dry-run", "--in-reply-to", "not an id", cwd=ws)
    assert code == 2 and "invalid Message-Id" in out


def test_export_makes_a_branch_with_the_port_trees(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", "--sender", SENDER, cwd=ws)[0] == 0
    code, doc = porter_json("export", cwd=ws)
    assert code == 0 and doc["branch"] == "porter/foo/v1" and doc["patches"] == 4, doc
    cache = ws / ".porter/xen.git"
    trees = [git(cache, "rev-parse", f"{c}^{{tree}}") for c in
             git(cache, "rev-list", "--reverse", "base..porter/foo/v1").split()]
    assert trees == [git(xen, "rev-parse", f"{c}^{{tree}}") for c in git(xen, "rev-list", "--reverse", "base..port").split()]
    code, out = porter("export", cwd=ws)
    assert code == 2 and "--force" in out
    target = tmp_path / "mine"
    git(tmp_path, "init", "-q", str(target))
    code, again = porter_json("export", "v1", "--repo", target, "-b", "ipmmu", cwd=ws)
    assert code == 0 and again["commit"] == doc["commit"]           # the same revision, the same commits
    assert git(target, "rev-parse", "ipmmu") == doc["commit"]


def test_b4_am_applies_the_generated_series(tmp_path, repos, monkeypatch):
    b4 = Path(sys.executable).parent / "b4"
    if not b4.exists() and not shutil.which("b4"):
        pytest.skip("b4 is not installed (pip install b4)")
    b4 = str(b4) if b4.exists() else shutil.which("b4")
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", "--sender", SENDER, cwd=ws)[0] == 0
    rev = ws / "series/foo/v1"
    mbox = tmp_path / "thread.mbox"
    mbox.write_bytes(b"".join(p.read_bytes() for p in sorted(rev.iterdir())))
    cover_id = header((rev / "0000-cover-letter.patch").read_text(), "Message-Id").strip("<>")
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"),
               XDG_DATA_HOME=str(home / ".local"), XDG_CACHE_HOME=str(home / ".cache"))
    dest = tmp_path / "am"
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(xen), str(dest)], check=True)
    git(dest, "checkout", "-q", "--detach", "base")
    proc = subprocess.run([b4, "-n", "am", "-m", str(mbox), "-o", str(tmp_path / "b4"), cover_id],
                          cwd=dest, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert "Total patches: 4" in proc.stdout + proc.stderr
    (mbx,) = (tmp_path / "b4").glob("*.mbx")
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(dest), "am", "-q",
                    str(mbx)], check=True, capture_output=True)
    assert git(dest, "rev-parse", "HEAD^{tree}") == git(xen, "rev-parse", "port^{tree}")


def test_status_from_a_subdirectory(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    sub = ws / "series/foo/steps"
    code, doc = porter_json("status", cwd=sub)
    assert code == 0 and doc["revisions"] == [] and doc["next"] == "porter resync --from t1"
    assert doc["recipe"]["kinds"] == {"import": 1, "port": 2, "build": 1}
    assert porter("resync", "--from", "t1", "--rfc", "--sender", SENDER, cwd=sub)[0] == 0
    code, out = porter("status", cwd=sub)
    assert code == 0 and "v1: [RFC PATCH] 4 patches + cover letter from t1" in out
    assert "porter send v1 --dry-run" in out


def test_non_ascii_sender_round_trips_through_check(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    sender = "Jürgen Groß <jgross@example.org>"
    assert porter("resync", "--from", "t1", "--sender", sender, cwd=ws)[0] == 0
    cover = (ws / "series/foo/v1/0000-cover-letter.patch").read_text()
    assert f"\nFrom: {sender}\n" in cover
    code, out = porter("check", cwd=ws)
    assert code == 0, out
    code, doc = porter_json("status", cwd=ws)
    assert doc["revisions"][0]["sender"] == sender
