"""`porter resync`: regenerate the series from an upstream tag."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("resync")
@click.option("--from", "tag", required=True, help="Upstream tag to regenerate the series from.")
def resync_cmd(cwd: Path, tag):
    """Regenerate the series from upstream TAG into series/NAME/v<N>/."""
    from ..resync import resync
    ws = workspace.load(cwd)
    with ui.progress("resync") as update:
        result = resync(ws, tag, update)
    for c in result["conflicts"]:
        ui.say(f"conflict: {c['file']}:{c.get('line', 0)}: {c.get('unit', '')}: {c['reason']}", style="red")
    for d in result["drift"]:
        ui.say(f"drift: {d}", style="red")
    for f in result["findings"]:
        ui.say(f"finding: {f.get('file')}:{f.get('line')}: {f.get('message', f)}", style="yellow")
    for n in result["notes"]:
        ui.say(f"note: {n.get('file')}: {n.get('unit', '')}: {n.get('message') or n.get('reason', '')}")
    if result.get("scratch"):
        ui.say(f"the series with conflict markers is checked out in {result['scratch']} "
               f"(branch {result['branch']}); fix the port commit there, then run "
               f"'porter learn {result['branch']} --from {tag}' and resync again")
    if result["revision"] and not result["changed"]:
        ui.say(f"no change: series/{ws.name}/{result['revision']} is up to date")
    elif result["revision"]:
        ui.say(f"wrote series/{ws.name}/{result['revision']}/ ({len(result['patches'])} patches + cover letter)",
               style="green")
        for p in result["patches"]:
            ui.say(f"  {p['status']:<8} {p['subject']}")
        from ..linux_changes import describe
        for line in describe(result.get("linux_changes") or {"files": []}):
            ui.say(f"  {line}")
    return result
