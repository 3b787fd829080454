"""Conflict blocks a step left in a file, carried through the later steps without merging into them.

A later step is merged onto the file with every block replaced by its port side (what the learned
port had there), so its units parse and its edits land as they were learned; the blocks are then put
back around whatever the port side became.  A conflict is reported once, at the step that made it.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import gitutil

from .structured.merge import MARK_BASE, MARK_OURS, MARK_SEP, MARK_THEIRS
from .structured.states import marker_lines


@dataclass
class Block:
    start: int              # line index of the port side in the resolved text
    ours: int               # its number of lines
    base: list[bytes]       # the `||||||| upstream OLD` lines (marker line included)
    theirs: list[bytes]     # the `=======` line, upstream NEW lines and the `>>>>>>>` line


def port_side(text: bytes) -> tuple[bytes, list[Block]]:
    """text with every conflict block replaced by its port side, and the blocks."""
    if MARK_OURS not in text:
        return text, []
    out: list[bytes] = []
    blocks: list[Block] = []
    state, cur = None, None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip(b"\r\n")
        if state is None and bare == MARK_OURS:
            state, cur = "ours", Block(len(out), 0, [], [])
        elif state == "ours" and bare == MARK_BASE:
            state = "base"
            cur.base.append(line)
        elif state in ("ours", "base") and bare == MARK_SEP:
            state = "theirs"
            cur.theirs.append(line)
        elif state == "theirs" and bare == MARK_THEIRS:
            cur.theirs.append(line)
            blocks.append(cur)
            state = None
        elif state == "ours":
            out.append(line)
            cur.ours += 1
        elif state == "base":
            cur.base.append(line)
        elif state == "theirs":
            cur.theirs.append(line)
        else:
            out.append(line)
    if state is not None:           # an unterminated block is not ours to take apart
        return text, []
    return b"".join(out), blocks


def restore(before: bytes, after: bytes, blocks: list[Block]):
    """(after with the blocks put back around the lines their port sides became, line map): after
    is a step applied to `before`, the resolved text; the map takes a 1-based line of after to the
    same line in the result."""
    if not blocks:
        return after, lambda line: line
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    ops = line_opcodes(before, after, len(a), len(b))

    def where(pos: int, end: bool) -> int:
        for tag, i1, i2, j1, j2 in ops:
            if i1 <= pos <= i2 and (tag == "equal" or i1 < pos < i2 or (pos == i2 if end else pos == i1)):
                return j1 + (pos - i1) if tag == "equal" else (j2 if end else j1)
        return len(b)

    shifts = []       # (first line of after at or past which lines move down, by how many), in order
    for block in sorted(blocks, key=lambda x: x.start, reverse=True):
        j1 = where(block.start, end=False)
        j2 = max(j1, where(block.start + block.ours, end=True))
        ours = b[j1:j2]
        if ours and not ours[-1].endswith(b"\n"):
            ours[-1] += b"\n"
        b[j1:j2] = [MARK_OURS + b"\n", *ours, *block.base, *block.theirs]
        shifts += [(j1, 1), (j2, len(block.base) + len(block.theirs))]

    def moved(line: int) -> int:
        return line + sum(n for at, n in shifts if line - 1 >= at)

    return b"".join(b), moved


_HUNK = re.compile(rb"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@", re.M)


def line_opcodes(a: bytes, b: bytes, na: int, nb: int) -> list[tuple[str, int, int, int, int]]:
    """difflib-style opcodes between the lines of a and b, from git's (fast) line diff."""
    with tempfile.TemporaryDirectory(prefix="porter-markers-") as tmp:
        Path(tmp, "a").write_bytes(a)
        Path(tmp, "b").write_bytes(b)
        out = gitutil.run(tmp, "diff", "--no-index", "--no-color", "--no-ext-diff", "-U0", "-a",
                          "--diff-algorithm=histogram", "a", "b").stdout
    ops, i, j = [], 0, 0
    for m in _HUNK.finditer(out):
        a1, alen = int(m[1]), int(m[2]) if m[2] is not None else 1
        b1, blen = int(m[3]), int(m[4]) if m[4] is not None else 1
        a0 = a1 if alen == 0 else a1 - 1        # with no lines, git names the line before
        b0 = b1 if blen == 0 else b1 - 1
        if a0 > i:
            ops.append(("equal", i, a0, j, j + a0 - i))
        ops.append(("replace", a0, a0 + alen, b0, b0 + blen))
        i, j = a0 + alen, b0 + blen
    if i < na:
        ops.append(("equal", i, na, j, nb))
    return ops


def conflict_lines(text: bytes) -> set[int]:
    """The line numbers (from 1) inside <<<<<<< ... >>>>>>> blocks, markers included."""
    return {n + 1 for n in marker_lines(text)}
