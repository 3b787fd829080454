"""Stage 3: a learned port as a sequence of unit edits, and its readable text form.

A port file is a sequence of segments, each either a reference to an upstream unit that the port
keeps byte for byte (`keep`; `disable` when the port's own `#if 0` surrounds it), an upstream unit
the port changed (`edit`, the port's text follows, the base is the referenced upstream unit), or
text only the port has (`insert`).  `delete` records an upstream unit the port dropped; it emits
nothing.  Concatenating keep texts (from the upstream the port was learned from) and literal texts
gives back the port exactly, by construction.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from ..errors import BadInput
from .match import match_units
from .units import segment

HEADER = "# porter structured edits v1"
OPS = ("keep", "disable", "edit", "insert", "delete")


@dataclass
class Segment:
    op: str                    # keep | edit | insert | delete  ("disable" is keep, labelled)
    kind: str
    name: str
    occ: int = 0               # upstream unit occurrence (keep/edit/delete)
    digest: str | None = None  # short hash of the upstream unit's text (keep/edit/delete)
    text: bytes = b""          # port text (edit/insert)
    port_name: str | None = None   # edit: the port's own name for the unit when it differs (rename)
    disabled: bool = False     # inside a port `#if 0` region (for the reader; recomputed on apply)
    lead: bytes | None = None  # keep: the port's own blank lines before the unit, when not upstream's

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.kind, self.name, self.occ)

    def label(self) -> str:
        return f"{self.kind} {self.name}" if self.name else self.kind

    @property
    def refers(self) -> bool:
        return self.op in ("keep", "disable", "edit", "delete")


@dataclass
class FileEdits:
    path: str
    segments: list[Segment] = field(default_factory=list)

    # -- text form -----------------------------------------------------------------------------
    def dump(self) -> bytes:
        out = [HEADER, f"# file: {_clean(self.path)}",
               "# keep: upstream unit unchanged; disable: unchanged, inside the port's #if 0;",
               "# edit: upstream unit as the port has it; insert: port-only text; delete: dropped.",
               "# @hash = start of sha1 of the upstream unit's text; '| ' lines are the text;",
               "# '! ' lines are escaped bytes (\\n \\r \\t \\\\ \\xNN), with no implied newline;",
               "# blank text lines after keep/disable: the port's own spacing before that unit",
               "# (a lone '! ' line: none)."]
        for s in self.segments:
            op = "disable" if (s.op == "keep" and s.disabled) else s.op
            head = [op, s.kind]
            if s.name:
                head.append(_name_token(s.name))
            if s.refers:
                if s.occ:
                    head.append(f"[{s.occ}]")
                head.append(f"@{s.digest}")
            if s.op == "edit" and s.port_name is not None and s.port_name != s.name:
                head.append("as " + _name_token(s.port_name))
            out.append(" ".join(head))
            if s.op in ("edit", "insert"):
                out.extend(_text_lines(s.text))
            elif s.op == "keep" and s.lead is not None:
                out.extend(_text_lines(s.lead) or ["! "])
        return ("\n".join(out) + "\n").encode("utf-8")

    @classmethod
    def load(cls, data: bytes, path: str) -> "FileEdits":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            line = data.count(b"\n", 0, e.start) + 1
            raise BadInput(f"{path}: line {line}: structured edits are not UTF-8") from None
        segs: list[Segment] = []
        cur: Segment | None = None
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if not lines or not lines[0].startswith("# porter structured edits"):
            raise BadInput(f"{path}: line 1: not a porter structured edits file (no {HEADER!r} line): "
                           f"empty or damaged; restore it from version control or learn the port again")
        if lines[0] != HEADER:
            raise BadInput(f"{path}: line 1: unsupported format {lines[0][2:]!r} (want {HEADER[2:]!r})")

        def close(lineno: int):
            if cur is None:
                return
            if cur.op in ("edit", "insert"):
                if not buf:
                    raise BadInput(f"{path}: line {lineno}: {cur.op} {cur.label()} has no text")
                cur.text = b"".join(buf)
            elif cur.op == "keep" and buf:
                cur.lead = b"".join(buf)
                if cur.lead.strip():
                    raise BadInput(f"{path}: line {lineno}: keep {cur.label()}: only blank lines may "
                                   f"follow a keep (the port's own spacing before the unit)")
            elif buf:
                raise BadInput(f"{path}: line {lineno}: {cur.op} {cur.label()} takes no text")
            segs.append(cur)

        start = 0
        for n, line in enumerate(lines, 1):
            if line.startswith("|"):
                if cur is None:
                    raise BadInput(f"{path}: line {n}: text line before any edit")
                if line != "|" and not line.startswith("| "):
                    raise BadInput(f"{path}: line {n}: text lines start with '| '")
                buf.append(line[2:].encode("utf-8") + b"\n")
                continue
            if line.startswith("!"):
                if cur is None:
                    raise BadInput(f"{path}: line {n}: text line before any edit")
                if not line.startswith("! "):
                    raise BadInput(f"{path}: line {n}: escaped lines start with '! '")
                buf.append(_unescape(line[2:], path, n))
                continue
            if not line.strip() or line.startswith("#"):
                continue
            close(start)
            buf: list[bytes] = []
            cur = _parse_head(line, path, n)
            start = n
        close(start)
        return cls(path, segs)


# -- learning ----------------------------------------------------------------------------------
def learn_file(upstream: bytes, port: bytes, path: str) -> FileEdits:
    """The port as edits of upstream's units; apply_file(learn_file(U, P), U, U).output == P."""
    up = segment(upstream)
    pu = segment(port)
    pairs = match_units(pu, up)
    segs: list[Segment] = []
    seg_of_up: dict[int, int] = {}
    for i, p in enumerate(pu):
        j = pairs.get(i)
        if j is None:
            segs.append(Segment("insert", p.kind, p.name, text=p.text))
            continue
        u = up[j]
        seg_of_up[j] = len(segs)
        if u.text == p.text:
            segs.append(Segment("keep", u.kind, u.name, u.occ, u.digest))
        elif u.body == p.body:
            segs.append(Segment("keep", u.kind, u.name, u.occ, u.digest, lead=p.lead))
        else:
            segs.append(Segment("edit", u.kind, u.name, u.occ, u.digest, text=p.text,
                                port_name=p.name if (p.kind, p.name) != (u.kind, u.name) else None))
    # deleted upstream units: recorded after the segment of the upstream unit before them
    by_pos: dict[int, list[Segment]] = {}      # segment index -> deleted units after it, in upstream order
    for j, u in enumerate(up):
        if j not in seg_of_up:
            prev = max((seg_of_up[k] for k in range(j) if k in seg_of_up), default=-1)
            by_pos.setdefault(prev, []).append(Segment("delete", u.kind, u.name, u.occ, u.digest))
    if by_pos:
        merged = list(by_pos.get(-1, []))
        for i, s in enumerate(segs):
            merged.append(s)
            merged.extend(by_pos.get(i, []))
        segs = merged
    upmap = {u.key: u for u in up}
    mark_disabled(segs, lambda s: upmap[s.key].text if s.key in upmap else b"")
    return FileEdits(path, segs)


