"""`porter export`: a revision as a git branch."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("export", writes=True)
@click.argument("revision", required=False, metavar="[vN]")
@click.option("-b", "--branch", default=None, help="Branch name (default: porter/NAME/vN).")
@click.option("--repo", default=None, type=click.Path(file_okay=False),
              help="Git repository to create the branch in (default: the workspace's Xen cache).")
@click.option("--force", is_flag=True, help="Replace the branch if it exists.")
def export_cmd(cwd: Path, revision, branch, repo, force):
    """Apply revision vN (default: the newest) on the base with git am and keep it as a branch.

    \b
    Examples:
      porter export v2                           # branch porter/NAME/v2 in .porter/xen.git
      porter export v2 --repo ~/src/xen -b ipmmu-v2
    """
    from ..send import export
    ws = workspace.load(cwd)
    with ui.progress("exporting"):
        result = export(ws, workspace.parse_version(revision), branch, repo, force)
    ui.say(f"branch {result['branch']} in {result['repo']}: {result['patches']} commits on "
           f"{ws.base}, tip {result['commit'][:12]}", style="green")
    if repo is None:
        ui.say(f"  fetch it into your Xen tree: git fetch {result['repo']} {result['branch']}")
    return result
