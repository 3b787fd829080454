"""The porter command group and the decorator every verb module registers with.

The group is lazy (click's LazyGroup pattern): a verb's module, and whatever it imports, is loaded
only when that verb runs or help lists it, so `porter --version` and each verb start fast.
"""
from __future__ import annotations

import functools
import importlib
import os
import sys
from contextlib import nullcontext
from pathlib import Path

import click

from .. import __version__, gcpause, ui
from ..errors import Findings, PorterError

REPORT = "this is a bug in porter: please report it with the command line (PORTER_DEBUG=1 shows the traceback)"

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



def _one_line(exc: BaseException) -> tuple[int, str]:
    """(exit status, one line) for any exception a command ends with."""
    if isinstance(exc, (PorterError, Findings)):
        return exc.exit_code, str(exc)
    if isinstance(exc, OSError):
        what = exc.filename or ""
        reason = exc.strerror or str(exc)
        return 2, " ".join(f"{what}: {reason}".split()) if what else " ".join(reason.split())
    if isinstance(exc, RecursionError):
        return 2, "input nested too deeply for porter to read"
    if isinstance(exc, UnicodeError):
        return 2, f"input is not valid text: {exc}"
    return 3, " ".join(f"internal error: {type(exc).__name__}: {exc}; {REPORT}".split())


def _lock(start: Path):
    from ..lock import workspace_lock     # loads the workspace module: only verbs that write pay
    return workspace_lock(start)


def porter_command(name: str, writes: bool = False, **kw):
    """A command with --json, one-line errors (exit 2 bad input, 3 internal error) and exit 1 when
    the result is not ok; `writes` holds the workspace lock while it runs."""
    def wrap(fn):
        @main.command(name, **kw)
        @click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
        @click.pass_context
        @functools.wraps(fn)
        def cmd(ctx, as_json, **kwargs):
            ui.set_json(as_json)
            try:
                with (_lock(ctx.obj) if writes else nullcontext()):
                    result = fn(ctx.obj, **kwargs) or {}
            except KeyboardInterrupt:
                raise
            except Exception as exc:        # noqa: BLE001 - every failure ends as one line
                if os.environ.get("PORTER_DEBUG") and not isinstance(exc, (PorterError, Findings)):
                    raise
                code, line = _one_line(exc)
                fail(name, line, code, as_json)
            doc = {"command": name, "ok": bool(result.get("ok", True)), **result}
            if as_json:
                ui.emit_json(doc)
            sys.exit(0 if doc["ok"] else 1)
        return cmd
    return wrap


def fail(name: str, line: str, code: int, as_json: bool):
    if as_json:
        ui.emit_json({"command": name, "ok": False, "error": line, "exit": code})
    else:
        click.echo(f"porter{'' if name == 'porter' else ' ' + name}: error: {line}", err=True)
    sys.exit(code)


class PorterGroup(click.Group):
    """Usage errors are one line too (exit 2), and a JSON document under --json; verb modules
    load on demand (click's LazyGroup pattern)."""

    def main(self, args=None, prog_name=None, **extra):
        argv = list(sys.argv[1:] if args is None else args)
        extra.pop("standalone_mode", None)
        try:
            code = super().main(argv, prog_name or "porter", standalone_mode=False, **extra)
        except click.ClickException as exc:
            name = next((a for a in argv if a in self.commands or a in VERBS), "porter")
            fail(name, " ".join(exc.format_message().split()), 2, "--json" in argv)
        except click.Abort:
            fail("porter", "aborted", 130, "--json" in argv)
        sys.exit(code if isinstance(code, int) else 0)

    def list_commands(self, ctx):
        return sorted(set(VERBS) | set(self.commands))

    def get_command(self, ctx, name):
        if name not in self.commands and name in VERBS:
            with gcpause.paused():
                importlib.import_module(f"{__package__}.{VERBS[name]}")
        return self.commands.get(name)


@click.group(cls=PorterGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-C", "directory", type=click.Path(file_okay=False), default=".",
              help="Run in this workspace instead of the current directory.")
@click.version_option(__version__, prog_name="porter")
@click.pass_context
def main(ctx, directory):
    """Port Linux driver sources into Xen as a reviewable patch series."""
    ctx.obj = Path(directory)
