"""Stage 4: re-apply learned edits onto a new upstream release, in four stages (as mergiraf does).

  match   (Matched)   segments of the learned port -> old upstream units -> new upstream units;
  merge   (Piece per segment)  each segment against what upstream did to its unit:
      keep    upstream unchanged -> same text; changed -> new upstream text (through check_new when
              live; kept disabled with a note inside the port's `#if 0`); removed -> gone, unless
              the port's live code still uses it (post);
      edit    unchanged -> port text; changed -> line 3-way merge inside the unit (git merge-file),
              markers where both sides touched the same lines; removed -> gone if the port only
              trimmed or disabled it, else a conflict;
      insert  port text, always;   delete  stays deleted (a note when upstream changed the unit);
  post    (the ordered pieces)  new upstream units placed after the unit before them in new
          upstream (after the port's `#if 0` region when that unit is disabled); removed units
          the port still uses restored; empty `#if 0` regions dropped; every live line that is not
          a live line of the learned port linted; invariants checked (invariants.py);
  render  (MergeResult)  the text, records given their output line.
"""
from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from typing import Callable

from .. import gitutil
from . import invariants
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
    findings: list[dict] = field(default_factory=list)    # what check_new and the invariants reported

    @property
    def clean(self) -> bool:
        return not self.conflicts


@dataclass
class Matched:
    """Stage 1: what each segment of the learned port stands for in old and new upstream."""
    path: str
    segs: list[Segment]
    old: list[Unit]
    new: list[Unit]
    ref: dict[int, int | None]              # segment index -> old upstream unit
    on: dict[int, int]                      # old upstream unit -> new upstream unit
    regions: list[tuple[int, int, int | None]]   # the port's `#if 0` regions, as segment indices
    learned: list[bytes]                    # per segment: its text in the learned port
    unmentioned: list[int]                  # old upstream units no segment refers to

    @property
    def port(self) -> bytes:
        return b"".join(self.learned)


@dataclass
class Piece:
    """Stage 2/3: one run of output text and what is to be said about it."""
    text: bytes = b""
    label: str = ""
    records: list = field(default_factory=list)   # (conflict|note|finding, dict, line offset in text)
    seg: int | None = None          # the segment it comes from (None: new upstream unit)
    new: int | None = None          # the new upstream unit it stands for
    disabled: bool = False          # inside an `#if 0` region of the learned port
    linted: bool = False            # went through check_new
    porter_disabled: bool = False   # check_new disabled it (and reported it)
    conflicted: bool = False
    fallback: bytes | None = None   # removed upstream: the port's text, restored if still used
    unused: tuple | None = None     # removed upstream, the port changed it: (markers, conflict) if unused

    def say(self, kind: str, rec: dict, off: int = 0) -> None:
        self.records.append((kind, rec, off))
        if kind == "conflict":
            self.conflicted = True


class Lint:
    """check_new around pieces: findings get file/unit/line; conflicted text is read, not changed."""

    def __init__(self, check_new: CheckNew | None, path: str):
        self.check_new, self.path = check_new, path

    def unit(self, piece: Piece, text: bytes, off: int = 0) -> bytes:
        piece.linted = True
        if self.check_new is None:
            return text
        lead = text[:lead_length(text)]
        out, findings = self.check_new(text[len(lead):], piece.label)
        self._record(piece, findings, off + lead.count(b"\n"))
        if any(f.get("disabled") for f in findings or []):
            piece.porter_disabled = True
        return lead + out

    def conflicted(self, piece: Piece) -> None:
        """Both sides of every conflict block, for findings only."""
        if self.check_new is None:
            return
        seen = set()
        first = piece.text[:lead_length(piece.text)].count(b"\n")     # findings point at the unit's first line
        for side in ("ours", "theirs"):
            text = resolve_markers(piece.text, side)
            lead = text[:lead_length(text)]
            _, findings = self.check_new(text[len(lead):], piece.label)
            fresh = [dict(f) for f in findings or [] if f.get("symbol") not in seen]
            seen |= {f.get("symbol") for f in fresh}
            for f in fresh:     # nothing is disabled in conflicted text: what would be is a finding
                f.pop("disabled", None)
                f["line"] = 1
                f["message"] = f"in a conflicted unit: {f.get('message', '')}"
            self._record(piece, fresh, first)

    def _record(self, piece: Piece, findings, off: int) -> None:
        for f in findings or []:
            f = dict(f)
            f.setdefault("file", self.path)
            f.setdefault("unit", piece.label)
            loc = f.get("line")
            piece.say("finding", f, off + (loc - 1 if isinstance(loc, int) and loc > 0 else 0))


