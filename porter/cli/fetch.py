"""`porter fetch`: refresh the workspace's git caches."""
from __future__ import annotations

from pathlib import Path

from .. import ui, workspace
from .group import porter_command


@porter_command("fetch", writes=True)
def fetch_cmd(cwd: Path):
    """Fetch the upstream and Xen trees porter.toml names into .porter/ (cloning them if missing)."""
    ws = workspace.load(cwd)
    with ui.progress("fetching") as update:
        ws.fetch(progress=update)
    ui.say(f"fetched {ws.config['upstream']['url']} and {ws.config['xen']['url']} into {ws.cache}")
    return {"cache": str(ws.cache)}
