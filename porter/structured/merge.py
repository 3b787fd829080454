"""Stage 4: re-apply learned edits onto a new upstream release, unit by unit.

Units of old upstream (what the port was learned from) and new upstream are paired (match.py).
Walking the port's segments in order:
  keep     upstream unchanged -> same text; upstream changed -> new upstream text (through
           check_new when live; kept disabled with a note when inside the port's `#if 0`);
           upstream deleted -> gone.
  edit     upstream unchanged -> port text; upstream changed -> line 3-way merge inside the unit
           (git merge-file), conflict markers where both sides touched the same lines; upstream
           deleted -> gone if the port only trimmed or disabled it, else a conflict.
  insert   port text, always.
  delete   stays deleted (a note when upstream changed the unit meanwhile).
New upstream units come in after the unit that precedes them in new upstream (after the port's
`#if 0` region when that unit is disabled), through check_new.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Callable

from .. import gitutil
from .edits import FileEdits, Segment, mark_disabled, region_events
from .match import match_units
from .units import Unit, lead_length, segment

CheckNew = Callable[[bytes, str], "tuple[bytes, list[dict]]"]
MARK_OURS, MARK_BASE, MARK_SEP, MARK_THEIRS = (b"<<<<<<< port", b"||||||| upstream OLD", b"=======",
                                               b">>>>>>> upstream NEW")


@dataclass
class MergeResult:
    output: bytes
    conflicts: list[dict] = field(default_factory=list)   # file, unit, line, reason, ours, theirs, suggestion
    notes: list[dict] = field(default_factory=list)       # file, unit, line, message
    units_changed: list[str] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)    # what check_new reported, with file/unit/line

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass
class _Piece:
    text: bytes = b""
    records: list = field(default_factory=list)   # (kind: conflict|note|finding, dict, line offset in text)


def apply_file(edits: FileEdits, old_upstream: bytes, new_upstream: bytes, path: str,
               check_new: CheckNew | None = None) -> MergeResult:
    """Re-apply the learned port `edits` (learned against old_upstream) onto new_upstream."""
    old = segment(old_upstream)
    new = old if new_upstream == old_upstream else segment(new_upstream)
    segs = edits.segments
    res = MergeResult(b"")
    pieces = [_Piece() for _ in segs]
    ref = _resolve(segs, old, pieces, path)
    on = {i: i for i in range(len(old))} if new is old else match_units(old, new)
    regions = mark_disabled(segs, lambda s: old[ref[id(s)]].text if ref.get(id(s)) is not None else b"")

    def check(text: bytes, label: str, piece: _Piece, off: int) -> bytes:
        if check_new is None:
            return text
        lead = text[:lead_length(text)]
        off += lead.count(b"\n")
        out, findings = check_new(text[len(lead):], label)
        for f in findings or []:
            f = dict(f)
            f.setdefault("file", path)
            f.setdefault("unit", label)
            loc = f.get("line")
            piece.records.append(("finding", f, off + (loc - 1 if isinstance(loc, int) and loc > 0 else 0)))
        return lead + out

    removed_by_upstream: set[int] = set()
    for idx, s in enumerate(segs):
        p = pieces[idx]
        label = s.label()
        if s.op == "insert":
            p.text = s.text
            continue
        o = ref.get(id(s))
        if o is None:
            if s.op != "delete":
                p.records.append(("conflict", _conflict(
                    path, label, "the learned upstream unit is not in the old upstream file",
                    s.text, b"", "relearn the port from the upstream tag it was made from"), 0))
                p.text = s.text
            continue
        base = old[o].text
        n = on.get(o)
        theirs = new[n].text if n is not None else None
        if s.op == "delete":
            if theirs is not None and theirs != base:
                p.records.append(("note", _note(path, label, "unit deleted by the port changed upstream; "
                                                "stays deleted"), 0))
            continue
        if s.op == "keep":
            if theirs is None:
                removed_by_upstream.add(idx)
                res.units_changed.append(label)
                msg = ("unit the port disabled was removed upstream: removed" if s.disabled
                       else "unit removed upstream: removed from the port")
                p.records.append(("note", _note(path, label, msg), 0))
            elif theirs == base or (s.lead is not None and _body(theirs) == _body(base)):
                p.text = base if s.lead is None else s.lead + _body(base)
            else:
                res.units_changed.append(label)
                if s.lead is not None:
                    theirs = s.lead + _body(theirs)
                if s.disabled:
                    p.text = theirs
                    p.records.append(("note", _note(path, label,
                                                    "disabled unit changed upstream, kept disabled"), 0))
                else:
                    p.text = check(theirs, label, p, 0)
            continue
        # edit
        ours = s.text
        if theirs is None:
            res.units_changed.append(label)
            if s.disabled or _only_trimmed(base, ours):
                removed_by_upstream.add(idx)
                p.records.append(("note", _note(path, label, "unit the port disabled or trimmed was removed "
                                                "upstream: removed"), 0))
            else:
                p.text = _markers(ours, base, b"")
                p.records.append(("conflict", _conflict(
                    path, label, "upstream removed a unit the port changed", ours, b"",
                    "drop the port's version unless Xen still needs it; then remove the markers"), 0))
            continue
        if theirs == base or theirs == ours:
            p.text = ours
            continue
        res.units_changed.append(label)
        merged, blocks = merge3(ours, base, theirs)
        merged, blocks, resolved = refine(merged, blocks)
        for off, message in resolved:
            p.records.append(("note", _note(path, label, message), off))
        if not blocks:
            p.text = merged if s.disabled else check(merged, label, p, 0)
            p.records.append(("note", _note(path, label, "upstream change merged into the port's version"
                                            + (" (disabled)" if s.disabled else "")), 0))
            continue
        p.text = merged
        for off, b_ours, b_base, b_theirs in blocks:
            p.records.append(("conflict", _conflict(
                path, label, "the port and upstream changed the same lines", b_ours, b_theirs,
                _suggest(b_ours, b_base, b_theirs), base=b_base), off))

    # upstream removed every unit of a port `#if 0` region: the empty region goes too
    for open_, close, else_ in regions:
        inner = range(open_ + 1, close)
        if else_ is None and inner and any(i in removed_by_upstream for i in inner) and \
                all(not pieces[i].text for i in inner):
            pieces[open_].text = b""
            pieces[close].text = b""
            pieces[open_].records.append(("note", _note(path, segs[open_].label(),
                                                        "empty #if 0 region removed"), 0))

    # new upstream units: after the unit before them in new upstream
    anchor: dict[int, int] = {}
    for idx, s in enumerate(segs):
        o = ref.get(id(s))
        if o is not None and on.get(o) is not None:
            anchor[on[o]] = _after_region(idx, regions)
    matched_new = set(on.values())
    port_own = {(s.kind, s.name): idx for idx, s in enumerate(segs)
                if s.op == "insert" and s.kind in _DEFINING and s.name}
    buckets: dict[int, list[_Piece]] = {}
    pos = -1
    for j, u in enumerate(new):
        if j in anchor:
            pos = anchor[j]
            continue
        if j in matched_new:
            continue
        piece = _Piece()
        label = u.label()
        own = port_own.get((u.kind, u.name))
        if own is not None:
            # upstream now has a unit the port added itself (a compat define, a stub): keep the
            # port's, which the rest of the port is written against, and say so
            pieces[own].records.append(("note", _note(
                path, label, "new upstream unit has the same name as one the port added: kept the "
                "port's, left upstream's out (compare them)"), 0))
            res.units_changed.append(label)
            continue
        piece.text = check(u.text, label, piece, 0)
        piece.records.append(("note", _note(path, label, "new upstream unit added"), 0))
        res.units_changed.append(label)
        buckets.setdefault(pos, []).append(piece)

    ordered = list(buckets.get(-1, []))
    for idx in range(len(segs)):
        ordered.append(pieces[idx])
        ordered.extend(buckets.get(idx, []))
    out = bytearray()
    line = 1
    for piece in ordered:
        for kind, rec, off in piece.records:
            rec["line"] = line + off
            {"conflict": res.conflicts, "note": res.notes, "finding": res.findings}[kind].append(rec)
        out += piece.text
        line += piece.text.count(b"\n")
    res.output = bytes(out)
    seen = set()
    res.units_changed = [u for u in res.units_changed if not (u in seen or seen.add(u))]
    return res


def _resolve(segs: list[Segment], old: list[Unit], pieces, path) -> dict[int, int | None]:
    """id(segment) -> index of its upstream unit in old (by key and hash, then by hash alone)."""
    by_key = {u.key: i for i, u in enumerate(old)}
    by_digest: dict[str, list[int]] = {}
    for i, u in enumerate(old):
        by_digest.setdefault(u.digest, []).append(i)
    out: dict[int, int | None] = {}
    used: set[int] = set()
    for idx, s in enumerate(segs):
        if not s.refers:
            continue
        i = by_key.get(s.key)
        if i is not None and old[i].digest == s.digest and i not in used:
            out[id(s)] = i
            used.add(i)
    for idx, s in enumerate(segs):
        if not s.refers or id(s) in out:
            continue
        cand = [i for i in by_digest.get(s.digest, []) if i not in used]
        if cand:
            i = cand[0]
        else:
            i = by_key.get(s.key)
            if i is not None and i not in used:
                pieces[idx].records.append(("note", _note(path, s.label(),
                                            "old upstream text differs from the one learned"), 0))
            else:
                i = None
        out[id(s)] = i
        if i is not None:
            used.add(i)
    return out


_DEFINING = {"function", "define", "struct", "union", "enum", "typedef", "declaration"}


def _body(text: bytes) -> bytes:
    return text[lead_length(text):]


def _after_region(idx: int, regions) -> int:
    """Where new units that follow segment idx go: after the outermost port `#if 0` region
    that holds idx."""
    best = idx
    for open_, close, _ in regions:
        if open_ <= idx < close and close > best:
            best = close
    return best


def _only_trimmed(base: bytes, ours: bytes) -> bool:
    """The port only deleted lines of base, or wrapped some in #if 0 / #endif."""
    sm = SequenceMatcher(None, base.splitlines(), ours.splitlines(), autojunk=False)
    ol = ours.splitlines()
    for tag, _, _, j1, j2 in sm.get_opcodes():
        if tag in ("equal", "delete"):
            continue
        if not all(_annotation(line) or region_events(line) for line in ol[j1:j2]):
            return False
    return True