def apply_file(edits: FileEdits, old_upstream: bytes, new_upstream: bytes, path: str,
               check_new: CheckNew | None = None) -> MergeResult:
    """Re-apply the learned port `edits` (learned against old_upstream) onto new_upstream."""
    lint = Lint(check_new, path)
    m, pieces = match(edits, old_upstream, new_upstream, path)
    changed: list[str] = []
    merge(m, pieces, lint, changed)
    ordered = post(m, pieces, lint, changed)
    if new_upstream != old_upstream or b"".join(p.text for p in ordered) != m.port:
        invariants.check(m, ordered, old_upstream, new_upstream)   # (the learned port itself passes)
    return render(ordered, changed)


# -- stage 1: match ----------------------------------------------------------------------------
def match(edits: FileEdits, old_upstream: bytes, new_upstream: bytes, path: str) -> tuple[Matched, list[Piece]]:
    old = segment(old_upstream)
    new = old if new_upstream == old_upstream else segment(new_upstream)
    segs = edits.segments
    pieces = [Piece(label=s.label(), seg=i) for i, s in enumerate(segs)]
    ref = _resolve(segs, old, pieces, path)
    on = {i: i for i in range(len(old))} if new is old else match_units(old, new)
    index = {id(s): i for i, s in enumerate(segs)}
    regions = mark_disabled(segs, lambda s: old[ref[index[id(s)]]].text
                            if ref.get(index[id(s)]) is not None else b"")
    learned = []
    for i, s in enumerate(segs):
        o = ref.get(i)
        if s.op in ("edit", "insert"):
            learned.append(s.text)
        elif s.op == "keep" and o is not None:
            learned.append(old[o].text if s.lead is None else s.lead + old[o].body)
        else:
            learned.append(b"")
    referred = {o for o in ref.values() if o is not None}
    unmentioned = [i for i in range(len(old)) if i not in referred]
    for i, s in enumerate(segs):
        pieces[i].disabled = s.disabled
    return Matched(path, segs, old, new, ref, on, regions, learned, unmentioned), pieces


def _resolve(segs: list[Segment], old: list[Unit], pieces, path) -> dict[int, int | None]:
    """segment index -> index of its upstream unit in old (by key and hash, then by hash alone)."""
    by_key = {u.key: i for i, u in enumerate(old)}
    by_digest: dict[str, list[int]] = {}
    for i, u in enumerate(old):
        by_digest.setdefault(u.digest, []).append(i)
    out: dict[int, int | None] = {}
    used: set[int] = set()
    for idx, s in enumerate(segs):
        i = by_key.get(s.key)
        if i is not None and old[i].digest == s.digest and i not in used:     # (an insert has no digest)
            out[idx] = i
            used.add(i)
    for idx, s in enumerate(segs):
        if not s.refers or idx in out:
            continue
        cand = [i for i in by_digest.get(s.digest, []) if i not in used]
        if cand:
            i = cand[0]
        else:
            i = by_key.get(s.key)
            if i is not None and i not in used:
                pieces[idx].say("note", _note(path, s.label(), "old upstream text differs from the one learned"))
            else:
                i = None
        out[idx] = i
        if i is not None:
            used.add(i)
    return out


# -- stage 2: merge ----------------------------------------------------------------------------
def merge(m: Matched, pieces: list[Piece], lint: Lint, changed: list[str]) -> None:
    path = m.path
    for idx, s in enumerate(m.segs):
        p = pieces[idx]
        label = s.label()
        if s.op == "insert":
            p.text = s.text
            continue
        o = m.ref.get(idx)
        if o is None:
            if s.op != "delete":
                p.say("conflict", _conflict(path, label, "the learned upstream unit is not in the old upstream file",
                                            s.text, b"", "relearn the port from the upstream tag it was made from"))
                p.text = s.text
            continue
        base = m.old[o].text
        n = m.on.get(o)
        p.new = n
        theirs = m.new[n].text if n is not None else None
        if s.op == "delete":
            if theirs is not None and theirs != base:
                p.say("note", _note(path, label, "unit deleted by the port changed upstream; stays deleted"))
            continue
        if s.op == "keep":
            _merge_keep(s, p, base, theirs, m.learned[idx], lint, changed, path)
        else:
            _merge_edit(s, p, base, theirs, lint, changed, path)


