"""porter build runs the recipe's Makefiles in the sandbox: build glue from a pull request cannot write
outside the scratch build tree, read the home folder, write the workspace's series/ or the Xen cache,
or plant a git folder in the tree that porter's own git (outside the sandbox) would then obey."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from porter import sandbox
from tests.helpers import porter, porter_json
from tests.test_bad_input import snapshot
from tests.test_build_demo import demo_src, new_ws  # noqa: F401  (demo_src is a fixture)

NAME = "ipmmu-vmsa"


def evil_glue(ws: Path, tree: Path, outside: Path, home: Path) -> list[str]:
    """Makefile lines that try every way out of the build tree (each is a `$(shell ...)`)."""
    evil_git = tree / ".evil"
    return [
        f"$(shell touch {outside}/pwned)",
        f"$(shell cp {home}/.ssh/id_rsa {tree}/xen/leaked-home)",
        f"$(shell cat {home}/.ssh/id_rsa > {outside}/leaked)",
        f"$(shell touch {ws}/series/{NAME}/pwned; echo x >> {ws}/porter.toml)",
        f"$(shell touch {ws}/.porter/xen.git/pwned; rm -f {ws}/series/{NAME}/v1/*.patch)",
        # a git folder of its own, borrowing the cache's objects, with a filter command, named by tree/.git
        f"$(shell git init -q {evil_git} && echo {ws}/.porter/xen.git/objects > {evil_git}/.git/objects/info/alternates"
        f" && git -C {evil_git} config filter.x.smudge 'sh -c \"touch {outside}/smudged; cat\"'"
        f" && echo '* filter=x' > {tree}/.gitattributes && echo 'gitdir: {evil_git}/.git' > {tree}/.git)",
        f"$(shell env > {tree}/xen/make-env.txt; ulimit -t > {tree}/xen/make-cpu-limit.txt)",
    ]


def ws_with_glue(demo_src: Path, tmp: Path, lines) -> tuple[Path, Path, Path, Path]:  # noqa: F811
    """A demo workspace whose committed v1 carries the given build-glue lines (written without a build)."""
    outside, home = tmp / "outside", tmp / "home"
    outside.mkdir()
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_rsa").write_text("PRIVATE KEY\n")
    ws = new_ws(demo_src, tmp)
    tree = ws / ".porter" / "build" / "tree"
    assert porter("learn", "ipmmu", "--from", "demo-1.0", cwd=ws)[0] == 0
    glue = next((ws / "series" / NAME / "steps").glob("*/Makefile.j2"))
    glue.write_text(glue.read_text() + "".join(line + "\n" for line in lines(ws, tree, outside, home)))
    code, out = porter("resync", "--from", "demo-1.0", "--no-build", cwd=ws)
    assert code == 0, out
    return ws, tree, outside, home


@pytest.mark.parametrize("command", ["build", "check"])
def test_build_glue_cannot_reach_anything_outside_the_build_tree(demo_src, tmp_path, monkeypatch,  # noqa: F811
                                                                 command):
    if not sandbox.bwrap_works():
        pytest.skip("bubblewrap does not work here")
    monkeypatch.setenv("PORTER_SANDBOX", "bwrap")
    ws, tree, outside, home = ws_with_glue(demo_src, tmp_path, evil_glue)
    before = snapshot(tmp_path, skip=ws / ".porter")      # the build adds git objects to the cache
    code, doc = porter_json(command, cwd=ws)
    report = doc if command == "build" else doc["build"]
    assert code == 0 and doc["ok"] and report["sandbox"] == "bwrap", doc
    assert report["patches"][4]["objects"], "the build glue patch was built"
    assert snapshot(tmp_path, skip=ws / ".porter") == before
    assert list(outside.iterdir()) == [] and not (tree / "xen" / "leaked-home").exists()
    assert not (ws / ".porter" / "xen.git" / "pwned").exists()
    assert (tree / ".git").read_text() == f"gitdir: {ws}/.porter/xen.git/worktrees/tree\n"
    # the glue did run (in the sandbox): it saw a scrubbed environment and porter's limits
    env = dict(line.split("=", 1) for line in (tree / "xen" / "make-env.txt").read_text().splitlines() if "=" in line)
    assert env["HOME"] == str(tree) and "PORTER_SANDBOX" not in env
    # a second build goes through the tree the first one left behind
    assert porter_json("build", cwd=ws)[0] == 0
    assert list(outside.iterdir()) == []


def test_without_bwrap_the_build_says_so_and_still_scrubs_and_limits(demo_src, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("PORTER_SANDBOX", "process")
    monkeypatch.setenv("PORTER_SECRET", "do-not-leak")
    ws, tree, outside, home = ws_with_glue(demo_src, tmp_path, lambda ws, tree, outside, home: [
        f"$(shell env > {tree}/xen/make-env.txt; ulimit -t > {tree}/xen/make-cpu-limit.txt)"])
    code, doc = porter_json("build", cwd=ws)
    assert code == 0 and doc["ok"] and doc["sandbox"] == "process", doc
    env = dict(line.split("=", 1) for line in (tree / "xen" / "make-env.txt").read_text().splitlines() if "=" in line)
    assert "PORTER_SECRET" not in env and env["HOME"] == str(tree)
    assert (tree / "xen" / "make-cpu-limit.txt").read_text().strip() == "301"    # [build] timeout 300 s, +1
    code, out = porter("build", cwd=ws)
    assert code == 0 and "(make in sandbox: process)" in out.splitlines()[0], out


def test_a_requested_bwrap_that_does_not_work_is_one_line(demo_src, tmp_path, monkeypatch):  # noqa: F811
    ws, tree, outside, home = ws_with_glue(demo_src, tmp_path, lambda *a: [])
    monkeypatch.setenv("PORTER_SANDBOX", "bwrap")
    monkeypatch.setattr(sandbox, "bwrap_works", lambda: False)
    code, out = porter("build", cwd=ws)
    assert code == 2 and out.strip().count("\n") == 0 and "bubblewrap does not work" in out, out
    assert not tree.exists()


def test_porter_never_reads_or_writes_through_a_link_a_make_left_in_the_tree(tmp_path):
    """porter itself writes xen/.config and .porter-defconfig in the tree between makes (a Kconfig
    change reconfigures): a make that replaced them, or xen/, with links out of the tree must not make
    porter write outside, or copy a file from outside into the tree where the next make reads it."""
    from porter.build.config import ARCHES, BuildConfig
    from porter.build.tree import Tree
    from porter.errors import BadInput
    root, outside = tmp_path / "tree", tmp_path / "outside"
    (root / "xen").mkdir(parents=True)
    outside.mkdir()
    target = outside / "target"
    target.write_text("keep\n")
    tree = Tree(root, BuildConfig(ARCHES["x86_64"], ("cc",), ""), tmp_path / "gitdir", "process")
    os.symlink(target, root / "xen" / ".config")
    tree.write(root / "xen" / ".config", b"CONFIG_X=y\n")
    assert target.read_text() == "keep\n" and (root / "xen" / ".config").read_bytes() == b"CONFIG_X=y\n"
    os.symlink(target, root / ".porter-defconfig")
    with pytest.raises(BadInput, match="leads outside"):
        tree.read(root / ".porter-defconfig")
    (root / "xen" / ".config").unlink()
    (root / "xen").rmdir()
    os.symlink(outside, root / "xen")
    with pytest.raises(BadInput, match="leads outside"):
        tree.write(root / "xen" / ".config", b"CONFIG_X=y\n")
    assert sorted(p.name for p in outside.iterdir()) == ["target"]
