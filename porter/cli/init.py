"""`porter init`: create a workspace."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("init")
@click.argument("target", required=False, type=click.Path(file_okay=False))
@click.option("--name", default=None, help="Series name (series/NAME/; default: the recipe's).")
@click.option("--recipe", default=None,
              help="Start from a recipe porter ships (e.g. ipmmu-vmsa): copied into series/NAME/.")
@click.option("--upstream", required=True, help="Upstream Linux tree: path or URL.")
@click.option("--xen", required=True, help="Xen tree: path or URL.")
@click.option("--base", required=True, help="Xen ref the series applies on.")
@click.option("--release", default=None, help="Xen release ref (default: found from the base's history).")
@click.option("--public-url", default=None,
              help="Upstream URL to name in provenance when --upstream is a local mirror.")
def init_cmd(cwd: Path, target, name, recipe, upstream, xen, base, release, public_url):
    """Create a workspace: porter.toml, series/NAME/ and a git cache in .porter/."""
    root = cwd / target if target else cwd
    with ui.progress("init") as update:
        ws = workspace.init(root, name, upstream, xen, base, release, public_url, update, recipe=recipe)
    ui.say(f"workspace {ws.root} ready: series {ws.name} on {ws.base}")
    return {"workspace": str(ws.root), "series": ws.name, "recipe": recipe}
