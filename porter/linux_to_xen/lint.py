"""porter lint: Linux-only API left in live code.

A name used in live code is fine when the file(s) define it (or a local header they include),
C itself does, or a Xen header the file reaches through its includes defines it (transitively,
with xen/config.h, which Xen's build force-includes); code under a Kconfig option a default arm
build leaves off (no default, selected by nothing, in no defconfig) is not live.  While a file still includes headers Xen
does not have (each one a finding), any name Xen's headers define counts.  A member access whose
struct the code names (a variable, parameter or member of known struct type, a cast, a designated
initializer) is checked against that struct's members.  Everything else is a finding.
"""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache
from pathlib import Path

from .. import cparse, gcpause
from . import structs, symbols
from .xenindex import XenIndex, xen_index

_LOCAL_INCLUDE = re.compile(rb'#[ \t]*include[ \t]*"([^"]+)"')     # at a line's start: symbols.line_directives
_SYS_INCLUDE = re.compile(rb"#[ \t]*include[ \t]*<([^>]+)>")


def local_headers(files: dict[str, bytes]) -> dict[str, bytes]:
    """Quoted includes found among the given files or beside them on disk."""
    found: dict[str, bytes] = {}
    by_base = {Path(n).name: n for n in files}
    todo = list(files.items())
    seen = set(files)
    while todo:
        name, src = todo.pop()
        for _line, m in symbols.line_directives(_LOCAL_INCLUDE, src):
            inc = m.group(1).decode("utf-8", "replace")
            if inc in by_base or inc in seen:
                continue
            cand = Path(name).parent / inc
            try:
                if cand.is_file():
                    data = cand.read_bytes()
                    key = str(cand)
                    if key not in seen:
                        seen.add(key)
                        found[key] = data
                        todo.append((key, data))
            except OSError:
                continue
    return found


_INCLUDES: dict = {}


def _includes(src: bytes, known) -> tuple[list[str], list[str]]:
    """(system, quoted) includes of src's live code (remembered per text: a resync asks for the
    same file's scope once per unit it lints)."""
    owner = getattr(known, "__self__", known)
    key = (hashlib.sha1(src).digest(), id(owner))
    if key not in _INCLUDES:
        if len(_INCLUDES) > 64:
            _INCLUDES.clear()
        # the entry keeps its index alive: while it is kept, no other index can have that id
        _INCLUDES[key] = (owner, _includes_uncached(src, known))
    return _INCLUDES[key][1]


def _includes_uncached(src: bytes, known) -> tuple[list[str], list[str]]:
    dead = symbols.Ranges(symbols.dead_ranges(src, known))
    clean = symbols.blank_comments(src)
    system = [m.group(1).decode("utf-8", "replace") for line, m in symbols.line_directives(_SYS_INCLUDE, clean)
              if line not in dead]
    quoted = [m.group(1).decode("utf-8", "replace") for line, m in symbols.line_directives(_LOCAL_INCLUDE, clean)
              if line not in dead]
    return system, quoted


class Scope:
    """What the given files may use from Xen: the names their includes reach, or (while a Linux
    header is still included) any name Xen's headers define."""

    def __init__(self, files: dict[str, bytes], extra: dict[str, bytes], index: XenIndex):
        local = {Path(n).name for n in [*files, *extra]}
        reached: list[str] = []
        strict = bool(index.header_names) and bool(files)     # no file to read includes from: any
        for src in [*files.values(), *extra.values()]:
            system, quoted = _includes(src, index.default_config_known)
            for inc in system:
                h = index.resolve(inc)
                strict = strict and h is not None
                reached += [h] if h else []
            for inc in quoted:       # one not found beside the file counts for nothing
                h = index.resolve(inc) if Path(inc).name not in local else None
                reached += [h] if h else []
        self.index = index
        self.names = index.scope(tuple(reached)) if strict else None

    def has(self, name: str) -> bool:
        return self.index.defines(name) if self.names is None else name in self.names


def _own_definitions(files, extra, parsed, index):
    defines: set[str] = set()
    fields: set[str] = set()
    nonname = dict(index.nonname_params)
    table = structs.StructTable()
    for s in extra.values():
        h_defines, h_fields, h_nonname, h_table = _header_definitions(s, index.default_config_known)
        defines |= h_defines
        fields |= h_fields
        nonname.update(h_nonname)
        table.update(h_table)
    for n, s in files.items():     # uses too: the walk is remembered for file_findings
        syms = symbols.collect(s, parsed[n], known=index.default_config_known, live_defs=True)
        defines |= syms.defines
        fields |= syms.fields
        nonname.update(syms.nonname_params)
        table.update(structs.table(parsed[n], symbols.dead_ranges(s, index.default_config_known),
                                   structs.found_in(syms.struct_parts)))
    return defines, fields, nonname, table


@lru_cache(maxsize=16)
def _header_definitions(src: bytes, known) -> tuple[set, set, dict, structs.StructTable]:
    """What a local header defines (anywhere) and its structs, to be read, not changed (kept:
    each round of port's disable loop lints again a file that includes the same headers)."""
    p = cparse.parse(src)
    syms = symbols.collect(src, p, live_only=False, uses=False)
    return syms.defines, syms.fields, syms.nonname_params, structs.table(p, symbols.dead_ranges(src, known))