def merge3(ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, list[tuple[int, bytes, bytes, bytes]]]:
    """Line 3-way merge (git merge-file --diff3); returns the text and its conflict blocks as
    (line offset of the `<<<<<<<` marker, ours, base, theirs)."""
    with tempfile.TemporaryDirectory(prefix="porter-merge-") as tmp:
        files = []
        for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            f = os.path.join(tmp, name)
            with open(f, "wb") as fh:
                fh.write(data)
            files.append(f)
        proc = gitutil.run(tmp, "merge-file", "-p", "--diff3", "-L", "port", "-L", "upstream OLD",
                           "-L", "upstream NEW", *files)
    if proc.returncode < 0 or proc.returncode > 127 or (proc.returncode and MARK_OURS not in proc.stdout):
        text = _markers(ours, base, theirs)       # git could not merge (binary?): whole unit
        return text, [(0, ours, base, theirs)]
    if proc.returncode == 0:
        return proc.stdout, []
    return proc.stdout, conflict_blocks(proc.stdout)


_COMMENT_LINE = re.compile(rb"^\s*(?:/\*.*\*/|//.*|/\*.*|\*.*|\*/)?\s*$")
_IF0_LINE = re.compile(rb"^\s*#\s*if\s+0\b")
_ENDIF_LINE = re.compile(rb"^\s*#\s*endif\b")


