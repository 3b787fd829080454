"""`porter status`: the workspace at a glance."""
from __future__ import annotations

from pathlib import Path

from .. import ui, workspace
from .group import porter_command


@porter_command("status")
def status_cmd(cwd: Path):
    """Where the workspace stands: sources, recipe, revisions, and what to run next.

    Reads only what is on disk (no fetch, no build); `porter check` compares the newest revision
    with what the recipe makes.

    \b
    Examples:
      porter status
      porter -C ~/ws status --json
    """
    from ..status import status
    doc = status(workspace.load(cwd))
    ui.say(f"workspace {doc['workspace']}: series {doc['series']} on {doc['base']}", style="bold")
    for which, src in doc["sources"].items():
        public = f" (public: {src['public_url']})" if src["public_url"] else ""
        ui.say(f"  {which:<8} {src['url']}{public}{'' if src['cached'] else ' [not cached yet]'}")
    rec = doc["recipe"]
    if rec:
        kinds = ", ".join(f"{n} {k}" for k, n in rec["kinds"].items())
        ui.say(f"recipe: {rec['steps']} steps ({kinds}) learned from {rec['learned_ref']} at {rec['upstream_tag']}")
    else:
        ui.say(f"recipe: none ({doc.get('recipe_error', '')})")
    for r in doc["revisions"]:
        ui.say(f"  {r['revision']}: [{r['subject_prefix']}] {r['patches']} patches + cover letter from "
               f"{r['tag']}, {r['sender']}, {r['date']}")
    for w in doc["warnings"]:
        ui.say(f"warning: {w}", style="yellow")
    ui.say(f"next: {doc['next']}")
    return doc
