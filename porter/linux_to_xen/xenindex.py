"""What Xen defines at a ref: names from its headers (macros, functions, inline functions,
typedefs, struct/union/enum tags, enumerators, variables), struct fields, and Kconfig options.

Read through porter.gitutil from the Xen git repository; cached as JSON keyed by the tree id of
the ref, in the workspace's `.porter/` when run inside one, else `$XDG_CACHE_HOME/porter`.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from .. import cparse, gitutil
from ..errors import BadInput
from ..workspace import atomic_write, cache_for
from . import symbols

INDEX_VERSION = 5
HEADER_ROOTS = ("xen/include/",)
SKIP = ("xen/include/asm-x86/", "xen/include/asm-ia64/", "xen/include/public/arch-x86",
        "xen/include/public/arch-ia64")
_KCONFIG = re.compile(rb"^[ \t]*(?:menu)?config[ \t]+(\w+)", re.M)


@dataclass
class XenIndex:
    ref: str
    commit: str
    tree: str
    names: frozenset
    fields: frozenset
    kconfig: frozenset
    headers: frozenset = frozenset()
    nonname_params: dict = field(default_factory=dict)

    def defines(self, symbol: str) -> bool:
        """True when Xen's headers at the ref define symbol (any name, or a struct field)."""
        return symbol in self.names or symbol in self.fields

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def has_header(self, path: str) -> bool:
        return path in self.headers

    def macro_known(self, name: str) -> bool | None:
        """For preprocessor conditions: a CONFIG_ option Xen lacks is known undefined."""
        if name.startswith("CONFIG_"):
            if name[7:] in self.kconfig or name in self.names:
                return None
            return False
        return None


def cache_dir(start: Path | None = None) -> Path:
    """The workspace's .porter/ when inside one, else $XDG_CACHE_HOME/porter."""
    cache = cache_for(start or Path.cwd())
    if cache:
        return cache / "xen-index"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "porter" / "xen-index"


def _read_blobs(repo, shas: list[str]) -> dict[str, bytes]:
    if not shas:
        return {}
    out = gitutil.git(repo, "cat-file", "--batch", input=("\n".join(shas) + "\n").encode())
    blobs, pos = {}, 0
    for sha in shas:
        nl = out.index(b"\n", pos)
        head = out[pos:nl].split()
        if len(head) < 3 or head[1] == b"missing":
            pos = nl + 1
            continue
        size = int(head[2])
        blobs[sha] = out[nl + 1:nl + 1 + size]
        pos = nl + 1 + size + 1
    return blobs


def _header_names(src: bytes, nonname: dict) -> tuple[set[str], set[str]]:
    parsed = cparse.parse(src)
    syms = symbols.collect(src, parsed, live_only=False)
    names, fields = set(syms.defines), set(syms.fields)
    nonname.update(syms.nonname_params)
    # names made by macro invocations at top level: build_atomic_read(read_u32_atomic, ...)
    for item, _chain in cparse.top_level_items(parsed.tree.root_node):
        if item.type == "expression_statement" and item.named_children \
                and item.named_children[0].type == "call_expression":
            args = item.named_children[0].child_by_field_name("arguments")
            for a in (args.named_children if args is not None else ()):
                if a.type == "identifier":
                    names.add(src[a.start_byte:a.end_byte].decode("utf-8", "replace"))
    # #define lines the parse may have missed (inside broken regions)
    for m in re.finditer(rb"^[ \t]*#[ \t]*define[ \t]+(\w+)", src, re.M):
        names.add(m.group(1).decode())
    return names, fields


def build(repo, commit: str, tree: str, ref: str) -> XenIndex:
    files = gitutil.ls_tree(repo, commit)
    headers = {p: s for p, s in files.items()
               if p.startswith(HEADER_ROOTS) and p.endswith(".h") and not p.startswith(SKIP)}
    kconfigs = {p: s for p, s in files.items() if p.rsplit("/", 1)[-1].startswith("Kconfig")}
    blobs = _read_blobs(repo, sorted(set(headers.values()) | set(kconfigs.values())))
    names: set[str] = set()
    fields: set[str] = set()
    nonname: dict = {}
    for path, sha in sorted(headers.items()):
        n, f = _header_names(blobs.get(sha, b""), nonname)
        names |= n
        fields |= f
    kconfig: set[str] = set()
    for sha in kconfigs.values():
        kconfig |= {m.group(1).decode() for m in _KCONFIG.finditer(blobs.get(sha, b""))}
    # include paths as code spells them: <xen/lib.h>, <asm/io.h>, <public/xen.h>
    spelled = set()
    for p in headers:
        rel = p[len("xen/include/"):]
        spelled.add(rel)
        if rel.startswith("asm-arm/"):
            spelled.add("asm/" + rel[len("asm-arm/"):])
    return XenIndex(ref, commit, tree, frozenset(names), frozenset(fields), frozenset(kconfig),
                    frozenset(spelled), nonname)


_MEMO: dict[tuple[str, str], XenIndex] = {}


def xen_index(xen_repo, ref: str, cache: Path | None = None) -> XenIndex:
    """The index of what Xen defines at ref (built once per tree id, then read from the cache)."""
    repo = Path(xen_repo)
    if not gitutil.is_git_repo(repo):
        raise BadInput(f"xen {str(xen_repo)!r} is not a git repository")
    commit = gitutil.resolve(repo, ref, "ref")
    tree = gitutil.git_text(repo, "rev-parse", f"{commit}^{{tree}}").strip()
    key = (str(repo.resolve()), tree)
    if key in _MEMO:
        return _MEMO[key]
    path = (cache or cache_dir()) / f"xen-{tree}-v{INDEX_VERSION}.json"
    index = None
    if path.is_file():
        try:
            doc = json.loads(path.read_text("utf-8"))
            index = XenIndex(ref, commit, tree, frozenset(doc["names"]), frozenset(doc["fields"]),
                             frozenset(doc["kconfig"]), frozenset(doc["headers"]),
                             doc["nonname_params"])
        except (ValueError, KeyError, OSError):
            index = None
    if index is None:
        index = build(repo, commit, tree, ref)
        doc = {"version": INDEX_VERSION, "tree": tree, "names": sorted(index.names),
               "fields": sorted(index.fields), "kconfig": sorted(index.kconfig),
               "headers": sorted(index.headers), "nonname_params": index.nonname_params}
        try:
            atomic_write(path, json.dumps(doc).encode())
        except OSError:
            pass   # a read-only cache only costs time
    _MEMO[key] = index
    return index