def _merge_keep(s: Segment, p: Piece, base: bytes, theirs: bytes | None, learned: bytes, lint: Lint,
                changed: list[str], path: str) -> None:
    label = p.label
    if theirs is None:
        changed.append(label)
        p.fallback = None if s.disabled else learned
        p.say("note", _note(path, label, "unit the port disabled was removed upstream: removed" if s.disabled
                            else "unit removed upstream: removed from the port"))
    elif theirs == base or (s.lead is not None and _body(theirs) == _body(base)):
        p.text = learned
    else:
        changed.append(label)
        if s.lead is not None:
            theirs = s.lead + _body(theirs)
        if s.disabled:
            p.text = theirs
            p.say("note", _note(path, label, "disabled unit changed upstream, kept disabled"))
        else:
            p.text = lint.unit(p, theirs)


def _merge_edit(s: Segment, p: Piece, base: bytes, theirs: bytes | None, lint: Lint,
                changed: list[str], path: str) -> None:
    label, ours = p.label, s.text
    if theirs is None:
        changed.append(label)
        p.fallback = None if s.disabled else ours
        if s.disabled or _only_trimmed(base, ours):
            p.say("note", _note(path, label, "unit the port disabled or trimmed was removed upstream: removed"))
        else:
            p.unused = (_markers(ours, base, b""), _conflict(
                path, label, "upstream removed a unit the port changed", ours, b"",
                "drop the port's version unless Xen still needs it; then remove the markers", base=base))
        return
    if theirs == base or theirs == ours:
        p.text = ours
        return
    changed.append(label)
    merged, blocks = merge3(ours, base, theirs)
    merged, blocks, resolved = refine(merged, blocks)
    for off, message in resolved:
        p.say("note", _note(path, label, message), off)
    if not blocks:
        p.text = merged if s.disabled else lint.unit(p, merged)
        p.say("note", _note(path, label, "upstream change merged into the port's version"
                            + (" (disabled)" if s.disabled else "")))
        return
    p.text = merged
    for off, b_ours, b_base, b_theirs in blocks:
        p.say("conflict", _conflict(path, label, "the port and upstream changed the same lines", b_ours, b_theirs,
                                    _suggest(b_ours, b_base, b_theirs), base=b_base), off)


# -- stage 3: post-process ---------------------------------------------------------------------
def post(m: Matched, pieces: list[Piece], lint: Lint, changed: list[str]) -> list[Piece]:
    ordered = _place_new_units(m, pieces, lint, changed)
    invariants.restore_used(m, ordered)
    for p in ordered:
        if p.unused is not None and not p.text:
            p.text = p.unused[0]
            p.say("conflict", p.unused[1])
    _drop_empty_regions(m, pieces)
    invariants.lint_new_lines(m, ordered, lint)
    return ordered


def _drop_empty_regions(m: Matched, pieces: list[Piece]) -> None:
    """Upstream removed every unit of a port `#if 0` region: the empty region goes too."""
    for open_, close, else_ in m.regions:
        inner = range(open_ + 1, close)
        removed = [i for i in inner if m.segs[i].refers and m.ref.get(i) is not None
                   and m.on.get(m.ref[i]) is None and m.segs[i].op != "delete"]
        if else_ is None and inner and removed and all(not pieces[i].text for i in inner):
            pieces[open_].text = b""
            pieces[close].text = b""
            pieces[open_].say("note", _note(m.path, m.segs[open_].label(),
                                            "upstream removed every unit of the port's #if 0 region "
                                            f"({', '.join(m.segs[i].label() for i in removed)}): "
                                            "the empty region removed"))


