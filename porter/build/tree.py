"""The scratch Xen worktree porter builds in (.porter/build/tree), configured once and reused.

Configuring runs Xen's own steps: `defconfig`, `include/config/auto.conf`, `include/xen/compile.h`,
the `include/asm` link, `asm-offsets.h`. What they produce is untracked, so moving the worktree from
patch to patch with git keeps it; a stamp records what it was configured for.

Every make runs in the sandbox, and what it leaves in the tree is untrusted: porter's git finds the
worktree's git folder from the Xen cache (never from the tree's `.git`), porter's own reads and
writes in the tree refuse symlinks that lead out of it, and every build starts from the configured
state (the stamp records each file configuring made; anything else git does not track is removed,
and a changed one means configuring again).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

import fasteners

from .. import gitutil, sandbox
from ..errors import BadInput
from ..workspace import atomic_write, inside
from .config import BuildConfig
from .proc import Box, TimedOut, run_make

STAMP_VERSION = "3"
_MAKE_WORD = re.compile(r"^[\w./+-]+$")


class Tree:
    def __init__(self, root: Path, cfg: BuildConfig, gitdir: Path, mode: str):
        self.root, self.cfg, self.gitdir = root, cfg, gitdir
        self.xen = root / "xen"
        self.box = Box(mode, root, cfg.tool_dirs(), cfg.tool_roots())

    def run_git(self, *args: str):
        """git in the tree, told where its git folder is: a `.git` a make left behind is not read."""
        return gitutil.run(self.root, *args, env={"GIT_DIR": str(self.gitdir), "GIT_WORK_TREE": str(self.root)})

    def git(self, *args: str, check: bool = True) -> str:
        proc = self.run_git(*args)
        if check and proc.returncode != 0:
            err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
            raise gitutil.GitError(f"git {args[0]} failed in {self.root}: {err[-1] if err else proc.returncode}")
        return proc.stdout.decode("utf-8", "surrogateescape")

    def untracked(self) -> list[str]:
        """What git does not track in the tree (ignored files included; a folder git will not enter ends in /)."""
        return [p for p in self.git("ls-files", "-z", "--others").split("\0") if p]

    def fingerprint(self, rel: str) -> str:
        path = self.root / rel
        if path.is_symlink():
            return "link:" + os.readlink(path)
        if rel.endswith("/") or not path.is_file():
            return "other"
        return hashlib.sha256(path.read_bytes()).hexdigest()

    def configured_state(self) -> dict[str, str]:
        return {rel: self.fingerprint(rel) for rel in self.untracked()}

    def reset(self, configured: dict[str, str]) -> bool:
        """Back to the configured state: remove what earlier builds left in the tree; False when a
        file configuring made is missing or changed."""
        now = self.untracked()
        if set(configured) - set(now) or any(self.fingerprint(rel) != configured[rel] for rel in configured):
            return False
        for rel in now:
            if rel not in configured:
                path = self.root / rel.rstrip("/")
                inside(self.root, path.parent, "build tree folder")
                if path.is_dir() and not path.is_symlink():
                    shutil.rmtree(path)
                else:
                    path.unlink(missing_ok=True)
        return True

    def restore(self) -> None:
        """The tree's `.git` as git worktree wrote it, for whoever uses the tree after porter."""
        _restore_dot_git(self.root, self.gitdir)

    def read(self, path: Path) -> bytes:
        return inside(self.root, path, "build tree file").read_bytes()

    def write(self, path: Path, data: bytes) -> None:
        """Write a file in the tree whole; a symlink there is replaced, never followed."""
        inside(self.root, path.parent, "build tree folder")
        atomic_write(path, data)

    def vars(self) -> list[str]:
        return self.cfg.make_vars() + [f"BASEDIR={self.xen}", f"XEN_ROOT={self.root}"]

    def make(self, args: list[str], cwd: Path | None = None, what: str = "make") -> tuple[int, str]:
        try:
            return run_make(args, cwd or self.xen, self.cfg.timeout, self.box)
        except TimedOut:
            raise BadInput(f"{what} did not finish within {self.cfg.timeout:g} s "
                           f"(raise [build] timeout in porter.toml if the machine is slow)") from None

    def rules(self, targets: list[str], directory: str = "", flags: list[str] = (), what: str = "make"):
        """`make -f $(BASEDIR)/Rules.mk [-C directory] targets`, run from xen/Makefile so that what it
        exports to sub-makes (Xen >= 4.12: TARGET_ARCH, the tree-wide CFLAGS) is set, as in Xen's build."""
        inner = ["-f", "$(BASEDIR)/Rules.mk", *(["-C", directory] if directory else []), *targets]
        bad = next((w for w in inner[2:] if not _MAKE_WORD.match(w)), None)
        if bad is not None:
            raise BadInput(f"cannot build {bad!r}: porter only passes plain file names to make")
        rule = "porter-rules: ; @$(MAKE) " + " ".join(inner)
        return self.make([*flags, *self.vars(), f"--eval={rule}", "porter-rules"], what=what)

    def checkout(self, commit: str) -> None:
        self.git("checkout", "-q", "-f", "--detach", commit)

    def print_var(self, name: str) -> str:
        """A variable as Xen's Rules.mk computes it."""
        code, out = self.make(["-f", "Rules.mk", *self.vars(), f"--eval=porter-print-var: ; @echo '{{$({name})}}'",
                               "porter-print-var"], what=f"make (reading {name})")
        for line in out.splitlines():
            if line.startswith("{") and line.endswith("}"):
                return line[1:-1].strip()
        raise BadInput(f"the Xen tree's Rules.mk does not say its {name}: {_last_line(out)}")

    def configure(self, base: str) -> None:
        """Run Xen's configure steps for cfg at base (the worktree is checked out at base)."""
        self._step(["defconfig", *self.cfg.make_vars()], "make defconfig", base)
        self.write(self.root / ".porter-defconfig", self.read(self.xen / ".config"))
        self.reconfigure(base)
        self._rules(["include/xen/compile.h"], "", "make include/xen/compile.h", base)
        arch = self.print_var("TARGET_ARCH")
        link = inside(self.root, self.xen / "include", "build tree folder") / "asm"
        if not (self.xen / "include" / f"asm-{arch}").is_dir():
            raise BadInput(f"the Xen tree at {base[:12]} cannot be configured for {self.cfg.arch.name}: "
                           f"it has no xen/include/asm-{arch}")
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(f"asm-{arch}")
        self._rules(["asm-offsets.s"], f"arch/{arch}", f"make -C arch/{arch} asm-offsets.s", base)
        self._rules([f"include/asm-{arch}/asm-offsets.h"], "", f"make include/asm-{arch}/asm-offsets.h", base)

    def reconfigure(self, base: str) -> None:
        """The defconfig plus [build] config, made into include/config/auto.conf (again after a Kconfig change)."""
        config = self.read(self.root / ".porter-defconfig")
        if self.cfg.options:
            config = config.rstrip(b"\n") + b"\n" + "".join(o + "\n" for o in self.cfg.options).encode()
        self.write(self.xen / ".config", config)
        # options the series adds take their Kconfig default (silentoldconfig would ask for them);
        # a tree without Xen's Kconfig targets has nothing to ask
        code, out = self.make(["olddefconfig", *self.cfg.make_vars()], what="make olddefconfig")
        if code != 0 and "No rule to make target" not in out:
            raise BadInput(f"the Xen tree at {base[:12]} cannot be configured for {self.cfg.arch.name}: "
                           f"'make olddefconfig' failed: {_last_line(out)}")
        self._step(["include/config/auto.conf", *self.cfg.make_vars()], "make include/config/auto.conf", base)

    def _rules(self, targets: list[str], directory: str, what: str, base: str) -> None:
        self._check(*self.rules(targets, directory, what=what), what, base)

    def _step(self, args: list[str], what: str, base: str) -> None:
        self._check(*self.make(args, what=what), what, base)

    def _check(self, code: int, out: str, what: str, base: str) -> None:
        if code != 0:
            raise BadInput(f"the Xen tree at {base[:12]} cannot be configured for {self.cfg.arch.name}: "
                           f"'{what}' failed: {_last_line(out)}")


