"""A generic port of one Linux file: packs' rules, then the compat block, then lint-driven disabling.

1. the rules of the packs (and any recipe rules) rewrite what they know;
2. the compat block defines the packs' helpers that the live code still uses and Xen lacks;
3. whatever Linux-only API is still live gets its smallest enclosing unit disabled (a void call
   statement, a struct field, else the function or declaration), until lint is clean;
4. the provenance header says where the code came from.
"""
from __future__ import annotations

import bisect
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from .. import cparse, gcpause, gitutil
from . import engine, symbols
from .lint import Scope, lint_sources, local_headers
from .rules import Anchor, Rule, load_packs, pack_names
from .xenindex import XenIndex

EXACT_ROUNDS = 3
DEFAULT_PACKS = ("includes", "module", "export", "logging", "alloc", "devicetree", "platform",
                 "irq", "locking", "bits", "sizes", "iommu")


@dataclass
class Provenance:
    upstream_path: str = ""
    tree: str = ""
    tag: str = ""
    commit: str = ""
    subject: str = ""


@dataclass
class PortOutcome:
    output: bytes
    disabled: list = field(default_factory=list)
    drift: list = field(default_factory=list)
    findings: list = field(default_factory=list)
    compat: list = field(default_factory=list)
    timings: dict = field(default_factory=dict)
    uncalled: list = field(default_factory=list)   # [{function, line}]: static, nothing live uses them


def detect_provenance(path: Path) -> Provenance:
    """Upstream path, tree, tag and last commit when the file sits in a git work tree."""
    d = path.resolve().parent
    top = gitutil.git_text(d, "rev-parse", "--show-toplevel", check=False).strip()    # "" outside one
    if not top:
        return Provenance(upstream_path=path.name)
    rel = str(path.resolve().relative_to(Path(top).resolve()))
    log = gitutil.git_text(top, "log", "-1", "--format=%H%x00%s", "--", rel, check=False).strip()
    commit, _, subject = log.partition("\0")
    tag = gitutil.git_text(top, "describe", "--tags", "--exact-match", "HEAD", check=False).strip()
    url = gitutil.git_text(top, "config", "--get", "remote.origin.url", check=False).strip()
    return Provenance(rel, url or top, tag, commit, subject)


def _helpers(packs) -> dict:
    out = {}
    for p in packs:
        for h in p.compat:
            out.setdefault(h.name, h)
    return out


def _needed_helpers(output: bytes, helpers: dict, index: XenIndex) -> list:
    syms = symbols.collect(output, known=index.macro_known, live_defs=True)
    defined = syms.defines | syms.fields
    wanted = []
    for use in syms.uses:
        n = use.name
        if n in helpers and n not in defined and not index.defines(n) and n not in wanted:
            wanted.append(n)
    chosen: list[str] = []

    def add(n, depth=0):
        if n in chosen or depth > 20 or n not in helpers:
            return
        for dep in helpers[n].needs:
            if not index.defines(dep) and dep not in defined:
                add(dep, depth + 1)
        chosen.append(n)
    for n in wanted:
        add(n)
    return [helpers[n] for n in chosen if helpers[n].text.strip()]


def add_needed_headers(output: bytes, filename: str, index: XenIndex) -> bytes:
    """Include the Xen header of every Xen name the live code uses that its includes do not reach."""
    scope = Scope({filename: output}, local_headers({filename: output}), index)
    if scope.names is None:
        return output
    syms = symbols.collect(output, known=index.macro_known, live_defs=True)
    own = syms.defines | syms.fields
    wanted: list[str] = []
    for use in syms.uses:
        if use.kind == "field" or use.name in own or symbols.is_builtin(use.name) or scope.has(use.name):
            continue
        homes = index.headers_defining(use.name)
        if homes and homes[0] not in wanted:
            wanted.append(homes[0])
    st = engine._State(output, index.macro_known)
    live = [item for item, chain in st.items() if item.type == "preproc_include"
            and engine._live_chain(st, chain) and not st.is_dead(item.start_byte)
            and st.text(item).split(None, 1)[-1].startswith("<")]
    if not wanted:
        return output
    lines = b"".join(f"#include <{h}>\n".encode() for h in sorted(wanted))
    if not live:
        return lines + output
    at = output.find(b"\n", live[-1].start_byte)
    at = len(output) if at == -1 else at + 1
    return output[:at] + lines + output[at:]


