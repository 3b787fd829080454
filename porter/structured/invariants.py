"""What every merge result keeps, checked between the stages of merge.py.  A failure is reported
(a conflict, or a finding), never left silent.

  restore_used    a unit upstream removed that live code still uses stays, as the port had it;
  lint_new_lines  every live line that is not a live line of the learned port goes through
                  check_new, conflicted units included (both sides, findings only);
  check           conditionals balance; no line's disabled/live state changes silently (states.py);
                  a name this file defines that live code uses is defined in live code; no
                  upstream unit vanishes; the result parses no worse than the port and upstream.
"""
from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

from .. import cparse
from . import states

if TYPE_CHECKING:
    from .merge import Lint, Matched, Piece


def _layout(ordered: list["Piece"]) -> tuple[bytes, list[int]]:
    """The output text and the 0-based first line of each piece."""
    starts, line = [], 0
    for p in ordered:
        starts.append(line)
        line += p.text.count(b"\n")
    return b"".join(p.text for p in ordered), starts


def _piece_at(ordered, starts, line: int) -> tuple["Piece", int]:
    idx = 0
    for i, s in enumerate(starts):
        if s <= line and ordered[i].text:
            idx = i
        if s > line:
            break
    return ordered[idx], line - starts[idx]


def _names(label: str) -> list[str]:
    kind, _, name = label.partition(" ")
    return [n for n in name.split(",") if n.isidentifier()] if kind in _DEFINING else []


_DEFINING = {"function", "define", "struct", "union", "enum", "typedef", "declaration"}


def restore_used(m: "Matched", ordered: list["Piece"]) -> None:
    """Units upstream removed whose names the port's own live code (its edits and insertions)
    still uses come back as the port had them."""
    path = m.path
    for _ in range(4):
        cands = [p for p in ordered if p.fallback is not None and not p.text]
        if not cands:
            return
        text, starts = _layout(ordered)
        live = _live_code_lines(text)
        defined = _live_defined(ordered, live, starts)
        own = [line for p, start in zip(ordered, starts)
               if p.seg is not None and m.segs[p.seg].op in ("edit", "insert")
               for line in live_lines_of(p, start, live)]
        back = False
        for p in cands:
            hit = [n for n in _names(p.label) if n not in defined and _used(n, own)]
            if not hit:
                continue
            p.text, p.fallback, back = p.fallback, None, True
            p.records = [r for r in p.records if r[0] != "note"]
            p.say("finding", {"file": path, "unit": p.label, "line": 0, "symbol": ", ".join(hit), "kind": "removed",
                              "message": f"{p.label} was removed upstream, but live code still uses "
                                         f"{', '.join(hit)}: kept as the port had it (port its users to the "
                                         f"new upstream, then drop it)"})
        if not back:
            return


def _live_code_lines(text: bytes) -> list[bytes | None]:
    """Per line of text: the line with comments and strings blanked when it is live code, else None
    (disabled, a conflict marker or the upstream side of a conflict)."""
    from ..linux_to_xen.symbols import blank_comments_strings
    dead = states.line_states(text)
    inside = states.marker_lines(text)
    ours = _ours_lines(text, inside)
    return [line if not dead[k] and (k not in inside or k in ours) else None
            for k, line in enumerate(blank_comments_strings(text).splitlines())]


def _ours_lines(text: bytes, inside: set[int]) -> set[int]:
    out, side = set(), None
    for k, line in enumerate(text.splitlines()):
        if k not in inside:
            continue
        if line.startswith(b"<<<<<<< "):
            side = "ours"
        elif line.startswith((b"||||||| ", b"=======", b">>>>>>> ")):
            side = None
        elif side == "ours":
            out.add(k)
    return out


def live_lines_of(p: "Piece", start: int, live: list) -> list[bytes]:
    return [line for line in live[start:start + p.text.count(b"\n")] if line is not None]


def _live_defined(ordered, live, starts) -> set[str]:
    """Names of the units with a live line (a port may disable one variant of a signature and
    keep its `#else`)."""
    out: set[str] = set()
    for p, start in zip(ordered, starts):
        names = _names(p.label)
        if names and any(line is not None and line.strip() for line in live[start:start + p.text.count(b"\n")]):
            out.update(names)
    return out


def _used(name: str, lines: list[bytes]) -> bool:
    pat = re.compile(rb"(?<![\w.>])" + re.escape(name.encode()) + rb"\b")
    return any(pat.search(line) for line in lines)


def lint_new_lines(m: "Matched", ordered: list["Piece"], lint: "Lint") -> None:
    port = m.port
    live_port = {line for line, dead in zip(port.splitlines(), states.line_states(port)) if not dead}
    text, starts = _layout(ordered)
    dead = states.line_states(text)
    todo = []
    for p, start in zip(ordered, starts):
        if p.linted or not p.text:
            continue
        if any(not dead[start + k] and states.code_line(line) and line not in live_port
               for k, line in enumerate(p.text.splitlines())):
            todo.append(p)
    for p in todo:
        if p.conflicted:
            lint.conflicted(p)
        else:
            p.text = lint.unit(p, p.text)


