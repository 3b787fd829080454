"""Static functions and variables that nothing live refers to once Linux-only code is disabled.

Xen builds with -Werror, so a static helper whose only callers were disabled breaks the build;
the port disables it too, saying why.  Headers are left alone: their helpers serve the files that
include them.
"""
from __future__ import annotations

from .. import cparse
from . import symbols

REASON = "unused in Xen: nothing live refers to it"


def _is_static(item, src: bytes) -> bool:
    """static and not inline: the compiler does not warn about an unused static inline."""
    specs = {src[c.start_byte:c.end_byte] for c in item.children
             if c.type in ("storage_class_specifier", "type_qualifier")}
    return b"static" in specs and not specs & {b"inline", b"__inline", b"__inline__"}


def _is_prototype(item) -> bool:
    return item.type == "declaration" and any(
        d.type == "function_declarator" for d in item.children_by_field_name("declarator"))


def unused_statics(src: bytes, known=None) -> list[tuple[int, int, str]]:
    """(start, end, unit) of live static definitions no live code outside them uses."""
    parsed = cparse.parse(src)
    dead = symbols.Ranges(symbols.dead_ranges(src, known))
    uses = symbols.collect(src, parsed, known=known).uses
    found = []
    for item, _chain in cparse.top_level_items(parsed.tree.root_node):
        if item.type not in ("function_definition", "declaration") or item.start_byte in dead \
                or item.has_error or _is_prototype(item) or not _is_static(item, src):
            continue
        text = src[item.start_byte:item.end_byte]
        if b"__used" in text or b"__maybe_unused" in text:
            continue
        kind, names = cparse.item_identity(item, src)
        wanted = set(names.split(","))
        if any(u.name in wanted and not item.start_byte <= u.offset < item.end_byte for u in uses):
            continue
        found.append((item.start_byte, item.end_byte, f"{kind} {names}"))
    return found