class _Items:
    """The top-level items of a parse but comments, in document order, found by offset (by
    bisection: a port disables units around thousands of offsets in a file of thousands of items)."""

    def __init__(self, parsed: cparse.Parsed):
        self.items = [item for item, _chain in cparse.top_level_items(parsed.tree.root_node)
                      if item.type != "comment"]
        self.starts = [item.start_byte for item in self.items]
        self.disjoint = all(a.end_byte <= b.start_byte for a, b in zip(self.items, self.items[1:]))

    def at(self, off: int):
        """The first item holding off, or None."""
        found = self.items
        if self.disjoint:      # only the last item starting at or before off can hold it
            i = bisect.bisect_right(self.starts, off) - 1
            found = self.items[i:i + 1] if i >= 0 else []
        return next((item for item in found if item.start_byte <= off < item.end_byte), None)


def _unit_name(item, src: bytes) -> str:
    kind, name = cparse.item_identity(item, src)
    if kind == "macro":
        return f"{name}()"
    return f"{kind} {name}".strip()


def _unit_for(parsed: cparse.Parsed, items: _Items, off: int):
    """(start, end, unit name) of the smallest unit worth disabling around off."""
    src = parsed.source
    item = items.at(off)
    if item is not None:
        if item.type == "function_definition":
            name = cparse.declarator_name(item.child_by_field_name("declarator"), src) or "?"
            body = item.child_by_field_name("body")
            node = body.descendant_for_byte_range(off, off) if body is not None else None
            stmt = node
            while stmt is not None and stmt.parent is not None and stmt.parent.id != body.id:
                stmt = stmt.parent
            if stmt is not None and stmt.parent is not None and stmt.type == "expression_statement" \
                    and stmt.named_children and stmt.named_children[0].type == "call_expression" \
                    and not stmt.has_error:
                call = stmt.named_children[0].child_by_field_name("function")
                cname = src[call.start_byte:call.end_byte].decode("utf-8", "replace")
                return stmt.start_byte, stmt.end_byte, f"call {cname}() in function {name}"
            return item.start_byte, item.end_byte, f"function {name}"
        spec = item if item.type.endswith("_specifier") else item.child_by_field_name("type")
        body = spec.child_by_field_name("body") if spec is not None and spec.type in (
            "struct_specifier", "union_specifier") else None
        if body is not None and item.type != "type_definition":
            for fd in body.named_children:
                if fd.type == "field_declaration" and fd.start_byte <= off < fd.end_byte:
                    names = [cparse.declarator_name(d, src) for d in fd.children_by_field_name("declarator")]
                    sname = cparse.item_identity(item, src)[1]
                    return fd.start_byte, fd.end_byte, f"field {sname}.{','.join(filter(None, names))}"
        return item.start_byte, item.end_byte, _unit_name(item, src)
    return None


def _prototypes(parsed: cparse.Parsed, items: _Items) -> dict[str | None, list[tuple[int, int]]]:
    """The declarations that declare one function each, by its name, in document order."""
    out: dict[str | None, list[tuple[int, int]]] = {}
    for item in items.items:
        if item.type != "declaration":
            continue
        decls = item.children_by_field_name("declarator")
        if len(decls) == 1 and _is_function_declarator(decls[0]):
            out.setdefault(cparse.declarator_name(decls[0], parsed.source), []).append(
                (item.start_byte, item.end_byte))
    return out


def _is_function_declarator(node) -> bool:
    while node is not None and node.type == "pointer_declarator":
        node = node.child_by_field_name("declarator")
    return node is not None and node.type == "function_declarator"


def disable_findings(output: bytes, findings: list) -> tuple[bytes, list]:
    """Disable the smallest unit around each finding; [{unit, reason}] for the report."""
    parsed = cparse.parse(output)
    items = _Items(parsed)
    units: dict[tuple[int, int], dict] = {}
    starts = cparse.line_starts(output)
    for f in findings:
        for line in f.get("uses", [f["line"]]):
            u = _unit_for(parsed, items, engine.word_on_line(output, starts, line, f["symbol"]))
            if u is None:
                continue
            s, e, name = u
            entry = units.setdefault((s, e), {"unit": name, "symbols": []})
            if f["symbol"] not in entry["symbols"]:
                entry["symbols"].append(f["symbol"])
    prototypes = _prototypes(parsed, items)
    for name in [e["unit"][len("function "):] for e in units.values() if e["unit"].startswith("function ")]:
        for s, e in prototypes.get(name, ()):     # a prototype left alone: declared, never defined
            units.setdefault((s, e), {"unit": f"declaration {name}", "symbols": [],
                                      "reason": "its definition is disabled"})
    ranges, report = [], []
    for (s, e), entry in sorted(units.items()):
        reason = entry.get("reason") or "uses Linux-only " + ", ".join(entry["symbols"][:6]) + (
            " ..." if len(entry["symbols"]) > 6 else "")
        ranges.append((s, e, reason))
        report.append({"unit": entry["unit"], "reason": reason})
    # keep only outermost ranges (a field inside a struct that is also disabled, ...)
    ranges.sort()
    outer, last = [], -1
    for r in ranges:
        if r[0] >= last:
            outer.append(r)
            last = r[1]
    kept = {(r[0], r[1]) for r in outer}
    report = [x for x, r in zip(report, ranges) if (r[0], r[1]) in kept]
    return engine.disable_ranges(output, outer), report


