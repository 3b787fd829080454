"""Compile single C files in a real Xen tree with Xen's own flags (tests and benchmarks only).

prepare() clones the Xen repository at a ref and runs the hypervisor's configure steps for arm64
(defconfig, auto.conf, compile.h, the asm link, asm-offsets.h); compile() builds one object
through xen/Rules.mk in its directory, exactly as the Xen build would.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

CROSS = "aarch64-linux-gnu-"
_ENV = {"LC_ALL": "C", "XEN_TARGET_ARCH": "arm64", "TARGET_ARCH": "arm", "TARGET_SUBARCH": "arm64",
        "CROSS_COMPILE": CROSS}
_ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:\d+:)? error: (?P<msg>.*)$", re.M)


def have_cross() -> bool:
    return shutil.which(CROSS + "gcc") is not None


def _make(xen: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **_ENV}
    return subprocess.run(["make", "-rR", *args], cwd=cwd or xen, env=env, capture_output=True,
                          text=True, timeout=600)


def _rules(xen: Path, *args: str) -> subprocess.CompletedProcess:
    """make -f Rules.mk ARGS from xen/Makefile, so that the flags it exports (Xen >= 4.12) are set."""
    rule = "porter-step: ; $(MAKE) -f $(BASEDIR)/Rules.mk " + " ".join(args)
    return _make(xen, "--eval", rule, "porter-step")


def prepare(repo: Path, ref: str, dest: Path, patches: list[Path] = ()) -> Path:
    """A configured Xen tree at ref (patches applied with git am); returns its xen/ directory."""
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(repo), str(dest)], check=True)
    sha = subprocess.run(["git", "-C", str(repo), "rev-parse", ref + "^{commit}"], check=True,
                         capture_output=True, text=True).stdout.strip()
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "--detach", sha], check=True)
    for p in patches:
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(dest),
                        "am", "-q", "--keep-cr", str(p)], check=True, capture_output=True)
    xen = dest / "xen"
    for step in (lambda: _make(xen, "defconfig"), lambda: _make(xen, "include/config/auto.conf"),
                 lambda: _rules(xen, "include/xen/compile.h")):
        r = step()
        if r.returncode:
            raise RuntimeError(r.stderr[-2000:])
    link = xen / "include" / "asm"
    if not link.exists():
        link.symlink_to("asm-arm")
    for args in (("-C", "arch/arm", "asm-offsets.s"), ("include/asm-arm/asm-offsets.h",)):
        r = _rules(xen, *args)
        if r.returncode:
            raise RuntimeError(r.stderr[-2000:])
    return xen


def compile(xen: Path, source: str) -> tuple[int, str]:
    """Build the object of source (a path under xen/) with Xen's flags: (exit code, compiler output)."""
    path = Path(source)
    obj = path.with_suffix(".o").name
    r = _rules(xen, "-C", str(path.parent), obj)
    return r.returncode, r.stdout + r.stderr


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
