"""revision.py: the cover letter's header and blurb, dates in any zone, release and recipients."""
import re
import subprocess

import pytest

from porter import mail, revision
from porter.errors import Findings
from tests import minirepos
from tests.helpers import git, porter, porter_json


@pytest.mark.parametrize("epoch,expected", [
    ("1600000480", "Sun, 13 Sep 2020 12:34:40 +0000"),
    ("1583020800", "Sun, 1 Mar 2020 00:00:00 +0000"),
    ("951782400", "Tue, 29 Feb 2000 00:00:00 +0000"),
])
def test_cover_date_is_source_date_epoch_as_git_prints_it(tmp_path, monkeypatch, epoch, expected):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
    assert mail.now_rfc2822() == expected
    git(tmp_path, "init", "-q", "r")
    env = {"GIT_AUTHOR_DATE": f"{epoch} +0000", "GIT_COMMITTER_DATE": f"{epoch} +0000",
           "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    subprocess.run(["git", "-C", str(tmp_path / "r"), "-c", "user.name=a", "-c", "user.email=a@b", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True, env=env)
    assert git(tmp_path / "r", "log", "-1", "--format=%aD") == expected


@pytest.fixture
def ws(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    return ws, up, xen


def header(text):
    return text.split("\n\n", 1)[0]


def test_cover_letter_date_subject_base_and_prerequisites(ws, monkeypatch):
    ws, up, xen = ws
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1600000480")
    recipe = ws / "series/foo/recipe.toml"
    text = recipe.read_text()
    last = text.rindex('date = "1600000480 +0100"')
    recipe.write_text(text[:last] + 'date = "1600000480 -0330"' + text[last + len('date = "1600000480 +0100"'):])
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    rev = ws / "series/foo/v1"
    cover = (rev / "0000-cover-letter.patch").read_text()
    last_patch = (rev / "0004-iommu-arm-foo-Track-coherency.patch").read_text()
    # the cover letter is dated when it is made (SOURCE_DATE_EPOCH), the patches keep their commits' zones
    assert "\nDate: Sun, 13 Sep 2020 12:34:40 +0000\n" in header(cover)
    assert "\nDate: Sun, 13 Sep 2020 09:04:40 -0330\n" in header(last_patch)
    first = (rev / "0001-iommu-arm-foo-Add-foo-support.patch").read_text()
    assert "\nDate: Sun, 13 Sep 2020 13:31:40 +0100\n" in header(first)
    assert "\nSubject: [PATCH 0/4] Add foo support\n" in header(cover)
    base = git(xen, "rev-parse", "base")
    release = git(xen, "rev-parse", "base~1")
    blurb = cover.split("\n\n", 1)[1]
    assert f"\nBase: {base[:12]} (\"xen: add xzalloc_bytes\")\n" in blurb
    assert (f"\nThis series depends on 1 patch on top of Xen 4.9.0 ({release[:12]}), not yet upstream:\n"
            f"  {base[:12]} xen: add xzalloc_bytes\n") in blurb
    tag_sha = git(up, "rev-parse", "t1")
    assert (f"\nUpstream: https://example.org/foo.git tag t1\n"
            f"  drivers/iommu/foo.c: commit {tag_sha[:12]} (\"foo: first release\")\n") in blurb
    assert f"\nbase-commit: {release}\n" in cover
    assert "*** SUBJECT HERE ***" not in cover and "*** BLURB HERE ***" not in cover
    assert revision.cover_tag({p.name: p.read_bytes() for p in rev.iterdir()}, "v1") == "t1"


def test_recipients_merge_recipe_and_maintainers_without_repeats(ws):
    ws, up, xen = ws
    recipe = ws / "series/foo/recipe.toml"
    text = recipe.read_text().replace(
        "to = []", 'to = ["Xen Devel <xen-devel@example.org>", "DEVEL@lists.example.org"]').replace(
        "cc = []", 'cc = ["Bob <bob@example.org>", "alice arm <ALICE@example.org>"]')
    recipe.write_text(text)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    head = header((ws / "series/foo/v1/0000-cover-letter.patch").read_text())
    to = re.search(r"^To: (.*(?:\n .*)*)", head, re.M).group(1).replace("\n", "")
    cc = re.search(r"^Cc: (.*(?:\n .*)*)", head, re.M).group(1).replace("\n", "")
    assert [a.strip() for a in to.split(",")] == ["Xen Devel <xen-devel@example.org>", "DEVEL@lists.example.org"]
    assert [a.strip() for a in cc.split(",")] == ["Bob <bob@example.org>", "alice arm <ALICE@example.org>"]


def test_second_revision_subject_prefix(ws):
    ws, up, xen = ws
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    code, res = porter_json("resync", "--from", "t2", cwd=ws)
    assert res["revision"] == "v2"
    cover = (ws / "series/foo/v2/0000-cover-letter.patch").read_text()
    assert "\nSubject: [PATCH v2 0/4] Add foo support\n" in header(cover)
    assert revision.cover_tag({"0000-cover-letter.patch": cover.encode()}, "v2") == "t2"
    assert "\nChanges since v1:\n  - Rebase on upstream t2 (v1 was on t1)\n" in cover


def test_release_named_in_porter_toml_wins(ws):
    ws, up, xen = ws
    toml = ws / "porter.toml"
    toml.write_text(toml.read_text().replace('base = "base"', 'base = "base"\nrelease = "base"'))
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    cover = (ws / "series/foo/v1/0000-cover-letter.patch").read_text()
    base = git(xen, "rev-parse", "base")
    assert "\nNo prerequisite patches between the Xen release and the base were found.\n" in cover
    assert f"\nbase-commit: {base}\n" in cover and "prerequisite-patch-id" not in cover


def test_release_falls_back_to_the_base(tmp_path):
    repo = tmp_path / "x"
    git(tmp_path, "init", "-q", "-b", "master", str(repo))
    for n, subject in enumerate(["start", "Merge 4.9 branch", "Add 4.9.0 releases notes"]):
        minirepos.write(repo, f"f{n}", b"x")
        minirepos.commit(repo, subject, n)
    head = git(repo, "rev-parse", "HEAD")
    assert revision._find_release(str(repo), head, None) == revision.Release(head, "the base", found=False)
    minirepos.write(repo, "g", b"y")
    minirepos.commit(repo, "Merge branch 'stable' into 4.10.1 release", 9)
    minirepos.write(repo, "h", b"z")
    minirepos.commit(repo, "later work", 10)
    tip, rel = git(repo, "rev-parse", "HEAD"), git(repo, "rev-parse", "HEAD~1")
    assert revision._find_release(str(repo), tip, None) == revision.Release(rel, "Xen 4.10.1")
    assert revision.prerequisites(str(repo), rel, tip) == ({"sha": tip, "subject": "later work"},)


@pytest.mark.parametrize("files,message", [
    ({"0001-x.patch": b""}, "v3: the cover letter 0000-cover-letter.patch is missing"),
    ({"0000-cover-letter.patch": b"Upstream: x tag\n"}, "v3/0000-cover-letter.patch: no 'Upstream: <tree> tag <TAG>' line"),
])
def test_cover_tag_errors(files, message):
    with pytest.raises(Findings, match=re.escape(message)):
        revision.cover_tag(files, "v3")


@pytest.mark.parametrize("count,line", [
    (1, "This series depends on 1 patch on top of Xen 4.9.0 (aaaaaaaaaaaa), not yet upstream:"),
    (2, "This series depends on 2 patches on top of Xen 4.9.0 (aaaaaaaaaaaa), not yet upstream:"),
])
def test_cover_template_counts_prerequisites(count, line):
    text = revision._templates().get_template("cover.txt.j2").render(
        purpose="", tree="t", tag="v1", provenance=[], base="b" * 40, base_subject="s",
        prerequisites=[{"sha": f"{i}" * 40, "subject": f"p{i}"} for i in range(count)],
        release="a" * 40, release_name="Xen 4.9.0", changes=[], previous=0)
    assert line in text.splitlines()
    assert [ln for ln in text.splitlines() if ln.startswith("  ")] == [f"  {str(i) * 12} p{i}" for i in range(count)]
    assert "Changes since" not in text


@pytest.mark.parametrize("raw,expected", [
    ("1600000480 +0100", "Sun, 13 Sep 2020 13:34:40 +0100"),
    ("1600000480 -0330", "Sun, 13 Sep 2020 09:04:40 -0330"),
    ("1600000480 +0530", "Sun, 13 Sep 2020 18:04:40 +0530"),
    ("1600000480 +1400", "Mon, 14 Sep 2020 02:34:40 +1400"),
    ("1600000480 -1200", "Sun, 13 Sep 2020 00:34:40 -1200"),
    ("1583020800 -0100", "Sat, 29 Feb 2020 23:00:00 -0100"),
])
def test_rfc2822_in_any_zone_as_git_prints_it(raw, expected):
    """Each expected string is what `git log --format=%aD` prints for a commit dated raw."""
    assert mail.rfc2822(raw) == expected
