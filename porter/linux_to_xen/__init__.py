"""Linux -> Xen rewriting: rules as data, generic packs, lint against Xen's headers.

Library API (the series engine calls these):
- load_rules(packs=(), files=()) -> list[Rule]        BadInput for an unknown pack or a bad file
- apply_rules(source, rules, *, filename) -> PortResult (output, disabled, drift, findings)
- lint(files: {name: bytes}, xen_repo, ref) -> [{symbol, file, line, kind, message}]
- xen_index(xen_repo, ref) -> XenIndex with defines(symbol) -> bool (cached by tree id)
- port_source(source, filename=, index=, packs=, rule_files=, provenance=) -> PortOutcome
"""
from __future__ import annotations

import importlib

from .lint import lint      # the function, bound over the submodule of the same name
from .xenindex import XenIndex, xen_index

# the rest imported when first named (PEP 562): `porter lint` needs neither the rule engine nor port
_HOMES = {"PortResult": "engine", "apply_rules": "engine", "DEFAULT_PACKS": "port",
          "PortOutcome": "port", "Provenance": "port", "live_functions": "port", "port_source": "port",
          "Rule": "rules", "load_rules": "rules", "pack_names": "rules"}

__all__ = ["load_rules", "apply_rules", "lint", "xen_index", "XenIndex", "PortResult", "Rule",
           "port_source", "PortOutcome", "Provenance", "live_functions", "DEFAULT_PACKS",
           "pack_names"]


def __getattr__(name: str):
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
    globals()[name] = value
    return value
