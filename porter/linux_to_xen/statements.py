"""Disable new Linux-only statements inside a function the port already has, as a human would.

A statement is disabled (`#if 0 /* Xen: uses Linux-only X (new upstream code) */ ... #endif`)
when all its lines are new upstream lines (inserted relative to the old upstream version of the
function, and not the port's own), and nothing after it depends on it: it declares no name and
no label used later, and it is not the function's final return.  Adjacent statements share one
`#if 0`.  Every other finding stays a finding.
"""
from __future__ import annotations

from difflib import SequenceMatcher

from .. import cparse
from . import symbols
from .engine import disable_ranges, word_at, word_on_line

_BLOCKS = ("compound_statement",) + tuple(cparse.PREPROC_CONTAINERS)


def _new_lines(text: bytes, previous: list[bytes]) -> set[int]:
    """0-based lines of text inserted by upstream: not in the old upstream unit, not the port's."""
    lines = text.split(b"\n")
    upstream = previous[0].split(b"\n")
    inserted: set[int] = set()
    sm = SequenceMatcher(None, upstream, lines, autojunk=False)
    for op, _i1, _i2, j1, j2 in sm.get_opcodes():
        if op == "insert":
            inserted.update(range(j1, j2))
    for port in previous[1:]:
        sm = SequenceMatcher(None, port.split(b"\n"), lines, autojunk=False)
        for op, _i1, _i2, j1, j2 in sm.get_opcodes():
            if op == "equal":
                inserted.difference_update(range(j1, j2))
    return inserted


def _statement_at(body, off: int):
    node = body.descendant_for_byte_range(off, off)
    while node is not None and node.parent is not None and node.parent.type not in _BLOCKS:
        node = node.parent
    if node is None or node.parent is None or node.id == body.id or not node.is_named \
            or node.start_byte < body.start_byte or node.end_byte > body.end_byte:
        return None
    return node


def _defined_names(stmt, src: bytes) -> set[str]:
    names = set()
    if stmt.type == "declaration":
        for d in stmt.children_by_field_name("declarator"):
            n = cparse.declarator_name(d, src)
            if n:
                names.add(n)
    node = stmt
    while node is not None and node.type == "labeled_statement":
        label = node.child_by_field_name("label")
        if label is not None:
            names.add(src[label.start_byte:label.end_byte].decode("utf-8", "replace"))
        node = node.named_children[-1] if node.named_children else None
    return names


def _depended_on(stmt, body, src: bytes) -> bool:
    if stmt.type == "return_statement" and stmt.parent.id == body.id:
        later = [c for c in body.named_children if c.start_byte > stmt.start_byte and c.type != "comment"]
        if not later:
            return True
    rest = symbols.blank_comments_strings(src[stmt.end_byte:body.end_byte])
    return any(word_at(rest, n.encode()) >= 0 for n in _defined_names(stmt, src))


def _offset(src: bytes, line: int, symbol: str) -> int:
    starts = cparse.line_starts(src)
    return word_on_line(src, starts, min(max(line, 1), len(starts)), symbol)


def _function_body(parsed: cparse.Parsed):
    fn = next((item for item, _c in cparse.top_level_items(parsed.tree.root_node)
               if item.type == "function_definition"), None)
    return fn.child_by_field_name("body") if fn is not None else None


def _disableable(stmt, body, parsed: cparse.Parsed, new: set[int]) -> bool:
    first, last = parsed.line_of(stmt.start_byte) - 1, parsed.line_of(stmt.end_byte) - 1
    return all(i in new for i in range(first, last + 1)) and not _depended_on(stmt, body, parsed.source)


def _choose(findings, body, parsed: cparse.Parsed, new: set[int]):
    """({statement id: (statement, symbols)} to disable, findings left)."""
    chosen: dict[int, tuple[object, set[str]]] = {}
    left = []
    for f in findings:
        stmt = _statement_at(body, _offset(parsed.source, f["line"], f["symbol"]))
        if stmt is not None and (stmt.id in chosen or _disableable(stmt, body, parsed, new)):
            chosen.setdefault(stmt.id, (stmt, set()))[1].add(f["symbol"])
        else:
            left.append(f)
    return chosen, left


def _groups(chosen, text: bytes) -> list[list]:
    """[start, end, symbols] of runs of chosen statements with nothing but blanks between."""
    groups: list[list] = []
    for stmt, names in sorted(chosen.values(), key=lambda x: x[0].start_byte):
        if groups and text[groups[-1][1]:stmt.start_byte].strip() == b"":
            groups[-1][1] = stmt.end_byte
            groups[-1][2] |= names
        else:
            groups.append([stmt.start_byte, stmt.end_byte, set(names)])
    return groups


def disable_new_statements(text: bytes, findings: list[dict], previous: list[bytes]
                           ) -> tuple[bytes, list[dict], list[dict]]:
    """(text with new Linux-only statements disabled, notes, findings left for a human)."""
    parsed = cparse.parse(text)
    body = _function_body(parsed) if previous and findings else None
    if body is None:
        return text, [], findings
    chosen, left = _choose(findings, body, parsed, _new_lines(text, previous))
    if not chosen:
        return text, [], findings
    ranges, notes = [], []
    for n, (start, end, names) in enumerate(_groups(chosen, text)):
        reason = f"uses Linux-only {', '.join(sorted(names))} (new upstream code)"
        ranges.append((start, end, reason))
        # each earlier #if 0 ... #endif adds two lines
        notes.append({"line": parsed.line_of(start) + 2 * n, "disabled": True,
                      "symbol": ", ".join(sorted(names)), "message": reason})
    moved = [dict(f, line=f["line"] + 2 * sum(1 for _s, e, _r in ranges
                                             if e <= _offset(text, f["line"], f["symbol"])))
             for f in left]
    return disable_ranges(text, ranges), notes, moved
