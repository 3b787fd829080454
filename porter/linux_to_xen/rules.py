"""Rules as data: loading and validating TOML rule files and packs."""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BadInput

PACK_DIR = Path(__file__).parent / "packs"
TEMPLATE_DIR = Path(__file__).parent / "templates"

ANCHOR_KINDS = {"function", "struct", "field", "declaration", "define", "macro", "statement",
                "include", "includes", "preproc", "call", "type", "string", "identifier", "file"}
OPS = {"disable", "replace", "insert_before", "insert_after", "insert_start", "insert_end",
       "rename", "rewrite_call", "rewrite_type", "rewrite_string", "replace_includes",
       "insert_template"}
# which anchors each operation accepts
OP_ANCHORS = {
    "disable": {"function", "struct", "field", "declaration", "define", "macro", "statement",
                "include", "preproc"},
    "replace": {"function", "struct", "field", "declaration", "define", "macro", "statement",
                "include", "preproc"},
    "insert_before": ANCHOR_KINDS - {"call", "type", "string", "identifier", "file"},
    "insert_after": ANCHOR_KINDS - {"call", "type", "string", "identifier", "file"},
    "insert_start": {"function", "struct", "file"},
    "insert_end": {"function", "struct", "file"},
    "insert_template": ANCHOR_KINDS - {"call", "type", "string", "identifier"},
    "rename": {"identifier", "function", "struct", "define", "declaration"},
    "rewrite_call": {"call"},
    "rewrite_type": {"type"},
    "rewrite_string": {"string"},
    "replace_includes": {"includes"},
}
_NEEDS = {"disable": ("reason",), "replace": ("reason",), "rename": ("to",),
          "rewrite_type": ("to",), "rewrite_string": ("pattern", "to"),
          "replace_includes": ("map",)}


@dataclass
class Anchor:
    kind: str
    name: str = "*"
    calls: str | None = None       # statement: found by what it calls
    mentions: str | None = None    # statement: or by a name it mentions
    inside: str | None = None      # restrict to a function (glob)
    where: str = "after"           # insert_template: before/after/start/end
    value: bool = False            # call: only calls whose value is used (not a statement of their own)

    def describe(self) -> str:
        extra = "".join(f" {k}={v}" for k, v in (("calls", self.calls), ("mentions", self.mentions),
                                               ("in", self.inside)) if v)
        return f"{self.kind} {self.name}{extra}"


@dataclass
class Rule:
    id: str
    op: str
    anchor: Anchor
    expect: str = "any"            # an integer, "N+" or "any"
    reason: str = ""
    text: str | None = None
    template: str | None = None
    vars: dict = field(default_factory=dict)
    to: str | None = None
    args: str | None = None
    pattern: str | None = None
    map: dict = field(default_factory=dict)
    keep: list = field(default_factory=list)      # replace_includes: always-in Xen includes
    pack: str = ""
    source: str = ""

    def expects(self, found: int) -> bool:
        e = self.expect
        if e == "any":
            return True
        if e.endswith("+"):
            return found >= int(e[:-1])
        return found == int(e)


@dataclass
class CompatHelper:
    """A definition the compat block may carry: emitted only when live code needs it."""
    name: str
    text: str
    needs: list = field(default_factory=list)
    pack: str = ""


@dataclass
class Pack:
    name: str
    xen: str
    description: str
    rules: list[Rule]
    compat: list[CompatHelper]


def _field_error(path: Path, where: str, msg: str) -> BadInput:
    return BadInput(f"{path}: {where}: {msg}")


def _expect(value, path, where) -> str:
    if isinstance(value, bool):
        raise _field_error(path, where + ".expect", "must be an integer, 'N+' or 'any'")
    if isinstance(value, int) and value >= 0:
        return str(value)
    if isinstance(value, str) and (value == "any" or re.fullmatch(r"\d+\+?", value)):
        return value
    raise _field_error(path, where + ".expect", f"must be an integer, 'N+' or 'any', not {value!r}")