def _place_new_units(m: Matched, pieces: list[Piece], lint: Lint, changed: list[str]) -> list[Piece]:
    """New upstream units (and units the edits never mention) after the unit before them in new
    upstream; the ordered pieces of the output."""
    path, segs = m.path, m.segs
    anchor: dict[int, int] = {}
    for idx in range(len(segs)):
        o = m.ref.get(idx)
        if o is not None and m.on.get(o) is not None:
            anchor[m.on[o]] = _after_region(idx, m.regions)
    unmentioned_new = {m.on[o] for o in m.unmentioned if m.on.get(o) is not None}
    port_own = {(s.kind, s.name): idx for idx, s in enumerate(segs)
                if s.op == "insert" and s.kind in _DEFINING and s.name}
    buckets: dict[int, list[Piece]] = {}
    pos = -1
    kept_unmentioned: list[Piece] = []
    for j, u in enumerate(m.new):
        if j in anchor:     # (every new unit some segment stands for: the pairing is one to one)
            pos = anchor[j]
            continue
        piece = Piece(label=u.label(), new=j)
        own = port_own.get((u.kind, u.name))
        if j in unmentioned_new:
            piece.text = u.text
            kept_unmentioned.append(piece)
        elif own is not None:
            # upstream now has a unit the port added itself (a compat define, a stub): keep the
            # port's, which the rest of the port is written against, and say so
            pieces[own].say("note", _note(path, u.label(), "new upstream unit has the same name as one the port "
                                          "added: kept the port's, left upstream's out (compare them)"))
            pieces[own].new = j
            changed.append(u.label())
            continue
        else:
            piece.text = lint.unit(piece, u.text)
            piece.say("note", _note(path, u.label(), "new upstream unit added"))
            changed.append(u.label())
        buckets.setdefault(pos, []).append(piece)
    if m.unmentioned:
        names = [m.old[o].label() for o in m.unmentioned]
        where = kept_unmentioned[0] if kept_unmentioned else pieces[0] if pieces else None
        if where is not None:
            shown = ", ".join(names[:6]) + (f" and {len(names) - 6} more" if len(names) > 6 else "")
            where.say("conflict", _conflict(
                path, where.label, f"the learned edits do not mention {len(names)} upstream unit(s) ({shown}): "
                "the .edits file is damaged or truncated; kept upstream's text", b"", b"",
                "restore the step's .edits file from version control, or learn the port again"))
    ordered = list(buckets.get(-1, []))
    for idx in range(len(segs)):
        ordered.append(pieces[idx])
        ordered.extend(buckets.get(idx, []))
    return ordered


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


# -- stage 4: render ---------------------------------------------------------------------------
def render(ordered: list[Piece], changed: list[str]) -> MergeResult:
    res = MergeResult(b"")
    out = bytearray()
    line = 1
    for piece in ordered:
        for kind, rec, off in piece.records:
            rec["line"] = line + off
            if "lines" in rec:     # the other lines a record names, as offsets from its first
                rec["lines"] = [rec["line"] + k for k in rec["lines"]]
            {"conflict": res.conflicts, "note": res.notes, "finding": res.findings}[kind].append(rec)
        out += piece.text
        line += piece.text.count(b"\n")
    res.output = bytes(out)
    seen: set[str] = set()
    res.units_changed = [u for u in changed if not (u in seen or seen.add(u))]
    return res


# -- line 3-way merge inside a unit ------------------------------------------------------------
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


def _wrapping(ours: bytes) -> tuple[list[bytes], list[bytes]] | None:
    """(lines before the first code line, lines after the last) when the port's `#if 0` / `#endif`
    lines all lie outside the code and the code between is disabled: a region the lines before
    open is still open, or the lines after first close one opened before them; else None."""
    lines = ours.splitlines(keepends=True)
    code = [i for i, line in enumerate(lines) if not _annotation(line)]
    if not code:
        return None
    first, last = code[0], code[-1]
    if any(_IF0_LINE.match(line) or _ENDIF_LINE.match(line) for line in lines[first:last + 1]):
        return None
    prefix, suffix = lines[:first], lines[last + 1:]
    depth = 0
    for line in prefix:
        if _IF0_LINE.match(line):
            depth += 1
        elif _ENDIF_LINE.match(line):
            depth -= 1
    closes_first = next((bool(_ENDIF_LINE.match(line)) for line in suffix
                         if _IF0_LINE.match(line) or _ENDIF_LINE.match(line)), False)
    return (prefix, suffix) if depth > 0 or closes_first else None


