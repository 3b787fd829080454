"""Nothing is lost and nothing races: init cleans up only what it made, a killed learn is repaired,
the same tag twice writes no new revision, disk full and read-only give one line and leave no
temp objects, a second writer waits for the lock, an internal error is exit 3 with a hint."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from porter.cli import main
from tests import minirepos
from tests.helpers import porter
from tests.test_bad_input import snapshot


@pytest.fixture(scope="module")
def repos(tmp_path_factory):
    return minirepos.build(tmp_path_factory.mktemp("safety") / "src")


@pytest.fixture(scope="module")
def learned(repos, tmp_path_factory) -> Path:
    up, xen = repos
    ws = tmp_path_factory.mktemp("learned") / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base", "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    return ws


@pytest.fixture
def ws(learned, tmp_path) -> Path:
    dest = tmp_path / "ws"
    shutil.copytree(learned, dest, symlinks=True)
    return dest


def run(ws: Path | None, *args, env=None):
    argv = (["-C", str(ws)] if ws else []) + [str(a) for a in args]
    res = CliRunner().invoke(main, argv, env=env or {}, catch_exceptions=True)
    assert res.exception is None or isinstance(res.exception, SystemExit), res.exception
    return res.exit_code, res.output


def one_line(out: str, needle: str) -> None:
    lines = out.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], out


def no_temp_objects(ws: Path) -> None:
    objects = ws / ".porter" / "xen.git" / "objects"
    assert not list(objects.rglob(".tmp-obj-*")), "a temporary object was left in the git store"
    fsck = subprocess.run(["git", "-C", str(ws / ".porter" / "xen.git"), "fsck", "--no-dangling"],
                          capture_output=True, text=True)
    assert "bad object" not in fsck.stderr + fsck.stdout and "garbage" not in fsck.stderr + fsck.stdout


def test_a_failed_init_keeps_a_porter_folder_that_was_there(repos, tmp_path):
    up, xen = repos
    target = tmp_path / "existing"
    (target / ".porter").mkdir(parents=True)
    (target / ".porter" / "notes.txt").write_text("mine\n")
    (target / "README").write_text("mine too\n")
    code, out = run(None, "init", target, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "nope",
                    "--public-url", "https://example.org/foo.git")
    assert code == 2
    one_line(out, "nope")
    assert sorted(p.name for p in target.rglob("*")) == [".porter", "README", "notes.txt"]
    assert (target / ".porter" / "notes.txt").read_text() == "mine\n"


def test_a_failed_init_removes_the_folders_it_created_and_nothing_else(repos, tmp_path):
    up, xen = repos
    (tmp_path / "keep.txt").write_text("x")
    code, out = run(None, "init", tmp_path / "a" / "b", "--name", "foo", "--upstream", up, "--xen", tmp_path / "nope",
                    "--base", "base", "--public-url", "https://example.org/foo.git")
    assert code == 2
    one_line(out, "nope")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_init_refuses_a_porter_toml_symlink(repos, tmp_path):
    up, xen = repos
    (tmp_path / "ws").mkdir()
    os.symlink(tmp_path / "elsewhere.toml", tmp_path / "ws" / "porter.toml")
    code, out = run(None, "init", tmp_path / "ws", "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base", "--public-url", "https://example.org/foo.git")
    assert code == 2 and not (tmp_path / "elsewhere.toml").exists()


def test_a_learn_killed_between_its_two_renames_is_recovered(ws, monkeypatch):
    """The recipe swap renames the old series folder aside, then the new one in: a kill between
    the two leaves `.foo.old`, which the next command puts back."""
    before = snapshot(ws / "series" / "foo")
    import porter.workspace as wsmod
    from porter.learn import learn
    real = os.replace
    calls = []

    def killed(src, dst):
        calls.append(dst)
        if str(dst).endswith("/series/foo"):
            raise KeyboardInterrupt         # the kill, after the old folder went aside
        return real(src, dst)
    monkeypatch.setattr(wsmod.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        learn(wsmod.load(ws), "port", "t1")
    monkeypatch.setattr(wsmod.os, "replace", real)
    assert not (ws / "series" / "foo").exists() and (ws / "series" / ".foo.old").is_dir()
    code, out = run(ws, "resync", "--from", "t1")
    assert code == 0, out
    assert "no change" in out
    assert snapshot(ws / "series" / "foo") == before
    assert not (ws / "series" / ".foo.old").exists()


def test_learn_repairs_a_recipe_broken_by_a_kill(ws):
    shutil.rmtree(ws / "series" / "foo" / "steps")
    (ws / "series" / "foo" / ".foo.tmp-x").mkdir()          # a half-written temp dir
    code, out = run(ws, "resync", "--from", "t1")
    assert code == 2
    one_line(out, "missing")
    code, out = run(ws, "learn", "port", "--from", "t1")
    assert code == 0, out
    assert not (ws / "series" / "foo" / ".foo.tmp-x").exists()
    code, out = run(ws, "resync", "--from", "t1")
    assert code == 0 and "no change" in out, out


def test_learn_keeps_the_revisions_and_files_it_does_not_own(ws):
    (ws / "series" / "foo" / "NOTES.md").write_text("my notes\n")
    v1 = snapshot(ws / "series" / "foo" / "v1")
    assert run(ws, "learn", "port", "--from", "t1")[0] == 0
    assert snapshot(ws / "series" / "foo" / "v1") == v1
    assert (ws / "series" / "foo" / "NOTES.md").read_text() == "my notes\n"


def test_resync_of_the_same_tag_twice_writes_no_new_revision(ws):
    for tag in ("t1", "t2", "t2", "t2", "t1", "t1"):
        code, out = run(ws, "resync", "--from", tag)
        assert code in (0, 1) and "error" not in out, out        # t2 brings lint findings
    assert sorted(p.name for p in (ws / "series" / "foo").glob("v*")) == ["v1", "v2", "v3"]
    assert porter("check", cwd=ws)[0] == 0


def _fail_writes(monkeypatch, module, err):
    """Make the loose-object writer fail half-way through writing a file."""
    real = module.os.fdopen

    class Broken:
        def __init__(self, f):
            self.f = f

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.f.close()

        def write(self, data):
            self.f.write(data[:10])
            raise OSError(err, os.strerror(err))
    monkeypatch.setattr(module.os, "fdopen", lambda fd, mode="r", *a, **k: Broken(real(fd, mode, *a, **k)))


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS, errno.EDQUOT])
def test_a_failing_object_write_is_one_line_and_leaves_no_temp_object(ws, monkeypatch, err):
    import porter.objects
    before = snapshot(ws / "series")
    _fail_writes(monkeypatch, porter.objects, err)
    code, out = run(ws, "resync", "--from", "t2")
    assert code == 2
    one_line(out, os.strerror(err))
    monkeypatch.undo()
    no_temp_objects(ws)
    assert snapshot(ws / "series") == before


@pytest.mark.parametrize("err", [errno.ENOSPC, errno.EROFS])
def test_a_failing_revision_write_is_one_line_and_writes_no_revision(ws, monkeypatch, err):
    import porter.workspace
    before = snapshot(ws / "series")

    def new_dir(*a, **k):
        raise OSError(err, os.strerror(err), str(ws / "series" / "foo"))
    monkeypatch.setattr(porter.workspace, "new_dir", new_dir)
    code, out = run(ws, "resync", "--from", "t2")
    assert code == 2
    one_line(out, os.strerror(err))
    monkeypatch.undo()
    assert snapshot(ws / "series") == before
    no_temp_objects(ws)


HOLD_LOCK = """import sys, time, fasteners
lock = fasteners.InterProcessLock(sys.argv[1])
lock.acquire()
print("held", flush=True)
time.sleep(120)
"""


def test_a_second_writer_waits_for_the_lock_then_fails_with_one_line(ws):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(ws / ".porter" / "lock")],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "held\n"
        code, out = run(ws, "resync", "--from", "t2", env={"PORTER_LOCK_TIMEOUT": "0.3"})
        assert code == 2
        one_line(out, "is busy")
        code, out = run(ws, "resync", "--from", "t2", "--json", env={"PORTER_LOCK_TIMEOUT": "0.3"})
        assert code == 2 and "is busy" in json.loads(out)["error"]
    finally:
        holder.kill()
        holder.wait()
    assert run(ws, "resync", "--from", "t2")[0] in (0, 1)


def test_two_resyncs_at_once_write_one_revision(ws):
    """Two processes resync the same new tag at the same moment: one writes v2, the other waits for
    the lock and then finds v2 up to date."""
    cmd = [sys.executable, "-m", "porter.cli", "-C", str(ws), "resync", "--from", "t2", "--json"]
    env = dict(os.environ, PORTER_LOCK_TIMEOUT="120")
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(2)]
    docs = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode in (0, 1), err                       # t2 brings lint findings
        docs.append(json.loads(out))
    assert sorted(d["changed"] for d in docs) == [False, True]
    assert {d["revision"] for d in docs} == {"v2"}
    assert sorted(p.name for p in (ws / "series" / "foo").glob("v*")) == ["v1", "v2"]
    assert porter("check", cwd=ws)[0] == 0


def test_an_internal_error_is_exit_3_with_a_hint(ws, monkeypatch):
    import porter.resync

    def broken(*a, **k):
        raise TypeError("unexpected thing")
    monkeypatch.setattr(porter.resync, "resync", broken)
    code, out = run(ws, "resync", "--from", "t1")
    assert code == 3
    one_line(out, "internal error: TypeError: unexpected thing")
    assert "report" in out
    code, out = run(ws, "resync", "--from", "t1", "--json")
    doc = json.loads(out)
    assert code == 3 and doc["ok"] is False and "internal error" in doc["error"]


def test_json_is_a_document_for_usage_errors_too(ws):
    code, out = run(ws, "resync", "--json")
    assert code == 2 and json.loads(out)["ok"] is False
    code, out = run(ws, "nosuchverb", "--json")
    assert code == 2 and "nosuchverb" in json.loads(out)["error"]


def test_hooks_in_the_cache_do_not_run(ws):
    """A pull request may commit .porter/: the scratch checkout resync makes after a conflict runs
    no hook of the cache."""
    from porter import recipe, resync, series, workspace
    hook = ws / ".porter/xen.git/hooks/post-checkout"
    mark = ws.parent / "hook-ran"
    hook.write_text(f"#!/bin/sh\ntouch {mark}\n")
    hook.chmod(0o755)
    w = workspace.load(ws)
    built = series.build(w, recipe.load(w.series_dir), "t1")
    for _ in range(2):
        assert resync.scratch_worktree(w, built).is_dir()
    assert not mark.exists()


def test_temp_objects_a_killed_write_left_are_removed_by_the_next_build(ws):
    objects = ws / ".porter" / "xen.git" / "objects"
    stale, fresh = objects / "ab" / ".tmp-obj-stale", objects / "ab" / ".tmp-obj-fresh"
    stale.parent.mkdir(exist_ok=True)
    stale.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(stale, (1, 1))
    assert run(ws, "resync", "--from", "t1")[0] == 0
    assert not stale.exists() and fresh.exists()


BWRAP = shutil.which("bwrap")


def _bwrap_ok() -> bool:
    from porter import sandbox
    return sandbox.bwrap_works()


FULL_DISK = r"""
set -e
cp -a "$1" /mnt/small/ws
python3 - <<'PY' || true
f = open("/mnt/small/fill", "wb")
try:
    while True:
        f.write(b"\0" * 4096)
        f.flush()
