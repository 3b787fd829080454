"""Terminal output: rich colour and progress on a TTY, plain lines elsewhere, JSON on request."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager

from rich.console import Console

_state = {"json": False}
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


def set_json(enabled: bool) -> None:
    _state["json"] = enabled


def json_mode() -> bool:
    return _state["json"]


def say(message: str, style: str | None = None) -> None:
    """A human line on stdout; silent in --json mode so stdout stays one JSON document."""
    if not _state["json"]:
        out.print(message, style=style, markup=False)


def warn(message: str) -> None:
    err.print(message, style="yellow", markup=False)


def emit_json(doc: dict) -> None:
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")


@contextmanager
def progress(label: str):
    """A spinner on a terminal for work that may take over a second; nothing otherwise."""
    if _state["json"] or not err.is_terminal:
        yield lambda text: None
        return
    with err.status(label) as status:
        yield lambda text: status.update(f"{label}: {text}")
