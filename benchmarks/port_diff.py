"""Differential check of `porter port`: the port of every .c/.h file under some directories, as
one digest per file and mode, so that two versions of porter can be compared file by file (a
change meant to be faster must give the same bytes and the same report).

Each file is ported in one process after the other (what a process keeps from one port to the
next must not change the next one), with every generic pack, with them and disable_unused, and
with benchmarks/port_vs_spatch.toml only.

    # a corpus: Linux and Xen C (no checkout needed), e.g.
    git -C $PORTER_REAL/renesas-bsp archive rcar-3.5.3 drivers/iommu | tar -x -C /tmp/corpus/bsp
    # dump with each version (its own python: an editable install imports its own porter)
    /work/main/.venv/bin/python benchmarks/port_diff.py dump --xen $PORTER_REAL/xen /tmp/corpus > /tmp/a.jsonl
    .venv/bin/python benchmarks/port_diff.py dump --xen $PORTER_REAL/xen /tmp/corpus > /tmp/b.jsonl
    python benchmarks/port_diff.py compare /tmp/a.jsonl /tmp/b.jsonl
"""
from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def dump(a) -> int:
    from porter.linux_to_xen import xen_index
    from porter.linux_to_xen.port import DEFAULT_PACKS, Provenance, port_source
    cache = Path(tempfile.mkdtemp(prefix="port-diff-"))
    index = xen_index(a.xen, a.ref, cache=cache)
    modes = {"packs": dict(packs=DEFAULT_PACKS), "unused": dict(packs=DEFAULT_PACKS, disable_unused=True),
             "toml": dict(packs=(), rule_files=[HERE / "port_vs_spatch.toml"])}
    files = sorted(p for d in a.dirs for p in Path(d).rglob("*") if p.suffix in (".c", ".h") and p.is_file())
    total = 0.0
    for path in files:
        src = path.read_bytes()
        for mode, kw in modes.items():
            t0 = time.process_time()
            res = port_source(src, filename=str(path), index=index,
                              provenance=Provenance(upstream_path=path.name), **kw)
            total += time.process_time() - t0
            doc = {"file": str(path), "mode": mode, "sha": hashlib.sha256(res.output).hexdigest(),
                   "disabled": res.disabled, "drift": res.drift, "findings": res.findings,
                   "compat": res.compat, "uncalled": res.uncalled}
            print(json.dumps(doc, sort_keys=True), flush=True)
    print(f"{len(files)} files, {len(modes)} modes: port_source cpu {total:.2f} s", file=sys.stderr)
    return 0


def compare(a) -> int:
    old = [json.loads(line) for line in Path(a.old).read_text().splitlines()]
    new = [json.loads(line) for line in Path(a.new).read_text().splitlines()]
    if [(d["file"], d["mode"]) for d in old] != [(d["file"], d["mode"]) for d in new]:
        print("the two dumps are not of the same files")
        return 1
    bad = [(o, n) for o, n in zip(old, new) if o != n]
    for o, n in bad:
        keys = sorted(k for k in o if o[k] != n.get(k))
        print(f"DIFFERS {o['file']} [{o['mode']}]: {', '.join(keys)}")
    print(f"{len(old)} ports compared, {len(bad)} differ")
    return 1 if bad else 0


def main() -> int:
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("dump")
    d.add_argument("--xen", required=True)
    d.add_argument("--ref", default="base-v2")
    d.add_argument("dirs", nargs="+")
    c = sub.add_parser("compare")
    c.add_argument("old")
    c.add_argument("new")
    a = ap.parse_args()
    return dump(a) if a.cmd == "dump" else compare(a)


if __name__ == "__main__":
    sys.exit(main())