except OSError:
    pass
PY
set +e
out=$("$2" -m porter.cli -C /mnt/small/ws resync --from t2 2>&1)
echo "exit=$?"
echo "$out"
echo "tmpobj=$(find /mnt/small/ws/.porter -name '.tmp-obj-*' | wc -l)"
echo "revisions=$(ls /mnt/small/ws/series/foo | grep -c '^v')"
"""


@pytest.mark.skipif(not BWRAP, reason="bubblewrap not installed")
def test_a_really_full_disk_is_one_line_and_leaves_no_temp_object(ws):
    if not _bwrap_ok():
        pytest.skip("bubblewrap cannot create namespaces here")
    proc = subprocess.run([BWRAP, "--bind", "/", "/", "--dev", "/dev", "--size", str(8 << 20), "--tmpfs", "/mnt/small",
                           "sh", "-c", FULL_DISK, "sh", str(ws), sys.executable],
                          capture_output=True, text=True, timeout=300)
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "exit=2", proc.stdout + proc.stderr
    assert len(lines) == 4 and "No space left on device" in lines[1], proc.stdout
    assert lines[2] == "tmpobj=0" and lines[3] == "revisions=1", proc.stdout


@pytest.mark.skipif(not BWRAP, reason="bubblewrap not installed")
def test_a_really_read_only_series_folder_is_one_line(ws):
    if not _bwrap_ok():
        pytest.skip("bubblewrap cannot create namespaces here")
    before = snapshot(ws / "series")
    proc = subprocess.run([BWRAP, "--bind", "/", "/", "--dev", "/dev", "--ro-bind", str(ws / "series"), str(ws / "series"),
                           sys.executable, "-m", "porter.cli", "-C", str(ws), "resync", "--from", "t2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    one_line(proc.stderr, "Read-only file system")
    assert snapshot(ws / "series") == before
    no_temp_objects(ws)
