"""`porter review`: what changed between two revisions, hunk by hunk, with origins."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command
from .show import show_diff


@porter_command("review")
@click.argument("va", required=False, metavar="[vA]")
@click.argument("vb", required=False, metavar="[vB]")
@click.option("--markdown", "as_markdown", is_flag=True, help="A comment ready for a merge request.")
def review_cmd(cwd: Path, va, vb, as_markdown):
    """What changed between two revisions (default: the two newest), patch by patch.

    Each patch is same, changed, new or removed; each changed hunk of the interdiff (range-diff
    style) gets its origin: upstream:<commit|tag>, learned:<unit>, rule:<id>, carry:<patch>,
    recipe:<step> or manual (nothing in porter explains it).

    \b
    Examples:
      porter review              # the two newest revisions
      porter review v1 v3
      porter review --markdown   # a merge-request comment
    """
    from .. import review
    ws = workspace.load(cwd)
    with ui.progress("review") as update:
        result = review.review(ws, workspace.parse_version(va), workspace.parse_version(vb), update)
    if as_markdown:
        text = review.markdown(result, ws.name)
        if ui.json_mode():
            result["markdown"] = text
        else:
            click.echo(text, nl=False)
        return result
    up = result["upstream"]
    ui.say(f"series/{ws.name}: {result['from']} -> {result['to']} (upstream {up['from']} -> {up['to']})",
           style="bold")
    marks = {"same": "=", "changed": "!", "new": "+", "removed": "-"}
    colours = {"same": None, "changed": "yellow", "new": "green", "removed": "red"}
    for p in result["patches"]:
        ui.say(f"{marks[p['status']]} {p['status']:<8} {p['file']}: {p['subject']}", style=colours[p["status"]])
        for h in p["hunks"]:
            ui.say(f"    [{h['origin']}] {h['header']}", style="red" if h["origin"] == "manual" else "cyan")
            show_diff(h["diff"], indent="      ")
    for line in review.describe_linux_changes(result):
        ui.say(line)
    return result
