"""tree-sitter-c parsing of kernel C, with same-length stand-ins for macros it cannot parse.

Kernel C trips tree-sitter-c (`__iomem`, `DECLARE_BITMAP()` fields, `container_of(x, struct T, f)`,
`list_for_each_entry(...) {`).  We parse a copy in which such macros are replaced by stand-ins of
exactly the same byte length, so every node's byte range is also a range of the original source.
Whatever still fails to parse stays an ERROR node: located, never dropped.
"""
from __future__ import annotations

import bisect
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

import tree_sitter_c
from tree_sitter import Language, Node, Parser, Point, Query, QueryCursor, Tree

C_LANGUAGE = Language(tree_sitter_c.language())

_ANNOTATIONS = (rb"iomem|init|exit|initdata|initconst|maybe_unused|always_unused"     # after `__`
                rb"|must_check|rcu|user|force|read_mostly|cpuinit|devinit|devexit"
                rb"|ro_after_init|percpu|aligned\([^()]*\)|packed|hwdom_init")


def _blank(m: re.Match) -> bytes:
    return b" " * (m.end() - m.start())


def _bitmap(m: re.Match) -> bytes:
    # DECLARE_BITMAP(name, bits) -> `long *name` with `name` at its original offset
    head = m.group(1)
    return b"long" + b" " * (len(head) - 5) + b"*" + m.group(2) + b" " * len(m.group(3))


_STATEMENT_BEFORE = re.compile(rb"(?:^|[;{}):]|\belse|\bdo)\s*$")


def paren_group(text: bytes, i: int) -> tuple[int, list[int]]:
    """From i on, the first parenthesised group: the offset of its `)` (len(text) when it does
    not close) and those of the commas directly inside it."""
    depth, commas = 0, []
    while i < len(text):
        c = text[i:i + 1]
        if c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
            if depth == 0:
                break
        elif c == b"," and depth == 1:
            commas.append(i)
        i += 1
    return i, commas


def _for_each(m: re.Match) -> bytes:
    """`list_for_each_entry(pos, head, member) {` -> `while` (same length), but only where the
    macro heads a statement that has a body; a for_each call inside an expression or ending in
    `;` (`ret = bus_for_each_dev(...);`) is a call and stays one."""
    src, start = m.string, m.start()
    if not _STATEMENT_BEFORE.search(src[max(0, start - 80):start]):
        return m.group(0)
    i, _commas = paren_group(src, m.end())
    rest = src[i + 1:i + 200].lstrip()
    if not rest or not (rest[:1] == b"{" or rest[:1].isalpha() or rest[:1] == b"_"):
        return m.group(0)
    return b"while" + b" " * (len(m.group(0)) - 5)


def _container_of(m: re.Match) -> bytes:
    return m.group(1) + b" " * len(m.group(2))


def _device_start(m: re.Match) -> bytes:
    # Xen's DT_DEVICE_START(name, "desc", class) opens an initializer: `int ____[]={`
    return b"int " + b"_" * (len(m.group(0)) - 8) + b"[]={"


def _device_end(m: re.Match) -> bytes:
    return b"};" + b" " * (len(m.group(0)) - 2)


# Every match starts a word that holds the needle (the `\b` before a pattern that opens with its
# word is checked by a look-behind after it): see _sub_at_words.
_STANDINS: list[tuple[bytes, re.Pattern, object]] = [     # (what every match holds, pattern, stand-in)
    (b"__", re.compile(rb"__(?<!\w__)(?:" + _ANNOTATIONS + rb")(?!\w)"), _blank),
    (b"DECLARE_BITMAP", re.compile(rb"(DECLARE_BITMAP(?<!\wDECLARE_BITMAP)\(\s*)(\w+)(\s*,[^;()]*\))"), _bitmap),
    (b"for_each", re.compile(rb"\b\w*for_each\w*(?=\s*\()"), _for_each),
    (b"container_of", re.compile(rb"(container_of(?<!\wcontainer_of)\s*\([^,()]*,\s*)(struct\s)"), _container_of),
    (b"alloc", re.compile(rb"(x[mz]alloc(?<!\wx[mz]alloc)(?:_array)?\s*\(\s*)(struct\s)"), _container_of),
    (b"_DEVICE_START", re.compile(rb"\b(?:DT|ACPI)_DEVICE_START\s*\([^()]*\)"), _device_start),
    (b"_DEVICE_END", re.compile(rb"\b(?:DT|ACPI)_DEVICE_END\b"), _device_end),
]