def _annotation(line: bytes) -> bool:
    """Lines that carry no code: blank, comment-only, `#if 0` / `#endif` wrappers."""
    return bool(_COMMENT_LINE.match(line) or _IF0_LINE.match(line) or _ENDIF_LINE.match(line))


def _code(text: bytes) -> list[bytes]:
    return [line.strip() for line in text.splitlines() if not _annotation(line)]


def _resolve_block(ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, str] | None:
    """A conflict block settled by what the two sides did, or None when both changed code."""
    c_ours, c_base, c_theirs = _code(ours), _code(base), _code(theirs)
    if c_ours == c_theirs:
        return ours, "the port already has upstream's change (plus its own comments): kept the port's lines"
    if c_theirs == c_base:
        return ours, "upstream changed only comments or blank lines here: kept the port's lines"
    if c_ours == c_base:
        wrapped = any(_IF0_LINE.match(line) for line in ours.splitlines())
        if not wrapped:
            return None     # the port's comments may explain Xen; let the user place them
        if not c_theirs:
            return theirs, "lines the port disabled were removed upstream: removed"
        lines = theirs.splitlines(keepends=True)
        tail = []
        while lines and not lines[-1].strip():
            tail.insert(0, lines.pop())
        head = next(line for line in ours.splitlines(keepends=True) if _IF0_LINE.match(line))
        end = next((line for line in ours.splitlines(keepends=True) if _ENDIF_LINE.match(line)), b"#endif\n")
        return (_eol(head) + b"".join(lines) + _eol(end) + b"".join(tail),
                "lines the port disabled changed upstream: kept disabled with upstream's new text")
    return None


