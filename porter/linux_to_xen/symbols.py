"""What a C file defines and what its live code uses.

Live code is code the Xen build compiles: not in a comment, not under `#if 0`, not in a
branch whose condition is known false (a `CONFIG_` option Xen does not have).  Definitions
and uses come from the tree-sitter parse (cparse, with its same-length stand-ins); macro
bodies and the spans the stand-ins hid are read lexically.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Iterable

from tree_sitter import Query, QueryCursor

from .. import cparse

_IDENT = re.compile(rb"[A-Za-z_]\w*")
_TOKEN = re.compile(rb"\.?\d[\w.]*|[A-Za-z_]\w*")
_MACRO_LOCAL = re.compile(
    rb"\b(?:int|long|char|bool|unsigned|signed|short|void|u8|u16|u32|u64|s8|s16|s32|s64|\w+_t"
    rb"|typeof\s*\([^()]*(?:\([^()]*\)[^()]*)*\)|__typeof__\s*\([^()]*(?:\([^()]*\)[^()]*)*\)"
    rb"|struct\s+\w+)[\s*]+(\w+)\s*(?:=|;|\[|,)")
_TYPEOF_LOCAL = re.compile(
    rb"\b(?:typeof|__typeof__|__typeof)\s*\([^()]*(?:\([^()]*(?:\([^()]*\)[^()]*)*\)[^()]*)*\)"
    rb"[\s*]*(?:const\s+|volatile\s+)*([A-Za-z_]\w*)\s*(?:=|;|,|\[)")
_COMMENT_OR_STRING = re.compile(     # a block comment is /\*.*?\*/, written to be read in one pass
    rb"//[^\n]*|/\*[^*]*\*+(?:[^/*][^*]*\*+)*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)
_DIRECTIVE = re.compile(rb"#[ \t]*(\w+)")      # at a line's start: line_directives

C_WORDS = frozenset("""
auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef
union unsigned void volatile while _Bool _Complex _Alignas _Alignof _Atomic _Generic
_Noreturn _Static_assert _Thread_local bool true false
asm __asm__ __asm __volatile__ __volatile __inline__ __inline __attribute__ __attribute
typeof __typeof__ __typeof __extension__ __restrict __restrict__ __signed__ __const__
__label__ __alignof__ __builtin_va_list __func__ __FUNCTION__ __PRETTY_FUNCTION__
__LINE__ __FILE__ __DATE__ __TIME__ __COUNTER__ __VA_ARGS__ __GNUC__ __GNUC_MINOR__
__STDC__ __STDC_VERSION__ __BASE_FILE__ __INCLUDE_LEVEL__ defined
int8_t int16_t int32_t int64_t uint8_t uint16_t uint32_t uint64_t size_t ssize_t
uintptr_t intptr_t ptrdiff_t
__SIZE_TYPE__ __CHAR_BIT__ __SIZEOF_LONG__ __SIZEOF_POINTER__ __BYTE_ORDER__
__ORDER_LITTLE_ENDIAN__ __ORDER_BIG_ENDIAN__ __aarch64__ __arm__ __x86_64__ __i386__
""".split())

# macros whose last argument names a struct member, not a variable
_MEMBER_LAST_ARG = frozenset({"container_of", "offsetof", "list_entry", "list_first_entry",
                              "list_last_entry", "list_next_entry", "list_prev_entry",
                              "list_first_entry_or_null", "hlist_entry", "rb_entry",
                              "offsetofend", "sizeof_field", "FIELD_SIZEOF"})

_MEMBER_LAST_ARG_CALL = re.compile(rb"\b(" + b"|".join(n.encode() for n in _MEMBER_LAST_ARG) + rb")\s*\(")

_DECLARATOR_PARENTS = frozenset({"function_declarator", "pointer_declarator", "array_declarator",
                                 "init_declarator", "parenthesized_declarator",
                                 "attributed_declarator", "declaration", "field_declaration",
                                 "parameter_declaration", "type_definition"})


def is_builtin(name: str) -> bool:
    return name in C_WORDS or name.startswith("__builtin_") or name.startswith("__sync_") \
        or name.startswith("__atomic_")


_TO_SPACE = bytes(b if b == 10 else 32 for b in range(256))
_COMMENT_OR_STRING_START = (b"/", b'"', b"'")


def blank_comments_strings(src: bytes) -> bytes:
    """Same-length copy with comments and string/char literals blanked (newlines kept)."""
    if not any(c in src for c in _COMMENT_OR_STRING_START):
        return src
    return _COMMENT_OR_STRING.sub(lambda m: m.group(0).translate(_TO_SPACE), src)


_BLANKED = cparse.TextMemo()


def blank_comments(src: bytes) -> bytes:
    """Same-length copy with comments blanked, strings kept."""
    return _BLANKED.get(src, lambda: _blank_comments(src))


def _blank_comments(src: bytes) -> bytes:
    def repl(m: re.Match) -> bytes:
        text = m.group(0)
        return text.translate(_TO_SPACE) if text.startswith((b"/*", b"//")) else text
    return _COMMENT_OR_STRING.sub(repl, src) if b"/" in src else src


# ---------------------------------------------------------------- preprocessor liveness

Known = Callable[[str], "bool | None"]   # is macro NAME defined? True/False/None (cannot tell)


def _unknown(name: str) -> None:
    return None


def _kept(maxsize: int):
    """lru_cache of fn's last maxsize answers (the same `known` asked again gives the same
    answers), computed afresh for arguments that cannot be a key (a `known` that is not hashable)."""
    def wrap(fn):
        kept = lru_cache(maxsize=maxsize)(fn)

        def call(*args):
            try:
                return kept(*args)
            except TypeError:
                return fn(*args)
        call.cache_clear = kept.cache_clear
        return call
    return wrap


@_kept(4096)
def _eval_condition(expr: str, known: Known) -> bool | None:
    """The value of an #if/#elif condition, None when it cannot be told."""
    expr = re.sub(r"/\*.*?\*/|//.*", " ", expr)

    def defined(m: re.Match) -> str:
        v = known(m.group(1))
        return "?" if v is None else ("1" if v else "0")
    expr = re.sub(r"\b(?:defined|IS_ENABLED|IS_BUILTIN|IS_REACHABLE)\s*\(\s*(\w+)\s*\)", defined, expr)
    expr = re.sub(r"\bdefined\s+(\w+)", defined, expr)

    def ident(m: re.Match) -> str:
        name = m.group(0)
        if name.startswith("CONFIG_") and known(name) is False:
            return "0"
        return "?"
    expr = re.sub(r"\b[A-Za-z_]\w*\b", ident, expr)
    expr = re.sub(r"\b(0[xX][0-9a-fA-F]+|\d+)[uUlL]*\b", r"\1", expr)
    if "?" in expr:
        # 0 && anything is false, 1 || anything is true: enough for the usual shapes
        flat = expr.replace(" ", "")
        if re.fullmatch(r"\(*0\)*&&.*|.*&&\(*0\)*", flat):
            return False
        return None
    if not re.fullmatch(r"[0-9xXa-fA-F()!&|<>=+\-*/%~ \t]*", expr):
        return None
    py = expr.replace("&&", " and ").replace("||", " or ")
    py = re.sub(r"!(?!=)", " not ", py)
    try:
        return bool(eval(py, {"__builtins__": {}}, {}))   # digits and operators only
    except Exception:
        return None


