"""What Xen defines at a ref: names from its headers (macros, functions, inline functions,
typedefs, struct/union/enum tags, enumerators, variables), struct fields, and Kconfig options;
per header, what it defines and includes, so that a file's scope is what its includes reach
(`asm/` is the target's, arm; xen/config.h is always in, as Xen's build force-includes it);
and the members of every struct (structs.py).

Read through porter.gitutil from the Xen git repository; cached as JSON keyed by the tree id of
the ref, in the workspace's `.porter/` when run inside one, else `$XDG_CACHE_HOME/porter`, beside
what each header gave (by blob id, one file per tree built), for the next ref that shares it.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import orjson
from tree_sitter import Query, QueryCursor

from .. import cparse, gcpause, gitutil
from ..errors import BadInput
from ..workspace import atomic_write, cache_for, user_cache
from . import structs, symbols

INDEX_VERSION = 7
FORCED = ("xen/config.h",)       # Xen's build passes -include xen/config.h
_INCLUDE = re.compile(rb'#[ \t]*include[ \t]*([<"])([^>"]+)[>"]')     # first on its line: symbols.line_directives
HEADER_ROOTS = ("xen/include/",)
SKIP = ("xen/include/asm-x86/", "xen/include/asm-ia64/", "xen/include/public/arch-x86",
        "xen/include/public/arch-ia64")
_KCONFIG = re.compile(rb"^[ \t]*(?:menu)?config[ \t]+(\w+)", re.M)
_KCONFIG_ENTRY = re.compile(rb"^[ \t]*(?:menu)?config[ \t]+(\w+)[^\n]*\n((?:(?![ \t]*(?:menu)?config[ \t]|"
                            rb"[ \t]*(?:endmenu|menu|choice|endchoice|source|if|endif)\b)[^\n]*\n?)*)", re.M)
_SELECT = re.compile(rb"^[ \t]*(?:select|imply)[ \t]+(\w+)", re.M)


@dataclass
class XenIndex:
    ref: str
    commit: str
    tree: str
    names: frozenset
    fields: frozenset
    kconfig: frozenset
    headers: frozenset = frozenset()
    kconfig_off: frozenset = frozenset()    # options an arm build has off unless asked (no default, unselected)
    nonname_params: dict = field(default_factory=dict)
    header_names: dict = field(default_factory=dict)      # header -> names it defines (and its fields)
    header_includes: dict = field(default_factory=dict)   # header -> headers it includes
    structs: structs.StructTable = field(default_factory=structs.StructTable)
    _scopes: dict = field(default_factory=dict, repr=False, compare=False)

    def defines(self, symbol: str) -> bool:
        """True when Xen's headers at the ref define symbol (any name, or a struct field)."""
        return symbol in self.names or symbol in self.fields

    def has_field(self, name: str) -> bool:
        return name in self.fields

    def has_header(self, path: str) -> bool:
        return path in self.headers

    def resolve(self, spelled: str, beside: str = "") -> str | None:
        """The header an include names (<asm/x.h> is the arm one; "x.h" is beside `beside`)."""
        cands = [os.path.normpath(str(Path(beside).parent / spelled))] if beside else []
        cands.append("asm-arm/" + spelled[4:] if spelled.startswith("asm/") else spelled)
        return next((c for c in cands if c in self.header_names), None)

    def scope(self, includes: tuple[str, ...]) -> frozenset:
        """Names (and fields) reachable from these includes, transitively, with xen/config.h."""
        key = tuple(sorted(set(includes)))
        if key not in self._scopes:
            todo = [h for h in (*FORCED, *key) if h in self.header_names]
            seen: set[str] = set(todo)
            names: set[str] = set()
            while todo:
                h = todo.pop()
                names.update(self.header_names[h])
                for inc in self.header_includes.get(h, ()):
                    if inc not in seen:
                        seen.add(inc)
                        todo.append(inc)
            self._scopes[key] = frozenset(names)
        return self._scopes[key]

    def headers_defining(self, name: str) -> list[str]:
        """Headers that define name, as code includes them, the most general first."""
        if "_homes" not in self._scopes:
            homes: dict[str, list[str]] = {}
            for h, names in sorted(self.header_names.items()):
                for n in names:
                    homes.setdefault(n, []).append(h)
            self._scopes["_homes"] = homes
        found = self._scopes["_homes"].get(name, [])
        spelled = ["asm/" + h[len("asm-arm/"):] if h.startswith("asm-arm/") else h for h in found]
        return sorted(spelled, key=lambda h: (h.count("/"), not h.startswith("xen/"), h))

    def default_config_known(self, name: str) -> bool | None:
        """Like macro_known, and an option off in a default arm build is known undefined."""
        if name.startswith("CONFIG_") and name[7:] in self.kconfig_off:
            return False
        return self.macro_known(name)

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
    return user_cache() / "xen-index"