def check(m: "Matched", ordered: list["Piece"], old_upstream: bytes, new_upstream: bytes, lint: "Lint") -> None:
    from .merge import resolve_markers, _conflict
    path = m.path
    text, starts = _layout(ordered)
    port = m.port

    def conflict(line: int, reason: str, suggestion: str, excerpt: bytes = b"") -> None:
        piece, off = _piece_at(ordered, starts, line)
        piece.say("conflict", _conflict(path, piece.label, reason, excerpt, b"", suggestion), off)

    inputs_balance = all(states.balance(t) is None for t in (old_upstream, port, new_upstream))
    bad = states.balance(text)
    if bad is not None and inputs_balance:
        conflict(bad, "preprocessor conditionals do not balance after the merge (a stray #endif or an "
                      "unclosed #if)", "restore the port's #if 0 / #endif pairing around this line",
                 text.splitlines()[bad] if bad < len(text.splitlines()) else b"")

    reported = set()
    for p, start in zip(ordered, starts):
        if p.porter_disabled:
            reported.update(range(start, start + p.text.count(b"\n")))
    silent = states.silent_changes(old_upstream, port, new_upstream, text, reported) if inputs_balance else []
    lines = text.splitlines()
    by_piece: dict[int, list[int]] = {}
    for line in silent:
        piece, _ = _piece_at(ordered, starts, line)
        by_piece.setdefault(id(piece), []).append(line)
    for group in by_piece.values():
        conflict(group[0], f"the merge changes whether {len(group)} line(s) here are compiled, against the "
                           f"port's and upstream's #if 0 regions", "put the lines in (or out of) the port's "
                           "#if 0 region as the port had them", b"\n".join(lines[i] for i in group[:5]))

    live = _live_code_lines(text)
    defined = _live_defined(ordered, live, starts)
    local = {n for u in m.old + m.new for n in _names(u.label())} | \
            {n for s in m.segs if s.op == "insert" for n in _names(s.label())}
    port_live = _live_code_lines(port)
    port_defined = {n for i, s in enumerate(m.segs) if m.learned[i] and not s.disabled
                    for n in _names(s.label() if s.port_name is None else f"{s.kind} {s.port_name}")}
    port_lines = [line for line in port_live if line is not None]
    for name in sorted(local - defined):
        if name not in port_defined and _used(name, port_lines):
            continue        # the port uses it without defining it: Xen has it
        pat = re.compile(rb"(?<![\w.>])" + re.escape(name.encode()) + rb"\b")
        at = next((k for k, line in enumerate(live) if line is not None and pat.search(line)), None)
        if at is None:
            continue
        piece, off = _piece_at(ordered, starts, at)
        piece.say("finding", {"file": path, "unit": piece.label, "line": 0, "symbol": name, "kind": "reference",
                              "message": f"live code uses {name}, which this file now defines only in disabled "
                                         f"code or not at all"}, off)

    consumed = {p.new for p in ordered if p.new is not None}
    lost = [u.label() for j, u in enumerate(m.new) if j not in consumed]
    if lost:
        conflict(0, f"upstream unit(s) {', '.join(lost[:6])} vanished from the merge",
                 "report this as a porter bug; take the units from upstream by hand")

    resolved, origin = _resolved_with_origin(text, resolve_markers)
    errors = cparse.parse(resolved).errors
    before = max(_error_count(port), _error_count(new_upstream))
    if len(errors) > before:
        first = origin[min(errors[0][0] - 1, len(origin) - 1)] if origin else 0
        conflict(first, f"the merged file parses worse than its inputs ({len(errors)} syntax errors, the port "
                        f"and upstream have at most {before})", "check the merged text around this line")


@lru_cache(maxsize=16)
def _error_count(text: bytes) -> int:
    return len(cparse.parse(text).errors)


def _resolved_with_origin(text: bytes, resolve_markers) -> tuple[bytes, list[int]]:
    """text with conflict blocks resolved to the port's side, and the output line of each line."""
    resolved = resolve_markers(text, "ours")
    if resolved == text:
        return text, list(range(text.count(b"\n") + 1))
    inside = states.marker_lines(text)
    origin, side = [], None
    for n, line in enumerate(text.splitlines()):
        if n in inside:
            if line.startswith(b"<<<<<<< "):
                side = "ours"
            elif line.startswith((b"||||||| ", b"=======", b">>>>>>> ")):
                side = None
            elif side == "ours":
                origin.append(n)
            continue
        origin.append(n)
    origin.append(len(origin) and origin[-1] + 1)
    return resolved, origin
