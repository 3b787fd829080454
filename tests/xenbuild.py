"""Compile single C files in a real Xen tree with Xen's own flags (tests and benchmarks only), the way
porter build does: through porter.build's Tree (the same configure steps, make in the same sandbox).

prepare() clones the Xen repository at a ref (patches applied with git am) and configures it for arm64;
compile() builds one object through xen/Rules.mk in its directory, exactly as the Xen build would.
"""
from __future__ import annotations

import re
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path

from porter import sandbox
from porter.build import config
from porter.build.tree import Tree

CROSS = "aarch64-linux-gnu-"
_ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? error: (?P<msg>.*)$", re.M)


def have_cross() -> bool:
    return shutil.which(CROSS + "gcc") is not None


@lru_cache(maxsize=1)
def _config() -> config.BuildConfig:
    return config.resolve({"build": {"arch": "arm64", "cross_compile": CROSS}}, [])


def _tree(root: Path) -> Tree:
    return Tree(root, _config(), root / ".git", sandbox.mode())


def prepare(repo: Path, ref: str, dest: Path, patches: list[Path] = ()) -> Path:
    """A configured Xen tree at ref (patches applied with git am); returns its xen/ directory."""
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(dest)], check=True)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", ref + "^{commit}"], check=True,
                         capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "--detach", sha], check=True)
    for p in patches:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(dest),
                        "am", "-q", "--keep-cr", str(p)], check=True, capture_output=True)
    _tree(dest).configure(sha)
    return dest / "xen"


def compile(xen: Path, source: str) -> tuple[int, str]:
    """Build the object of source (a path under xen/) with Xen's flags: (exit code, compiler output)."""
    path = Path(source)
    return _tree(xen.parent).rules([path.with_suffix(".o").name], str(path.parent))


def errors(output: str, name: str | None = None) -> list[dict]:
    """gcc's `error:` lines as {file, line, message} (only those in file `name` when given)."""
    out = []
    for m in _ERROR.finditer(output):
        if name and Path(m.group("file")).name != name:
            continue
        out.append({"file": m.group("file"), "line": int(m.group("line")), "message": m.group("msg")})
    return out


_NAME_IN = (re.compile(r"'(\w+)' undeclared"), re.compile(r"implicit declaration of function '(\w+)'"),
            re.compile(r"unknown type name '(\w+)'"), re.compile(r"has no member named '(\w+)'"),
            re.compile(r"(?:storage size|invalid use of undefined type|field) '?(?:struct|union|enum) (\w+)'?"),
            re.compile(r"expected .* before '(\w+)'"), re.compile(r"'(\w+)' (?:defined|declared) but not used"))


def error_names(output: str, name: str | None = None) -> set[str]:
    """Identifiers gcc's errors name as unknown (undeclared, implicit, unknown type, no member)."""
    found = set()
    for e in errors(output, name):
        for pat in _NAME_IN[:-1]:
            m = pat.search(e["message"])
            if m:
                found.add(m.group(1))
    return found