def _read_blobs(repo, shas: list[str]) -> dict[str, bytes]:
    return {sha: got[2] for sha, got in zip(shas, gitutil.read_objects(repo, shas)) if got is not None}


# what a header is read for, in one query: the names it defines, its structs, and its statements
# that are a call (at top level, a macro invocation that may make names)
_HEADER_PATTERNS = (symbols.DEFINITION_PATTERNS + structs.PARTS_PATTERN
                    + "\n(expression_statement (call_expression)) @call_statement\n")
_DEFINE = re.compile(rb"#[ \t]*define[ \t]+(\w+)")


@functools.lru_cache(maxsize=1)
def _header_query() -> Query:
    return Query(cparse.C_LANGUAGE, _HEADER_PATTERNS)


def _invocation_names(src: bytes, statements, root) -> set[str]:
    """Names made by macro invocations at top level: build_atomic_read(read_u32_atomic, ...)."""
    names = set()
    for item in statements:
        call = item.named_child(0)
        if call.type == "call_expression" and cparse.is_top_level_item(item, root):
            args = call.child_by_field_name("arguments")
            for a in (args.named_children if args is not None else ()):
                if a.type == "identifier":
                    names.add(src[a.start_byte:a.end_byte].decode("utf-8", "replace"))
    return names


def _read_header(src: bytes):
    """(names, fields, nonname params, spelled includes, struct table) of one header."""
    parsed = cparse.parse(src)
    root = parsed.tree.root_node
    found = QueryCursor(_header_query()).captures(root)
    syms = symbols.collect(src, parsed, live_only=False, uses=False, many=found)
    names = syms.defines | _invocation_names(src, found.get("call_statement", ()), root)
    # #define lines the parse may have missed (inside broken regions)
    names.update({m.group(1).decode() for _, m in symbols.line_directives(_DEFINE, src)})
    incs = [(m.group(1).decode(), m.group(2).decode())
            for _, m in symbols.line_directives(_INCLUDE, symbols.blank_comments(src))]
    table = structs.table(parsed, found=found)
    return names, syms.fields, syms.nonname_params, incs, table


def _reading(src: bytes) -> bytes:
    """_read_header of src as the store keeps it (JSON), which is also what a worker sends back."""
    n, f, nonname, incs, tab = _read_header(src)
    return orjson.dumps({"names": sorted(n), "fields": sorted(f), "nonname": nonname, "incs": incs,
                         "structs": tab.to_json()})


def _from_reading(doc: dict):
    """What _read_header gave, from its _reading (loaded)."""
    return (set(doc["names"]), set(doc["fields"]), doc["nonname"], [tuple(i) for i in doc["incs"]],
            structs.StructTable.from_json(doc["structs"]))


def _readings(sources: list[bytes]) -> list[bytes]:
    """_reading of each source, in order: when there are enough of them, a share on each other
    core by a forked copy of this process (which holds the sources already), the rest here."""
    cores = min(os.cpu_count() or 1, 8)
    if cores < 2 or len(sources) < 64 or not hasattr(os, "fork"):
        return [_reading(s) for s in sources]
    _header_query()       # compiled once, here: the children inherit it
    by_size = sorted(range(len(sources)), key=lambda i: -len(sources[i]))
    shares = [by_size[k::cores] for k in range(cores)]
    out: list = [None] * len(sources)
    children = []
    try:
        for share in shares[1:]:
            try:
                children.append((share, *_fork_reader([sources[i] for i in share])))
            except OSError:          # no process to be had: its share is read here
                shares[0] += share
        for i in shares[0]:
            out[i] = _reading(sources[i])
        while children:
            share, pid, pipe = children.pop()
            docs = _received(pid, pipe)
            if len(docs) != len(share):        # the child failed: its share is read here
                docs = [_reading(sources[i]) for i in share]
            for i, doc in zip(share, docs):
                out[i] = doc
    finally:
        for _, pid, pipe in children:      # left by an error here: their writes fail, they end
            os.close(pipe)
            os.waitpid(pid, 0)
    return out