def dead_ranges(src: bytes, known: Known | None = None) -> list[tuple[int, int]]:
    """Byte ranges the preprocessor drops: `#if 0`, and branches known false (the last few
    answers are kept: lint and port ask again for the same file and the same `known`)."""
    return list(_dead_ranges(src, known))


@_kept(8)
def _dead_ranges(src: bytes, known: Known | None) -> tuple[tuple[int, int], ...]:
    known = known or _unknown
    frames: list[list] = []   # [value of current branch, any branch taken (True/None/False)]
    ranges: list[tuple[int, int]] = []
    dead_from: int | None = None

    def is_dead() -> bool:
        return any(f[0] is False for f in frames)

    for word, line_start, rest, end in _conditionals(src):
        was_dead = is_dead()
        if word == b"if":
            v = _eval_condition(rest, known)
            frames.append([v, v])
        elif word in (b"ifdef", b"ifndef"):
            name = rest.split()[0] if rest.split() else ""
            v = known(name)
            if word == b"ifndef" and v is not None:
                v = not v
            frames.append([v, v])
        elif word in (b"elif", b"else"):
            if not frames:
                continue
            taken = frames[-1][1]
            cond = False if taken is True else True if word == b"else" else _eval_condition(rest, known)
            v = None if taken is None and cond is not False else cond
            frames[-1][0] = v
            if cond is True:        # this branch or an earlier unknown one: every later branch is dead
                frames[-1][1] = True
            elif v is None and taken is False:
                frames[-1][1] = None
        else:
            if frames:
                frames.pop()
        now_dead = is_dead()
        if was_dead and dead_from is not None and not now_dead:
            ranges.append((dead_from, line_start))
            dead_from = None
        if now_dead and not was_dead:
            dead_from = end
    if dead_from is not None:
        ranges.append((dead_from, len(src)))
    return tuple(ranges)


