"""porter lint: Linux-only API left in live code.

A name used in live code is fine when the file(s) define it (or a local header they include),
Xen's headers at the ref define it, or C itself does.  Everything else is a finding.
"""
from __future__ import annotations

import re
from pathlib import Path

from .. import cparse
from . import symbols
from .xenindex import XenIndex, xen_index

_LOCAL_INCLUDE = re.compile(rb'^[ \t]*#[ \t]*include[ \t]*"([^"]+)"', re.M)
_SYS_INCLUDE = re.compile(rb"^[ \t]*#[ \t]*include[ \t]*<([^>]+)>", re.M)


def _local_headers(files: dict[str, bytes]) -> dict[str, bytes]:
    """Quoted includes found among the given files or beside them on disk."""
    found: dict[str, bytes] = {}
    by_base = {Path(n).name: n for n in files}
    todo = list(files.items())
    seen = set(files)
    while todo:
        name, src = todo.pop()
        for m in _LOCAL_INCLUDE.finditer(src):
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


def lint_sources(files: dict[str, bytes], index: XenIndex, headers: dict[str, bytes] | None = None) -> list[dict]:
    """Findings for files (name -> bytes) against a Xen index; headers: local headers held in memory."""
    parsed = {n: cparse.parse(s) for n, s in files.items()}
    extra = {**(headers or {}), **_local_headers(files)}
    file_defines: set[str] = set()
    file_fields: set[str] = set()
    for n, s in extra.items():
        syms = symbols.collect(s, live_only=False)
        file_defines |= syms.defines
        file_fields |= syms.fields
    nonname = dict(index.nonname_params)
    for n, s in extra.items():
        nonname.update(symbols.collect(s, live_only=False).nonname_params)
    for n, s in files.items():
        syms = symbols.collect(s, parsed[n], live_only=False, known=index.macro_known,
                               live_defs=True)
        file_defines |= syms.defines
        file_fields |= syms.fields
        nonname.update(syms.nonname_params)

    def known(name: str):
        if name in file_defines:
            return None
        return index.macro_known(name)

    findings = []
    for n, s in files.items():
        syms = symbols.collect(s, parsed[n], known=known)
        seen: dict[str, dict] = {}
        for use in syms.uses:
            name = use.name
            if name in seen:
                seen[name]["count"] += 1
                continue
            if symbols.is_builtin(name) or name in file_defines or index.defines(name):
                continue
            if use.kind == "field" and name in file_fields:
                continue
            if use.arg_of and use.arg_of[1] in nonname.get(use.arg_of[0], ()):
                continue
            seen[name] = {"symbol": name, "file": n, "line": parsed[n].line_of(use.offset),
                          "kind": use.kind, "count": 1}
        dead = symbols.Ranges(symbols.dead_ranges(s, known))
        clean = symbols.blank_comments(s)
        for m in _SYS_INCLUDE.finditer(clean):
            path = m.group(1).decode("utf-8", "replace")
            if m.start() in dead or index.has_header(path):
                continue
            seen.setdefault("<" + path + ">", {"symbol": path, "file": n,
                                                "line": s.count(b"\n", 0, m.start()) + 1,
                                                "kind": "include", "count": 1})
        for f in seen.values():
            if f["kind"] == "include":
                f["message"] = f"#include <{f['symbol']}>: no such header in Xen at {index.ref}"
            else:
                uses = f"{f['count']} use{'s' if f['count'] != 1 else ''}"
                f["message"] = (f"{f['kind']} '{f['symbol']}' is defined neither in the file(s) nor in "
                                f"Xen at {index.ref} ({uses} in live code)")
            del f["count"]
            findings.append(f)
    findings.sort(key=lambda f: (f["file"], f["line"], f["symbol"]))
    return findings


def lint(files: dict[str, bytes], xen_repo, ref: str, index: XenIndex | None = None) -> list[dict]:
    """Library entry: findings [{symbol, file, line, kind, message}] (Xen index cached)."""
    index = index or xen_index(xen_repo, ref)
    return lint_sources(files, index)