def _without_empty_regions(lines: list[bytes]) -> list[bytes]:
    """Lines without code (blank, comments, `#if 0`, `#endif`) less every `#if 0` ... `#endif` pair
    and what lies between; unpaired directive lines stay."""
    out: list[bytes] = []
    opened: list[int] = []
    for line in lines:
        if _IF0_LINE.match(line):
            opened.append(len(out))
        elif _ENDIF_LINE.match(line) and opened:
            del out[opened.pop():]
            continue
        out.append(line)
    return out


def _weave(ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, str] | None:
    """One side only added lines to base, the other changed base's lines one for one: the added
    lines, in their places among the changed ones."""
    b = base.splitlines(keepends=True)
    for adds, edits, who in ((ours, theirs, "port"), (theirs, ours, "upstream")):
        a, e = adds.splitlines(keepends=True), edits.splitlines(keepends=True)
        if len(e) != len(b) or len(a) <= len(b) or not b:
            continue
        ops = SequenceMatcher(None, b, a, autojunk=False).get_opcodes()
        if any(tag not in ("equal", "insert") for tag, *_ in ops):
            continue
        out: list[bytes] = []
        for tag, i1, i2, j1, j2 in ops:
            out.extend(e[i1:i2] if tag == "equal" else a[j1:j2])
        if who == "port" and any(_IF0_LINE.match(line) or _ENDIF_LINE.match(line) for line in a):
            return b"".join(out), "lines the port disabled changed upstream: kept disabled with upstream's new text"
        other = "upstream" if who == "port" else "the port"
        return b"".join(out), f"the {who}'s added lines kept in place among {other}'s changed lines"
    return None


def _resolve_block(ours: bytes, base: bytes, theirs: bytes) -> tuple[bytes, str] | None:
    """A conflict block settled by what the two sides did, or None when both changed code."""
    c_ours, c_base, c_theirs = _code(ours), _code(base), _code(theirs)
    if c_ours == c_theirs:
        return ours, "the port already has upstream's change (plus its own comments): kept the port's lines"
    if c_theirs == c_base:
        return ours, "upstream changed only comments or blank lines here: kept the port's lines"
    woven = _weave(ours, base, theirs)
    if woven is not None:
        return woven
    if c_ours != c_base:
        return None
    wrap = _wrapping(ours)       # the port only wrapped these lines in #if 0 / #endif
    if wrap is None:
        return None              # the port's comments may explain Xen; let the user place them
    prefix, suffix = wrap
    if not c_theirs:
        kept = _without_empty_regions(prefix + suffix)
        return (b"".join(kept), "lines the port disabled were removed upstream: removed"
                + (" (the #if 0 / #endif line of the region around them stays)"
                   if any(_IF0_LINE.match(line) or _ENDIF_LINE.match(line) for line in kept) else ""))
    lines = theirs.splitlines(keepends=True)
    tail = []
    while lines and not lines[-1].strip():
        tail.insert(0, lines.pop())
    return (b"".join(prefix) + b"".join(lines) + b"".join(suffix) + b"".join(tail),
            "lines the port disabled changed upstream: kept disabled with upstream's new text")


def refine(merged: bytes, blocks) -> tuple[bytes, list, list[tuple[int, str]]]:
    """Settle the conflict blocks of a merged unit that _resolve_block can; renumber the rest."""
    if not blocks:
        return merged, blocks, []
    lines = merged.splitlines(keepends=True)
    out: list[bytes] = []
    remaining = []
    resolved: list[tuple[int, str]] = []
    i = 0
    for start, b_ours, b_base, b_theirs in blocks:
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


def resolve_markers(text: bytes, side: str) -> bytes:
    """text with every `port`/`upstream` conflict block replaced by one side (ours or theirs)."""
    if MARK_OURS not in text:
        return text         # no block opens
    out: list[bytes] = []
    state = None
    for line in text.splitlines(keepends=True):
        bare = line.rstrip(b"\r\n")
        if state is None and bare == MARK_OURS:
            state = "ours"
        elif state == "ours" and bare == MARK_BASE:
            state = "base"
        elif state in ("ours", "base") and bare == MARK_SEP:
            state = "theirs"
        elif state == "theirs" and bare == MARK_THEIRS:
            state = None
        elif state is None or state == side:
            out.append(line)
    return b"".join(out)


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