_CONDITIONAL_WORDS = (b"if", b"ifdef", b"ifndef", b"elif", b"else", b"endif")
_DIRECTIVES = cparse.TextMemo()


def _directives(src: bytes) -> list[tuple[bytes, int, int, str | None]]:
    """(word, start of its line, end of the directive: its last newline, or the end of src, and
    for a conditional its text after the word) of every directive line, comments blanked
    (remembered per text: liveness is asked under several `known`, and the walk reads them too)."""
    return _DIRECTIVES.get(src, lambda: _scan_directives(src))


def line_directives(pattern: re.Pattern, text: bytes):
    """(start of its line, match) of what `^[ \t]*` and then pattern (opening with the `#` of a
    directive) finds in text: pattern searched for its `#` (re would try `^` at every offset), a
    match kept when only blanks precede it on its line (each line read once: linear)."""
    pos, seen = 0, -1        # seen: the offset of the last `#` a match opened with
    while (m := pattern.search(text, pos)) is not None:
        at = m.start()
        first = seen < 0 or text.find(b"\n", seen, at) != -1     # no `#` before it on its line
        seen = at
        line = text.rfind(b"\n", 0, at) + 1 if first else at
        if not first or text[line:at].strip(b" \t"):
            pos = at + 1
            continue
        yield line, m
        pos = m.end()


def _scan_directives(src: bytes) -> list[tuple[bytes, int, int, str | None]]:
    clean = blank_comments(src)
    out = []
    for line, m in line_directives(_DIRECTIVE, clean):
        end = clean.find(b"\n", m.end())
        while end != -1 and clean[end - 1:end] == b"\\":
            end = clean.find(b"\n", end + 1)
        end = len(clean) if end == -1 else end
        word = m.group(1)
        rest = clean[m.end():end + 1].decode("utf-8", "replace").replace("\\\n", " ").strip() \
            if word in _CONDITIONAL_WORDS else None
        out.append((word, line, end, rest))
    return out


def _conditionals(src: bytes):
    """(word, start of its line, its text after the word, where the line after it starts) of the
    conditional directives (#if ... #endif)."""
    n = len(src)
    for word, start, end, rest in _directives(src):
        if rest is not None:
            yield word, start, rest, n if end == n else end + 1