_DIRECTIVE_WORDS = (b"define", b"undef", b"ifdef", b"ifndef")


def _names_directive(src: bytes, at: int) -> bool:
    """Whether `#define ` (undef, ifdef, ifndef) stands right before offset at, on its line (read
    backwards: a scan from the line's start would be quadratic on a file of one long line)."""
    i = at
    while i > 0 and src[i - 1] in b" \t":
        i -= 1
    if i == at:
        return False
    for word in _DIRECTIVE_WORDS:
        if src.endswith(word, 0, i):
            j = i - len(word)
            while j > 0 and src[j - 1] in b" \t":
                j -= 1
            return j > 0 and src[j - 1:j] == b"#"
    return False


# Xen's device descriptors: what they name is Xen's, there is nothing in them to check
_UNTRACKED = (_device_start, _device_end)


def _sub_at_words(needle: bytes, pattern: re.Pattern, repl, src: bytes) -> bytes:
    """pattern.sub(repl, src) for a pattern whose every match starts a word holding needle: it is
    tried only there (re tries one that opens with a word boundary at every offset of the file)."""
    out, last, pos = [], 0, 0
    word = at = 0        # the word holding the needle last seen, at offset at, starts at word
    tried = -1
    while (i := src.find(needle, pos)) != -1:
        head = src[at:i]
        j = i - (len(head) - len(head.rstrip(_WORD_CHARS)))
        word, at, pos = (word if j == at and at else j), i, i + 1
        if word == tried or word < last:
            continue
        tried = word
        m = pattern.match(src, word)
        if m is not None:
            out += (src[last:word], repl(m))
            last = pos = max(m.end(), pos)
    out.append(src[last:])
    return b"".join(out)


_WORD_CHARS = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"


def _rewrite(src: bytes) -> tuple[bytes, list[tuple[int, int]]]:
    """(stand-in copy, rewritten byte ranges); names a #define/#undef/#ifdef/#ifndef names stay."""
    spans: list[tuple[int, int]] = []
    for needle, pattern, repl in _STANDINS:
        if needle not in src:      # the scan costs more than this test
            continue

        def sub(m: re.Match, repl=repl) -> bytes:
            if _names_directive(m.string, m.start()):
                return m.group(0)
            out = repl(m)
            if out != m.group(0) and repl not in _UNTRACKED:
                spans.append(m.span())
            return out
        src = _sub_at_words(needle, pattern, sub, src)
    return src, sorted(spans)


def standin_source(src: bytes) -> bytes:
    """Same-length copy of src in which known kernel macros are replaced by parseable stand-ins."""
    return _rewrite(src)[0]


@lru_cache(maxsize=1)
def _parser() -> Parser:
    return Parser(C_LANGUAGE)


@dataclass
class Parsed:
    """A parsed file: the original bytes and the tree of its stand-in copy (same offsets)."""
    source: bytes
    tree: Tree
    copy: bytes         # what tree-sitter parsed: the stand-in copy
    standins: list[tuple[int, int]] = field(default_factory=list)  # byte ranges the stand-ins rewrote

    @cached_property
    def errors(self) -> list[tuple[int, int]]:
        """(line, column), 1-based line, of each ERROR or MISSING node, in order (found when
        first asked: the index reads hundreds of headers and never asks)."""
        errors = []
        if self.tree.root_node.has_error:
            stack = [self.tree.root_node]
            while stack:
                node = stack.pop()
                if node.type == "ERROR" or node.is_missing:
                    errors.append((node.start_point[0] + 1, node.start_point[1]))
                    continue
                if node.has_error:
                    stack.extend(node.children)
        return sorted(errors)

    def text(self, node: Node) -> bytes:
        return self.source[node.start_byte:node.end_byte]

    def line_of(self, offset: int) -> int:
        return line_number(self.source, offset, self._newlines())

    def _newlines(self) -> list[int]:
        if "_nl" not in self.__dict__:
            self.__dict__["_nl"] = newline_offsets(self.source)
        return self.__dict__["_nl"]


def line_starts(src: bytes) -> list[int]:
    """Where each line of src starts (and one past the last newline)."""
    return [0] + [m.end() for m in re.finditer(rb"\n", src)]


