"""Lint every unit that new upstream code brings into a ported file, so none goes in live and silent.

A unit that is new upstream (its name is in neither the old upstream file nor the learned port)
and uses Linux-only API is disabled visibly, as a hand port disables Linux-only pieces, and
reported as a note.  In a function the port already had, new upstream statements that use
Linux-only API are disabled the same way, statement by statement, when nothing live after them
depends on what they define (statements.py); any other Linux-only code is a finding for a human.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from . import cparse
from .linux_to_xen import symbols, xen_index, xenindex
from .linux_to_xen.engine import disable_ranges
from .linux_to_xen.lint import lint_sources
from .linux_to_xen.statements import disable_new_statements
from .workspace import atomic_write

DISABLE_KINDS = ("function", "declaration", "include", "struct", "define", "macro")


def make_check_new(xen_repo, base: str, context: list[bytes], previous: list[bytes], cache: Path):
    """A check_new callback for structured.apply_file.

    context: sources whose names count as known (the ported file, its new upstream, the headers);
    previous: the old upstream file and the learned port, to tell new units from changed ones.
    Both are parsed on the first call only, so a file no new code reaches costs nothing.
    """
    state: dict = {}

    def check(text: bytes, unit: str):
        if not state:
            state["index"] = xen_index(xen_repo, base, cache=cache)     # (once per process and tree)
            # the port's full walk first: its names are then read from that walk, not a walk of their own
            state["port_live"] = _live_names(previous[-1]) if previous and previous[-1] else set()
            names = cache.parent / f"names-{xenindex.code_digest()}"   # what reads the names is part of the key
            if not names.is_dir():
                xenindex.prune(cache.parent, ("names",))
            state["defined"] = set().union(*(_names(src, names) for src in context))
            state["previous"] = set().union(*(_names(src, names) for src in previous))
            state["previous_text"] = b"\n".join(previous)
            state["previous_sources"] = previous
        scope = {"port": previous[-1]} if previous and previous[-1] else {}
        found = [f for f in lint_sources({unit: text}, state["index"], scope)
                 if f["symbol"] not in state["defined"] and not _port_had_live(f, state)]
        if not found:
            return text, []
        kind, _, name = unit.partition(" ")
        if kind in DISABLE_KINDS and _is_new(kind, name, state):
            names = ", ".join(sorted({f["symbol"] for f in found}))
            reason = f"uses Linux-only {names} (new upstream code)"
            return disable_ranges(text, [(0, len(text), reason)]), [{"line": 1, "disabled": True, "symbol": names,
                                            "message": f"new upstream {unit} disabled: {reason}"}]
        notes = []
        if kind == "function":
            text, notes, found = disable_new_statements(text, found, _previous_units(state, name))
            if notes:
                notes = [dict(n, message=f"new upstream code in {unit} disabled: {n['message']}") for n in notes]
        return text, notes + [dict({k: v for k, v in f.items() if k != "file"},
                                   message=f"new upstream code: {f['message']}") for f in found]

    return check


def _names(src: bytes, cache: Path) -> set[str]:
    """Names a source defines (and its struct fields), cached by content."""
    path = cache / (hashlib.sha1(src).hexdigest() + ".json")
    try:
        return set(json.loads(path.read_text("utf-8")))
    except (OSError, ValueError):
        pass
    syms = symbols.collect(src, live_only=False, uses=False)     # (the walk of definitions only)
    names = syms.defines | syms.fields
    try:
        atomic_write(path, json.dumps(sorted(names)).encode())
    except OSError:
        pass   # a read-only cache only costs time
    return names


def _live_names(port: bytes) -> set[str]:
    """Names the learned port uses in live code other than as struct members: it built with them."""
    return {u.name for u in symbols.collect(port).uses if u.kind != "field"}


def _port_had_live(finding: dict, state: dict) -> bool:
    return finding["kind"] != "field" and finding["symbol"] in state["port_live"]


def _previous_units(state: dict, name: str) -> list[bytes]:
    """The function `name` as the old upstream file and the learned port have it (first: upstream)."""
    if "units" not in state:
        state["units"] = [_functions(src) for src in state["previous_sources"]]
    return [units[name] for units in state["units"] if name in units]


def _functions(src: bytes) -> dict[str, bytes]:
    parsed = cparse.parse(src)
    out = {}
    for item, _chain in cparse.top_level_items(parsed.tree.root_node):
        if item.type == "function_definition":
            name = cparse.declarator_name(item.child_by_field_name("declarator"), src)
            if name:
                out.setdefault(name, src[item.start_byte:item.end_byte])
    return out


def _is_new(kind: str, name: str, state: dict) -> bool:
    if kind == "include":
        return name.encode() not in state["previous_text"]
    return all(n not in state["previous"] for n in re.findall(r"\w+", name))
