"""`porter learn`: read a hand-made port and write the recipe."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("learn", writes=True)
@click.argument("ref")
@click.option("--from", "tag", required=True, help="Upstream tag the port was made from.")
@click.option("--paths", "paths", multiple=True, metavar="PATH",
              help="Xen file or folder whose commits belong to the series too (repeatable).")
def learn_cmd(cwd: Path, ref, tag, paths):
    """Read the Xen commits base..REF of an existing port and write the recipe.

    Every commit is learned per file: C files as C-unit edits, build files as templates, other
    files as their own patches. Merge commits count along their first parent; commits that touch
    no series file and add nothing it uses are left out and listed (--paths keeps more).

    The commits that copy upstream files must copy them as they are at TAG: when they hold another
    tag's files, learn stops and names that tag.

    \b
    Examples:
      porter learn ipmmu_v2 --from rcar-3.5.3
      porter learn porter/ipmmu-vmsa/conflicts --from rcar-3.5.4   # after fixing a conflict
      porter learn smmuv3 --from v5.8.18 --paths xen/common/device_tree.c
    """
    from ..learn import learn
    ws = workspace.load(cwd)
    with ui.progress("learning") as update:
        rec, summary, left_out = learn(ws, ref, tag, update, paths=tuple(paths))
    for s in summary:
        ui.say(f"  {s['kind']:<6} {s['commit'][:12]} {s['subject']}")
        if s.get("note"):
            ui.say(f"         note: {s['note']}", style="yellow")
    for s in left_out:
        ui.say(f"  left out {s['commit'][:12]} {s['subject']}: {s['reason']}", style="yellow")
    ui.say(f"recipe written to {ws.series_dir.relative_to(ws.root)}/ ({len(summary)} steps from {tag}"
           + (f", {len(left_out)} commits left out (--paths to keep them)" if left_out else "") + ")")
    return {"recipe": str(ws.series_dir / "recipe.toml"), "steps": summary, "left_out": left_out}