# -- `#if 0` regions ---------------------------------------------------------------------------
_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*(if|ifdef|ifndef|elif|elifdef|elifndef|else|endif)\b(.*)$",
                        re.M)
_IF0 = re.compile(rb"^\s*0\s*(?:/\*.*)?$")
_SPLICE = re.compile(rb"\\\r?\n")


def region_events(text: bytes) -> list[tuple[str, bool]]:
    """The preprocessor nesting events of a unit's lines: (directive, is `#if 0`), read after
    the lines continued with a backslash are spliced, as the preprocessor reads them."""
    out = []
    for m in _DIRECTIVE.finditer(_SPLICE.sub(b"", text)):
        d = m.group(1).decode()
        out.append((d, d == "if" and bool(_IF0.match(m.group(2).split(b"//")[0]))))
    return out


def mark_disabled(segs: list[Segment], upstream_text) -> list[tuple[int, int, int | None]]:
    """Set .disabled on segments inside a `#if 0` region.

    Returns the `#if 0` regions as (opening segment, closing `#endif` segment, `#else` segment or
    None); segments between `#else` and `#endif` are the live replacement, not disabled."""
    stack: list[dict] = []
    regions = []
    for idx, s in enumerate(segs):
        s.disabled = any(not f["live"] for f in stack)
        if s.op == "delete" or s.kind != "directive":
            continue
        text = s.text if s.op in ("edit", "insert") else upstream_text(s)
        for d, if0 in region_events(text):
            if d.startswith("if"):
                stack.append({"open": idx, "if0": if0, "live": not if0, "else": None})
            elif d.startswith("el") and stack:
                f = stack[-1]
                if f["if0"] and d == "else" and f["else"] is None:
                    f["else"] = idx
                f["live"] = True
            elif d == "endif" and stack:
                f = stack.pop()
                if f["if0"]:
                    regions.append((f["open"], idx, f["else"]))
    return regions


