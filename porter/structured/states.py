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
import bisect
from functools import lru_cache
from collections import Counter
from difflib import SequenceMatcher

from .edits import region_events

_MARKS = rb"<<<<<<< |\|\|\|\|\|\|\| |=======$|>>>>>>> "     # the conflict marker lines
_MARK = re.compile(rb"^(" + _MARKS + rb")")
_MARK_FIRST = (b"<", b"|", b"=", b">")       # the first byte of every marker line
_NOT_CODE = re.compile(rb"^\s*(?:[{}]\s*[;,]?\s*|/\*.*\*/\s*|//.*|\*.*|/\*.*|#.*)?$")

_NOTABLE = rb"[ \t\x0b\x0c]*#|[<|=>]"      # a line that is a directive or (maybe) a conflict marker


@lru_cache(maxsize=None)
def _patterns(line_start: bytes) -> tuple[re.Pattern, re.Pattern]:
    """(line_start at the start of a line, a newline line_start follows): the second lets the regex
    engine scan for newlines, not try every byte of the text."""
    return re.compile(line_start, re.M), re.compile(rb"\n(?=" + line_start + rb")", re.M)


def _line_numbers(text: bytes, lines: list[bytes], line_start: bytes) -> list[int]:
    """0-based numbers of the lines (text.splitlines()) that begin with line_start (a pattern),
    found in one pass over text; the other lines are what the callers pass over unchanged."""
    first, after = _patterns(line_start)
    if b"\r" in text:         # splitlines breaks lines at a lone \r too, which the newline scan does not see
        return [n for n, line in enumerate(lines) if first.match(line)]
    out = [0] if lines and first.match(text) else []
    n, at = 0, 0
    for m in after.finditer(text):
        n += text.count(b"\n", at, m.start())
        at = m.start()
        out.append(n + 1)
    return out


@lru_cache(maxsize=32)
def line_states(text: bytes) -> tuple[bool, ...]:
    """Per line of text: True when the line is in an `#if 0` region (the directive lines of the
    region count as disabled too).  Lines of the upstream and base sides of conflict markers are
    read as text; only the port side's directives count."""
    out: list[bool] = []
    stack: list[list[bool]] = []     # per open conditional: [is #if 0, in its live branch]
    dead = False                     # some open conditional is in its #if 0 branch (kept as the stack changes)
    side = None
    lines = text.splitlines()
    n = 0
    for k in _line_numbers(text, lines, _NOTABLE):
        if k < n:
            continue                    # a line of a directive continued with backslashes
        out += [dead] * (k - n)         # lines that are neither directives nor markers
        n = k
        line = lines[n]
        m = _MARK.match(line) if line[:1] in _MARK_FIRST else None
        if m:
            tag = m.group(1)
            side = {b"<<<<<<< ": "ours", b"||||||| ": "base", b"=======": "theirs"}.get(tag)
            out.append(False)
            n += 1
            continue
        if side in ("base", "theirs") or not line.lstrip().startswith(b"#"):
            out.append(dead)
            n += 1
            continue
        last = n                        # a directive continued with backslashes is one line
        while lines[last].endswith(b"\\") and last + 1 < len(lines) and not _MARK.match(lines[last + 1]):
            last += 1
        here = dead
        for d, if0 in region_events(b"\n".join(lines[n:last + 1]) + b"\n"):
            if d.startswith("if"):
                stack.append([if0, not if0])
                here = here or if0
            elif d.startswith("el") and stack:
                stack[-1][1] = True
            elif d == "endif" and stack:
                stack.pop()
        out += [here] * (last + 1 - n)
        dead = any(f[0] and not f[1] for f in stack)
        n = last + 1
    out += [dead] * (len(lines) - n)
    return tuple(out)


@lru_cache(maxsize=32)
def balance(text: bytes) -> int | None:
    """0-based line of the first unbalanced conditional directive (a stray `#endif`, or the opener
    of an unclosed `#if`), None when they balance.  The port side of conflict markers counts."""
    opened: list[int] = []
    side = None
    lines = text.splitlines()
    for n in _line_numbers(text, lines, _NOTABLE):       # the other lines are text
        line = lines[n]
        m = _MARK.match(line)
        if m:
            side = {b"<<<<<<< ": "ours", b"||||||| ": "base", b"=======": "theirs"}.get(m.group(1))
            continue
        if side in ("base", "theirs") or not line.lstrip().startswith(b"#"):
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
    lines = text.splitlines()
    out, start = set(), None
    for n in _line_numbers(text, lines, _MARKS):
        tag = _MARK.match(lines[n]).group(1)
        if tag == b"<<<<<<< " and start is None:
            start = n
        if tag == b">>>>>>> " and start is not None:
            out.update(range(start, n + 1))
            start = None
    if start is not None:
        out.update(range(start, len(lines)))
    return out


