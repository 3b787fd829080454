"""The porter command line: one small module per verb, each thin over the library.

Verb modules are imported on demand by the lazy group (see group.VERBS).
"""
from __future__ import annotations

from .group import main

__all__ = ["main"]
