"""Stage 1: cut a C file into syntactic units (whole lines), each with an identity.

A unit is a run of whole lines of the file: one top-level item found by tree-sitter (function,
struct, declaration, define, include, ...) together with the blank lines and the comment directly
above it.  Preprocessor blocks are containers: their directive lines (`#ifdef X`, `#else`,
`#endif`) are units of their own and the items inside are units too, so a port that wraps an
upstream function in `#if 0 /* Xen: ... */ ... #endif` still has that function as the same unit.
ERROR regions stay opaque units located by their lines.  The units of a file concatenate to
exactly the file's bytes.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache

from .. import cparse

_CONTAINERS = cparse.PREPROC_CONTAINERS | {"preproc_elifdef"}
_HEAD_FIELDS = ("condition", "name")


@dataclass
class Unit:
    kind: str            # function, struct, declaration, define, include, directive, comment, error, ...
    name: str            # identifier (or directive text, first comment line, ...)
    occ: int             # index among units of the same (kind, name), in file order
    start: int           # byte offsets into the file, whole lines
    end: int
    text: bytes
    line: int            # 1-based first line
    cond: str = ""       # enclosing preprocessor conditions, outermost first

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kind, self.name, self.occ)

    @property
    def digest(self) -> str:
        return text_digest(self.text)

    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind

    @property
    def lead(self) -> bytes:
        """The blank lines the unit starts with."""
        return self.text[:lead_length(self.text)]

    @property
    def body(self) -> bytes:
        return self.text[lead_length(self.text):]


def lead_length(text: bytes) -> int:
    """Bytes of whitespace-only lines at the start of text."""
    n = 0
    for line in text.splitlines(keepends=True):
        if line.strip():
            break
        n += len(line)
    return n


def text_digest(text: bytes) -> str:
    return hashlib.sha1(text).hexdigest()[:10]


def _clean_name(raw: bytes | str, limit: int = 60) -> str:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    s = " ".join(raw.split())
    if not s.isprintable():
        s = "".join(c if c.isprintable() else "?" for c in s)
    return s[:limit]


_KIND_OF = {"function_definition": "function", "preproc_include": "include", "preproc_def": "define",
            "preproc_function_def": "define", "ERROR": "error", "comment": "comment"}


def _identity(node, src: bytes) -> tuple[str, str]:
    if node.type == "ERROR":
        first = src[node.start_byte:node.end_byte].split(b"\n", 1)[0]
        return "error", _clean_name(first, 40)
    if node.type == "comment":
        body = src[node.start_byte:node.end_byte]
        words = re.sub(rb"[/*\s]+", b" ", body).strip()
        return "comment", _clean_name(words, 40)
    try:
        kind, name = cparse.item_identity(node, src)
    except Exception:   # identity is best effort; the unit is kept whatever happens
        kind, name = node.type, ""
    kind = _KIND_OF.get(kind, kind)
    if kind in ("preproc_call", "preproc_directive"):   # `#pragma x`, `#error ...`, `#undef X`
        kind, name = "directive", _clean_name(src[node.start_byte:node.end_byte].split(b"\n", 1)[0])
    return kind, _clean_name(name, 80)


@dataclass
class _Span:
    first: int    # 0-based first row
    last: int     # 0-based last row (inclusive)
    kind: str
    name: str
    cond: str


def _last_row(node) -> int:
    row, col = node.end_point
    if col == 0 and row > node.start_point[0]:
        return row - 1
    return row


def _collect(node, src: bytes, spans: list[_Span], conds: tuple[str, ...]) -> None:
    for child in node.named_children:
        if child.type in _CONTAINERS:
            _container(child, src, spans, conds, opener="")
        else:
            kind, name = _identity(child, src)
            spans.append(_Span(child.start_point[0], _last_row(child), kind, name, " && ".join(conds)))


def _container(node, src: bytes, spans: list[_Span], conds: tuple[str, ...], opener: str) -> None:
    head_nodes = [node.child_by_field_name(f) for f in _HEAD_FIELDS]
    head_nodes = [n for n in head_nodes if n is not None]
    head_last = max([_last_row(n) for n in head_nodes], default=node.start_point[0])
    head_text = src[node.start_byte:src.find(b"\n", node.start_byte) if b"\n" in src[node.start_byte:]
                     else len(src)]
    head = _clean_name(re.sub(rb"/\*.*?\*/|//.*", b"", head_text), 60)
    opener = opener or head
    label = head if head == opener else f"{head.split(' ', 1)[0]} ({opener})"
    spans.append(_Span(node.start_point[0], head_last, "directive", label, " && ".join(conds)))
    alt = node.child_by_field_name("alternative")
    inner = conds + (head,)
    skip = {n.id for n in head_nodes}
    if alt is not None:
        skip.add(alt.id)
    for child in node.named_children:
        if child.id in skip:
            continue
        if child.type in _CONTAINERS:
            _container(child, src, spans, inner, opener="")
        else:
            kind, name = _identity(child, src)
            spans.append(_Span(child.start_point[0], _last_row(child), kind, name, " && ".join(inner)))
    if alt is not None:
        _container(alt, src, spans, conds, opener=opener)
    for child in node.children:
        if child.type == "#endif":
            spans.append(_Span(child.start_point[0], child.start_point[0], "directive",
                               f"#endif ({opener})", " && ".join(conds)))


def segment(src: bytes, parsed: "cparse.Parsed | None" = None) -> list[Unit]:
    """The units of src, in file order; b"".join(u.text for u in units) == src.

    Without a parse given, units are shared between calls on the same bytes (a series segments each
    state of a file as the new side of one step and the old side of the next): callers must not
    change them."""
    if parsed is not None:
        return _segment_uncached(src, parsed)
    return list(_segment(src))


@lru_cache(maxsize=32)
def _segment(src: bytes) -> tuple[Unit, ...]:
    return tuple(_segment_uncached(src, None))


def _segment_uncached(src: bytes, parsed) -> list[Unit]:
    if not src:
        return []
    starts = cparse.line_starts(src)
    if starts[-1] == len(src):      # file ends with a newline: no empty last line
        starts.pop()
    nrows = len(starts)
    spans: list[_Span] = []
    try:
        parsed = parsed or cparse.parse(src)
        _collect(parsed.tree.root_node, src, spans, ())
    except Exception:   # a parser failure must never lose text: fall back to one opaque unit
        spans = []
    spans = [s for s in spans if 0 <= s.first < nrows]
    spans.sort(key=lambda s: (s.first, s.last))
    # merge spans sharing lines; the first non-comment item names the unit
    merged: list[_Span] = []
    for s in spans:
        s.last = min(max(s.last, s.first), nrows - 1)
        if merged and s.first <= merged[-1].last:
            m = merged[-1]
            m.last = max(m.last, s.last)
            if m.kind == "comment" and s.kind != "comment":
                m.kind, m.name, m.cond = s.kind, s.name, s.cond
            continue
        merged.append(_Span(s.first, s.last, s.kind, s.name, s.cond))
    # a comment directly above an item (no blank line between) belongs to that item
    units_spans: list[_Span] = []
    pending_first = None
    for i, s in enumerate(merged):
        nxt = merged[i + 1] if i + 1 < len(merged) else None
        if s.kind == "comment" and nxt is not None and nxt.first == s.last + 1:
            if pending_first is None:
                pending_first = s.first
            continue
        if pending_first is not None:
            s = _Span(pending_first, s.last, s.kind, s.name, s.cond)
            pending_first = None
        units_spans.append(s)
    # every line belongs to a unit: gaps go to the unit after them, a tail gap is its own unit
    units: list[Unit] = []
    row = 0
    for s in units_spans:
        if s.last < row:
            continue
        units.append(_make(src, starts, row, s.last, s.kind, s.name, s.cond))
        row = s.last + 1
    if row < nrows:
        units.append(_make(src, starts, row, nrows - 1, "tail", "", ""))
    counts: dict[tuple[str, str], int] = {}
    for u in units:
        k = (u.kind, u.name)
        u.occ = counts.get(k, 0)
        counts[k] = u.occ + 1
    assert b"".join(u.text for u in units) == src
    return units


def _make(src, starts, first, last, kind, name, cond) -> Unit:
    a = starts[first]
    b = starts[last + 1] if last + 1 < len(starts) else len(src)
    return Unit(kind, name, 0, a, b, src[a:b], first + 1, cond)
