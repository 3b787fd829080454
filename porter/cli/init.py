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
              help="Start from a recipe porter ships (ipmmu-vmsa): copied into series/NAME/.")
@click.option("--upstream", required=True, help="Upstream Linux tree: URL, or path of a local clone.")
@click.option("--xen", required=True, help="Xen tree: URL, or path of a local clone.")
@click.option("--base", required=True, help="Xen ref the series applies on.")
@click.option("--release", default=None, help="Xen release ref (default: found from the base's history).")
@click.option("--public-url", default=None,
              help="Upstream URL patches name as the code's origin; needed when --upstream is a local "
                   "clone without a public origin remote.")
@click.option("--xen-public-url", default=None,
              help="Xen URL CI clones from when --xen is a local clone without a public origin remote.")
def init_cmd(cwd: Path, target, name, recipe, upstream, xen, base, release, public_url, xen_public_url):
    """Create a workspace: porter.toml, series/NAME/ and a git cache in .porter/.

    Local clones are used through their public origin remote in patches and CI (porter.toml
    public_url); an upstream clone without one needs --public-url.

    \b
    Examples:
      porter init ws --recipe ipmmu-vmsa --base base-v2 \\
          --upstream ~/src/renesas-bsp --public-url https://github.com/renesas-rcar/linux-bsp.git \\
          --xen https://xenbits.xen.org/git-http/xen.git
      porter init ws --name ipmmu-vmsa --base base-v2 \\
          --upstream ~/src/renesas-bsp --public-url https://github.com/renesas-rcar/linux-bsp.git \\
          --xen https://xenbits.xen.org/git-http/xen.git
      porter init ws --name ipmmu-vmsa --upstream URL --xen URL --base my-base --release RELEASE-4.9.0
    """
    from ..revision import release_warning
    root = cwd / target if target else cwd
    with ui.progress("init") as update:
        ws = workspace.init(root, name, upstream, xen, base, release, public_url, update, xen_public_url,
                            recipe=recipe)
    ui.say(f"workspace {ws.root} ready: series {ws.name} on {ws.base}")
    warnings = [w for w in [release_warning(ws)] if w]
    for w in warnings:
        ui.say(f"warning: {w}", style="yellow")
    return {"workspace": str(ws.root), "series": ws.name, "recipe": recipe, "warnings": warnings}
