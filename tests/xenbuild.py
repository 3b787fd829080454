"""Build a revision patch by patch in a real Xen tree (tests' stand-in until `porter build` lands).

A temp clone of the Xen tree at the base, arm64 defconfig, the generated headers prepared once,
then after each `git am`: the options the series adds are switched on (CONFIG_<NAME>=y) and the
directory the patch touches is compiled through Xen's Rules.mk (Xen's own flags, -Werror).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

CROSS = "aarch64-linux-gnu-"
ARCH = ["XEN_TARGET_ARCH=arm64", f"CROSS_COMPILE={CROSS}"]


def have_cross_compiler() -> bool:
    return shutil.which(CROSS + "gcc") is not None


def _run(cmd: list[str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)


def _make(xen: Path, *args: str, cwd: Path | None = None, rules: bool = False) -> subprocess.CompletedProcess:
    cmd = ["make", "-rR", *ARCH]
    if rules:
        cmd += ["-f", str(xen / "Rules.mk"), f"BASEDIR={xen}", f"XEN_ROOT={xen.parent}"]
    return _run(cmd + list(args), cwd or xen)


def _prepare(xen: Path) -> None:
    for args, cwd, rules in ((("defconfig",), xen, False), (("include/config/auto.conf",), xen, False),
                             (("include/xen/compile.h",), xen, True)):
        p = _make(xen, *args, cwd=cwd, rules=rules)
        if p.returncode:
            raise RuntimeError(f"make {' '.join(args)}: {p.stderr[-2000:]}")
    link = xen / "include" / "asm"
    if not link.exists():
        link.symlink_to("asm-arm")
    for args, cwd in ((("-C", "include"), xen), (("-C", "arch/arm", "asm-offsets.s"), xen),
                      (("include/asm-arm/asm-offsets.h",), xen)):
        p = _make(xen, *args, cwd=cwd, rules=True)
        if p.returncode:
            raise RuntimeError(f"make {' '.join(args)}: {p.stderr[-2000:]}")


def _enable_options(xen: Path, options: list[str]) -> None:
    config = xen / ".config"
    text = config.read_text()
    missing = [o for o in options if f"CONFIG_{o}=y" not in text]
    if not missing:
        return
    text = re.sub(r"^# CONFIG_(\w+) is not set\n", lambda m: "" if m.group(1) in missing else m.group(0), text,
                  flags=re.M)
    config.write_text(text + "".join(f"CONFIG_{o}=y\n" for o in missing))
    p = _make(xen, "olddefconfig")
    if p.returncode == 0:
        p = _make(xen, "include/config/auto.conf")
    if p.returncode:
        raise RuntimeError(f"enabling {missing}: {p.stderr[-2000:]}")


def _new_options(patch: bytes) -> list[str]:
    return re.findall(r"^\+config (\w+)$", patch.decode("utf-8", "replace"), re.M)


def _dirs(patch: bytes) -> list[str]:
    paths = re.findall(r"^\+\+\+ b/(\S+)$", patch.decode("utf-8", "replace"), re.M)
    return sorted({str(Path(p).parent) for p in paths if p.endswith((".c", ".h", "Makefile"))})


def build_series(xen_repo: Path, base: str, patches: list[Path], options: list[str] = ()) -> list[dict]:
    """[{patch, ok, objects, error}] for each patch applied in order on base."""
    results = []
    with tempfile.TemporaryDirectory(prefix="porter-xenbuild-") as tmp:
        tree = Path(tmp) / "xen"
        p = _run(["git", "clone", "-q", "--shared", "--no-checkout", str(xen_repo), str(tree)], Path(tmp))
        if p.returncode:
            raise RuntimeError(p.stderr)
        _run(["git", "-c", "advice.detachedHead=false", "checkout", "-q", base], tree)
        for key, value in (("user.name", "porter test"), ("user.email", "porter@localhost")):
            _run(["git", "config", key, value], tree)
        xen = tree / "xen"
        _prepare(xen)
        enabled = list(options)
        for patch in patches:
            data = patch.read_bytes()
            p = _run(["git", "am", "-q", str(patch)], tree)
            if p.returncode:
                results.append({"patch": patch.name, "ok": False, "objects": [], "error": "git am: " + p.stderr})
                break
            enabled += _new_options(data)
            if enabled:
                _enable_options(xen, enabled)
            ok, objects, error = True, [], ""
            for d in _dirs(data):
                if not d.startswith("xen/"):
                    continue
                p = _make(xen, "built_in.o", cwd=tree / d, rules=True)
                objects += re.findall(r"-c (\S+\.c) -o", p.stdout)
                if p.returncode:
                    ok, error = False, (p.stdout + p.stderr)[-3000:]
                    break
            results.append({"patch": patch.name, "ok": ok, "objects": objects, "error": error})
    return results


if __name__ == "__main__":
    import json
    import sys
    revision = Path(sys.argv[3]).resolve()
    out = build_series(Path(sys.argv[1]), sys.argv[2],
                       sorted(p for p in revision.glob("*.patch") if not p.name.startswith("0000-")))
    print(json.dumps(out, indent=1))
