"""Terminal output: rich colour and progress on a TTY, plain lines elsewhere, JSON on request."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager

_state = {"json": False}


def _console(stderr: bool = False):
    from rich.console import Console   # only paid for when a terminal will show it
    return Console(stderr=stderr, highlight=False, soft_wrap=True)


def set_json(enabled: bool) -> None:
    _state["json"] = enabled


def json_mode() -> bool:
    return _state["json"]


def say(message: str, style: str | None = None) -> None:
    """A human line on stdout (coloured on a terminal); silent in --json mode."""
    if _state["json"]:
        return
    if style and sys.stdout.isatty():
        _console().print(message, style=style, markup=False)
    else:
        print(message, flush=True)


def emit_json(doc: dict) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")


@contextmanager
def progress(label: str):
    """A spinner on a terminal for work that may take over a second; nothing otherwise."""
    if _state["json"] or not sys.stderr.isatty():
        yield lambda text: None
        return
    with _console(stderr=True).status(label) as status:
        yield lambda text: status.update(f"{label}: {text}")
