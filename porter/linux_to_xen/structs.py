"""Struct members and types: which struct a field access is on, and whether that struct has it.

`table(parsed)` reads a file's struct/union definitions (members, the struct tag of each member's
type) and typedefs of structs; `StructTypes` answers, for a field access or a designated
initializer in a parse, the struct tag it is on when the code says so (a variable, parameter or
member of known type, a cast), else None.  A struct's member set is every identifier in its body,
so members a macro declares are never missed.
"""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

from .. import cparse
from . import symbols

_IDENT = re.compile(rb"[A-Za-z_]\w*")


@dataclass
class StructTable:
    members: dict[str, set] = field(default_factory=dict)       # tag -> member names (over-approximated)
    member_types: dict[str, dict] = field(default_factory=dict)  # tag -> {member: struct tag of its type}
    typedefs: dict[str, str] = field(default_factory=dict)       # typedef name -> struct tag

    def update(self, other: "StructTable") -> None:
        for tag, names in other.members.items():
            self.members.setdefault(tag, set()).update(names)
        for tag, types in other.member_types.items():
            self.member_types.setdefault(tag, {}).update(types)
        for name, tag in other.typedefs.items():
            self.typedefs.setdefault(name, tag)

    def joined(self, other: "StructTable") -> "StructTable":
        """A table with what update(self) then update(other) would give, for reading only: it
        shares other's entries that self lacks (no copy of a whole index per lint)."""
        members = {**other.members}
        for tag, names in self.members.items():
            members[tag] = names | other.members[tag] if tag in other.members else names
        member_types = {**other.member_types}
        for tag, types in self.member_types.items():
            member_types[tag] = {**types, **other.member_types[tag]} if tag in other.member_types else types
        return StructTable(members, member_types, {**other.typedefs, **self.typedefs})

    def to_json(self) -> dict:
        return {"members": {t: sorted(n) for t, n in sorted(self.members.items())},
                "member_types": {t: dict(sorted(m.items())) for t, m in sorted(self.member_types.items())},
                "typedefs": dict(sorted(self.typedefs.items()))}

    @classmethod
    def from_json(cls, doc: dict) -> "StructTable":
        return cls({t: set(n) for t, n in doc["members"].items()}, doc["member_types"], doc["typedefs"])


def _text(node, src: bytes) -> str:
    return src[node.start_byte:node.end_byte].decode("utf-8", "replace")


def type_tag(type_node, src: bytes, typedefs: dict[str, str]) -> str | None:
    """The struct/union tag a type names (directly or through a typedef), else None."""
    if type_node is None:
        return None
    if type_node.type in symbols.STRUCT_SPECIFIERS:
        name = type_node.child_by_field_name("name")
        return _text(name, src) if name is not None else None
    if type_node.type == "type_identifier":
        return typedefs.get(_text(type_node, src))
    return None


def _nodes(root, *types: str) -> list:
    """The nodes of these types under root, parents first and later siblings first: the order
    in which a later definition of the same name has always given way to an earlier one here."""
    return sorted(cparse.nodes_of(root, *types), key=cparse.walk_order)


# what table() reads of a parse: members, struct and union bodies, typedefs of a struct or union
# (another query may hold these patterns with patterns of its own)
PARTS_PATTERN = """
(field_declaration) @struct_field
[(struct_specifier body: _) (union_specifier body: _)] @struct_body
(type_definition type: [(struct_specifier) (union_specifier)]) @struct_typedef
"""


def found_in(parts: list | None) -> dict | None:
    """What PARTS_PATTERN's query captures, from the nodes of its types a walk met (None: None)."""
    if parts is None:
        return None
    found: dict[str, list] = {"struct_field": [], "struct_body": [], "struct_typedef": []}
    for node in parts:
        if node.type == "field_declaration":
            found["struct_field"].append(node)
        elif node.type == "type_definition":
            t = node.child_by_field_name("type")
            if t is not None and t.type in symbols.STRUCT_SPECIFIERS:
                found["struct_typedef"].append(node)
        elif node.child_by_field_name("body") is not None:
            found["struct_body"].append(node)
    return found