@gcpause.paused()
def port_source(source: bytes, *, filename: str, index: XenIndex, packs=DEFAULT_PACKS,
                rule_files=(), provenance: Provenance | None = None,
                max_iterations: int = 12, headers: dict[str, bytes] | None = None,
                disable_unused: bool = False) -> PortOutcome:
    """headers: the local headers the file includes, when they are not on disk beside it;
    disable_unused: the rules complete the port (a recipe's Xen glue included), so static
    functions nothing live uses any more are disabled too, not only static variables."""
    t0 = time.perf_counter()
    loaded = load_packs(packs, rule_files)
    rules = [r for p in loaded for r in p.rules]
    pack_list = [p.name for p in loaded]
    xen_version = sorted({p.xen for p in loaded if p.xen}) or ["?"]
    res = engine.apply_rules(source, rules, filename=filename, known=index.macro_known)
    t1 = time.perf_counter()
    out = res.output
    disabled = [{"unit": d["unit"], "reason": d["reason"]} for d in res.disabled]
    # compat block after the include list
    helpers = _helpers(loaded)
    chosen = _needed_helpers(out, helpers, index)
    if chosen:
        has_includes = bool(engine.find(engine._State(out), Rule("x", "insert_template", Anchor("includes"))))
        anchor = Anchor("includes", where="after") if has_includes else Anchor("file", where="start")
        rule = Rule("porter.compat", "insert_template", anchor, template="compat.c.j2",
                    vars={"helpers": chosen, "packs": pack_list, "xen": "/".join(xen_version),
                          "ref": index.ref})
        r2 = engine.apply_rules(out, [rule], filename=filename)
        out = r2.output
        res.drift += r2.drift
    out = add_needed_headers(out, filename, index)
    t2 = time.perf_counter()
    # last resort: disable what still uses Linux-only API
    findings = []
    for n in range(max_iterations):
        # the unit of each finding's first use, round by round; past EXACT_ROUNDS (a name used
        # in many units: one round per unit would make the loop quadratic) every use's unit at once
        findings = lint_sources({filename: out}, index, headers=headers, every_use=n >= EXACT_ROUNDS)
        if not findings:
            break
        new, report = disable_findings(out, findings)
        if new == out:
            break
        out = new
        disabled += report
    for f in findings:
        f.pop("uses", None)
    kinds = ("variable", "function") if disable_unused and not filename.endswith(".h") else ("variable",)
    statics = None     # unused_statics(out), once the loop has read it
    for _ in range(max_iterations):   # disabling a function can leave what only it used unused
        statics = unused_statics(out, index)
        unused = [u for u in statics if u["kind"] in kinds]
        if not unused:     # a static only disabled code used: Xen's -Werror=unused-variable/function
            break
        disabled += [{"unit": f"{'function' if u['kind'] == 'function' else 'declaration'} {u['name']}",
                      "reason": "nothing live uses it"} for u in unused]
        out = engine.disable_ranges(out, [(u["start"], u["end"], "nothing live uses it") for u in unused])
        statics = None
    t3 = time.perf_counter()
    prov = provenance or Provenance(upstream_path=filename)
    rule = Rule("porter.provenance", "insert_template", Anchor("file", where="start"),
                template="provenance.c.j2",
                vars={"upstream_path": prov.upstream_path, "tree": prov.tree, "tag": prov.tag,
                      "commit": prov.commit, "subject": prov.subject, "packs": pack_list,
                      "xen": "/".join(xen_version)})
    final = engine.apply_rules(out, [rule], filename=filename).output
    return PortOutcome(final, disabled, res.drift, findings, [h.name for h in chosen],
                       {"rules": t1 - t0, "compat": t2 - t1, "lint_loop": t3 - t2,
                        "total": time.perf_counter() - t0},
                       [{"function": u["name"], "line": u["line"]}
                        for u in _statics_after_comment(final, out, statics, index) if u["kind"] == "function"])


