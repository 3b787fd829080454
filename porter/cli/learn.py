"""`porter learn`: read a hand-made port and write the recipe."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("learn")
@click.argument("ref")
@click.option("--from", "tag", required=True, help="Upstream tag the port was made from.")
def learn_cmd(cwd: Path, ref, tag):
    """Read the Xen commits base..REF of an existing port and write the recipe.

    The commits that copy upstream files must copy them as they are at TAG: when they hold another
    tag's files, learn stops and names that tag.

    \b
    Examples:
      porter learn ipmmu_v2 --from rcar-3.5.3
      porter learn porter/ipmmu-vmsa/conflicts --from rcar-3.5.4   # after fixing a conflict
    """
    from ..learn import learn
    ws = workspace.load(cwd)
    with ui.progress("learning") as update:
        rec, summary = learn(ws, ref, tag, update)
    for s in summary:
        ui.say(f"  {s['kind']:<6} {s['commit'][:12]} {s['subject']}")
        if s.get("note"):
            ui.say(f"         note: {s['note']}", style="yellow")
    ui.say(f"recipe written to {ws.series_dir.relative_to(ws.root)}/ ({len(summary)} steps from {tag})")
    return {"recipe": str(ws.series_dir / "recipe.toml"), "steps": summary}