def _fork_reader(sources: list[bytes]) -> tuple[int, int]:
    """(pid, read end of its pipe) of a child process that sends the _reading of each source, a
    line each (orjson writes no newline)."""
    r, w = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(r)
        os.close(w)
        raise
    if pid:
        os.close(w)
        return pid, r
    code = 1
    try:
        os.close(r)
        with os.fdopen(w, "wb") as f:
            f.write(b"\n".join(_reading(s) for s in sources))
        code = 0
    finally:
        os._exit(code)       # nothing of the parent's (atexit, open files, its caller) runs here


def _received(pid: int, pipe: int) -> list[bytes]:
    """What a _fork_reader child sent, a line each; [] when it failed.  Its pipe is closed and
    the child reaped."""
    try:
        with os.fdopen(pipe, "rb") as f:
            sent = f.read()
    finally:
        status = os.waitpid(pid, 0)[1]
    return sent.split(b"\n") if status == 0 else []


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """What porter's reading of C depends on besides the text (the key of every cache of what it
    read: headers, names, lint findings): the code that reads it."""
    here = Path(__file__).parent
    h = hashlib.sha256()
    for f in (here.parent / "cparse.py", here / "symbols.py", here / "structs.py", here / "xenindex.py",
              here / "lint.py"):
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _read_headers_kept(repo, shas: list[str], store: Path | None, tree: str) -> list:
    """_read_header of each blob, read from store (a folder per version of the code reading
    headers; in it, per tree built, the readings no earlier build kept, by blob id: a header is
    read once, whatever refs share it) or computed and kept there."""
    kept: dict = {}
    for pack in sorted(store.glob("*.json")) if store is not None else ():
        try:
            kept.update(orjson.loads(pack.read_bytes()))
        except (OSError, ValueError, TypeError):
            pass          # what cannot be read is read again from the blobs
    read: dict = {}
    for sha in set(shas) & kept.keys():
        try:
            read[sha] = _from_reading(kept[sha])
        except (KeyError, TypeError, ValueError):
            pass
    todo = sorted(set(shas) - read.keys())
    blobs = _read_blobs(repo, todo)
    docs = _readings([blobs.get(sha, b"") for sha in todo])
    for sha, doc in zip(todo, docs):
        read[sha] = _from_reading(orjson.loads(doc))
    new = [b'"%s":%s' % (sha.encode(), doc) for sha, doc in zip(todo, docs) if sha in blobs]
    if store is not None and new:
        try:
            atomic_write(store / f"{tree}.json", b"{" + b",".join(new) + b"}")
        except OSError:
            pass           # a read-only cache only costs time
    return [read[sha] for sha in shas]


def _off_by_default(kconfigs: list[bytes], defconfigs: list[bytes]) -> frozenset:
    """Options no arm build turns on by itself: no default, selected by nothing, in no defconfig."""
    on: set[str] = set()
    entries: dict[str, bytes] = {}
    for text in kconfigs:
        on |= {m.group(1).decode() for m in _SELECT.finditer(text)}
        for m in _KCONFIG_ENTRY.finditer(text):
            entries[m.group(1).decode()] = entries.get(m.group(1).decode(), b"") + m.group(2)
    for text in defconfigs:
        on |= {m.group(1).decode() for m in re.finditer(rb"^CONFIG_(\w+)=[ym]", text, re.M)}
    off = set()
    for name, body in entries.items():
        defaults = re.findall(rb"^[ \t]*(?:default|def_bool|def_tristate)[ \t]+(\S+)", body, re.M)
        if name not in on and all(d == b"n" for d in defaults):
            off.add(name)
    return frozenset(off)


