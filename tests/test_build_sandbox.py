"""porter build runs the recipe's Makefiles in the sandbox. What a malicious build glue tries under bwrap
(write outside the build tree, read the home folder, write series/ or the Xen cache, plant a git folder
porter's own git would obey, run forever) is in the bad-input corpus (tests/badinput.py BUILD_CASES);
here: the fallback without bwrap, a bwrap that does not work, and porter's own file access in the tree."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from porter import sandbox
from tests.helpers import porter, porter_json
from tests.test_build_demo import demo_src, new_ws  # noqa: F401  (demo_src is a fixture)

NAME = "ipmmu-vmsa"


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


def test_every_build_starts_from_the_configured_tree(demo_src, tmp_path, monkeypatch):  # noqa: F811
    """What an earlier build left in the scratch tree (a build glue's files, a file where a patch adds
    one, a nested git folder) is gone before the next build; a changed configure product configures again."""
    ws, tree, outside, home = ws_with_glue(demo_src, tmp_path, lambda *a: [])
    assert porter_json("build", cwd=ws)[0] == 0
    port = tree / "xen/drivers/passthrough/arm/ipmmu-vmsa.c"
    assert not port.exists()                                    # the tree is left at the base
    port.write_text("#error planted by an earlier build\n")     # `git am` would refuse to overwrite it
    (tree / "xen" / "leftover.h").write_text("x\n")
    subprocess.run(["git", "init", "-q", str(tree / ".nested")], check=True)
    (tree / ".nested" / "file").write_text("x\n")
    code, doc = porter_json("build", cwd=ws)
    assert code == 0 and doc["ok"], doc
    assert not (tree / "xen" / "leftover.h").exists() and not (tree / ".nested").exists()
    stamp = (ws / ".porter/build/configured").read_text()
    (tree / ".porter-defconfig").write_text("CONFIG_POISONED=y\n")
    code, doc = porter_json("build", cwd=ws)
    assert code == 0 and doc["ok"], doc
    assert b"POISONED" not in (tree / ".porter-defconfig").read_bytes()
    assert (ws / ".porter/build/configured").read_text() == stamp
