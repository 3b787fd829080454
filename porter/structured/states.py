"""Which lines of a C file are disabled (`#if 0`), and which lines of a merge changed state silently.

A line's state is disabled when it lies in an `#if 0` region (the `#else` branch of one is live).
A silent change is a code line outside conflict markers whose state in the merged file differs
from what a 3-way merge of the states gives: the port's state where upstream did not change it,
upstream's where the port did not, for lines that come from the port (matched by text) or from
new upstream.  Lines porter disabled on purpose (new Linux-only code, reported) are passed in
`reported` and not counted.
"""
from __future__ import annotations

import re
from difflib import SequenceMatcher

from .edits import region_events

_MARK = re.compile(rb"^(<<<<<<< |\|\|\|\|\|\|\| |=======$|>>>>>>> )")
_NOT_CODE = re.compile(rb"^\s*(?:[{}]\s*[;,]?\s*|/\*.*\*/\s*|//.*|\*.*|/\*.*|#.*)?$")


def line_states(text: bytes) -> list[bool]:
    """Per line of text: True when the line is in an `#if 0` region (the directive lines of the
    region count as disabled too).  Lines of the upstream and base sides of conflict markers are
    read as text; only the port side's directives count."""
    out: list[bool] = []
    stack: list[list[bool]] = []     # per open conditional: [is #if 0, in its live branch]
    side = None
    for line in text.splitlines():
        m = _MARK.match(line)
        if m:
            tag = m.group(1)
            side = {b"<<<<<<< ": "ours", b"||||||| ": "base", b"=======": "theirs"}.get(tag)
            out.append(False)
            continue
        dead = any(f[0] and not f[1] for f in stack)
        if side in ("base", "theirs"):
            out.append(dead)
            continue
        for d, if0 in region_events(line + b"\n"):
            if d.startswith("if"):
                stack.append([if0, not if0])
                dead = dead or if0
            elif d.startswith("el") and stack:
                stack[-1][1] = True
            elif d == "endif" and stack:
                stack.pop()
        out.append(dead)
    return out


def balance(text: bytes) -> int | None:
    """0-based line of the first unbalanced conditional directive (a stray `#endif`, or the opener
    of an unclosed `#if`), None when they balance.  The port side of conflict markers counts."""
    opened: list[int] = []
    side = None
    for n, line in enumerate(text.splitlines()):
        m = _MARK.match(line)
        if m:
            side = {b"<<<<<<< ": "ours", b"||||||| ": "base", b"=======": "theirs"}.get(m.group(1))
            continue
        if side in ("base", "theirs"):
            continue
        for d, _ in region_events(line + b"\n"):
            if d.startswith("if"):
                opened.append(n)
            elif d == "endif":
                if not opened:
                    return n
                opened.pop()
            elif not opened:
                return n
    return opened[0] if opened else None


def code_line(line: bytes) -> bool:
    return not _NOT_CODE.match(line)


def marker_lines(text: bytes) -> set[int]:
    """0-based lines that are conflict markers or inside a conflict block."""
    out, inside = set(), False
    for n, line in enumerate(text.splitlines()):
        m = _MARK.match(line)
        if m and m.group(1) == b"<<<<<<< ":
            inside = True
        if inside:
            out.add(n)
        if m and m.group(1) == b">>>>>>> ":
            inside = False
    return out


def _align(a: list[bytes], b: list[bytes]) -> tuple[dict[int, int], list]:
    sm = SequenceMatcher(None, a, b, autojunk=False)
    pairs = {}
    for i, j, size in sm.get_matching_blocks():
        for k in range(size):
            pairs[i + k] = j + k
    return pairs, sm.get_opcodes()


def _keys(text: bytes) -> list[bytes]:
    return [b" ".join(line.split()) for line in text.splitlines()]


def silent_changes(old: bytes, port: bytes, new: bytes, output: bytes,
                   reported: set[int] = frozenset()) -> list[int]:
    """0-based lines of output whose disabled/live state changed silently (see module doc)."""
    O, P, N, M = _keys(old), _keys(port), _keys(new), _keys(output)
    so, sp, sn, sm = line_states(old), line_states(port), line_states(new), line_states(output)
    o2p, _ = _align(O, P)
    o2n, _ = _align(O, N)
    n2o, n_ops = _align(N, O)
    m2p, _ = _align(M, P)
    m2n, _ = _align(M, N)
    in_markers = marker_lines(output)
    p2o = {v: k for k, v in o2p.items()}
    port_region = _port_region_states(O, o2p, so, sp, n_ops, len(N))
    silent = []
    lines = output.splitlines()
    for i, line in enumerate(lines):
        if i in in_markers or i in reported or not code_line(line):
            continue
        p, n = m2p.get(i), m2n.get(i)
        if p is not None:
            ours = sp[p]
            o = p2o.get(p)
            base = so[o] if o is not None else None
            if n is not None:
                theirs = sn[n]
            elif o is not None and o in o2n:
                theirs = sn[o2n[o]]
            else:
                theirs = None
        elif n is not None:
            theirs = sn[n]
            o = n2o.get(n)
            if o is not None:
                base = so[o]
                ours = sp[o2p[o]] if o in o2p else None
            else:
                base, ours = port_region.get(n, (None, None))
        else:
            continue
        expected = _merge_state(base, ours, theirs)
        if expected is not None and expected != sm[i]:
            silent.append(i)
    return silent


def _merge_state(base, ours, theirs):
    known = [s for s in (ours, theirs) if s is not None]
    if not known:
        return None
    if ours is None:
        return theirs
    if theirs is None or theirs == base:
        return ours
    if base is None:
        return ours if ours == theirs else None
    if ours == base:
        return theirs
    return ours if ours == theirs else None


def _port_region_states(O, o2p, so, sp, n_ops, n_len) -> dict[int, tuple[bool, bool]]:
    """For new upstream lines that replace or extend old lines: (old state, port state) of the
    old lines around them, when the port kept those lines and agrees on their state."""
    out: dict[int, tuple[bool, bool]] = {}
    for tag, i1, i2, j1, j2 in n_ops:     # opcodes of N (a) against O (b)
        if tag not in ("replace", "delete"):
            continue
        olds = list(range(j1, j2))
        if not olds:       # pure insertion into N: the neighbours in O
            olds = [k for k in (j1 - 1, j1) if 0 <= k < len(O) and code_line(O[k])]
        kept = [k for k in olds if k in o2p]
        if not kept:
            continue
        pair = {(so[k], sp[o2p[k]]) for k in kept}
        if len(pair) != 1:
            continue
        state = pair.pop()
        for n in range(i1, i2):
            out[n] = state
    return out
