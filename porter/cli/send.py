"""`porter send`: mail a revision with git send-email."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("send")
@click.argument("revision", required=False, metavar="[vN]")
@click.option("--dry-run", is_flag=True, help="Show what git send-email would send; send nothing.")
@click.option("--to", "to", multiple=True, help="Another To: address (repeat).")
@click.option("--cc", "cc", multiple=True, help="Another Cc: address (repeat).")
@click.option("--in-reply-to", default=None, help="Message-Id to thread the cover letter under.")
def send_cmd(cwd: Path, revision, dry_run, to, cc, in_reply_to):
    """Mail revision vN (default: the newest) with git send-email.

    To and Cc are the cover letter's (Xen's MAINTAINERS for the touched paths plus the recipe's
    lists), From is its sender; the thread (Message-Id, In-Reply-To) is the one the files carry.
    SMTP settings are git's own (sendemail.smtpServer...).

    \b
    Examples:
      porter send --dry-run          # what would go out, to whom
      porter send v2
      porter send v2 --in-reply-to '<porter-ipmmu-vmsa-v1-0-...@example.org>'
    """
    from ..send import send
    ws = workspace.load(cwd)
    result = send(ws, workspace.parse_version(revision), dry_run, to, cc, in_reply_to)
    if dry_run:
        ui.say(result["output"].rstrip("\n"))
        ui.say(f"dry run: series/{ws.name}/{result['revision']} not sent; run without --dry-run to send",
               style="green")
    else:
        ui.say(f"sent series/{ws.name}/{result['revision']}", style="green")
    return result