def _str(d: dict, key: str, path, where, required=False):
    v = d.get(key)
    if v is None:
        if required:
            raise _field_error(path, f"{where}.{key}", "missing")
        return None
    if not isinstance(v, str):
        raise _field_error(path, f"{where}.{key}", "must be a string")
    return v


def parse_rule(d: dict, path: Path, where: str, pack: str) -> Rule:
    if not isinstance(d, dict):
        raise _field_error(path, where, "must be a table")
    known = {"id", "op", "anchor", "expect", "reason", "text", "template", "vars", "to", "args",
             "pattern", "map", "keep"}
    rid = _str(d, "id", path, where, True)
    where = f"rule {rid}"
    for k in d:
        if k not in known:
            raise _field_error(path, f"{where}.{k}", "unknown field")
    op = _str(d, "op", path, where, True)
    if op not in OPS:
        raise _field_error(path, f"{where}.op", f"unknown operation {op!r} (one of {', '.join(sorted(OPS))})")
    a = d.get("anchor")
    if not isinstance(a, dict):
        raise _field_error(path, f"{where}.anchor", "missing or not a table")
    for k in a:
        if k not in ("kind", "name", "calls", "mentions", "in", "where", "value"):
            raise _field_error(path, f"{where}.anchor.{k}", "unknown field")
    kind = _str(a, "kind", path, f"{where}.anchor", True)
    if kind not in ANCHOR_KINDS:
        raise _field_error(path, f"{where}.anchor.kind", f"unknown anchor kind {kind!r}")
    if kind not in OP_ANCHORS[op]:
        raise _field_error(path, f"{where}.anchor.kind", f"operation {op} cannot anchor on {kind}")
    anchor = Anchor(kind, _str(a, "name", path, f"{where}.anchor") or "*",
                    _str(a, "calls", path, f"{where}.anchor"),
                    _str(a, "mentions", path, f"{where}.anchor"),
                    _str(a, "in", path, f"{where}.anchor"),
                    _str(a, "where", path, f"{where}.anchor") or "after")
    if not isinstance(a.get("value", False), bool) or (a.get("value") and kind != "call"):
        raise _field_error(path, f"{where}.anchor.value", "must be true or false, on a call anchor")
    anchor.value = a.get("value", False)
    if anchor.where not in ("before", "after", "start", "end"):
        raise _field_error(path, f"{where}.anchor.where", "must be before, after, start or end")
    if kind == "statement" and not (anchor.calls or anchor.mentions):
        raise _field_error(path, f"{where}.anchor", "a statement anchor needs calls or mentions")
    for k in _NEEDS.get(op, ()):
        if d.get(k) in (None, "", {}):
            raise _field_error(path, f"{where}.{k}", f"missing (operation {op} needs it)")
    if op == "replace" or op.startswith("insert_"):
        if d.get("text") is None and d.get("template") is None:
            raise _field_error(path, f"{where}.text", f"missing (operation {op} needs text or template)")
    if op == "insert_template" and d.get("template") is None:
        raise _field_error(path, f"{where}.template", "missing")
    if op == "rewrite_call" and not (d.get("to") or d.get("args")):
        raise _field_error(path, f"{where}.to", "missing (rewrite_call needs to or args)")
    mp = d.get("map", {})
    if not isinstance(mp, dict) or not all(isinstance(v, list) and all(isinstance(x, str) for x in v)
                                           for v in mp.values()):
        raise _field_error(path, f"{where}.map", "must map include paths to lists of Xen include paths")
    vars_ = d.get("vars", {})
    if not isinstance(vars_, dict):
        raise _field_error(path, f"{where}.vars", "must be a table")
    keep = d.get("keep", [])
    if not isinstance(keep, list) or not all(isinstance(x, str) for x in keep):
        raise _field_error(path, f"{where}.keep", "must be a list of strings")
    pattern = _str(d, "pattern", path, where)
    if pattern is not None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise _field_error(path, f"{where}.pattern", f"bad regular expression ({exc})") from None
    return Rule(id=rid, op=op, anchor=anchor, expect=_expect(d.get("expect", "any"), path, where),
                reason=_str(d, "reason", path, where) or "", text=_str(d, "text", path, where),
                template=_str(d, "template", path, where), vars=vars_, to=_str(d, "to", path, where),
                args=_str(d, "args", path, where), pattern=pattern, map=mp, keep=keep,
                pack=pack, source=str(path))


