"""Apply rules to a C file: anchor on syntax (tree-sitter via cparse), edit bytes, check the count.

parse -> match (per rule) -> edits -> apply -> re-parse.  Rules whose edits do not overlap share
one parse (a round); a rule whose edits would overlap an earlier rule's waits for the next round.
Disable and replace are insertions around the anchor (`#if 0 /* Xen: reason */ ... #endif`,
`... #else <xen> #endif`), so rewrites and wraps of the same code do not collide.  Every operation
recognises its own output, so applying a rule twice changes nothing; a round that would leave
more parse errors than it found is undone rule by rule and the culprit reported as drift.
"""
from __future__ import annotations

import bisect
import fnmatch
import functools
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .. import cparse, gcpause
from ..errors import BadInput
from . import symbols
from .rules import ANCHOR_KINDS, TEMPLATE_DIR, Rule

_NAME_TYPES = ("identifier", "type_identifier", "field_identifier")
_IF0 = re.compile(rb"^[ \t]*#[ \t]*if[ \t]+0\b[^\n]*$")


@dataclass
class PortResult:
    output: bytes
    disabled: list = field(default_factory=list)   # [{unit, reason}]
    drift: list = field(default_factory=list)      # [{rule, file, line, expected, found, message}]
    findings: list = field(default_factory=list)
    applied: list = field(default_factory=list)    # [{rule, found}]


@dataclass
class Match:
    start: int
    end: int
    node: object = None
    unit: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Edit:
    start: int
    end: int
    text: bytes
    seq: int