def newline_offsets(src: bytes) -> list[int]:
    """Offsets of every newline in src, for line_number."""
    return [m.start() for m in re.finditer(rb"\n", src)]


def line_number(src: bytes, offset: int, newlines: list[int]) -> int:
    """1-based line of offset (newline_offsets(src) given): one lookup, not a count of the prefix."""
    return bisect.bisect_left(newlines, min(offset, len(src))) + 1


class TextMemo:
    """The last few results computed from a text (bytes), kept by the text; a single large text
    is kept alone, so what is kept stays about one file's worth."""

    def __init__(self, entries: int = 4, total: int = 4 << 20):
        self.entries, self.total = entries, total
        self.kept: OrderedDict = OrderedDict()

    def get(self, text: bytes, make):
        hit = self.kept.get(text)
        if hit is None:
            hit = self.kept[text] = make()
            while len(self.kept) > 1 and (len(self.kept) > self.entries
                                          or sum(map(len, self.kept)) > self.total):
                self.kept.popitem(last=False)
        self.kept.move_to_end(text)
        return hit

    def peek(self, text: bytes):
        return self.kept.get(text)


_PARSES = TextMemo(entries=12)     # a resync holds a dozen texts at once (each step: port, old, new, merged)


def parse(source: bytes) -> Parsed:
    """The parse of source (the same text parsed again is the same Parsed: port and lint ask
    for it round after round)."""
    return _PARSES.get(source, lambda: _parse(source))


def _parse(source: bytes) -> Parsed:
    copy, spans = _rewrite(source)
    return Parsed(source, _parser().parse(copy), copy, spans)


def note_edits(old: bytes, new: bytes, edits: list[tuple[int, int, bytes]]) -> None:
    """new is old with each (start, end, text) made (old[start:end] replaced by text; in order,
    none overlapping).  When old's parse is kept and has no error, new's parse is tree-sitter's
    incremental reparse of it (a rule rewrites a few calls of a large file, a port's disable loop
    wraps a few units in `#if 0` round after round), kept for parse(new) if it has no error
    either: the tree a parse afresh gives.  With an error the two may differ, tree-sitter's
    recovery depending on what it reuses, even far from the edits; then, as when new's stand-in
    copy is not old's with the same edits, parse(new) parses afresh."""
    before = _PARSES.peek(old)
    if before is None or before.tree.root_node.has_error or _PARSES.peek(new) is not None:
        return
    copy, spans = _rewrite(new)
    was = before.copy
    pos = shift = 0
    for start, end, text in edits:
        if was[pos:start] != copy[pos + shift:start + shift]:
            return
        pos, shift = end, shift + len(text) - (end - start)
    if len(new) != len(old) + shift or was[pos:] != copy[pos + shift:]:
        return
    tree = before.tree.copy()
    newlines = before._newlines()      # line_of's: a lint of old has usually read them

    def point(off: int) -> Point:
        row = bisect.bisect_left(newlines, off)
        return Point(row, off - (newlines[row - 1] + 1 if row else 0))
    for start, end, text in reversed(edits):      # the last first: the offsets and points before it hold
        at = point(start)
        lines = text.count(b"\n")
        to = Point(at.row + lines, len(text) - text.rfind(b"\n") - 1) if lines \
            else Point(at.row, at.column + len(text))
        tree.edit(start, end, start + len(text), at, point(end), to)
    tree = _parser().parse(copy, tree)
    if not tree.root_node.has_error:
        _PARSES.get(new, lambda: Parsed(new, tree, copy, spans))


_QUERIES: dict[str, Query] = {}


def query_captures(root: Node, pattern: str) -> dict[str, list[Node]]:
    """The nodes a tree-sitter query pattern captures under root, by capture name (run by
    tree-sitter, not by a walk in Python), in no particular order."""
    if pattern not in _QUERIES:
        _QUERIES[pattern] = Query(C_LANGUAGE, pattern)
    return QueryCursor(_QUERIES[pattern]).captures(root)


def query_nodes(root: Node, pattern: str, capture: str = "n") -> list[Node]:
    """The nodes query_captures finds as @n (or @capture)."""
    return query_captures(root, pattern).get(capture, [])


