"""The porter command line: one small module per verb, each thin over the library.

Verb modules are imported on demand by the lazy group (see group.VERBS); `porter --version` is
answered before click is even loaded.
"""
from __future__ import annotations

import sys

__all__ = ["main", "run"]


def run() -> None:
    """The `porter` executable."""
    if sys.argv[1:] == ["--version"]:
        from .. import __version__
        print(f"porter, version {__version__}")      # as the group's --version prints it
        return
    from .. import gcpause
    with gcpause.paused():
        from .group import main
    try:
        main()
    finally:
        gcpause.spare_exit()


def __getattr__(name: str):
    if name == "main":              # the click group, for `from porter.cli import main`
        from .group import main
        return main
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