class Ranges:
    """Sorted disjoint byte ranges with a fast membership test."""

    def __init__(self, ranges: Iterable[tuple[int, int]]):
        self.ranges = sorted(ranges)
        self.starts = [r[0] for r in self.ranges]
        self.ends = [r[1] for r in self.ranges]
        self.disjoint = all(a[1] <= b[0] for a, b in zip(self.ranges, self.ranges[1:]))

    def __contains__(self, offset: int) -> bool:
        i = bisect.bisect_right(self.starts, offset) - 1     # the last range starting at or before offset
        return i >= 0 and offset < self.ends[i]

    def covers(self, start: int, end: int) -> bool:
        """Whether one of the ranges holds offset start and all of [start, end)."""
        if self.disjoint:      # only the last range starting at or before start can
            i = bisect.bisect_right(self.starts, start) - 1
            return i >= 0 and start < self.ends[i] and end <= self.ends[i]
        return any(s <= start < e and end <= e for s, e in self.ranges)

    def overlapping(self, start: int, end: int) -> list[tuple[int, int]]:
        """The ranges (as given, in order) that may overlap [start, end): those ending after start
        and starting before end, found by bisection when the ranges are disjoint."""
        if not self.disjoint:
            return [r for r in self.ranges if r[1] > start and r[0] < end]
        i = max(bisect.bisect_right(self.starts, start) - 1, 0)
        j = bisect.bisect_left(self.starts, end)
        return [r for r in self.ranges[i:j] if r[1] > start]


def directive_lines(src: bytes) -> list[tuple[int, int]]:
    """Byte ranges of conditional/include/undef/pragma/error directive lines (not #define)."""
    return [(start, end) for word, start, end, _ in _directives(src) if word != b"define"]


# ---------------------------------------------------------------- definitions and uses

@dataclass(slots=True)
class Use:
    name: str
    offset: int
    kind: str          # call, type, field, identifier, macro
    arg_of: tuple[str, int] | None = None   # (macro, argument index) when a bare argument
    # a member name in the parse: its node and its ancestors as (parent, (grandparent, ...)), so
    # that what it is a member of is found without tree-sitter's parent lookups (linear in the
    # width of every enclosing node: quadratic on a function of a million statements)
    node: object = field(default=None, compare=False, repr=False)
    up: tuple | None = field(default=None, compare=False, repr=False)


@dataclass
class FileSymbols:
    defines: set[str] = field(default_factory=set)
    fields: set[str] = field(default_factory=set)
    uses: list[Use] = field(default_factory=list)
    # function-like macros: indices of parameters the body never uses as a name of its own
    nonname_params: dict[str, list[int]] = field(default_factory=dict)
    # the structs, unions, typedefs and members a walk met, when it met every one (structs.found_in)
    struct_parts: list | None = None


_NAME_TYPES = ("identifier", "type_identifier", "field_identifier", "statement_identifier")


def _macro_params(pdef, src: bytes) -> list[str]:
    p = pdef.child_by_field_name("parameters") if pdef is not None else None
    return [src[c.start_byte:c.end_byte].decode() for c in p.named_children
            if c.type == "identifier"] if p is not None else []


@dataclass
class _Raw:
    """One walk's definitions and uses before any liveness filter (collect() filters them)."""
    defs: list = field(default_factory=list)       # (offset, name, is a field)
    uses: list = field(default_factory=list)       # (offset that decides liveness, Use, a name of the parse)
    nonname_params: dict = field(default_factory=dict)
    skipped: list = field(default_factory=list)    # (start, end): dead whatever is known, uses left out
    struct_parts: list = field(default_factory=list)   # the walk's structs, unions, typedefs, members
    every_part: bool = False       # a whole walk met them all (none is in an ERROR inside a skipped node)


_DEAD = object()     # in place of its ancestors: a branch the walk reads for definitions only


