"""`porter lint`: Linux-only API left in live code."""
from __future__ import annotations

from pathlib import Path

import click

from . import ui
from .cli import porter_command
from .errors import BadInput


def xen_and_ref(cwd: Path, xen: str | None, ref: str | None) -> tuple[Path, str]:
    """--xen/--ref, or the workspace's Xen cache and base when run inside one."""
    if xen is None or ref is None:
        from . import workspace
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


@porter_command("lint")
@click.argument("files", nargs=-1, required=True)
@click.option("--xen", default=None, help="Xen git repository (default: the workspace's).")
@click.option("--ref", default=None, help="Xen ref whose headers define the API (default: the base).")
def lint_cmd(cwd: Path, files, xen, ref):
    """Report identifiers live code uses that neither the files, Xen's headers at REF nor C define."""
    from .linux_to_xen import lint, xen_index
    from .linux_to_xen.xenindex import cache_dir
    repo, ref = xen_and_ref(cwd, xen, ref)
    sources = read_inputs(cwd, files)
    with ui.progress(f"indexing Xen headers at {ref}"):
        index = xen_index(repo, ref, cache=cache_dir(cwd))
    findings = lint(sources, repo, ref, index=index)
    for f in findings:
        ui.say(f"{f['file']}:{f['line']}: {f['message']}")
    symbols = {f["symbol"] for f in findings}
    ui.say(f"{len(findings)} finding(s), {len(symbols)} distinct symbol(s)" if findings
           else "no Linux-only API in live code")
    return {"ok": not findings, "findings": findings}
