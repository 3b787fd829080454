"""`porter resync`: regenerate the series from an upstream tag."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .build import show_build
from .group import porter_command


@porter_command("resync", writes=True)
@click.option("--from", "tag", required=True, help="Upstream tag to regenerate the series from.")
@click.option("-v", "--reroll-count", "version", type=click.IntRange(min=1), default=None,
              help="Number the revision N and show it in the subjects, as git format-patch -v N does "
                   "([PATCH v1 0/7]). Default: the next number, shown from v2 on.")
@click.option("--rfc", is_flag=True, help="Prefix the subjects with RFC ([RFC PATCH ...]).")
@click.option("--subject-prefix", "prefix", default=None,
              help="Subject prefix instead of the recipe's subject_prefix (default PATCH).")
@click.option("--sender", default=None,
              help="'Name <mail>' for the cover letter's From (default: git's sendemail.from or user.name/user.email).")
@click.option("--no-build", is_flag=True, help="Do not compile the regenerated series.")
def resync_cmd(cwd: Path, tag, version, rfc, prefix, sender, no_build):
    """Regenerate the series from upstream TAG into series/NAME/v<N>/.

    A new revision is written only when the patches differ from the newest one; its cover letter
    and each changed patch (under ---) say what changed, with the notes of [changes.vN] in
    recipe.toml first. New notes or mail options for an unchanged newest revision rewrite it in place.
    With a compiler for the target, the series is built at every patch first. A series with
    conflicts, drift, open findings or a failed build is not written: it is checked out in
    .porter/scratch for a human, and resync exits 1.

    \b
    Examples:
      porter resync --from rcar-3.5.3                  # v1, then v2... when the output changes
      porter resync --from rcar-3.5.3 --rfc -v 1       # [RFC PATCH v1 0/7]
      porter resync --from rcar-3.5.4 --subject-prefix 'PATCH for-4.12'
    """
    from ..resync import resync
    ws = workspace.load(cwd)
    with ui.progress("resync") as update:
        result = resync(ws, tag, update, version=version, prefix=prefix, rfc=rfc, sender=sender,
                        build=not no_build)
    for w in result.get("warnings", []):
        ui.say(f"warning: {w}", style="yellow")
    for c in result["conflicts"]:
        hunk = f" (hunk {c['hunk']})" if c.get("hunk") else ""
        ui.say(f"conflict: {c['file']}:{c.get('line', 0)}: {c.get('unit', '')}{hunk}: {c['reason']}", style="red")
    for d in result["drift"]:
        ui.say(f"drift: {d}", style="red")
    for f in result["findings"]:
        ui.say(f"finding: {f.get('file')}:{f.get('line')}: {f.get('message', f)}", style="yellow")
    for n in result["notes"]:
        ui.say(f"note: {n.get('file')}: {n.get('unit', '')}: {n.get('message') or n.get('reason', '')}")
    show_build(result.get("build"))
    if result.get("not_written"):
        ui.say(f"no revision written: {'; '.join(result['not_written'])}", style="red")
    if result.get("scratch"):
        what = "with conflict markers " if result["conflicts"] else ""
        commits = sorted({c["commit"][:12] for c in result["conflicts"] if c.get("commit")})
        fix = "the conflicted commits" if result["conflicts"] else "the commits to fix"
        ui.say(f"the series {what}is checked out in {result['scratch']} "
               f"(branch {result['branch']}): there, 'git rebase -i {result['base_branch']}', mark "
               f"{', '.join(commits) or fix} as edit, resolve, "
               f"'git commit -a --amend --no-edit && git rebase --continue', 'git branch -f fixed HEAD'; "
               f"then 'porter learn fixed --from {tag}' and resync again")
    if result.get("refreshed"):
        ui.say(f"rewrote series/{ws.name}/{result['revision']}/ in place: same patches, new changelog "
               f"or mail options", style="green")
    elif result["revision"] and not result["changed"]:
        ui.say(f"no change: series/{ws.name}/{result['revision']} is up to date")
    elif result["revision"]:
        ui.say(f"wrote series/{ws.name}/{result['revision']}/ ({len(result['patches'])} patches + cover letter)",
               style="green")
        for p in result["patches"]:
            ui.say(f"  {p['status']:<8} {p['subject']}")
        from ..linux_changes import describe
        for line in describe(result.get("linux_changes") or {"files": []}):
            ui.say(f"  {line}")
        if result.get("changes"):
            ui.say(f"changes since the previous revision (add your own in recipe.toml [changes.{result['revision']}]):")
            for line in result["changes"]:
                ui.say(f"  - {line}")
    return result