class _Collector:
    """One walk over a parse: each node type has its handler (_HANDLERS); True means descend.
    A parent marks which of its children define a name (and, for uses, which is called and
    which are a call's arguments) before the walk meets them.  skip_dead: a branch of a
    conditional that is dead whatever is known (`#if 0`: half of a port's text once its disable
    loop has run) is walked for its definitions only, its uses left out (out.skipped)."""

    def __init__(self, src: bytes, parsed, uses: bool = True, skip_dead: bool = False):
        self.src, self.parsed, self.uses = src, parsed, uses
        self.directives = Ranges(directive_lines(src)) if uses else Ranges(())
        self.dead = Ranges(dead_ranges(src)) if skip_dead else Ranges(())
        self.out = _Raw()
        self.definitions: _Collector | None = None      # the walk of dead branches
        self.defining: dict[int, bool] = {}      # id of a name node that defines -> is a field
        self.called: set[int] = set()            # id of a call's function
        self.arguments: dict[int, tuple] = {}    # id of a call's argument -> (function node, index, last)

    def run(self) -> _Raw:
        self.out.every_part = True
        self.walk(self.parsed.tree.root_node)
        if self.uses:
            self.standin_uses()
        self.typeof_locals()
        self.out.uses.sort(key=lambda u: u[1].offset)
        return self.out

    def walk(self, root) -> None:
        stack: list = [(root, None)]
        handlers = _HANDLERS
        branches = cparse.PREPROC_CONTAINERS if self.dead.ranges else ()
        while stack:
            node, up = stack.pop()
            if up is _DEAD:
                self.dead_branch(node)
                continue
            kind = node.type
            handler = handlers.get(kind)
            if (handler is None or handler(self, node, up)) and node.named_child_count:
                here = (node, up)      # tokens (unnamed nodes) have no children and no handler
                if kind in branches:
                    stack += [(c, _DEAD if self.is_dead(c) else here) for c in node.named_children]
                else:
                    stack += [(c, here) for c in node.named_children]

    def text(self, node) -> str:
        return self.src[node.start_byte:node.end_byte].decode("utf-8", "replace")

    def skip(self, node, up) -> bool:
        if node.has_error:      # an ERROR where the walk does not go may hold struct parts
            self.out.every_part = False
        return False

    def is_dead(self, node) -> bool:
        return self.dead.covers(node.start_byte, node.end_byte)

    def dead_branch(self, node) -> None:
        if self.definitions is None:
            self.definitions = _Collector(self.src, self.parsed, uses=False)
            self.definitions.out = self.out
        self.definitions.walk(node)
        self.out.skipped.append((node.start_byte, node.end_byte))

    def name(self, node, up) -> bool:
        nid = node.id
        off = node.start_byte
        is_field = self.defining.pop(nid, None)
        if is_field is not None:
            self.out.defs.append((off, self.src[off:node.end_byte].decode("utf-8", "replace"), is_field))
            return False
        kind = node.type
        if not self.uses or kind == "statement_identifier" or (self.directives.ranges and off in self.directives):
            return False
        arg = self.arguments.get(nid)
        use = Use(self.src[off:node.end_byte].decode("utf-8", "replace"), off,
                  _USE_KINDS.get(kind) or ("call" if nid in self.called else "identifier"),
                  (self.text(arg[0]), arg[1]) if arg is not None else None)
        if kind == "field_identifier":
            use.node, use.up = node, up
        elif arg is not None and arg[2] and use.kind == "identifier" and use.arg_of[0] in _MEMBER_LAST_ARG:
            use.kind = "field"     # the member a container_of-like macro names
        self.out.uses.append((off, use, True))
        return False

    def _defines(self, child, is_field: bool = False) -> None:
        if child.type in _NAME_TYPES:
            self.defining[child.id] = is_field or child.type == "field_identifier"

    def declarator_parent(self, node, up) -> bool:
        """Its `declarator` defines (a member, in a struct)."""
        is_field = node.type == "field_declaration"
        for c in node.children_by_field_name("declarator"):
            self._defines(c, is_field)
        return True

    def parenthesized(self, node, up) -> bool:
        """`static DEFINE_SPINLOCK(lock);` parses as a declaration of `lock` (and `static
        LIST_HEAD(x);` as type_identifier + parenthesized_declarator): a definition."""
        for c in node.children:
            if c.type == "identifier":
                self.defining.setdefault(c.id, False)
        return True

    def named_parent(self, node, up) -> bool:
        """Its `name` defines (an enumerator, a macro)."""
        c = node.child_by_field_name("name")
        if c is not None:
            self._defines(c)
        return True

    def defining_parent(self, node, up) -> bool:
        """Every name in it defines (macro parameters, a label)."""
        for c in node.children:
            self._defines(c)
        return True

    def struct_part(self, node, up) -> bool:
        self.out.struct_parts.append(node)
        return self.tag_parent(node, up) if node.type in STRUCT_SPECIFIERS else self.declarator_parent(node, up)

    def tag_parent(self, node, up) -> bool:
        """A struct, union or enum with a body defines its tag."""
        return self.defining_parent(node, up) if node.child_by_field_name("body") is not None else True

    def call(self, node, up) -> bool:
        if self.uses:
            fn = node.child_by_field_name("function")
            if fn is not None:
                self.called.add(fn.id)
        return True

    def argument_list(self, node, up) -> bool:
        """Remember, for each argument of a call of a named function, the function and where."""
        call = up[0] if up else None
        fn = call.child_by_field_name("function") if call is not None and self.uses else None
        if fn is not None and fn.type == "identifier":
            args = node.named_children
            last = len(args) - 1
            for i, a in enumerate(args):
                self.arguments[a.id] = (fn, i, i == last)
        return True

    def macro_definition(self, node, up) -> bool:
        value = node.child_by_field_name("value")
        body = self.src[value.start_byte:value.end_byte] if value is not None else b""
        params = node.child_by_field_name("parameters")
        variadic = params is not None and b"..." in self.src[params.start_byte:params.end_byte]
        nonname = _nonname_params(body, _macro_params(node, self.src), variadic)
        mname = node.child_by_field_name("name")
        if mname is not None:
            self._defines(mname)
        if nonname and mname is not None:
            self.out.nonname_params[self.text(mname)] = nonname
        return True

    def macro_body(self, node, up) -> bool:
        if not self.uses:
            return False
        params = set(_macro_params(up[0] if up else None, self.src))     # a #define's: none
        self.out.uses.extend((node.start_byte, u, False)
                             for u in _macro_body_uses(self.src, node.start_byte, node.end_byte, params))
        return False

    def typeof_locals(self) -> None:
        """`typeof(x) name = ...;` declares name (tree-sitter reads it as an expression)."""
        if b"typeof" not in self.src:     # what every match holds
            return
        for m in _TYPEOF_LOCAL.finditer(blank_comments_strings(self.src)):
            self.out.defs.append((m.start(1), m.group(1).decode(), False))

    def standin_uses(self) -> None:
        """Spans the stand-ins hid from tree-sitter (for_each macros, annotations)."""
        src = self.src
        for start, end in self.parsed.standins:
            for i, m in enumerate(_IDENT.finditer(src, start, end)):
                name = m.group(0).decode()
                if name in ("struct", "long", "while") or is_builtin(name):
                    continue
                if i == 1 and src.startswith(b"DECLARE_BITMAP", start):
                    continue   # the member the bitmap declares
                self.out.uses.append((start, Use(name, m.start(), "macro"), False))


