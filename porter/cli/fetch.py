"""`porter fetch`: refresh the workspace's git caches."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("fetch", writes=True)
@click.option("--public", is_flag=True,
              help="Clone from the public URLs of porter.toml (public_url, else url) and refuse local "
                   "paths: what CI runs.")
def fetch_cmd(cwd: Path, public):
    """Fetch the upstream and Xen trees porter.toml names into .porter/ (cloning them if missing).

    \b
    Examples:
      porter fetch             # after the vendor tagged a new release
      porter fetch --public    # in CI: only URLs a runner can reach
    """
    ws = workspace.load(cwd)
    with ui.progress("fetching") as update:
        ws.fetch(progress=update, public=public)
    names = [ws.public_url(w) if public else ws.config[w]["url"] for w in ("upstream", "xen")]
    ui.say(f"fetched {names[0]} and {names[1]} into {ws.cache}")
    return {"cache": str(ws.cache)}