def align(a: list, b: list) -> tuple[dict[int, int], list]:
    """Matching lines of a and b (patience style: lines unique to both anchor, difflib fills the
    small gaps between anchors), and the opcodes of a against b."""
    pairs = matches(a, b)
    return pairs, _opcodes(pairs, len(a), len(b))


def matches(a, b) -> dict[int, int]:
    """The matching lines of align (without its opcodes)."""
    pairs: dict[int, int] = {}
    _patience(a, b, 0, len(a), 0, len(b), pairs)
    return pairs


def _opcodes(pairs: dict[int, int], len_a: int, len_b: int) -> list:
    ops, i, j = [], 0, 0
    for ai in sorted(pairs):
        bj = pairs[ai]
        if ai > i or bj > j:
            ops.append(("replace" if ai > i and bj > j else "delete" if ai > i else "insert", i, ai, j, bj))
        if ops and ops[-1][0] == "equal" and ops[-1][2] == ai and ops[-1][4] == bj:
            ops[-1] = ("equal", ops[-1][1], ai + 1, ops[-1][3], bj + 1)
        else:
            ops.append(("equal", ai, ai + 1, bj, bj + 1))
        i, j = ai + 1, bj + 1
    if i < len_a or j < len_b:
        ops.append(("replace" if i < len_a and j < len_b else "delete" if i < len_a else "insert",
                    i, len_a, j, len_b))
    return ops


def _patience(a, b, a0, a1, b0, b1, pairs) -> None:
    while a0 < a1 and b0 < b1 and a[a0] == b[b0]:
        pairs[a0] = b0
        a0, b0 = a0 + 1, b0 + 1
    while a0 < a1 and b0 < b1 and a[a1 - 1] == b[b1 - 1]:
        a1, b1 = a1 - 1, b1 - 1
        pairs[a1] = b1
    if a0 >= a1 or b0 >= b1:
        return
    count_a, count_b = Counter(a[a0:a1]), Counter(b[b0:b1])
    where_b = {b[j]: j for j in range(b0, b1) if count_b[b[j]] == 1}
    anchors = [(i, where_b[a[i]]) for i in range(a0, a1) if count_a[a[i]] == 1 and a[i] in where_b]
    anchors = _increasing(anchors)
    if not anchors:
        sm = SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False) \
            if (a1 - a0) * (b1 - b0) <= 250_000 else None
        for i, j, size in (sm.get_matching_blocks() if sm else []):
            for k in range(size):
                pairs[a0 + i + k] = b0 + j + k
        return
    prev_a, prev_b = a0, b0
    for i, j in anchors:
        if prev_a < i and prev_b < j:         # (an empty gap has nothing to match)
            _patience(a, b, prev_a, i, prev_b, j, pairs)
        pairs[i] = j
        prev_a, prev_b = i + 1, j + 1
    _patience(a, b, prev_a, a1, prev_b, b1, pairs)


def _increasing(anchors: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest run of anchors increasing in both coordinates (anchors come sorted by a)."""
    tails: list[int] = []          # index into anchors of the smallest tail of each length
    tail_js: list[int] = []
    back: list[int] = [-1] * len(anchors)
    for k, (_, j) in enumerate(anchors):
        pos = bisect.bisect_left(tail_js, j)
        if pos:
            back[k] = tails[pos - 1]
        if pos == len(tails):
            tails.append(k)
            tail_js.append(j)
        else:
            tails[pos] = k
            tail_js[pos] = j
    out, k = [], tails[-1] if tails else -1
    while k != -1:
        out.append(anchors[k])
        k = back[k]
    return out[::-1]


@lru_cache(maxsize=32)
def _keys(text: bytes) -> tuple[bytes, ...]:
    """Per line, its words (a step's merged file is the next step's upstream: read once)."""
    return tuple(b" ".join(line.split()) for line in text.splitlines())


@lru_cache(maxsize=8)
def _matched(a: tuple, b: tuple) -> dict[int, int]:
    """matches, once per pair of texts' keys (a step's merged file and learned port are the next
    step's new upstream and old upstream: silent_changes matches that pair again); not to be changed."""
    return matches(a, b)


def silent_changes(old: bytes, port: bytes, new: bytes, output: bytes,
                   reported: set[int] = frozenset()) -> list[int]:
    """0-based lines of output whose disabled/live state changed silently (see module doc)."""
    O, P, N, M = _keys(old), _keys(port), _keys(new), _keys(output)
    so, sp, sn, sm = line_states(old), line_states(port), line_states(new), line_states(output)
    o2p, o2n, n2o = _matched(O, P), _matched(O, N), _matched(N, O)
    m2p, m2n = _matched(M, P), _matched(M, N)
    n_ops = _opcodes(n2o, len(N), len(O))
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
        if i2 - i1 == j2 - j1:      # changed line for line: each new line has the state of its old line
            out.update({n: (so[k], sp[o2p[k]]) for n, k in zip(range(i1, i2), range(j1, j2)) if k in o2p})
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