def load_file(path: Path) -> Pack:
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise BadInput(f"{path}: cannot read ({exc.strerror or exc})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: malformed TOML ({exc})") from None
    for k in doc:
        if k not in ("pack", "rule", "compat"):
            raise _field_error(path, k, "unknown section (expected pack, rule, compat)")
    meta = doc.get("pack", {})
    if not isinstance(meta, dict):
        raise _field_error(path, "pack", "must be a table")
    name = meta.get("name", path.stem)
    xen = meta.get("xen", "")
    if not isinstance(name, str) or not isinstance(xen, str):
        raise _field_error(path, "pack.name", "must be a string")
    raw_rules = doc.get("rule", [])
    if not isinstance(raw_rules, list):
        raise _field_error(path, "rule", "must be an array of tables ([[rule]])")
    rules = [parse_rule(r, path, f"rule[{i}]", name) for i, r in enumerate(raw_rules)]
    seen = set()
    for r in rules:
        if r.id in seen:
            raise _field_error(path, f"rule {r.id}.id", "duplicate rule id")
        seen.add(r.id)
    compat = []
    raw_compat = doc.get("compat", [])
    if not isinstance(raw_compat, list):
        raise _field_error(path, "compat", "must be an array of tables ([[compat]])")
    for i, c in enumerate(raw_compat):
        if not isinstance(c, dict):
            raise _field_error(path, f"compat[{i}]", "must be a table")
        cname = _str(c, "name", path, f"compat[{i}]", True)
        text = _str(c, "text", path, f"compat {cname}", True)
        needs = c.get("needs", [])
        if not isinstance(needs, list) or not all(isinstance(x, str) for x in needs):
            raise _field_error(path, f"compat {cname}.needs", "must be a list of names")
        compat.append(CompatHelper(cname, text.rstrip("\n"), needs, name))
    return Pack(name, xen, str(meta.get("description", "")), rules, compat)


def pack_names() -> list[str]:
    return sorted(p.stem for p in PACK_DIR.glob("*.toml"))


def load_pack(name: str) -> Pack:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name or "") or not (PACK_DIR / f"{name}.toml").is_file():
        raise BadInput(f"unknown rule pack {name!r} (known: {', '.join(pack_names())})")
    return load_file(PACK_DIR / f"{name}.toml")


def load_packs(packs=(), files=()) -> list[Pack]:
    out = [load_pack(p) for p in packs]
    out += [load_file(Path(f)) for f in files]
    ids: dict[str, str] = {}
    for pack in out:
        for r in pack.rules:
            if r.id in ids:
                raise BadInput(f"{r.source}: rule {r.id}.id: duplicate rule id (also in {ids[r.id]})")
            ids[r.id] = r.source
    return out


def load_rules(packs=(), files=()) -> list[Rule]:
    """The rules of the named packs and rule files, in order; BadInput names file and field."""
    return [r for pack in load_packs(packs, files) for r in pack.rules]


def select(rules: list[Rule], ids) -> list[Rule]:
    """The rules with the given ids; BadInput for an unknown id."""
    by_id = {r.id: r for r in rules}
    out = []
    for i in ids:
        if i not in by_id:
            raise BadInput(f"unknown rule id {i!r}")
        out.append(by_id[i])
    return out
