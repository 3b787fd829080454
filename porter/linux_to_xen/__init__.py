"""Linux -> Xen rewriting: rules as data, generic packs, lint against Xen's headers.

Library API (the series engine calls these):
- load_rules(packs=(), files=()) -> list[Rule]        BadInput for an unknown pack or a bad file
- apply_rules(source, rules, *, filename) -> PortResult (output, disabled, drift, findings)
- lint(files: {name: bytes}, xen_repo, ref) -> [{symbol, file, line, kind, message}]
- xen_index(xen_repo, ref) -> XenIndex with defines(symbol) -> bool (cached by tree id)
- port_source(source, filename=, index=, packs=, rule_files=, provenance=) -> PortOutcome
"""
from __future__ import annotations

from .engine import PortResult, apply_rules
from .lint import lint
from .port import DEFAULT_PACKS, PortOutcome, Provenance, live_functions, port_source
from .rules import Rule, load_rules, pack_names
from .xenindex import XenIndex, xen_index

__all__ = ["load_rules", "apply_rules", "lint", "xen_index", "XenIndex", "PortResult", "Rule",
           "port_source", "PortOutcome", "Provenance", "live_functions", "DEFAULT_PACKS",
           "pack_names"]