def table(parsed: cparse.Parsed, dead=(), found: dict | None = None) -> StructTable:
    """The structs parsed defines; members inside `dead` ranges (start, end) do not count (found:
    what a query holding PARTS_PATTERN captured in parsed, else that query is run)."""
    out = StructTable()
    dead = symbols.Ranges(dead)
    if found is None:
        found = cparse.query_captures(parsed.tree.root_node, PARTS_PATTERN)
    fds = sorted(found.get("struct_field", ()), key=cparse.document_order)
    members = (fds, [n.start_byte for n in fds])
    # bodies and typedefs fill apart what they fill: each kind in the walk's order is enough
    for node in sorted(found.get("struct_body", ()), key=cparse.walk_order):
        _add_struct(node, parsed.source, dead, out, members)
    for node in sorted(found.get("struct_typedef", ()), key=cparse.walk_order):
        _add_typedef(node, parsed.source, out)
    return out


def _within(nodes: tuple[list, list[int]], outer) -> list:
    """The nodes (in document order, with their starts) inside outer, in walk order."""
    nodes, starts = nodes
    i, j = bisect.bisect_left(starts, outer.start_byte), bisect.bisect_left(starts, outer.end_byte)
    return sorted((n for n in nodes[i:j] if n.end_byte <= outer.end_byte), key=cparse.walk_order)


def _add_struct(node, src: bytes, dead, out: StructTable, members: tuple[list, list[int]]) -> None:
    name, body = node.child_by_field_name("name"), node.child_by_field_name("body")
    if name is None or body is None:
        return
    tag = _text(name, src)
    text = symbols.blank_comments_strings(src[body.start_byte:body.end_byte])
    if dead.ranges:
        text = bytearray(text)
        for start, end in dead.overlapping(body.start_byte, body.end_byte):
            lo, hi = max(start, body.start_byte), min(end, body.end_byte)
            if lo < hi:
                text[lo - body.start_byte:hi - body.start_byte] = b" " * (hi - lo)
    out.members.setdefault(tag, set()).update(map(bytes.decode, set(_IDENT.findall(text))))
    types = out.member_types.setdefault(tag, {})
    for fd in _within(members, body):
        t = fd.child_by_field_name("type")
        # a struct tag, or a typedef name resolved when looked up
        ftag = type_tag(t, src, {}) or (_text(t, src) if t is not None and t.type == "type_identifier" else None)
        if not ftag:
            continue
        for d in fd.children_by_field_name("declarator"):
            member = cparse.declarator_name(d, src)
            if member:
                types[member] = ftag


def _add_typedef(node, src: bytes, out: StructTable) -> None:
    t = node.child_by_field_name("type")
    tag = t.child_by_field_name("name") if t is not None and t.type in symbols.STRUCT_SPECIFIERS else None
    if tag is None:
        return
    for d in node.children_by_field_name("declarator"):
        alias = cparse.declarator_name(d, src)
        if alias:
            out.typedefs[alias] = _text(tag, src)