def _statics_after_comment(final: bytes, out: bytes, statics: list | None, index: XenIndex) -> list[dict]:
    """unused_statics(final), where final is out with lines of comment added among the comments
    that open it (the provenance header), from statics = unused_statics(out) when given: whole
    lines of comment before the first code change no code, only offsets and lines."""
    n = len(final) - len(out)
    k = _common_prefix(final, out)
    if statics is None or n < 0 or final[k + n:] != out[k:] \
            or not (_comment_lines(out[:k]) and _comment_lines(final[:k + n])) \
            or not _same_code_tree(cparse.parse(final), cparse.parse(out)):
        return unused_statics(final, index)
    lines = final[k:k + n].count(b"\n")
    return [{**u, "line": u["line"] + lines, "start": u["start"] + n, "end": u["end"] + n} for u in statics]


_LEADING_COMMENTS = re.compile(r"\(translation_unit(?: \(comment\))*")


def _same_code_tree(a: cparse.Parsed, b: cparse.Parsed) -> bool:
    """Whether two parses of texts that differ in their leading comments have the same nodes
    but for those comments.  Without a parse error, comments (extras) change no parser state;
    error recovery weighs how much text it skips, so there the trees are compared."""
    ra, rb = a.tree.root_node, b.tree.root_node
    if not (ra.has_error or rb.has_error):
        return True
    return _LEADING_COMMENTS.sub("(translation_unit", str(ra), 1) == \
        _LEADING_COMMENTS.sub("(translation_unit", str(rb), 1)


def _common_prefix(a: bytes, b: bytes) -> int:
    lo, hi = 0, min(len(a), len(b))      # a[:lo] == b[:lo]; the longest such prefix is at most hi
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[:mid] == b[:mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _comment_lines(head: bytes) -> bool:
    """Whether head is whole lines of nothing but comments and spaces (no line continued)."""
    return (not head or head.endswith(b"\n")) and b"\\" not in head and not symbols.blank_comments(head).strip()


def unused_statics(source: bytes, index: XenIndex | None = None) -> list[dict]:
    """Live static functions (not inline) and variables nothing else in live code refers to: Xen
    builds with -Werror, so each fails the build (-Wunused-function, -Wunused-variable).
    [{name, kind: function|variable, line, start, end}]"""
    known = index.macro_known if index else None
    dead = symbols.Ranges(symbols.dead_ranges(source, known))
    parsed = cparse.parse(source)
    spans = {}
    for item, _chain in cparse.top_level_items(parsed.tree.root_node):
        if item.start_byte in dead:
            continue
        found = _static_definition(item, source)
        if found:
            spans[found[0]] = (found[1], item.start_byte, item.end_byte)
    used = {u.name for u in symbols.collect(source, parsed, known=known).uses
            if not (u.name in spans and spans[u.name][1] <= u.offset < spans[u.name][2])}
    return [{"name": n, "kind": k, "line": parsed.line_of(s), "start": s, "end": e}
            for n, (k, s, e) in sorted(spans.items(), key=lambda x: x[1][1]) if n not in used]


def _static_definition(item, source: bytes) -> tuple[str, str] | None:
    """(name, function|variable) of a static function definition (not inline) or a static variable."""
    if item.type == "function_definition":
        body = item.child_by_field_name("body")
        head = source[item.start_byte:body.start_byte] if body is not None else b""
        if re.search(rb"\bstatic\b", head) and not re.search(rb"\binline\b", head):
            name = cparse.declarator_name(item.child_by_field_name("declarator"), source)
            return (name, "function") if name else None
        return None
    if item.type != "declaration":
        return None
    decls = item.children_by_field_name("declarator")
    storage = [c for c in item.children if c.type == "storage_class_specifier"]
    if len(decls) != 1 or [source[c.start_byte:c.end_byte] for c in storage] != [b"static"] \
            or _is_function_declarator(decls[0].child_by_field_name("declarator") or decls[0]):
        return None
    name = cparse.declarator_name(decls[0], source)
    return (name, "variable") if name else None


def live_functions(source: bytes, index: XenIndex | None = None) -> set[str]:
    """Names of the function definitions the Xen build compiles."""
    dead = symbols.Ranges(symbols.dead_ranges(source, index.macro_known if index else None))
    parsed = cparse.parse(source)
    out = set()
    for item, _chain in cparse.top_level_items(parsed.tree.root_node):
        if item.type == "function_definition" and item.start_byte not in dead:
            out.add(cparse.declarator_name(item.child_by_field_name("declarator"), source) or "?")
    return out


__all__ = ["port_source", "detect_provenance", "Provenance", "PortOutcome", "live_functions",
           "DEFAULT_PACKS", "pack_names"]
