"""Linux -> Xen rewriting: rules as data, generic packs, lint against Xen's headers."""
from __future__ import annotations

from .lint import lint
from .xenindex import XenIndex, xen_index

__all__ = ["lint", "xen_index", "XenIndex"]