STRUCT_SPECIFIERS = ("struct_specifier", "union_specifier")
_STRUCT_PARTS = (*STRUCT_SPECIFIERS, "type_definition", "field_declaration")     # structs.PARTS_PATTERN's
_SKIPPED = ("comment", "string_literal", "char_literal", "system_lib_string", "preproc_call")
_SKIPPED_HOLDERS = ("string_literal", "char_literal", "preproc_call")      # the others are tokens
_HANDLERS = {**{t: _Collector.skip for t in _SKIPPED},
             **{t: _Collector.name for t in _NAME_TYPES},
             **{t: _Collector.declarator_parent for t in _DECLARATOR_PARENTS},
             "parenthesized_declarator": _Collector.parenthesized,
             "enumerator": _Collector.named_parent, "preproc_def": _Collector.named_parent,
             "preproc_params": _Collector.defining_parent, "labeled_statement": _Collector.defining_parent,
             "enum_specifier": _Collector.tag_parent,
             **{t: _Collector.struct_part for t in _STRUCT_PARTS},    # two of them declarator parents too
             "call_expression": _Collector.call, "argument_list": _Collector.argument_list,
             "preproc_function_def": _Collector.macro_definition, "preproc_arg": _Collector.macro_body}
_USE_KINDS = {"field_identifier": "field", "type_identifier": "type"}


