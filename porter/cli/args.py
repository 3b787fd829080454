"""Argument helpers the verbs share: the Xen tree and ref, input files, output paths."""
from __future__ import annotations

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


def read_inputs(cwd: Path, names) -> dict[str, bytes]:
    files = {}
    for name in names:
        path = Path(name) if Path(name).is_absolute() else cwd / name
        try:
            files[name] = path.read_bytes()
        except OSError as exc:
            raise BadInput(f"cannot read {name}: {exc.strerror or exc}") from None
    return files


def output_path(cwd: Path, out: str) -> Path:
    """-o OUT (relative to the current directory); inside a workspace it must stay inside it."""
    path = Path(out) if Path(out).is_absolute() else cwd / out
    root = workspace.root_for(cwd)
    if root is None:
        return path
    try:
        return root / path.resolve().relative_to(root)
    except ValueError:
        raise BadInput(f"output {out!r} leaves the workspace {root}") from None
