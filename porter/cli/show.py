"""Human output the verbs share."""
from __future__ import annotations

from .. import ui


def show_diff(text: str, indent: str = "    ") -> None:
    """A diff on stdout, coloured on a terminal (rich drops the styles elsewhere)."""
    for line in text.splitlines():
        style = None
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        ui.say(indent + line, style=style)