class StructTypes:
    """The struct tag of the object a field access or designator is on, from the code around it."""

    def __init__(self, parsed: cparse.Parsed, structs: StructTable):
        self.src, self.root, self.structs = parsed.source, parsed.tree.root_node, structs
        self._globals: dict[str, str] | None = None
        self._locals: dict[int, dict[str, str]] = {}

    def _declared(self, scope) -> dict[str, str]:
        """Variables (and parameters) declared anywhere in scope with a struct type: name -> tag."""
        out: dict[str, str] = {}
        for n in _nodes(scope, "declaration", "parameter_declaration"):
            tag = type_tag(n.child_by_field_name("type"), self.src, self.structs.typedefs)
            if not tag:
                continue
            for d in n.children_by_field_name("declarator"):
                name = cparse.declarator_name(d, self.src)
                if name:
                    out.setdefault(name, tag)
        return out

    def _variable(self, fn, name: str) -> str | None:
        """The struct tag of variable name as seen in function fn (None: at top level)."""
        if fn is not None:
            if fn.id not in self._locals:
                self._locals[fn.id] = self._declared(fn)
            if name in self._locals[fn.id]:
                return self._locals[fn.id][name]
        if self._globals is None:
            self._globals = {}
            for item, _chain in cparse.top_level_items(self.root):
                if item.type == "declaration":
                    self._globals.update(self._declared(item))
        return self._globals.get(name)

    def tag_of(self, expr, fn=None) -> str | None:
        """The struct tag of an expression's type (through `->`/`.` it is the same), if known;
        fn: the function definition the expression is in."""
        t = expr.type
        if t == "identifier":
            return self._variable(fn, _text(expr, self.src))
        if t in ("parenthesized_expression", "pointer_expression", "subscript_expression"):
            inner = expr.child_by_field_name("argument") or (expr.named_children[0] if expr.named_children
                                                               else None)
            return self.tag_of(inner, fn) if inner is not None else None
        if t == "field_expression":
            return self.member_tag(expr.child_by_field_name("argument"), expr.child_by_field_name("field"), fn)
        if t == "cast_expression":
            tdesc = expr.child_by_field_name("type")
            return type_tag(tdesc.child_by_field_name("type"), self.src, self.structs.typedefs) \
                if tdesc is not None else None
        return None

    def member_tag(self, obj, member, fn=None) -> str | None:
        owner = self.tag_of(obj, fn) if obj is not None else None
        if owner is None or member is None:
            return None
        found = self.structs.member_types.get(owner, {}).get(_text(member, self.src))
        return self.structs.typedefs.get(found, found) if found else None

    def owner(self, field_node, up=None) -> str | None:
        """The struct tag whose member field_node names, when the code around it tells; up: its
        ancestors as (parent, (grandparent, ...)) when the caller has them (symbols.Use.up)."""
        up = up if up is not None else _ancestors(field_node)
        parent = up[0] if up else None
        if parent is None:
            return None
        if parent.type == "field_expression" and parent.child_by_field_name("field") == field_node:
            fn = next((n for n in _chain(up) if n.type == "function_definition"), None)
            return self.tag_of(parent.child_by_field_name("argument"), fn)
        if parent.type == "field_designator":
            return self._initialized(up[1])
        return None

    def _initialized(self, up) -> str | None:
        """The struct tag an initializer_pair's list initializes (up: the pair and its ancestors)."""
        pair = up[0] if up else None
        if pair is None or pair.type != "initializer_pair" or not up[1]:
            return None
        holder_up = up[1][1]
        holder = holder_up[0] if holder_up else None
        if holder is None:
            return None
        if holder.type == "init_declarator":
            decl = holder_up[1][0] if holder_up[1] else None
            if decl is not None and decl.type == "declaration":
                return type_tag(decl.child_by_field_name("type"), self.src, self.structs.typedefs)
            return None
        if holder.type == "initializer_pair":
            outer = self._initialized(holder_up)
            desig = holder.child_by_field_name("designator")
            if outer and desig is not None and desig.type == "field_designator" and desig.named_children:
                found = self.structs.member_types.get(outer, {}).get(_text(desig.named_children[0], self.src))
                return self.structs.typedefs.get(found, found) if found else None
        return None


def _chain(up):
    while up:
        yield up[0]
        up = up[1]


def _ancestors(node):
    """(parent, (grandparent, ... None)) of node, by tree-sitter's parent lookups."""
    nodes = []
    n = node.parent
    while n is not None:
        nodes.append(n)
        n = n.parent
    up = None
    for n in reversed(nodes):
        up = (n, up)
    return up