# The names that define, as the walk's parents mark them (_Collector.declarator_parent and the
# rest), in the shapes a parse can have (tree-sitter refuses the others as impossible); captured as
# @define, @field and @macro (another query may hold them with patterns of its own).  A parent's
# shapes are one pattern: tree-sitter compiles a query in time growing with its patterns.
DEFINITION_PATTERNS = """
(array_declarator declarator: [(identifier) @define (type_identifier) @define (field_identifier) @field])
(declaration declarator: [(identifier) @define (type_identifier) @define (statement_identifier) @define
                          (field_identifier) @field])
(field_declaration declarator: (field_identifier) @field)
(function_declarator declarator: [(identifier) @define (type_identifier) @define (field_identifier) @field])
(init_declarator declarator: (identifier) @define)
(parameter_declaration declarator: (identifier) @define)
(pointer_declarator declarator: [(identifier) @define (type_identifier) @define (field_identifier) @field])
(type_definition declarator: [(identifier) @define (type_identifier) @define (statement_identifier) @define
                              (field_identifier) @field])
(enumerator name: (identifier) @define)
(preproc_def name: (identifier) @define)
(preproc_function_def name: (identifier) @define)
(preproc_params (identifier) @define)
(parenthesized_declarator (identifier) @define)
(labeled_statement (statement_identifier) @define)
(struct_specifier (type_identifier) @define body: _)
(struct_specifier body: _ (type_identifier) @define)
(union_specifier (type_identifier) @define body: _)
(union_specifier body: _ (type_identifier) @define)
(enum_specifier (type_identifier) @define body: _)
(enum_specifier body: _ (type_identifier) @define)
(preproc_function_def) @macro
"""


@lru_cache(maxsize=1)
def _definitions_query() -> Query:
    return Query(cparse.C_LANGUAGE, DEFINITION_PATTERNS)


def _definitions_by_query(src: bytes, parsed, found: dict | None = None) -> _Raw | None:
    """What _Collector(uses=False) finds, without the walk (found: what a query holding
    DEFINITION_PATTERNS captured in parsed, else that query is run); None when an error of the
    parse is in a subtree the walk skips (an ERROR there may hold names it never sees)."""
    root = parsed.tree.root_node
    if root.has_error and _error_in_skipped(root):
        return None
    if found is None:
        found = QueryCursor(_definitions_query()).captures(root)
    walk = _Collector(src, parsed, uses=False)
    for key, is_field in (("define", False), ("field", True)):
        walk.out.defs += [(n.start_byte, src[n.start_byte:n.end_byte].decode("utf-8", "replace"), is_field)
                          for n in found.get(key, ())]
    # the walk meets later macros first (and an enclosing node before what it holds)
    for node in sorted(found.get("macro", ()), key=cparse.walk_order):
        walk.macro_definition(node, None)
    walk.typeof_locals()
    return walk.out


def _error_in_skipped(root) -> bool:
    """Whether an error of the parse is in a subtree the walk skips (looked for only down the
    nodes that hold an error)."""
    stack = [root]
    while stack:
        for c in stack.pop().children:
            if c.has_error:
                if c.type in _SKIPPED_HOLDERS:
                    return True
                stack.append(c)
    return False


_RAWS = cparse.TextMemo()


def _raw(src: bytes, parsed) -> _Raw:
    """The walk of src (its uses in code dead whatever is known left out), remembered for the last
    few texts: lint asks for a file's definitions and then its uses, port asks again for the text
    it just linted."""
    return _RAWS.get(src, lambda: _Collector(src, parsed or cparse.parse(src), skip_dead=True).run())


