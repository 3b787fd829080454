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
        defined = _live_defined(text)
        own = _Uses([line for p, start in zip(ordered, starts)
                     if p.seg is not None and m.segs[p.seg].op in ("edit", "insert")
                     for line in live_lines_of(p, start, live)])
        back = False
        for p in cands:
            hit = [n for n in _names(p.label) if n not in defined and own.first(n) is not None]
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


def _live_defined(text: bytes) -> set[str]:
    """Names of the units of text (conflicts read as the port's side) that have a live line (a
    port may disable one variant of a signature and keep its `#else`)."""
    from .merge import resolve_markers
    from .units import segment
    resolved = resolve_markers(text, "ours")
    dead = states.line_states(resolved)
    out: set[str] = set()
    for u in segment(resolved):     # (the parse _check_parse reads too; units shared with match)
        names = _names(u.label())
        first = u.line - 1
        if names and any(not dead[first + k] and line.strip() for k, line in enumerate(u.text.splitlines())):
            out.update(names)
    return out


class _Uses:
    """Where names are used in some lines (None: a line that does not count): the first line where
    NAME is used (not as a ->field or .field) is the first holding it as a whole word not preceded
    by `.` or `>`.  Each name is looked for when asked (a file's check asks for a few dozen)."""

    def __init__(self, lines: list[bytes | None]):
        self.lines = lines
        self.text = b"\n".join(b"" if line is None else line for line in lines)

    def first(self, name: str) -> int | None:
        if not name.isascii():
            pat = re.compile(rb"(?<![\w.>])" + re.escape(name.encode()) + rb"\b")
            return next((k for k, line in enumerate(self.lines) if line is not None and pat.search(line)), None)
        needle, text = name.encode(), self.text
        at = text.find(needle)
        while at != -1:
            end = at + len(needle)
            if not _WORD_BEFORE.match(text, at - 1 if at else 0, at) and not _WORD.match(text, end, end + 1):
                return text.count(b"\n", 0, at)
            at = text.find(needle, at + 1)
        return None


_WORD_BEFORE = re.compile(rb"[\w.>]")
_WORD = re.compile(rb"\w")


def lint_new_lines(m: "Matched", ordered: list["Piece"], lint: "Lint") -> None:
    if lint.check_new is None:
        return          # nothing to lint with: the pieces stay as they are
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


class _Out:
    """The merged text as the checks read it, and how to report on one of its lines."""

    def __init__(self, m: "Matched", ordered: list["Piece"]):
        self.m, self.ordered = m, ordered
        self.text, self.starts = _layout(ordered)
        self.lines = self.text.splitlines()

    def conflict(self, line: int, reason: str, suggestion: str, excerpt: bytes = b"") -> dict:
        from .merge import _conflict
        piece, off = _piece_at(self.ordered, self.starts, line)
        rec = _conflict(self.m.path, piece.label, reason, excerpt, b"", suggestion)
        piece.say("conflict", rec, off)
        return rec

    def finding(self, line: int, symbol: str, kind: str, message: str) -> None:
        piece, off = _piece_at(self.ordered, self.starts, line)
        piece.say("finding", {"file": self.m.path, "unit": piece.label, "line": 0, "symbol": symbol,
                              "kind": kind, "message": message}, off)


def check(m: "Matched", ordered: list["Piece"], old_upstream: bytes, new_upstream: bytes) -> None:
    out = _Out(m, ordered)
    inputs_balance = all(states.balance(t) is None for t in (old_upstream, m.port, new_upstream))
    if inputs_balance:
        _check_balance(out)
        _check_states(out, old_upstream, new_upstream)
    _check_references(out)
    _check_vanished(out)
    _check_parse(out, new_upstream)


def _check_balance(out: _Out) -> None:
    bad = states.balance(out.text)
    if bad is not None:
        out.conflict(bad, "preprocessor conditionals do not balance after the merge (a stray #endif or an "
                          "unclosed #if)", "restore the port's #if 0 / #endif pairing around this line",
                     out.lines[bad] if bad < len(out.lines) else b"")


def _check_states(out: _Out, old_upstream: bytes, new_upstream: bytes) -> None:
    """No line goes from disabled to live or back unless the port or upstream did that."""
    reported = set()
    for p, start in zip(out.ordered, out.starts):
        if p.porter_disabled:
            reported.update(range(start, start + p.text.count(b"\n")))
    by_piece: dict[int, list[int]] = {}
    for line in states.silent_changes(old_upstream, out.m.port, new_upstream, out.text, reported):
        piece, _ = _piece_at(out.ordered, out.starts, line)
        by_piece.setdefault(id(piece), []).append(line)
    for group in by_piece.values():
        rec = out.conflict(group[0], f"the merge changes whether {len(group)} line(s) here are compiled, against "
                                     f"the port's and upstream's #if 0 regions", "put the lines in (or out of) "
                                     "the port's #if 0 region as the port had them",
                           b"\n".join(out.lines[i] for i in group[:5]))
        rec["lines"] = [i - group[0] for i in group]     # offsets from "line" (render adds it)


def _check_references(out: _Out) -> None:
    """A name this file defines (in any version) that live code uses is defined in live code."""
    m = out.m
    live = _live_code_lines(out.text)
    defined = _live_defined(out.text)
    local = {n for u in m.old + m.new for n in _names(u.label())} | \
            {n for s in m.segs if s.op == "insert" for n in _names(s.label())}
    port_defined = {n for i, s in enumerate(m.segs) if m.learned[i] and not s.disabled
                    for n in _names(s.label() if s.port_name is None else f"{s.kind} {s.port_name}")}
    port_uses, uses = _Uses(_live_code_lines(m.port)), _Uses(live)
    for name in sorted(local - defined):
        if name not in port_defined and port_uses.first(name) is not None:
            continue        # the port uses it without defining it: Xen has it
        at = uses.first(name)
        if at is not None:
            out.finding(at, name, "reference", f"live code uses {name}, which this file now defines only in "
                                               f"disabled code or not at all")


def _check_vanished(out: _Out) -> None:
    consumed = {p.new for p in out.ordered if p.new is not None}
    lost = [u.label() for j, u in enumerate(out.m.new) if j not in consumed]
    if lost:
        out.conflict(0, f"upstream unit(s) {', '.join(lost[:6])} vanished from the merge",
                     "report this as a porter bug; take the units from upstream by hand")


def _check_parse(out: _Out, new_upstream: bytes) -> None:
    """The merged file (conflicts read as the port's side) parses no worse than its inputs."""
    from .merge import resolve_markers
    resolved, origin = _resolved_with_origin(out.text, resolve_markers)
    errors = _parsed(resolved).errors
    if len(errors) <= (_error_count(new_upstream) if errors else 0):
        return          # no worse than upstream (parsed already, by match): the port's parse is not needed
    before = max(_error_count(out.m.port), _error_count(new_upstream))
    if len(errors) > before:
        first = origin[min(errors[0][0] - 1, len(origin) - 1)] if origin else 0
        out.conflict(first, f"the merged file parses worse than its inputs ({len(errors)} syntax errors, the "
                            f"port and upstream have at most {before})", "check the merged text around this line")


@lru_cache(maxsize=4)
def _parsed(text: bytes) -> cparse.Parsed:
    return cparse.parse(text)


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