# -- text form helpers -------------------------------------------------------------------------
_NAME_BARE = re.compile(r"^[A-Za-z_][A-Za-z0-9_,.]*$")
_NAME = r'"(?:[^"\\]|\\.)*"|[A-Za-z_][A-Za-z0-9_,.]*'
_HEAD = re.compile(rf"^(?P<op>{'|'.join(OPS)}) (?P<kind>[A-Za-z_][A-Za-z0-9_]*)"
                   rf"(?: (?P<name>{_NAME}))?(?: \[(?P<occ>\d+)\])?(?: @(?P<digest>[0-9a-f]{{10}}))?"
                   rf"(?: as (?P<as>{_NAME}))?$")


def _clean(s: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in s)


def _name_token(name: str) -> str:
    return name if _NAME_BARE.match(name) else json.dumps(name, ensure_ascii=False)


def _name_value(tok: str | None) -> str:
    if tok is None:
        return ""
    return json.loads(tok) if tok.startswith('"') else tok


def _parse_head(line: str, path: str, n: int) -> Segment:
    m = _HEAD.match(line)
    if not m:
        raise BadInput(f"{path}: line {n}: cannot read edit line {line[:60]!r} "
                       f"(want: {'|'.join(OPS)} KIND [NAME] [[N]] [@HASH])")
    op = m["op"]
    try:
        name = _name_value(m["name"])
        as_name = _name_value(m["as"]) if m["as"] else None
    except ValueError:
        raise BadInput(f"{path}: line {n}: bad quoted name in {line[:60]!r}") from None
    refers = op != "insert"
    if refers and not m["digest"]:
        raise BadInput(f"{path}: line {n}: {op} needs the upstream unit's @hash")
    if not refers and (m["digest"] or m["occ"]):
        raise BadInput(f"{path}: line {n}: insert takes no [N] or @hash")
    if as_name is not None and op != "edit":
        raise BadInput(f"{path}: line {n}: only edit takes 'as NAME'")
    seg = Segment("keep" if op == "disable" else op, m["kind"], name, int(m["occ"] or 0),
                  m["digest"], port_name=as_name)
    seg.disabled = op == "disable"
    return seg


def _is_clean(line: bytes) -> bool:
    if not line.endswith(b"\n"):
        return False
    body = line[:-1]
    if body.endswith((b" ", b"\t")):
        return False
    try:
        s = body.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return s.isprintable() or s.replace("\t", "").isprintable()


def _text_lines(text: bytes) -> list[str]:
    out = []
    for line in text.splitlines(keepends=True):
        if _is_clean(line):
            body = line[:-1].decode("utf-8")
            out.append("| " + body if body else "|")
        else:
            out.append("! " + _escape(line))
    return out


def _escape(line: bytes) -> str:
    s = line.decode("utf-8", "surrogateescape")
    out = []
    for c in s:
        o = ord(c)
        if c == "\\":
            out.append("\\\\")
        elif c == "\n":
            out.append("\\n")
        elif c == "\r":
            out.append("\\r")
        elif c == "\t":
            out.append("\\t")
        elif 0xDC80 <= o <= 0xDCFF:
            out.append(f"\\x{o - 0xDC00:02x}")
        elif o < 0x20 or o == 0x7f or not c.isprintable():
            out.extend(f"\\x{b:02x}" for b in c.encode("utf-8"))
        else:
            out.append(c)
    res = "".join(out)
    stripped = res.rstrip(" ")
    return stripped + "\\x20" * (len(res) - len(stripped))


_ESC = {"\\": b"\\", "n": b"\n", "r": b"\r", "t": b"\t"}


def _unescape(s: str, path: str, n: int) -> bytes:
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c != "\\":
            out += c.encode("utf-8")
            i += 1
            continue
        nxt = s[i + 1:i + 2]
        if nxt in _ESC:
            out += _ESC[nxt]
            i += 2
        elif nxt == "x" and re.fullmatch(r"[0-9a-fA-F]{2}", s[i + 2:i + 4] or ""):
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        else:
            raise BadInput(f"{path}: line {n}: bad escape {s[i:i + 4]!r}")
    return bytes(out)