def collect(src: bytes, parsed: "cparse.Parsed | None" = None, known: Known | None = None,
            live_only: bool = True, live_defs: bool = False, uses: bool = True,
            many: bool | dict = False) -> FileSymbols:
    """Definitions (anywhere, or only in live code with live_defs) and live uses of one file
    (uses=False: definitions only, at a fraction of the cost, unless the walk is remembered;
    many: one of many files read for their definitions, found by a tree-sitter query whose
    compiling, once per process, costs as much as the walk of a few files; or what a query of
    the caller's holding DEFINITION_PATTERNS captured in parsed)."""
    raw = _RAWS.peek(src) if not uses else _raw(src, parsed)
    if raw is None:
        parsed = parsed or cparse.parse(src)
        if many is not False:
            raw = _definitions_by_query(src, parsed, many if isinstance(many, dict) else None)
    if raw is None:
        raw = _Collector(src, parsed, uses=False).run()
    dead = Ranges(dead_ranges(src, known)) if (live_only or live_defs) else Ranges(())
    if uses and raw.skipped and not (live_only and all(dead.covers(s, e) for s, e in raw.skipped)):
        raw = _Collector(src, parsed or cparse.parse(src)).run()     # uses the remembered walk left out
    out = FileSymbols(nonname_params=dict(raw.nonname_params),
                      struct_parts=raw.struct_parts if raw.every_part else None)
    def_dead = live_defs and bool(dead.ranges)
    for off, name, is_field in raw.defs:
        if not (def_dead and off in dead):
            (out.fields if is_field else out.defines).add(name)
    if uses:   # a name of the parse is dropped in dead code only for live_only; the rest by where they start
        out.uses = [u for at, u, by_name in raw.uses if not ((live_only or not by_name) and at in dead)]
    return out


def ignores_arg(spec, i: int) -> bool:
    """Whether argument i of a macro with nonname_params spec is never a name of its own."""
    return i in spec or (bool(spec) and spec[-1] == -1 and i >= spec[-2])


def _nonname_params(body: bytes, params: list[str], variadic: bool = False) -> list[int]:
    """Parameters a macro body ignores, pastes (##) or stringizes (#): their arguments are not uses.
    A variadic macro whose body ignores __VA_ARGS__ ends its list with len(params), -1."""
    wanted = {p.encode() for p in params} | ({b"__VA_ARGS__"} if variadic else set())
    if not wanted:
        return []
    clean = blank_comments_strings(body)
    if b"#" not in clean:       # nothing pasted or stringized: every parameter it names is plain
        plain = wanted.intersection(_IDENT.findall(clean))
    else:
        plain = set()
        for m in _IDENT.finditer(clean):
            name = m.group(0)
            if name not in wanted or name in plain or clean.endswith(b"#", 0, _back(clean, m.start())) \
                    or clean.startswith(b"##", _ahead(clean, m.end())):
                continue
            plain.add(name)
    plain = {n.decode() for n in plain}
    out = [i for i, p in enumerate(params) if p not in plain]
    if variadic and "__VA_ARGS__" not in plain:
        out += [len(params), -1]
    return out


_SPACE = frozenset(b" \t\n\r\x0b\x0c")


def _back(text: bytes, i: int) -> int:
    """len(text[:i].rstrip()), reading only the spaces it drops."""
    while i > 0 and text[i - 1] in _SPACE:
        i -= 1
    return i


def _ahead(text: bytes, i: int) -> int:
    """Where text[i:].lstrip() starts, reading only the spaces it drops."""
    n = len(text)
    while i < n and text[i] in _SPACE:
        i += 1
    return i


def _macro_body_uses(src: bytes, start: int, end: int, params: set[str]) -> list[Use]:
    body = blank_comments_strings(src[start:end])
    uses = []
    params = params | {m.group(1).decode() for m in _MACRO_LOCAL.finditer(body)}
    for m in _TOKEN.finditer(body):
        name = m.group(0).decode()
        if not (name[0].isalpha() or name[0] == "_"):
            continue
        if name in params or is_builtin(name):
            continue
        before = _back(body, m.start())     # body[:before] is what precedes it, spaces dropped
        if body.endswith(b"##", 0, before) or body.startswith(b"##", _ahead(body, m.end())):
            continue   # token pasting: not a name of its own
        if body.endswith(b"#", 0, before):
            continue   # stringized
        kind = "field" if body.endswith((b".", b"->"), 0, before) else "macro"
        uses.append(Use(name, start + m.start(), kind))
    # last argument of container_of-like macros is a member name
    offsets = [u.offset for u in uses]
    for m in _MEMBER_LAST_ARG_CALL.finditer(body):
        i, commas = cparse.paren_group(body, m.end() - 1)
        if commas:
            for u in uses[bisect.bisect_right(offsets, start + commas[-1]):bisect.bisect_left(offsets, start + i)]:
                u.kind = "field"
    return uses