def walk_order(node: Node) -> tuple[int, int]:
    """Sort key of the order porter's stack walks meet nodes: later ones first, a node before
    what it holds."""
    return -node.end_byte, node.start_byte


def document_order(node: Node) -> tuple[int, int]:
    """Sort key of document order: earlier ones first, a parent before its children."""
    return node.start_byte, -node.end_byte


def nodes_of(root: Node, *types: str) -> list[Node]:
    """Every node of these types under root, in document order (a parent before its children)."""
    found = query_nodes(root, "[" + " ".join(f"({t})" for t in sorted(set(types))) + "] @n")
    found.sort(key=document_order)
    return found


PREPROC_CONTAINERS = {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif",
                      "preproc_elifdef"}


def top_level_items(node: Node, chain: tuple[Node, ...] = ()):
    """Yield (item, enclosing preprocessor nodes) for top-level items, looking into #if bodies.

    Iterative (an explicit stack, same order as a recursive walk): thousands of nested #ifdefs
    must not exhaust Python's recursion limit."""
    stack = [(node, chain, iter(node.named_children))]
    while stack:
        parent, parent_chain, children = stack[-1]
        child = next(children, None)
        if child is None:
            stack.pop()
        elif child.type in PREPROC_CONTAINERS:
            inner = parent_chain + (child,)
            stack.append((child, inner, iter(child.named_children)))
        elif parent.type in PREPROC_CONTAINERS and child == parent.child_by_field_name("condition"):
            continue
        elif child.type in ("identifier",) and parent.type in PREPROC_CONTAINERS:
            continue   # the name after #ifdef
        else:
            yield child, parent_chain


def is_top_level_item(node: Node, root: Node) -> bool:
    """Whether top_level_items(root) yields node, told from node's ancestors (for the few nodes a
    query found, without walking the whole top level)."""
    parent = node.parent
    if parent is None or not node.is_named or node.type in PREPROC_CONTAINERS:
        return False
    if parent.type in PREPROC_CONTAINERS and (node.type == "identifier"
                                              or node == parent.child_by_field_name("condition")):
        return False
    while parent is not None and parent.type in PREPROC_CONTAINERS:
        parent = parent.parent
    return parent == root


def declarator_name(node: Node | None, src: bytes) -> str | None:
    """The identifier a (possibly nested) declarator declares."""
    while node is not None:
        if node.type in ("identifier", "field_identifier", "type_identifier"):
            return src[node.start_byte:node.end_byte].decode("utf-8", "replace")
        inner = node.child_by_field_name("declarator")
        if inner is None:
            for c in node.named_children:
                if c.type in ("identifier", "field_identifier", "function_declarator",
                              "pointer_declarator", "array_declarator", "parenthesized_declarator"):
                    inner = c
                    break
        node = inner
    return None


def item_identity(node: Node, src: bytes) -> tuple[str, str]:
    """(kind, name) of a top-level item: what rules anchor on and merges match by."""
    t = node.type
    if t == "function_definition":
        return "function", declarator_name(node.child_by_field_name("declarator"), src) or "?"
    if t in ("struct_specifier", "union_specifier", "enum_specifier"):
        name = node.child_by_field_name("name")
        return t.split("_")[0], src[name.start_byte:name.end_byte].decode() if name else "?"
    if t == "preproc_include":
        path = node.child_by_field_name("path")
        return "include", src[path.start_byte:path.end_byte].decode("utf-8", "replace") if path else "?"
    if t in ("preproc_def", "preproc_function_def"):
        name = node.child_by_field_name("name")
        return "define", src[name.start_byte:name.end_byte].decode()
    if t in ("declaration", "type_definition"):
        names = []
        for d in node.children_by_field_name("declarator"):
            n = declarator_name(d, src)
            if n:
                names.append(n)
        if names:
            return ("typedef" if t == "type_definition" else "declaration"), ",".join(names)
        typ = node.child_by_field_name("type")
        if typ is not None and typ.type in ("struct_specifier", "union_specifier", "enum_specifier"):
            return item_identity(typ, src)
    if t == "expression_statement" and node.named_children:
        call = node.named_children[0]
        if call.type == "call_expression":
            fn = call.child_by_field_name("function")
            return "macro", src[fn.start_byte:fn.end_byte].decode("utf-8", "replace")
    if t == "comment":
        return "comment", ""
    return t, ""
