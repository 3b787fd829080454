"""The porter command group and the decorator every verb module registers with.

The group is lazy (click's LazyGroup pattern): a verb's module, and whatever it imports, is loaded
only when that verb runs or help lists it, so `porter --version` and each verb start fast.
"""
from __future__ import annotations

import functools
import importlib
import sys
from pathlib import Path

import click

from .. import __version__, ui
from ..errors import Findings, PorterError

# verb -> module under porter.cli that defines it with @porter_command
VERBS = {
    "build": "build",
    "check": "check",
    "ci-template": "ci_template",
    "demo": "demo",
    "export": "export",
    "fetch": "fetch",
    "init": "init",
    "learn": "learn",
    "lint": "lint",
    "port": "port",
    "resync": "resync",
    "review": "review",
    "send": "send",
    "status": "status",
    "validate": "validate",
}


class LazyGroup(click.Group):
    def list_commands(self, ctx):
        return sorted(set(VERBS) | set(self.commands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in VERBS:
            importlib.import_module(f"{__package__}.{VERBS[name]}")
        return self.commands.get(name)


def porter_command(name: str, **kw):
    """A command with --json, one-line errors (exit 2) and exit 1 when the result is not ok."""
    def wrap(fn):
        @main.command(name, **kw)
        @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
        @click.pass_context
        @functools.wraps(fn)
        def cmd(ctx, as_json, **kwargs):
            ui.set_json(as_json)
            try:
                result = fn(ctx.obj, **kwargs) or {}
            except (PorterError, Findings) as exc:
                if as_json:
                    ui.emit_json({"command": name, "ok": False, "error": str(exc)})
                else:
                    click.echo(f"porter {name}: error: {exc}", err=True)
                sys.exit(exc.exit_code)
            doc = {"command": name, "ok": bool(result.get("ok", True)), **result}
            if as_json:
                ui.emit_json(doc)
            sys.exit(0 if doc["ok"] else 1)
        return cmd
    return wrap


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "directory", type=click.Path(file_okay=False), default=".",
              help="Run in this workspace instead of the current directory.")
@click.version_option(__version__, prog_name="porter")
@click.pass_context
def main(ctx, directory):
    """Port Linux driver sources into Xen as a reviewable patch series."""
    ctx.obj = Path(directory)
