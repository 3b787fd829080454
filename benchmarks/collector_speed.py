"""CPU time of porter's reading of C: symbols' walk and collect() on the real ipmmu-vmsa.c
(rcar-3.5.3, 1,647 lines), and xenindex's reading of Xen's headers at base-v2 (as a cold index
build reads them, serially).  Best of a few runs each (the machine is shared).

    PORTER_REAL=/work/real python benchmarks/collector_speed.py [--runs 5]
"""
from __future__ import annotations

import argparse
import inspect
import os
import subprocess
import sys
import time
from pathlib import Path

from porter import cparse, gitutil
from porter.linux_to_xen import symbols, xenindex


def best(f, runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.process_time()
        f()
        times.append(time.process_time() - t)
    return min(times)


def forget() -> None:
    for memo in (symbols._RAWS, cparse._PARSES, symbols._BLANKED):
        memo.kept.clear()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    real = Path(os.environ.get("PORTER_REAL", ""))
    if not (real / "xen").is_dir() or not (real / "renesas-bsp").is_dir():
        sys.exit("PORTER_REAL must name the real inputs (renesas-bsp, xen)")
    driver = subprocess.run(["git", "-C", str(real / "renesas-bsp"), "show",
                             "rcar-3.5.3:drivers/iommu/ipmmu-vmsa.c"], capture_output=True, check=True).stdout
    xen = real / "xen"
    files = gitutil.ls_tree(xen, gitutil.resolve(xen, "base-v2", "ref"))
    shas = [s for p, s in sorted(files.items()) if p.startswith(xenindex.HEADER_ROOTS) and p.endswith(".h")
            and not p.startswith(xenindex.SKIP)]
    blobs = xenindex._read_blobs(xen, sorted(set(shas)))
    headers = [blobs[s] for s in shas]
    parsed = cparse.parse(driver)
    parses = [cparse.parse(h) for h in headers]
    many = {"many": True} if "many" in inspect.signature(symbols.collect).parameters else {}   # older porter
    symbols.collect(headers[0], parses[0], live_only=False, uses=False, **many)   # queries compiled

    def collect_driver():
        symbols._RAWS.kept.clear()
        symbols.collect(driver, parsed)

    def read_headers():
        forget()
        for h in headers:
            xenindex._read_header(h)

    rows = [("driver: walk with uses", lambda: symbols._Collector(driver, parsed).run()),
            ("driver: walk, definitions only", lambda: symbols._Collector(driver, parsed, uses=False).run()),
            ("driver: collect()", collect_driver),
            (f"{len(headers)} headers: walk, definitions only",
             lambda: [symbols._Collector(h, p, uses=False).run() for h, p in zip(headers, parses)]),
            (f"{len(headers)} headers: collect(uses=False, many=True)",
             lambda: [symbols._RAWS.kept.clear() or symbols.collect(h, p, live_only=False, uses=False, **many)
                      for h, p in zip(headers, parses)]),
            (f"{len(headers)} headers: xenindex._read_header (parse included)", read_headers)]
    for label, f in rows:
        print(f"{label:55s} {best(f, args.runs) * 1000:8.1f} ms cpu")
    return 0


if __name__ == "__main__":
    sys.exit(main())
