"""Issue 16: a warm resync reuses .porter/memo/, and what it reuses is exactly what it would compute."""
import json
import shutil
import tempfile

import pytest

from porter import linux_changes, memo, review, series
from tests import minirepos
from tests.helpers import git, porter, porter_json
from tests.minirepos import learned_workspace as make_ws


def files(rev):
    return {p.name: p.read_bytes() for p in sorted(rev.iterdir())}


def computed_nothing(monkeypatch):
    """Make every memoized computation fail the test when it runs."""
    def refuse(*a, **k):
        raise AssertionError("computed again although the memo holds it")
    for mod, name in ((series, "build"), (linux_changes, "for_revision"), (review, "reviewed_patches")):
        monkeypatch.setattr(mod, name, refuse)


def new_tag(up):
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T1.replace(
        b"#define FOO_CTRL\t0x10\n", b"#define FOO_CTRL\t0x10\n#define FOO_IRQ\t0x18\n"))
    minirepos.commit(up, "foo: name the irq register", 9)
    git(up, "tag", "t4")


def test_a_warm_resync_computes_nothing_again_and_writes_the_same_bytes(tmp_path, repos, monkeypatch):
    ws, fresh = make_ws(tmp_path, repos, "a"), make_ws(tmp_path, repos, "b")
    for w in (ws, fresh):
        assert porter("resync", "--from", "t1", cwd=w)[0] == 0
    new_tag(repos[0])
    assert porter("resync", "--from", "t4", cwd=fresh)[0] == 0
    first = porter_json("resync", "--from", "t4", cwd=ws)
    v1, v2 = files(ws / "series/foo/v1"), files(ws / "series/foo/v2")
    assert {p.name for p in (ws / ".porter/memo").iterdir()} >= {"build", "format-patch", "linux-changes",
                                                                  "review", "cover"}
    with monkeypatch.context() as m:
        computed_nothing(m)
        shutil.rmtree(ws / "series/foo/v2")
        again = porter_json("resync", "--from", "t4", cwd=ws)
        assert again == first
        assert files(ws / "series/foo/v2") == v2
        shutil.rmtree(ws / "series/foo/v2")
        shutil.rmtree(ws / "series/foo/v1")
        assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
        assert files(ws / "series/foo/v1") == v1
    # the same bytes as a workspace that never had a memo hit
    assert files(fresh / "series/foo/v2") == v2
    # what the memo stores is what it computes: compute it again and compare
    shutil.rmtree(ws / ".porter/memo")
    shutil.rmtree(ws / "series/foo/v1")
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    assert files(ws / "series/foo/v1") == v1


def test_a_changed_input_is_a_new_key(tmp_path, repos, monkeypatch):
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    before = files(ws / "series/foo/v1")
    message = sorted((ws / "series/foo/steps").iterdir())[0] / "message"
    message.write_text(message.read_text().replace("\n", " (reworded)\n", 1))
    shutil.rmtree(ws / "series/foo/v1")
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    after = files(ws / "series/foo/v1")
    assert after != before and b"(reworded)" in next(d for n, d in after.items() if n.startswith("0001-"))
    # porter's own code is an input: another fingerprint, nothing read from the memo
    shutil.rmtree(ws / "series/foo/v1")
    monkeypatch.setattr(memo, "environment", lambda: b"another porter")
    calls = []
    real = series.build
    monkeypatch.setattr(series, "build", lambda *a, **k: calls.append(1) or real(*a, **k))
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    assert calls == [1] and files(ws / "series/foo/v1") == after


def test_a_memo_whose_commits_are_not_kept_or_that_is_damaged_is_computed_again(tmp_path, repos, monkeypatch):
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    v1 = files(ws / "series/foo/v1")
    xen = ws / ".porter/xen.git"
    refs = git(xen, "for-each-ref", "--format=%(refname)", "refs/porter/foo/memo").split()
    assert len(refs) == 1
    git(xen, "update-ref", "-d", refs[0])
    calls = []
    real = series.build
    monkeypatch.setattr(series, "build", lambda *a, **k: calls.append(1) or real(*a, **k))
    shutil.rmtree(ws / "series/foo/v1")
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    assert calls == [1] and files(ws / "series/foo/v1") == v1
    assert git(xen, "for-each-ref", "--format=%(refname)", "refs/porter/foo/memo").split() == refs
    for entry in (ws / ".porter/memo").rglob("*.json"):
        entry.write_text("{\"key\": " if "build" in str(entry) else json.dumps({"key": "x", "value": 1}))
    shutil.rmtree(ws / "series/foo/v1")
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    assert calls == [1, 1] and files(ws / "series/foo/v1") == v1


def test_check_never_reads_the_memo(tmp_path, repos, monkeypatch):
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    monkeypatch.setattr(memo, "load", lambda *a, **k: pytest.fail("check read the memo"))
    assert porter("check", cwd=ws)[0] == 0


