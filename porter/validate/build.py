"""Host build of ported driver C against porter's Xen shim.

Each translation unit compiles on its own (as in Xen's build) with the shim
headers standing in for every <xen/...> and <asm/...> include; objects and
the linked shared library are cached by content hash, so a mutant that
touches one file recompiles that file only.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput
from .. import sandbox

SHIM_DIR = Path(__file__).parent / "shim"
SHIM_HEADER = "porter_xen.h"
SHIM_SOURCE = "porter_shim.c"
CFLAGS = ["-std=gnu11", "-O0", "-g0", "-fPIC", "-fno-strict-aliasing", "-fwrapv", "-w",
          "-D__XEN__", "-DCONFIG_ARM", "-DCONFIG_ARM_64", "-DCONFIG_HAS_DEVICE_TREE"]
BUILD_VERSION = "1"

C_FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c")
H_FILES = ("io-pgtable.h",)
REQUIRED = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.h")

_INCLUDE = re.compile(r'^\s*#\s*include\s*<([^>]+)>', re.M)
_ERROR = re.compile(r"^(?P<file>[^:\n]+):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?:fatal )?error:\s*(?P<msg>.*)$", re.M)


class BuildError(Exception):
    """The ported C does not compile: one line naming the file and the first error."""


def compiler() -> str:
    name = os.environ.get("CC", "cc")
    path = shutil.which(name)
    if not path:
        raise BadInput(f"no C compiler found ({name!r} is not on PATH): install gcc "
                       "(e.g. 'apt-get install gcc') or set CC to a C compiler")
    return path


def cache_root(cache: Path | None = None) -> Path:
    """cache (the workspace's, when validating inside one), else $PORTER_VALIDATE_CACHE or a temp dir."""
    base = cache or os.environ.get("PORTER_VALIDATE_CACHE")
    root = Path(base) if base else Path(tempfile.gettempdir()) / f"porter-validate-{os.getuid()}"
    root.mkdir(parents=True, exist_ok=True)
    return root


def find_sources(source_dir: Path) -> dict[str, Path]:
    """The ported files in source_dir, found by name anywhere below it."""
    source_dir = Path(source_dir)
    if not source_dir.is_dir():
        raise BadInput(f"source directory {source_dir} does not exist")
    found: dict[str, Path] = {}
    for name in C_FILES + H_FILES:
        hits = sorted(source_dir.rglob(name), key=lambda p: (len(p.parts), str(p)))
        hits = [p for p in hits if p.is_file()]
        if hits:
            found[name] = hits[0]
    missing = [n for n in REQUIRED if n not in found]
    if missing:
        raise BadInput(f"{source_dir}: no {', '.join(missing)} found (looked recursively)")
    return found


@dataclass
class Sources:
    """The texts of one build: name -> C text (mutants swap one entry)."""
    texts: dict[str, str]
    origin: dict[str, str]        # name -> path shown in messages

    @classmethod
    def read(cls, files: dict[str, Path]) -> "Sources":
        texts = {n: p.read_text("utf-8", "surrogateescape") for n, p in files.items()}
        return cls(texts, {n: str(p) for n, p in files.items()})

    def replace(self, name: str, text: str) -> "Sources":
        texts = dict(self.texts)
        texts[name] = text
        return Sources(texts, self.origin)


def _digest(*parts: str | bytes) -> str:
    h = hashlib.sha256(BUILD_VERSION.encode())
    for part in parts:
        h.update(part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()[:24]


def _shim_text() -> tuple[str, str]:
    return ((SHIM_DIR / SHIM_HEADER).read_text(), (SHIM_DIR / SHIM_SOURCE).read_text())


def _stub_includes(texts: dict[str, str]) -> list[str]:
    names = set()
    for text in texts.values():
        names.update(_INCLUDE.findall(text))
    return sorted(n for n in names if n.startswith(("xen/", "asm/", "asm-arm/", "public/")))


def _first_error(stderr: str, origin: dict[str, str], workdir: Path) -> str:
    m = _ERROR.search(stderr)
    if not m:
        lines = [ln for ln in stderr.splitlines() if ln.strip()]
        return lines[0] if lines else "compiler failed without a message"
    name = Path(m.group("file")).name
    shown = origin.get(name, name)
    return f"{shown}:{m.group('line')}: error: {m.group('msg').strip()}"


def compile_timeout() -> float:
    """Wall-clock seconds one compile or link may take ($PORTER_COMPILE_TIMEOUT, default 120)."""
    try:
        return float(os.environ.get("PORTER_COMPILE_TIMEOUT", "120"))
    except ValueError:
        raise BadInput("PORTER_COMPILE_TIMEOUT must be a number of seconds") from None


def build(sources: Sources, cc: str | None = None, cache: Path | None = None) -> Path:
    """Compile and link the sources with the shim in the sandbox; return the cached shared library."""
    cc = cc or compiler()
    mode = sandbox.mode()
    header, shim_c = _shim_text()
    texts = sources.texts
    headers = "".join(f"{n}\n{texts[n]}" for n in sorted(H_FILES) if n in texts)
    stubs = _stub_includes(texts)
    common = _digest(cc, " ".join(CFLAGS), header, headers, "\n".join(stubs))
    root = cache_root(cache)
    units = [(n, texts[n]) for n in C_FILES if n in texts] + [(SHIM_SOURCE, shim_c)]
    objs = {n: root / "obj" / f"{Path(n).stem}-{_digest(common, t)}.o" for n, t in units}
    lib = root / "lib" / f"driver-{_digest(*sorted(str(o) for o in objs.values()))}.so"
    if lib.exists():
        return lib
    (root / "obj").mkdir(exist_ok=True)
    (root / "lib").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix="build-") as tmp:
        work = Path(tmp)
        inc = work / "include"
        for stub in stubs:
            p = inc / stub
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(f'#include "{SHIM_HEADER}"\n')
        shutil.copy(SHIM_DIR / SHIM_HEADER, inc / SHIM_HEADER)
        for n in H_FILES:
            if n in texts:
                (work / n).write_text(texts[n], "utf-8", "surrogateescape")

        def compile_unit(unit):
            name, text = unit
            obj = objs[name]
            if obj.exists():
                return None
            src = work / name
            src.write_text(text, "utf-8", "surrogateescape")
            tmp_obj = work / (Path(name).stem + ".o")
            proc = sandbox.run([cc, *CFLAGS, f"-fmacro-prefix-map={work}/=", "-I", str(work), "-I", str(inc),
                                "-c", str(src), "-o", str(tmp_obj)], str(work), compile_timeout(), mode)
            if proc.returncode != 0:
                return _first_error(proc.stderr.decode("utf-8", "replace"), sources.origin, work)
            os.replace(tmp_obj, obj)
            return None

        with ThreadPoolExecutor(max_workers=max(1, os.cpu_count() or 1)) as pool:
            errors = [e for e in pool.map(compile_unit, units) if e]
        if errors:
            raise BuildError(errors[0])
        tmp_lib = work / "driver.so"
        proc = sandbox.run([cc, "-shared", "-Wl,-z,defs", "-o", str(tmp_lib), *map(str, objs.values())],
                           str(work), compile_timeout(), mode, readable=(str(root / "obj"),))
        if proc.returncode != 0:
            stderr = proc.stderr.decode("utf-8", "replace")
            line = next((ln for ln in stderr.splitlines() if "undefined reference" in ln or "error" in ln),
                        stderr.strip().splitlines()[0] if stderr.strip() else "link failed")
            raise BuildError(f"link: {line.strip()}")
        os.replace(tmp_lib, lib)
    return lib