class _State:
    def __init__(self, source: bytes, known=None):
        self.source = source
        self.parsed = cparse.parse(source)
        self.dead = symbols.Ranges(symbols.dead_ranges(source, known))
        self._items = None
        self._nodes: dict = {}
        self.error_nodes = _error_nodes(self.parsed.tree.root_node)

    def nodes(self, *types: str) -> list:
        """Every node of these types, in document order (a parent before its children): one
        query run by tree-sitter, shared by every rule of the round."""
        key = tuple(sorted(set(types)))
        if key not in self._nodes:
            self._nodes[key] = cparse.nodes_of(self.parsed.tree.root_node, *key)
        return self._nodes[key]

    def named_calls(self) -> list:
        """(call, name of the function) of every call of a function by its name, in document order."""
        if "calls" not in self._nodes:
            found = []
            for n in self.nodes("call_expression"):
                f = n.child_by_field_name("function")
                if f is not None and f.type == "identifier":
                    found.append((n, self.text(f)))
            self._nodes["calls"] = found
        return self._nodes["calls"]

    def statement_calls(self) -> set:
        """Ids of the calls that are a whole expression statement."""
        if "stmt" not in self._nodes:
            self._nodes["stmt"] = {n.id for n in cparse.query_nodes(self.parsed.tree.root_node,
                                                                    "(expression_statement (call_expression) @n)")}
        return self._nodes["stmt"]

    def function_of(self, node):
        """The function definition node is in (its innermost), else None."""
        fns = self.nodes("function_definition")
        if "fn_starts" not in self._nodes:
            self._nodes["fn_starts"] = [f.start_byte for f in fns]
        i = bisect.bisect_right(self._nodes["fn_starts"], node.start_byte) - 1
        while i >= 0:
            f = fns[i]
            if f.end_byte >= node.end_byte and f.id != node.id:
                return f
            i -= 1
        return None

    def items(self):
        if self._items is None:
            self._items = list(cparse.top_level_items(self.parsed.tree.root_node))
        return self._items

    def text(self, node) -> str:
        return self.source[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def line(self, offset: int) -> int:
        return self.parsed.line_of(offset)

    def is_dead(self, offset: int) -> bool:
        return offset in self.dead


def _error_nodes(root) -> list:
    out, stack = [], [root]
    while stack:
        n = stack.pop()
        if n.type == "ERROR" or n.is_missing:
            out.append(n)
            continue
        if n.has_error:
            stack.extend(n.children)
    return out


def _glob(pattern: str | None, name: str) -> bool:
    return pattern is None or pattern == "*" or fnmatch.fnmatchcase(name, pattern)


# ------------------------------------------------------------------------------ anchors

def _enclosing_function(st: _State, node) -> str | None:
    fn = st.function_of(node)
    return cparse.declarator_name(fn.child_by_field_name("declarator"), st.source) if fn is not None else None


def _functions(st: _State, pattern: str | None):
    for item, _chain in st.items():
        if item.type == "function_definition":
            name = cparse.declarator_name(item.child_by_field_name("declarator"), st.source) or "?"
            if _glob(pattern, name):
                yield item, name


def _with_semicolon(src: bytes, end: int) -> int:
    m = re.match(rb"[ \t]*;", src[end:end + 64])
    return end + m.end() if m else end


def _live_chain(st: _State, chain) -> bool:
    """No enclosing #if but a header's include guard, or only the #else side of an `#if 0`
    porter (or a person) wrote."""
    return all(_is_include_guard(st, c) or _is_if0(st, c) or (c.type == "preproc_else" and _is_if0(st, c.parent))
               for c in chain)


def _is_if0(st: _State, node) -> bool:
    cond = node.child_by_field_name("condition") if node is not None and node.type == "preproc_if" else None
    return cond is not None and st.text(cond).strip() == "0"


def _is_include_guard(st: _State, node) -> bool:
    """`#ifndef X` whose first item is `#define X`."""
    if node.type != "preproc_ifdef" or not st.text(node).lstrip().startswith("#ifndef"):
        return False
    name = node.child_by_field_name("name")
    first = next((c for c in node.named_children if c.id != (name.id if name else None)
                  and c.type != "comment"), None)
    return name is not None and first is not None and first.type == "preproc_def" \
        and first.child_by_field_name("name") is not None \
        and st.text(first.child_by_field_name("name")) == st.text(name)


def _field_decls(body):
    for c in body.named_children:
        if c.type == "field_declaration":
            yield c
        elif c.type in cparse.PREPROC_CONTAINERS:
            yield from _field_decls(c)


def _struct_body(item):
    spec = item if item.type.endswith("_specifier") else item.child_by_field_name("type")
    return spec.child_by_field_name("body") if spec is not None else None


def _find_function(st: _State, rule: Rule) -> list[Match]:
    return [Match(n.start_byte, n.end_byte, n, f"function {name}") for n, name in _functions(st, rule.anchor.name)]


def _items_of(st: _State, kinds: tuple[str, ...]):
    for item, _chain in st.items():
        kind, name = cparse.item_identity(item, st.source)
        if kind in kinds:
            yield item, kind, name


def _find_struct(st: _State, rule: Rule) -> list[Match]:
    return [Match(item.start_byte, _with_semicolon(st.source, item.end_byte), item, f"{kind} {name}")
            for item, kind, name in _items_of(st, ("struct", "union"))
            if _glob(rule.anchor.name, name) and _struct_body(item) is not None]


def _find_declaration(st: _State, rule: Rule) -> list[Match]:
    return [Match(item.start_byte, item.end_byte, item, f"{kind} {name}")
            for item, kind, name in _items_of(st, ("declaration", "typedef", "macro"))
            if any(_glob(rule.anchor.name, n) for n in name.split(","))]


def _find_define(st: _State, rule: Rule) -> list[Match]:
    return [Match(item.start_byte, item.end_byte, item, f"define {name}")
            for item, _kind, name in _items_of(st, ("define",)) if _glob(rule.anchor.name, name)]


def _find_macro(st: _State, rule: Rule) -> list[Match]:
    return [Match(item.start_byte, item.end_byte, item, f"{name}()")
            for item, _kind, name in _items_of(st, ("macro",)) if _glob(rule.anchor.name, name)]


def _find_include(st: _State, rule: Rule) -> list[Match]:
    return [Match(item.start_byte, item.end_byte, item, f"include {name}")
            for item, _kind, name in _items_of(st, ("include",)) if _glob(rule.anchor.name, name.strip("<>\""))]


def _find_field(st: _State, rule: Rule) -> list[Match]:
    sname, _, fname = rule.anchor.name.partition(".")
    out = []
    for item, _kind, name in _items_of(st, ("struct", "union")):
        body = _struct_body(item)
        if not _glob(sname, name) or body is None:
            continue
        for fd in _field_decls(body):
            names = [cparse.declarator_name(d, st.source) for d in fd.children_by_field_name("declarator")]
            if any(n and _glob(fname or "*", n) for n in names):
                out.append(Match(fd.start_byte, fd.end_byte, fd, f"{name}.{','.join(filter(None, names))}"))
    return out


def _statement_hit(st: _State, a, n) -> bool:
    if a.calls and n.type == "call_expression":
        f = n.child_by_field_name("function")
        return f is not None and f.type == "identifier" and _glob(a.calls, st.text(f))
    if a.mentions and n.type in _NAME_TYPES:
        return _glob(a.mentions, st.text(n))
    return False


def _find_statement(st: _State, rule: Rule) -> list[Match]:
    a = rule.anchor
    seen, out = set(), []
    hits = st.nodes(*(("call_expression",) if a.calls else ()), *(_NAME_TYPES if a.mentions else ()))
    starts = [n.start_byte for n in hits]
    for fn, fname in _functions(st, a.inside):
        for n in hits[bisect.bisect_left(starts, fn.start_byte):bisect.bisect_left(starts, fn.end_byte)]:
            if n.end_byte > fn.end_byte or not _statement_hit(st, a, n):
                continue
            s = n
            while s.parent is not None and s.parent.type != "compound_statement" \
                    and s.parent.type not in cparse.PREPROC_CONTAINERS:
                s = s.parent
            if s.parent is None or s.id in seen:
                continue
            seen.add(s.id)
            out.append(Match(s.start_byte, s.end_byte, s, f"statement in {fname}"))
    return out


def _find_preproc(st: _State, rule: Rule) -> list[Match]:
    name, out = rule.anchor.name, []
    for n in st.nodes("preproc_if", "preproc_ifdef"):
        if st.source.startswith(b"#if 0 /* Xen", n.start_byte):
            continue      # a block a disable or replace wrote
        cond = n.child_by_field_name("condition") or n.child_by_field_name("name")
        if cond is None:
            continue
        text = st.text(cond).strip()
        if _glob(name, text) or (name != "*" and name in st.text(cond)):
            out.append(Match(n.start_byte, n.end_byte, n, f"#if {text}"))
    return out


def _inside(st: _State, a, node) -> bool:
    return a.inside is None or _glob(a.inside, _enclosing_function(st, node) or "")


def _find_call(st: _State, rule: Rule) -> list[Match]:
    a, out = rule.anchor, []
    calls = st.named_calls()
    wanted = {name for name in {name for _n, name in calls} if _glob(a.name, name)}
    for n, name in calls:
        if name in wanted and _inside(st, a, n) and (not a.value or n.id not in st.statement_calls()):
            out.append(Match(n.start_byte, n.end_byte, n, f"call {name}"))
    return out


def _is_tagged_type(st: _State, n, kind: str, tag: str) -> bool:
    if not (n.type.endswith("_specifier") and n.child_by_field_name("body") is None):
        return False
    nm = n.child_by_field_name("name")
    return nm is not None and n.type.startswith(kind) and _glob(tag, st.text(nm))


def _is_named_type(st: _State, n, tag: str) -> bool:
    return n.type == "type_identifier" and _glob(tag, st.text(n)) \
        and n.parent is not None and not n.parent.type.endswith("_specifier")


def _find_type(st: _State, rule: Rule) -> list[Match]:
    a = rule.anchor
    tagged = a.name.startswith(("struct ", "union ", "enum "))
    kind, tag = a.name.split(None, 1) if tagged else ("", a.name)
    out = []
    for n in st.nodes(*(("struct_specifier", "union_specifier", "enum_specifier") if tagged else ("type_identifier",))):
        if _is_tagged_type(st, n, kind, tag) if tagged else _is_named_type(st, n, tag):
            out.append(Match(n.start_byte, n.end_byte, n, f"type {st.text(n)}"))
    if a.inside:
        out = [m for m in out if _inside(st, a, m.node)]
    return out


def _find_string(st: _State, rule: Rule) -> list[Match]:
    a, out = rule.anchor, []
    pat = re.compile(rule.pattern.encode()) if rule.pattern else None
    for n in st.nodes("string_literal"):
        t = st.source[n.start_byte:n.end_byte]
        if (pat is None or pat.search(t)) and (a.name == "*" or a.name.encode() in t) and _inside(st, a, n):
            out.append(Match(n.start_byte, n.end_byte, n, "string"))
    return out


def _find_identifier(st: _State, rule: Rule) -> list[Match]:
    return [Match(n.start_byte, n.end_byte, n, f"identifier {st.text(n)}")
            for n in st.nodes(*_NAME_TYPES) if _glob(rule.anchor.name, st.text(n))]


def _find_includes(st: _State, rule: Rule) -> list[Match]:
    """The live includes at the level of the first: once replaced, the Xen side of the
    `#if 0 ... #else ... #endif`, not the includes a rule added after it."""
    incs = [(item, [c.id for c in chain]) for item, chain in st.items()
            if item.type == "preproc_include" and _live_chain(st, chain) and not st.is_dead(item.start_byte)]
    incs = [item for item, chain in incs if chain == incs[0][1]]
    return [Match(incs[0].start_byte, incs[-1].end_byte, None, "include list")] if incs else []


def _find_file(st: _State, rule: Rule) -> list[Match]:
    return [Match(0, len(st.source), None, "file")]


FINDERS = {"function": _find_function, "struct": _find_struct, "declaration": _find_declaration,
           "define": _find_define, "macro": _find_macro, "include": _find_include, "field": _find_field,
           "statement": _find_statement, "preproc": _find_preproc, "call": _find_call, "type": _find_type,
           "string": _find_string, "identifier": _find_identifier, "includes": _find_includes,
           "file": _find_file}


assert set(FINDERS) == ANCHOR_KINDS


def find(st: _State, rule: Rule) -> list[Match]:
    """Every place the rule's anchor matches (live or not: the caller decides)."""
    return FINDERS[rule.anchor.kind](st, rule)


# ------------------------------------------------------------------------------ operations

def _line_start(src: bytes, off: int) -> tuple[int, bytes]:
    ls = src.rfind(b"\n", 0, off) + 1
    if src[ls:off].strip() == b"":
        return ls, b""
    return off, b"\n"


def _line_end(src: bytes, off: int) -> tuple[int, bytes]:
    le = src.find(b"\n", off)
    le = len(src) if le == -1 else le
    rest = src[off:le]
    if rest.strip() == b"":
        return le, b""
    return off, b"\n"


_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _boundary(text: bytes, i: int) -> bool:
    return (i > 0 and text[i - 1] in _WORD_BYTES) != (i < len(text) and text[i] in _WORD_BYTES)


def word_at(text: bytes, word: bytes) -> int:
    """Where rb"\\b" + re.escape(word) + rb"\\b" first matches in text, else -1 (no pattern compiled
    for each word: findings name hundreds)."""
    i = text.find(word)
    while i >= 0 and not (_boundary(text, i) and _boundary(text, i + len(word))):
        i = text.find(word, i + 1)
    return i


def word_on_line(src: bytes, starts: list[int], line: int, word: str) -> int:
    """Offset of word's first whole-word use on 1-based line (starts: cparse.line_starts(src)); the
    line's start when it has none, len(src) past the last line."""
    if line - 1 >= len(starts):
        return len(src)
    ls = starts[line - 1]
    le = src.find(b"\n", ls)
    le = len(src) if le == -1 else le
    return ls + max(word_at(src[ls:le], word.encode()), 0)


def _prev_line(src: bytes, ls: int) -> bytes:
    if ls == 0:
        return b""
    ps = src.rfind(b"\n", 0, ls - 1) + 1
    return src[ps:ls - 1]


def _next_line(src: bytes, le: int) -> bytes:
    if le >= len(src):
        return b""
    ne = src.find(b"\n", le + 1)
    return src[le + 1:len(src) if ne == -1 else ne]


def _already_wrapped(src: bytes, m: Match) -> bool:
    ls, _ = _line_start(src, m.start)
    return bool(_IF0.match(_prev_line(src, ls)))


def _is_replacement(src: bytes, m: Match) -> bool:
    ls, _ = _line_start(src, m.start)
    end = m.end
    while end > m.start and src[end - 1:end] in (b"\n", b" ", b"\t"):
        end -= 1
    le, _ = _line_end(src, end)
    return _prev_line(src, ls).strip() == b"#else" and _next_line(src, le).strip().startswith(b"#endif")


def _comment(reason: str) -> bytes:
    reason = " ".join(reason.replace("*/", "* /").split())
    return f"/* Xen: {reason} */".encode() if reason else b"/* Xen */"


def _wrap(src: bytes, start: int, end: int, reason: str, seq: int, xen: bytes | None = None) -> list[Edit]:
    while end > start and src[end - 1:end] in (b"\n", b" ", b"\t"):
        end -= 1
    s, pre = _line_start(src, start)
    e, post = _line_end(src, end)
    head = pre + b"#if 0 " + _comment(reason) + b"\n"
    if xen is None:
        tail = b"\n#endif" + post
    else:
        tail = b"\n#else\n" + xen.rstrip(b"\n") + b"\n#endif" + post
    return [Edit(s, s, head, seq), Edit(e, e, tail, seq)]


_compiled: dict = {"in": None}     # where template files stay compiled while a command runs


@contextmanager
def templates_compiled_for(start: Path):
    """While it lasts, templates read from files stay compiled in the user's cache when start is
    outside a workspace (inside one porter writes nowhere else, and its .porter/ is input)."""
    from ..workspace import root_for, user_cache
    before = _compiled["in"]
    _compiled["in"] = None if root_for(start) else user_cache() / "templates"
    try:
        yield
    finally:
        _compiled["in"] = before


@functools.lru_cache(maxsize=16)
def _env_for(dirs: tuple[str, ...], compiled: Path | None):
    from .. import templating       # jinja2: only rules with templates pay for it
    return templating.confined(dirs, keep_trailing_newline=False, compiled=compiled)


def _env(rule: Rule):
    """One environment per template folders (its templates compiled once per process)."""
    dirs = [str(TEMPLATE_DIR)]
    if rule.source:
        dirs.insert(0, str(Path(rule.source).parent))
    return _env_for(tuple(dirs), _compiled["in"])


def render(rule: Rule, context: dict) -> bytes:
    """The text a rule inserts: its text, or its jinja2 template rendered with StrictUndefined."""
    if rule.template is None:
        return (rule.text or "").encode()
    from .. import templating
    ctx = {**context, **rule.vars, "rule": rule.id}
    env = _env(rule)
    template = (lambda: env.get_template(rule.template)) if rule.template.endswith(".j2") \
        else (lambda: env.from_string(rule.template))
    return templating.render(template, ctx, f"{rule.source}: rule {rule.id}.template").rstrip("\n").encode()


_ARG = re.compile(r"\{(,?)(\d+)(\*?)\}|\{name\}")


def _format_args(fmt: str, args: list[str], name: str) -> str:
    def sub(m: re.Match) -> str:
        if m.group(0) == "{name}":
            return name
        comma, i, star = m.group(1), int(m.group(2)), m.group(3)
        if star:
            rest = args[i:]
            return (", " if comma and rest else "") + ", ".join(rest)
        if i >= len(args):
            raise IndexError(i)
        return (", " if comma else "") + args[i]
    return _ARG.sub(sub, fmt)


def _insert_point(st: _State, rule: Rule, m: Match, where: str) -> tuple[int, bytes, bytes]:
    """(offset, text before, text after) for an insertion relative to the match."""
    src = st.source
    if where == "before":
        s, pre = _line_start(src, m.start)
        return s, pre, b"\n"
    if where == "after":
        end = m.end
        while end > m.start and src[end - 1:end] in (b"\n", b" ", b"\t"):
            end -= 1
        e, post = _line_end(src, end)
        if rule.anchor.kind == "includes":
            # after a replaced include list: after its #endif
            probe = e      # past blank lines
            while _next_line(src, probe).strip() == b"" and (nl := src.find(b"\n", probe + 1)) != -1:
                probe = nl
            nxt = _next_line(src, probe).strip()
            endif = -1
            if nxt.startswith(b"#else"):
                endif = src.find(b"#endif", probe)
            elif nxt.startswith(b"#endif"):
                endif = probe + 1
            if endif != -1:
                le = src.find(b"\n", endif)
                e, post = (len(src), b"\n") if le == -1 else (le, b"")
        return e, b"\n", post
    if rule.anchor.kind == "file":
        if where == "start":
            off = 0
            m2 = re.match(rb"\s*(/\*.*?\*/[ \t]*\n|(//[^\n]*\n)+)", src, re.S)
            if m2:
                off = m2.end()
            return off, b"\n" if off else b"", b"\n"
        tail = b"" if src.endswith(b"\n") or not src else b"\n"
        return len(src), tail, b"\n"
    node = m.node
    body = node.child_by_field_name("body")
    if body is None and node.type in ("declaration", "type_definition"):
        t = node.child_by_field_name("type")
        body = t.child_by_field_name("body") if t is not None else None
    if body is None:
        raise ValueError("no body")
    if where == "start":
        e, post = _line_end(src, body.start_byte + 1)
        return e, b"\n", post
    s, pre = _line_start(src, body.end_byte - 1)
    return s, pre, b"\n"


def _already_inserted(src: bytes, off: int, text: bytes, pre: bytes, post: bytes) -> bool:
    """The same text already sits right at the insertion point (a second application)."""
    if src[off:off + len(pre) + len(text)] == pre + text:
        return True
    if src[max(0, off - len(text) - len(post)):off] == text + post:
        return True
    return False


def edits_for(st: _State, rule: Rule, matches: list[Match], seq: int, context: dict) -> tuple[list[Edit], list]:
    """Edits for a rule's live matches, and the units it disables."""
    src = st.source
    op = rule.op
    edits: list[Edit] = []
    disabled = []
    if op == "disable":
        for m in matches:
            edits += _wrap(src, m.start, m.end, rule.reason, seq)
            disabled.append({"unit": m.unit, "reason": rule.reason, "rule": rule.id,
                             "line": st.line(m.start)})
    elif op == "replace":
        xen = render(rule, context)
        for m in matches:
            edits += _wrap(src, m.start, m.end, rule.reason, seq, xen)
            disabled.append({"unit": m.unit, "reason": rule.reason, "rule": rule.id,
                             "line": st.line(m.start), "replaced": True})
    elif op in ("insert_before", "insert_after", "insert_start", "insert_end", "insert_template"):
        text = render(rule, context)
        where = rule.anchor.where if op == "insert_template" else op.split("_", 1)[1]
        for m in matches:
            off, pre, post = _insert_point(st, rule, m, where)
            if not _already_inserted(src, off, text, pre, post):
                edits.append(Edit(off, off, pre + text + post, seq))
    elif op == "rename":
        to = rule.to.encode()
        name = rule.anchor.name
        for n in st.nodes(*_NAME_TYPES, "preproc_arg"):
            if n.type in _NAME_TYPES and st.text(n) == name and not st.is_dead(n.start_byte):
                edits.append(Edit(n.start_byte, n.end_byte, to, seq))
            elif n.type == "preproc_arg" and not st.is_dead(n.start_byte):
                for t in re.finditer(rb"\b" + re.escape(name.encode()) + rb"\b", src[n.start_byte:n.end_byte]):
                    edits.append(Edit(n.start_byte + t.start(), n.start_byte + t.end(), to, seq))
    elif op == "rewrite_call":
        for m in matches:
            f = m.node.child_by_field_name("function")
            args = m.node.child_by_field_name("arguments")
            if rule.to:
                edits.append(Edit(f.start_byte, f.end_byte, rule.to.encode(), seq))
            if rule.args is not None and args is not None:
                texts = [st.text(c) for c in args.named_children if c.type != "comment"]
                try:
                    new = _format_args(rule.args, texts, st.text(f))
                except IndexError:
                    m.extra["bad_args"] = True
                    continue
                edits.append(Edit(args.start_byte + 1, args.end_byte - 1, new.encode(), seq))
    elif op == "rewrite_type":
        for m in matches:
            edits.append(Edit(m.start, m.end, rule.to.encode(), seq))
    elif op == "rewrite_string":
        pat = re.compile(rule.pattern.encode())
        for m in matches:
            old = src[m.start:m.end]
            try:
                new = pat.sub(rule.to.encode(), old)
            except re.error as exc:
                raise BadInput(f"{rule.source}: rule {rule.id}.to: bad replacement ({exc})") from None
            if new != old:
                edits.append(Edit(m.start, m.end, new, seq))
    elif op == "replace_includes":
        for m in matches:
            xen = _map_includes(st, m, rule)
            edits += _wrap(src, m.start, m.end, rule.reason or "Linux includes", seq, xen)
    return edits, disabled


def _map_includes(st: _State, m: Match, rule: Rule) -> bytes:
    out: list[str] = list(rule.keep)
    local: list[str] = []
    for item, chain in st.items():
        if item.type != "preproc_include" or chain or not (m.start <= item.start_byte < m.end):
            continue
        path = item.child_by_field_name("path")
        name = st.text(path) if path is not None else ""
        if name.startswith('"'):
            local.append(name)
            continue
        out += rule.map.get(name.strip("<>"), [])
    seen, lines = set(), []
    for inc in out:
        if inc not in seen:
            seen.add(inc)
            lines.append(f"#include <{inc}>")
    if local:
        lines.append("")
        lines += [f"#include {x}" for x in local]
    return "\n".join(lines).encode()


# ------------------------------------------------------------------------------ applying

def _applied_probe(st: _State, rule: Rule) -> int:
    """After a first application: how many places show the rule's result (for idempotent counts)."""
    if rule.op == "rewrite_type" and rule.to:
        n = 0
        for node in st.nodes("type_identifier", "primitive_type", "struct_specifier", "sized_type_specifier"):
            if st.text(node) == rule.to and not st.is_dead(node.start_byte):
                n += 1
        return n
    if rule.op == "rewrite_string" and rule.to and "\\" not in rule.to:
        return sum(1 for node in st.nodes("string_literal")
                   if rule.to in st.text(node)
                   and not st.is_dead(node.start_byte))
    if rule.op in ("rewrite_call", "rename") and rule.to:
        probe = Rule(rule.id, rule.op, type(rule.anchor)("call" if rule.op == "rewrite_call" else "identifier",
                                                         rule.to, inside=rule.anchor.inside))
        return len(find(st, probe))
    if rule.op == "replace_includes":
        return 1 if re.search(rb"^#if 0 /\* Xen: " + re.escape((rule.reason or "Linux includes").encode()),
                              st.source, re.M) else 0
    return 0


class _Taken:
    """The edits a round has taken, to tell whether new ones collide with them: an insertion
    strictly inside a taken range, a range holding a taken insertion strictly inside, or two ranges
    that overlap (insertions at one point never collide).  Ranges are kept merged (those that
    overlap), sorted, so each test is a bisection."""

    def __init__(self):
        self.edits: list[Edit] = []
        self.points: list[int] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def conflicts(self, new: list[Edit]) -> bool:
        for a in new:
            if a.start == a.end:
                i = bisect.bisect_left(self.starts, a.start) - 1
                if i >= 0 and self.ends[i] > a.start:
                    return True
                continue
            i = bisect.bisect_right(self.points, a.start)
            if i < len(self.points) and self.points[i] < a.end:
                return True
            i = bisect.bisect_left(self.starts, a.end) - 1
            if i >= 0 and self.ends[i] > a.start:
                return True
        return False

    def add(self, edits: list[Edit]) -> None:
        self.edits += edits
        for e in edits:
            if e.start == e.end:
                bisect.insort(self.points, e.start)
                continue
            lo, hi = bisect.bisect_right(self.ends, e.start), bisect.bisect_left(self.starts, e.end)
            start, end = (min(e.start, self.starts[lo]), max(e.end, self.ends[hi - 1])) if lo < hi else (e.start, e.end)
            self.starts[lo:hi] = [start]
            self.ends[lo:hi] = [end]


def _apply_edits(src: bytes, edits: list[Edit]) -> bytes:
    """src with the edits made (one overlapping an earlier one left out), its parse noted as an
    edit of src's (cparse.note_edits): a rule round checks the parse of what it made, the disable
    loop lints it."""
    out, made = [], []
    pos = 0
    for e in sorted(edits, key=lambda e: (e.start, e.end != e.start, e.seq)):
        if e.start < pos:
            continue
        out.append(src[pos:e.start])
        out.append(e.text)
        made.append((e.start, e.end, e.text))
        pos = e.end
    out.append(src[pos:])
    new = b"".join(out)
    cparse.note_edits(src, new, made)
    return new


def _in_error(st: _State, m: Match) -> int | None:
    """Line of a parse error region inside or around the anchor, if any."""
    node = m.node
    if node is not None and node.has_error and node.type not in ("identifier",):
        for e in st.error_nodes:
            if m.start <= e.start_byte < m.end:
                return e.start_point[0] + 1
        return st.line(m.start)
    return None


@gcpause.paused()
def apply_rules(source: bytes, rules: list[Rule], *, filename: str, known=None,
                context: dict | None = None, max_rounds: int = 20) -> PortResult:
    """Apply rules in order; drift for every rule whose count is not what it expects."""
    context = {"filename": filename, **(context or {})}
    result = PortResult(source)
    baseline_errors = None
    pending = list(enumerate(rules))
    counts: dict[int, int] = {}
    rounds = 0
    while pending and rounds < max_rounds:
        rounds += 1
        st = _State(result.output, known)
        if baseline_errors is None:
            baseline_errors = len(st.parsed.errors)
        taken = _Taken()
        round_dead: list[tuple[int, int]] = []
        deferred = []
        done = []
        for seq, rule in pending:
            matches = find(st, rule)
            live, applied, broken = [], 0, []
            for m in matches:
                dead = st.is_dead(m.start) or any(s <= m.start < e for s, e in round_dead)
                if dead:
                    if rule.op in ("disable", "replace") and _already_wrapped(st.source, m):
                        applied += 1
                    continue
                if rule.op in ("replace", "replace_includes") and _is_replacement(st.source, m):
                    continue   # the Xen side of an earlier replace of this anchor
                err_line = _in_error(st, m)
                if err_line is not None and rule.op in ("disable", "replace", "insert_start",
                                                        "insert_end", "insert_before", "insert_after",
                                                        "insert_template"):
                    broken.append((m, err_line))
                    continue
                live.append(m)
            found = len(live) + applied + len(broken)
            if found == 0 and rule.expect not in ("any", "0"):
                want = int(rule.expect.rstrip("+"))
                if _applied_probe(st, rule) >= want:
                    found = want   # the rewritten form is there: applied before
            if not rule.expects(found):
                lines = [st.line(m.start) for m in matches if not st.is_dead(m.start)]
                result.drift.append({
                    "rule": rule.id, "file": filename, "line": lines[0] if lines else 0,
                    "expected": rule.expect, "found": found,
                    "message": f"{rule.anchor.describe()}: expected {rule.expect}, found {found}"
                               + (f" (lines {', '.join(map(str, lines[:10]))})" if lines else "")})
                done.append(seq)
                continue
            for m, err_line in broken:
                result.drift.append({
                    "rule": rule.id, "file": filename, "line": err_line, "expected": rule.expect,
                    "found": found, "message": f"{rule.anchor.describe()} at line {st.line(m.start)}: "
                                               f"tree-sitter cannot parse the code there (line {err_line}); not applied"})
            edits, disabled = edits_for(st, rule, live, seq, context)
            if taken.conflicts(edits):
                deferred.append((seq, rule))
                continue
            taken.add(edits)
            for m in live:
                if m.extra.get("bad_args"):
                    line = st.line(m.start)
                    result.drift.append({
                        "rule": rule.id, "file": filename, "line": line, "expected": rule.expect, "found": found,
                        "message": f"{rule.anchor.describe()} at line {line}: args {rule.args!r} names an argument "
                                   "the call does not have; its arguments not rewritten"})
            if rule.op in ("disable", "replace"):
                round_dead += [(m.start, m.end) for m in live]
            result.disabled += disabled
            counts[seq] = found
            done.append(seq)
        if taken.edits:
            new = _apply_edits(st.source, taken.edits)
            errs = len(cparse.parse(new).errors)
            if errs > baseline_errors:
                new = _isolate(st.source, taken.edits, baseline_errors, rules, filename, result)
            result.output = new
        pending = deferred
    for seq, rule in pending:
        result.drift.append({"rule": rule.id, "file": filename, "line": 0, "expected": rule.expect,
                             "found": 0, "message": "edits keep overlapping other rules' edits"})
    result.applied = [{"rule": rules[s].id, "found": c} for s, c in sorted(counts.items())]
    return result


def _isolate(src: bytes, edits: list[Edit], baseline: int, rules, filename, result: PortResult) -> bytes:
    """Apply a round's edits rule by rule, dropping any rule whose edits break the parse."""
    by_seq: dict[int, list[Edit]] = {}
    for e in edits:
        by_seq.setdefault(e.seq, []).append(e)
    kept: list[Edit] = []
    for seq in sorted(by_seq):
        trial = _apply_edits(src, kept + by_seq[seq])
        parsed = cparse.parse(trial)
        if len(parsed.errors) > baseline:
            line = parsed.errors[0][0] if parsed.errors else 0
            result.drift.append({"rule": rules[seq].id, "file": filename, "line": line,
                                 "expected": rules[seq].expect, "found": None,
                                 "message": f"not applied: the result would not parse (line {line})"})
            result.disabled = [d for d in result.disabled if d.get("rule") != rules[seq].id]
            continue
        kept += by_seq[seq]
    return _apply_edits(src, kept)


def disable_ranges(source: bytes, units: list[tuple[int, int, str]]) -> bytes:
    """Wrap byte ranges in `#if 0 /* Xen: reason */ ... #endif` (outermost ranges only)."""
    units = sorted(units)
    edits, last_end = [], -1
    for i, (s, e, reason) in enumerate(units):
        if s < last_end:
            continue
        edits += _wrap(source, s, e, reason, i)
        last_end = e
    return _apply_edits(source, edits)
