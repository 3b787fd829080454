"""`porter check`: the CI gate."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .build import show_build
from .group import porter_command
from .show import show_diff


@porter_command("check", writes=True)
@click.option("--no-build", is_flag=True, help="Do not compile the committed revision.")
def check_cmd(cwd: Path, no_build):
    """CI gate: regenerate the newest revision from the recipe and compare it with the committed one.

    Exit 0 when identical, free of findings and (with a compiler for the target) building at every
    patch; exit 1 naming each patch file that differs (with a short diff), each finding and each
    build error. Never touches the committed files.

    \b
    Examples:
      porter check
      porter check --json     # {"differs": [{"file", "diff"}], ...} for scripts
    """
    from ..check import check
    ws = workspace.load(cwd)
    with ui.progress("check: regenerating the newest revision") as update:
        result = check(ws, update, build=not no_build)
    for c in result["conflicts"]:
        ui.say(f"conflict: {c['file']}:{c.get('line', 0)}: {c.get('unit', '')}: {c['reason']}", style="red")
    for d in result["drift"]:
        ui.say(f"drift: {d}", style="red")
    for f in result["findings"]:
        ui.say(f"finding: {f.get('file')}:{f.get('line')}: {f.get('message', f)}", style="red")
    show_build(result.get("build"))
    if result["ok"]:
        ui.say(f"ok: series/{ws.name}/{result['revision']} is what the recipe makes from {result['tag']}",
               style="green")
    elif not result["differs"]:
        ui.say(f"series/{ws.name}/{result['revision']} is what the recipe makes from {result['tag']}, "
               f"but it is not finished (see above)", style="red")
    for d in result["differs"]:
        ui.say(f"differs: series/{ws.name}/{result['revision']}/{d['file']}", style="red")
        show_diff(d["diff"])
    if result["differs"]:
        ui.say(f"{len(result['differs'])} file(s) differ from what the recipe makes: a hand edit, "
               f"a stale recipe or a changed upstream; run 'porter resync --from {result['tag']}' "
               f"or update the recipe", style="red")
    return result
