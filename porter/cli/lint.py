"""`porter lint`: Linux-only API left in live code."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui
from .args import read_inputs, xen_and_ref
from .group import porter_command


@porter_command("lint")
@click.argument("files", nargs=-1, required=True)
@click.option("--xen", default=None, help="Xen git repository (default: the workspace's).")
@click.option("--ref", default=None, help="Xen ref whose headers define the API (default: the base).")
def lint_cmd(cwd: Path, files, xen, ref):
    """Report identifiers live code uses that neither the files, Xen's headers at REF nor C define.

    \b
    Examples:
      porter lint xen/drivers/passthrough/arm/ipmmu-vmsa.c      # in a workspace: its Xen base
      porter lint foo.c --xen ~/src/xen --ref staging
    """
    from ..linux_to_xen import lint, xen_index
    from ..linux_to_xen.xenindex import cache_dir
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