@gcpause.paused()
def build(repo, commit: str, tree: str, ref: str, store: Path | None = None) -> XenIndex:
    files = gitutil.ls_tree(repo, commit)
    headers = {p: s for p, s in files.items()
               if p.startswith(HEADER_ROOTS) and p.endswith(".h") and not p.startswith(SKIP)}
    kconfigs = {p: s for p, s in files.items() if p.rsplit("/", 1)[-1].startswith("Kconfig")}
    defconfigs = [s for p, s in files.items() if p.startswith("xen/arch/arm/configs/")]
    blobs = _read_blobs(repo, sorted(set(kconfigs.values()) | set(defconfigs)))
    names: set[str] = set()
    fields: set[str] = set()
    nonname: dict = {}
    per_header: dict[str, list[str]] = {}
    spelled_includes: dict[str, list[tuple[str, str]]] = {}
    table = structs.StructTable()
    ordered = sorted(headers.items())
    for path, (n, f, nn, incs, tab) in zip((p for p, _ in ordered),
                                           _read_headers_kept(repo, [sha for _, sha in ordered], store, tree)):
        names |= n
        fields |= f
        nonname.update(nn)
        rel = path[len("xen/include/"):]
        per_header[rel] = sorted(n | f)
        spelled_includes[rel] = incs
        table.update(tab)
    kconfig: set[str] = set()
    for sha in kconfigs.values():
        kconfig |= {m.group(1).decode() for m in _KCONFIG.finditer(blobs.get(sha, b""))}
    arm = {p: s for p, s in kconfigs.items() if not p.startswith("xen/arch/x86/")}
    kconfig_off = _off_by_default([blobs.get(s, b"") for s in arm.values()],
                                  [blobs.get(s, b"") for s in defconfigs])
    # include paths as code spells them: <xen/lib.h>, <asm/io.h>, <public/xen.h>
    spelled = set()
    for p in headers:
        rel = p[len("xen/include/"):]
        spelled.add(rel)
        if rel.startswith("asm-arm/"):
            spelled.add("asm/" + rel[len("asm-arm/"):])
    index = XenIndex(ref, commit, tree, frozenset(names), frozenset(fields), frozenset(kconfig),
                     frozenset(spelled), kconfig_off, nonname, per_header, {}, table)
    for rel, incs in spelled_includes.items():
        found = (index.resolve(inc, rel if quote == '"' else "") for quote, inc in incs)
        index.header_includes[rel] = sorted({h for h in found if h})
    return index


_MEMO: dict[tuple[str, str], XenIndex] = {}


def prune(folder: Path, kinds: tuple[str, ...] = ("headers", "xen")) -> None:
    """Remove what another version of porter's C reading kept in folder (header readings,
    indexes, names): never read again here, their names carrying another code digest."""
    import shutil
    keep = code_digest()
    try:
        entries = list(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        kind, _, rest = entry.name.partition("-")
        if kind not in kinds:
            continue
        stale = not rest.endswith(f"-v{INDEX_VERSION}-{keep}.json") if kind == "xen" else rest != keep
        try:
            if stale and entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            elif stale:
                entry.unlink()
        except OSError:
            pass          # what cannot be removed only takes room


def xen_index(xen_repo, ref: str, cache: Path | None = None) -> XenIndex:
    """The index of what Xen defines at ref (built once per tree id, then read from the cache)."""
    repo = Path(xen_repo)
    try:
        commit = gitutil.resolve(repo, ref, "ref")
    except BadInput:        # asked only now: a process of its own
        if not gitutil.is_git_repo(repo):
            raise BadInput(f"xen {str(xen_repo)!r} is not a git repository") from None
        raise
    tree = gitutil.tree_of(repo, commit)
    key = (str(repo.resolve()), tree)
    if key in _MEMO:
        return _MEMO[key]
    folder = cache or cache_dir()
    path = folder / f"xen-{tree}-v{INDEX_VERSION}-{code_digest()}.json"
    index = None
    if path.is_file():
        try:
            doc = orjson.loads(path.read_bytes())
            index = XenIndex(ref, commit, tree, frozenset(doc["names"]), frozenset(doc["fields"]),
                             frozenset(doc["kconfig"]), frozenset(doc["headers"]),
                             frozenset(doc["kconfig_off"]), doc["nonname_params"], doc["header_names"], doc["header_includes"],
                             structs.StructTable.from_json(doc["structs"]))
        except (ValueError, KeyError, TypeError, OSError):
            index = None
    if index is None:
        prune(folder)
        index = build(repo, commit, tree, ref, folder / f"headers-{code_digest()}")
        doc = {"version": INDEX_VERSION, "tree": tree, "names": sorted(index.names),
               "fields": sorted(index.fields), "kconfig": sorted(index.kconfig),
               "headers": sorted(index.headers), "kconfig_off": sorted(index.kconfig_off),
               "nonname_params": index.nonname_params,
               "header_names": index.header_names, "header_includes": index.header_includes,
               "structs": index.structs.to_json()}
        try:
            atomic_write(path, orjson.dumps(doc))
        except OSError:
            pass   # a read-only cache only costs time
    _MEMO[key] = index
    return index
