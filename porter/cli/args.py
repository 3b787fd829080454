"""Argument helpers the verbs share: the Xen tree and ref, input files, output paths."""
from __future__ import annotations

import os
import stat
from pathlib import Path

from .. import workspace
from ..errors import BadInput


def xen_and_ref(cwd: Path, xen: str | None, ref: str | None) -> tuple[Path, str]:
    """--xen/--ref, or the workspace's Xen cache and base when run inside one."""
    if xen is None or ref is None:
        try:
            ws = workspace.load(cwd)
        except BadInput:
            raise BadInput("--xen and --ref are required outside a porter workspace") from None
        xen = xen or str(ws.xen_git)
        ref = ref or ws.base
    path = Path(xen)
    if not path.is_absolute():
        path = cwd / path
    if not path.exists():
        raise BadInput(f"xen {xen!r} does not exist")
    return path, ref


MAX_SOURCE = 64 << 20
_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def read_source(path: Path, name: str) -> bytes:
    """A C source file's bytes; a FIFO, device, directory, huge or binary file is refused at once."""
    try:
        st = os.stat(path)
        kind = next((what for test, what in _KINDS if test(st.st_mode)), None)
        if kind:
            raise BadInput(f"{name} is {kind}, not a C source file")
        if st.st_size > MAX_SOURCE:
            raise BadInput(f"{name} is {st.st_size} bytes: larger than the {MAX_SOURCE >> 20} MB porter reads")
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                raise BadInput(f"{name} is not a regular file")
            data = f.read(MAX_SOURCE + 1)
    except OSError as exc:
        raise BadInput(f"cannot read {name}: {exc.strerror or exc}") from None
    if len(data) > MAX_SOURCE:
        raise BadInput(f"{name} is larger than the {MAX_SOURCE >> 20} MB porter reads")
    nul = data.find(b"\0")
    if nul >= 0:
        raise BadInput(f"{name} is binary (a NUL byte at offset {nul}), not C source text")
    control = sum(data.count(bytes([c])) for c in range(1, 32) if c not in (9, 10, 12, 13, 11))
    if control > max(16, len(data) // 100):
        raise BadInput(f"{name} is binary ({control} control bytes), not C source text")
    return data


def read_inputs(cwd: Path, names) -> dict[str, bytes]:
    return {name: read_source(Path(name) if Path(name).is_absolute() else cwd / name, name) for name in names}


def output_path(cwd: Path, out: str) -> Path:
    """-o OUT (relative to the current directory); inside a workspace it must stay inside it."""
    path = Path(out) if Path(out).is_absolute() else cwd / out
    if path.is_dir():
        raise BadInput(f"output {out!r} is a directory: give the path of the file to write")
    root = workspace.root_for(cwd)
    if root is None:
        return path
    try:
        return root / path.resolve().relative_to(root)
    except ValueError:
        raise BadInput(f"output {out!r} leaves the workspace {root}") from None