def _member_of(use, types: structs.StructTypes, tables: tuple[structs.StructTable, ...]) -> str | None:
    """The struct a member use is on, when known and defined (so the member can be checked)."""
    if use.node is None:      # not a field_identifier of the parse (a name in a macro body)
        return None
    tag = types.owner(use.node, use.up)
    return tag if tag and any(tag in t.members for t in tables) else None


class _Checker:
    """Whether each use in one set of files is Linux-only, and why."""

    def __init__(self, files: dict[str, bytes], index: XenIndex, scope_files: dict[str, bytes] | None,
                 headers: dict[str, bytes] | None = None):
        self.index = index
        self.parsed = {n: cparse.parse(s) for n, s in files.items()}
        extra = {**(headers or {}), **local_headers(files)}
        self.defines, self.fields, self.nonname, self.own_structs = \
            _own_definitions(files, extra, self.parsed, index)
        self.scope = Scope(files, extra, index) if scope_files is None else \
            Scope(scope_files, local_headers(scope_files), index)
        self.structs = self.own_structs.joined(index.structs)

    def known(self, name: str):
        return None if name in self.defines else self.index.default_config_known(name)

    def problem(self, use, types: structs.StructTypes) -> dict | None:
        """None when the use is fine, else the finding's kind (and the struct it is not in)."""
        name = use.name
        if symbols.is_builtin(name):
            return None
        if use.arg_of and (symbols.ignores_arg(self.nonname.get(use.arg_of[0], ()), use.arg_of[1])
                           or name.startswith("CONFIG_")):
            return None     # an argument the macro never uses as a name; a Kconfig option
        owner = _member_of(use, types, (self.own_structs, self.index.structs)) \
            if use.kind == "field" else None
        if owner is not None:
            return None if name in self.structs.members.get(owner, ()) else {"kind": "field", "struct": owner}
        if name in self.defines or self.scope.has(name) or (use.kind == "field" and name in self.fields):
            return None
        return {"kind": use.kind}

    def file_findings(self, n: str, s: bytes, every_use: bool = False) -> list[dict]:
        parsed = self.parsed[n]
        types = structs.StructTypes(parsed, self.structs)
        seen: dict[str, dict] = {}
        for use in symbols.collect(s, parsed, known=self.known).uses:
            if use.name in seen:
                seen[use.name]["count"] += 1
                if every_use:
                    seen[use.name]["uses"].append(parsed.line_of(use.offset))
                continue
            bad = self.problem(use, types)
            if bad is not None:
                line = parsed.line_of(use.offset)
                seen[use.name] = {"symbol": use.name, "file": n, "line": line, "count": 1, **bad}
                if every_use:
                    seen[use.name]["uses"] = [line]
        dead = symbols.Ranges(symbols.dead_ranges(s, self.known))
        for start, m in symbols.line_directives(_SYS_INCLUDE, symbols.blank_comments(s)):
            path = m.group(1).decode("utf-8", "replace")
            if start not in dead and not self.index.has_header(path):
                line = parsed.line_of(start)
                f = seen.setdefault("<" + path + ">", {"symbol": path, "file": n, "line": line,
                                                       "kind": "include", "count": 1})
                if every_use:      # each copy of the include is a use: one round disables them all
                    f.setdefault("uses", []).append(line)
        return [_message(f, self.index) for f in seen.values()]


@gcpause.paused()
def lint_sources(files: dict[str, bytes], index: XenIndex,
                 scope_files: dict[str, bytes] | None = None,
                 headers: dict[str, bytes] | None = None, every_use: bool = False) -> list[dict]:
    """Findings for files (name -> bytes) against a Xen index; scope_files, when given, are the
    files whose includes decide what Xen names are in scope (a unit linted on its own); headers,
    the local headers the files include when they are held in memory, not on disk beside them.
    every_use: each finding also lists the line of every use it counts ("uses")."""
    checker = _Checker(files, index, scope_files, headers)
    findings = [f for n, s in files.items() for f in checker.file_findings(n, s, every_use)]
    findings.sort(key=lambda f: (f["file"], f["line"], f["symbol"]))
    return findings


def _message(f: dict, index: XenIndex) -> dict:
    count = f.pop("count")
    owner = f.pop("struct", None)
    if f["kind"] == "include":
        f["message"] = f"#include <{f['symbol']}>: no such header in Xen at {index.ref}"
    elif owner is not None:
        f["message"] = (f"field '{f['symbol']}' is not a member of struct {owner} "
                        f"({count} use{'s' if count != 1 else ''} in live code)")
    else:
        uses = f"{count} use{'s' if count != 1 else ''}"
        f["message"] = (f"{f['kind']} '{f['symbol']}' is defined neither in the file(s) nor in the "
                        f"Xen headers they include at {index.ref} ({uses} in live code)")
    return f


def lint(files: dict[str, bytes], xen_repo, ref: str, index: XenIndex | None = None) -> list[dict]:
    """Library entry: findings [{symbol, file, line, kind, message}] (Xen index cached)."""
    index = index or xen_index(xen_repo, ref)
    return lint_sources(files, index)