def _last_line(out: str) -> str:
    lines = [ln.strip() for ln in out.splitlines() if ln.strip() and not ln.startswith("make: Leaving")]
    errors = [ln for ln in lines if "error" in ln.lower() or "***" in ln]
    return (errors or lines or ["no output"])[0][:300]


@contextmanager
def locked(cache: Path):
    """One build at a time per workspace."""
    path = cache / "build"
    path.mkdir(parents=True, exist_ok=True)
    lock = fasteners.InterProcessLock(str(path / "lock"))
    if not lock.acquire(blocking=False):
        raise BadInput(f"another porter build is running in this workspace ({path / 'lock'})")
    try:
        yield path
    finally:
        lock.release()


def stamp_key(cfg: BuildConfig, base: str) -> str:
    doc = {"v": STAMP_VERSION, "base": base, "arch": cfg.arch.name, "cc": list(cfg.cc), "version": cfg.version,
           "cross": cfg.cross_compile, "options": list(cfg.options)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def prepare(xen_git: Path, build_dir: Path, cfg: BuildConfig, base: str, progress=lambda text: None) -> Tree:
    """The worktree at base, configured for cfg (reused when its stamp matches)."""
    mode = sandbox.mode()
    root = build_dir / "tree"
    stamp = build_dir / "configured"
    key = stamp_key(cfg, base)
    gitdir = _worktree_gitdir(xen_git, root)
    healthy = root.is_dir() and not root.is_symlink() and gitdir is not None
    if healthy:
        _restore_dot_git(root, gitdir)
    else:
        gitdir = _fresh_worktree(xen_git, root, base)
    tree = Tree(root, cfg, gitdir, mode)
    if healthy and (gitdir / "rebase-apply").exists():
        tree.git("am", "--abort", check=False)
    tree.checkout(base)
    if healthy and (configured := _stamp(stamp, key)) is not None and tree.reset(configured):
        return tree
    progress("configuring the Xen build")
    if stamp.exists():
        stamp.unlink()
    tree.git("clean", "-q", "-f", "-d", "-x")
    try:
        tree.configure(base)
    except BaseException:
        tree.git("clean", "-q", "-f", "-d", "-x", check=False)
        raise
    atomic_write(stamp, json.dumps({"key": key, "files": tree.configured_state()}, sort_keys=True).encode())
    return tree


def _stamp(stamp: Path, key: str) -> dict[str, str] | None:
    """The files configuring made, as the stamp records them, when it was for key."""
    try:
        doc = json.loads(stamp.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(doc, dict) or doc.get("key") != key or not isinstance(doc.get("files"), dict):
        return None
    return doc["files"]


def _worktree_gitdir(xen_git: Path, root: Path) -> Path | None:
    """The Xen cache's git folder of the worktree at root (read from the cache, not from root/.git)."""
    wanted = {os.path.join(os.path.realpath(root), ".git"), os.path.join(os.path.abspath(root), ".git")}
    folder = Path(xen_git) / "worktrees"
    for entry in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            if (entry / "gitdir").read_text().strip() in wanted:
                return entry
        except OSError:
            continue
    return None


def _restore_dot_git(root: Path, gitdir: Path) -> None:
    """root/.git as git worktree wrote it (a make may have replaced it)."""
    dot_git = root / ".git"
    text = f"gitdir: {gitdir}\n".encode()
    if dot_git.is_dir() and not dot_git.is_symlink():
        shutil.rmtree(dot_git)
    if dot_git.is_symlink() or not dot_git.is_file() or dot_git.read_bytes() != text:
        atomic_write(dot_git, text)


def _fresh_worktree(xen_git: Path, root: Path, base: str) -> Path:
    if root.is_symlink():
        root.unlink()
    elif root.exists():
        shutil.rmtree(root, ignore_errors=True)
    gitutil.git(xen_git, "worktree", "prune")
    gitutil.git(xen_git, "worktree", "add", "-q", "--force", "--detach", str(root), base)
    gitdir = _worktree_gitdir(xen_git, root)
    if not os.path.isdir(root) or gitdir is None:
        raise BadInput(f"cannot create the build worktree {root}")
    return gitdir