@pytest.mark.parametrize("config,plain", [
    ('[core]\n\trepositoryformatversion = 0\n\tbare = true\n[remote "origin"]\n\turl = https://x/y.git\n'
     '\tfetch = +refs/heads/*:refs/heads/*\n', True),
    ('[Core]\n\tBare = true\n# a comment\n\n', True),
    ('[core]\n\tsshCommand = x\n', False),
    ('[include]\n\tpath = /x\n', False),
    ('[remote "o"]\n\turl = a\\\n\tuploadpack = y\n', False),       # a continued value
    ('[url "x"]\n\tinsteadOf = y\n', False),
    ('[core]\n\tbare = true\r\n', False),
    ('[core]\n\tbare = "true"\n', False),
    ('[core]\n\tbare\n', False),
    ('[remote.origin]\n\turl = x\n', False),
    ('\turl = x\n', False),
])
def test_only_a_plain_clone_config_is_passed_without_git(config, plain):
    from porter.gitutil import _plainly_safe
    assert _plainly_safe(config) is plain


def test_a_config_that_is_not_plain_is_still_checked_by_git(tmp_path):
    from porter import gitutil
    repo = tmp_path / "c.git"
    git(tmp_path, "init", "-q", "--bare", str(repo))
    config = repo / "config"
    config.write_text(config.read_text() + '[remote "origin"]\n\turl = x\n[core]\n\tfsmonitor = "touch /tmp/x"\n')
    with pytest.raises(gitutil.BadInput, match="core.fsmonitor"):
        gitutil.check_cache_config(repo)


def test_a_replayed_revision_is_dated_when_it_is_written(tmp_path, repos, monkeypatch):
    ws, fresh = make_ws(tmp_path, repos, "a"), make_ws(tmp_path, repos, "b")
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    shutil.rmtree(ws / "series/foo/v1")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700086400")
    with monkeypatch.context() as m:
        computed_nothing(m)
        assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    assert porter("resync", "--from", "t1", cwd=fresh)[0] == 0
    replayed, computed = files(ws / "series/foo/v1"), files(fresh / "series/foo/v1")
    assert replayed == computed
    assert b"\nDate: Wed, 15 Nov 2023 22:13:20 +0000\n" in replayed["0000-cover-letter.patch"]


def test_old_entries_and_the_refs_keeping_their_commits_are_dropped(tmp_path, repos, monkeypatch):
    monkeypatch.setattr(memo, "KEEP", 1)
    ws = make_ws(tmp_path, repos)
    xen = ws / ".porter/xen.git"
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    first = git(xen, "for-each-ref", "--format=%(refname)", "refs/porter/foo/memo").split()
    new_tag(repos[0])
    assert porter("resync", "--from", "t4", cwd=ws)[0] == 0
    now = git(xen, "for-each-ref", "--format=%(refname)", "refs/porter/foo/memo").split()
    assert len(first) == len(now) == 1 and first != now
    for kind in (ws / ".porter/memo").iterdir():
        assert len(list(kind.iterdir())) == 1, kind
    entry = next((ws / ".porter/memo/build").iterdir())
    assert now[0].endswith(entry.stem)


def test_an_up_to_date_revision_is_answered_from_the_memo(tmp_path, repos, monkeypatch):
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    v1 = files(ws / "series/foo/v1")
    first = porter_json("resync", "--from", "t1", cwd=ws)
    assert first[0] == 0 and first[1]["revision"] == "v1" and not first[1]["changed"]
    with monkeypatch.context() as m:
        computed_nothing(m)
        assert porter_json("resync", "--from", "t1", cwd=ws) == first
    assert files(ws / "series/foo/v1") == v1
    # an edited revision is another input: computed, and found out of date
    cover = ws / "series/foo/v1/0000-cover-letter.patch"
    cover.write_bytes(cover.read_bytes() + b"\n")
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 0 and res != first[1]


def test_resync_measures_the_linux_changes_on_its_commits_as_on_its_patches(tmp_path, repos, monkeypatch):
    from porter import gitutil, recipe
    ws = make_ws(tmp_path, repos)
    ran = []
    real = gitutil.git
    monkeypatch.setattr(gitutil, "git", lambda repo, *args, **k: ran.append(args[0]) or real(repo, *args, **k))
    folders = []
    real_tmp = tempfile.TemporaryDirectory
    monkeypatch.setattr(tempfile, "TemporaryDirectory", lambda *a, **k: folders.append(k.get("prefix")) or
                        real_tmp(*a, **k))
    code, out = porter_json("resync", "--from", "t1", cwd=ws)
    report = out["linux_changes"]
    assert code == 0
    assert "apply" not in ran          # the commits hold the files: no patch applied again
    assert "porter-linux-changes-" not in folders     # nor a folder made to apply them in
    kinds = [s.kind for s in recipe.load(ws / "series/foo").steps]
    assert report["files"] and report == linux_changes.for_revision(files(ws / "series/foo/v1"), kinds)


def test_linux_changes_read_from_a_commit_are_the_applied_patchs_text():
    crlf = "int a;\r\nint b;\rint c;\n"
    assert linux_changes._text(crlf.encode()) == "int a;\nint b;\nint c;\n"