def refine(merged: bytes, blocks) -> tuple[bytes, list, list[tuple[int, str]]]:
    """Settle the conflict blocks of a merged unit that _resolve_block can; renumber the rest."""
    if not blocks:
        return merged, blocks, []
    lines = merged.splitlines(keepends=True)
    out: list[bytes] = []
    remaining = []
    resolved: list[tuple[int, str]] = []
    i = 0
    block_iter = iter(blocks)
    for start, b_ours, b_base, b_theirs in block_iter:
        out.extend(lines[i:start])
        # the block spans its marker lines plus its three sides
        span = 4 + len(b_ours.splitlines()) + len(b_base.splitlines()) + len(b_theirs.splitlines())
        settled = _resolve_block(b_ours, b_base, b_theirs)
        if settled is None:
            remaining.append((len(out), b_ours, b_base, b_theirs))
            out.extend(lines[start:start + span])
        else:
            resolved.append((len(out), settled[1]))
            out.extend(settled[0].splitlines(keepends=True))
        i = start + span
    out.extend(lines[i:])
    return b"".join(out), remaining, resolved


def conflict_blocks(text: bytes) -> list[tuple[int, bytes, bytes, bytes]]:
    blocks = []
    state = None
    parts: dict[str, list[bytes]] = {}
    start = 0
    for n, line in enumerate(text.splitlines(keepends=True)):
        bare = line.rstrip(b"\r\n")
        if state is None and bare == MARK_OURS:
            state, start, parts = "ours", n, {"ours": [], "base": [], "theirs": []}
        elif state == "ours" and bare == MARK_BASE:
            state = "base"
        elif state in ("ours", "base") and bare == MARK_SEP:
            state = "theirs"
        elif state == "theirs" and bare == MARK_THEIRS:
            blocks.append((start, b"".join(parts["ours"]), b"".join(parts["base"]), b"".join(parts["theirs"])))
            state = None
        elif state is not None:
            parts[state].append(line)
    return blocks


def _eol(text: bytes) -> bytes:
    return text if not text or text.endswith(b"\n") else text + b"\n"


def _markers(ours: bytes, base: bytes, theirs: bytes) -> bytes:
    return (MARK_OURS + b"\n" + _eol(ours) + MARK_BASE + b"\n" + _eol(base) + MARK_SEP + b"\n"
            + _eol(theirs) + MARK_THEIRS + b"\n")


def _s(b: bytes, limit: int = 40) -> str:
    lines = b.decode("utf-8", "replace").splitlines()
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more lines)"]
    return "\n".join(lines)


def _note(path: str, unit: str, message: str) -> dict:
    return {"file": path, "unit": unit, "line": 0, "message": message}


def _conflict(path, unit, reason, ours: bytes, theirs: bytes, suggestion: str, base: bytes = b"") -> dict:
    return {"file": path, "unit": unit, "line": 0, "reason": reason, "ours": _s(ours),
            "theirs": _s(theirs), "base": _s(base), "suggestion": suggestion}


def _suggest(ours: bytes, base: bytes, theirs: bytes) -> str:
    if not theirs.strip():
        return "upstream deleted these lines, the port changed them: keep the port's lines only if Xen needs them"
    if not ours.strip():
        return "the port deleted these lines, upstream changed them: keep them deleted unless the change matters to Xen"
    if b"#if 0" in ours or b"Xen" in ours:
        return "keep the port's Xen version and re-apply upstream's change (upstream OLD -> NEW) to it"
    return "take upstream NEW and re-apply the port's change (upstream OLD -> port) on top"
