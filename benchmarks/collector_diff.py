"""Differential check of porter's reading of C: what symbols' walk, collect() and xenindex's
header reading make of every .c/.h file under some directories, as one digest per file, so that
two versions of porter can be compared file by file (a change meant to be faster must give the
same answers).

    # a corpus: any directories of C, e.g. Xen at two refs (no checkout needed)
    git -C $PORTER_REAL/xen archive base-v2 xen | tar -x -C /tmp/corpus/base-v2
    # dump with each version (PYTHONPATH picks the porter to test), then compare
    PYTHONPATH=/tmp/base python benchmarks/collector_diff.py dump /tmp/corpus > /tmp/a.txt
    PYTHONPATH=.         python benchmarks/collector_diff.py dump /tmp/corpus > /tmp/b.txt
    python benchmarks/collector_diff.py compare /tmp/a.txt /tmp/b.txt
    # what one file gives, in full (to see a difference)
    python benchmarks/collector_diff.py show /tmp/corpus/some/file.c
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path

from porter import cparse
from porter.linux_to_xen import structs, symbols, xenindex


def _known(name: str):
    """A fixed answer for preprocessor conditions: some CONFIG_ options off, the rest unknown."""
    if name.startswith("CONFIG_"):
        return False if len(name) % 3 == 0 else None
    return None


def _node(n) -> list:
    return [n.type, n.start_byte, n.end_byte]


def _ancestors(use) -> list | None:
    if use.node is None:
        return None if use.up is None else ["up without node"]
    out, up = [_node(use.node)], use.up
    while up:
        out.append(_node(up[0]))
        up = up[1]
    return out


def _use(u) -> list:
    return [u.offset, u.name, u.kind, list(u.arg_of) if u.arg_of else None]


def _raw(src: bytes, parsed, uses: bool) -> dict:
    raw = symbols._Collector(src, parsed, uses=uses).run()
    return {"defs": sorted(list(d) for d in raw.defs),
            "uses": [[at, by_name, *_use(u), _ancestors(u)] for at, u, by_name in raw.uses],
            "nonname": list(raw.nonname_params.items())}


def _syms(s: symbols.FileSymbols) -> dict:
    return {"defines": sorted(s.defines), "fields": sorted(s.fields), "uses": [_use(u) for u in s.uses],
            "nonname": list(s.nonname_params.items())}


def _forget() -> None:
    symbols._RAWS.kept.clear()


def dump_one(src: bytes) -> dict:
    parsed = cparse.parse(src)
    out = {"raw_uses": _raw(src, parsed, True), "raw_defs": _raw(src, parsed, False)}
    _forget()
    out["collect"] = _syms(symbols.collect(src, parsed, known=_known))
    out["collect_all"] = _syms(symbols.collect(src, parsed, known=_known, live_only=False))
    out["collect_live_defs"] = _syms(symbols.collect(src, parsed, known=_known, live_only=False, live_defs=True))
    out["collect_defs_kept"] = _syms(symbols.collect(src, parsed, live_only=False, uses=False))
    _forget()
    out["collect_defs"] = _syms(symbols.collect(src, parsed, live_only=False, uses=False))
    out["collect_defs_live"] = _syms(symbols.collect(src, parsed, known=_known, live_defs=True, uses=False))
    _forget()
    try:       # definitions by tree-sitter's query (a version that has it): as by the walk
        many = _syms(symbols.collect(src, parsed, live_only=False, uses=False, many=True))
    except TypeError:
        many = out["collect_defs"]
    if many != out["collect_defs"]:
        out["collect_defs_many_differs"] = many
    _forget()
    full = symbols.collect(src, parsed, known=_known, live_only=False)
    types = structs.StructTypes(parsed, structs.table(parsed))
    out["owners"] = [[u.offset, types.owner(u.node, u.up)] for u in full.uses if u.node is not None]
    n, f, nonname, incs, tab = xenindex._read_header(src)
    out["header"] = [sorted(n), sorted(f), list(nonname.items()), incs, tab.to_json()]
    return out


def _digest(doc: dict) -> str:
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:20]


def _files(roots: list[str]) -> list[Path]:
    return sorted(p for r in roots for p in Path(r).rglob("*") if p.suffix in (".c", ".h") and p.is_file())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump", help="one line per file: path, digest, sizes")
    d.add_argument("roots", nargs="+")
    s = sub.add_parser("show", help="the full dump of one file, as JSON")
    s.add_argument("file")
    c = sub.add_parser("compare", help="compare two dumps")
    c.add_argument("a")
    c.add_argument("b")
    args = ap.parse_args(argv)
    if args.cmd == "show":
        print(json.dumps(dump_one(Path(args.file).read_bytes()), indent=1, sort_keys=True))
        return 0
    if args.cmd == "dump":
        for p in _files(args.roots):
            src = p.read_bytes()
            doc = dump_one(src)
            print(f"{p}\t{_digest(doc)}\t{len(src)}\t{len(doc['raw_uses']['uses'])}\t{len(doc['raw_uses']['defs'])}",
                  flush=True)
        return 0
    a = dict(line.split("\t", 2)[:2] for line in Path(args.a).read_text().splitlines())
    b = dict(line.split("\t", 2)[:2] for line in Path(args.b).read_text().splitlines())
    differ = sorted(p for p in a.keys() & b.keys() if a[p] != b[p])
    missing = sorted(a.keys() ^ b.keys())
    for p in differ:
        print("differs:", p)
    for p in missing:
        print("only in one dump:", p)
    print(f"{len(a.keys() & b.keys())} files compared, {len(differ)} differ, {len(missing)} in one dump only")
    return 1 if differ or missing else 0


if __name__ == "__main__":
    sys.exit(main())
