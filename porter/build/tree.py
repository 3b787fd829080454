"""The scratch Xen worktree porter builds in (.porter/build/tree), configured once and reused.

Configuring runs Xen's own steps: `defconfig`, `include/config/auto.conf`, `include/xen/compile.h`,
the `include/asm` link, `asm-offsets.h`. What they produce is untracked, so moving the worktree from
patch to patch with git keeps it; a stamp records what it was configured for.
"""
from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
from contextlib import contextmanager
from pathlib import Path

from .. import gitutil
from ..errors import BadInput
from .config import BuildConfig
from .proc import TimedOut, run_make

STAMP_VERSION = "2"
_MAKE_WORD = re.compile(r"^[\w./+-]+$")


class Tree:
    def __init__(self, root: Path, cfg: BuildConfig):
        self.root, self.cfg = root, cfg
        self.xen = root / "xen"

    def vars(self) -> list[str]:
        return self.cfg.make_vars() + [f"BASEDIR={self.xen}", f"XEN_ROOT={self.root}"]

    def make(self, args: list[str], cwd: Path | None = None, what: str = "make") -> tuple[int, str]:
        try:
            return run_make(args, cwd or self.xen, self.cfg.timeout)
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
        gitutil.git(self.root, "checkout", "-q", "-f", "--detach", commit)

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
        (self.root / ".porter-defconfig").write_bytes((self.xen / ".config").read_bytes())
        self.reconfigure(base)
        self._rules(["include/xen/compile.h"], "", "make include/xen/compile.h", base)
        arch = self.print_var("TARGET_ARCH")
        link = self.xen / "include" / "asm"
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
        config = (self.root / ".porter-defconfig").read_bytes()
        if self.cfg.options:
            config = config.rstrip(b"\n") + b"\n" + "".join(o + "\n" for o in self.cfg.options).encode()
        (self.xen / ".config").write_bytes(config)
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
    with open(path / "lock", "w") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BadInput(f"another porter build is running in this workspace ({path / 'lock'})") from None
        try:
            yield path
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def stamp_key(cfg: BuildConfig, base: str) -> str:
    doc = {"v": STAMP_VERSION, "base": base, "arch": cfg.arch.name, "cc": list(cfg.cc), "version": cfg.version,
           "cross": cfg.cross_compile, "options": list(cfg.options)}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()


def prepare(xen_git: Path, build_dir: Path, cfg: BuildConfig, base: str, progress=lambda text: None) -> Tree:
    """The worktree at base, configured for cfg (reused when its stamp matches)."""
    root = build_dir / "tree"
    tree = Tree(root, cfg)
    stamp = build_dir / "configured"
    key = stamp_key(cfg, base)
    healthy = root.is_dir() and gitutil.is_git_repo(root) and (root / ".git").is_file()
    if healthy:
        _abort_am(root)
    else:
        _fresh_worktree(xen_git, root, base)
    tree.checkout(base)
    if healthy and stamp.is_file() and stamp.read_text().strip() == key:
        return tree
    progress("configuring the Xen build")
    if stamp.exists():
        stamp.unlink()
    gitutil.git(root, "clean", "-q", "-f", "-d", "-x")
    try:
        tree.configure(base)
    except BaseException:
        gitutil.git(root, "clean", "-q", "-f", "-d", "-x", check=False)
        raise
    stamp.write_text(key + "\n")
    return tree


def _abort_am(root: Path) -> None:
    gitdir = Path(gitutil.git_text(root, "rev-parse", "--absolute-git-dir").strip())
    if (gitdir / "rebase-apply").exists():
        gitutil.git(root, "am", "--abort", check=False)


def _fresh_worktree(xen_git: Path, root: Path, base: str) -> None:
    if root.exists() or root.is_symlink():
        shutil.rmtree(root, ignore_errors=True)
    gitutil.git(xen_git, "worktree", "prune")
    gitutil.git(xen_git, "worktree", "add", "-q", "--force", "--detach", str(root), base)
    if not os.path.isdir(root):
        raise BadInput(f"cannot create the build worktree {root}")
