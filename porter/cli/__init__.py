"""The porter command line: one small module per verb, each thin over the library."""
from __future__ import annotations

from . import (  # noqa: F401  (register the verbs)
               check,
               ci_template,
               demo,
               export,
               fetch,
               init,
               learn,
               lint,
               port,
               resync,
               review,
               send,
               status,
               validate,
)
from .group import main

__all__ = ["main"]
