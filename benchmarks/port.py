"""Benchmark porter port and porter lint on the real inputs (PORTER_REAL, default /work/real).

Prints: rule-application time of `porter port` on the verbatim ipmmu-vmsa.c (goal < 0.15 s),
the whole port, lint of the three real hand-port files with a cold and a warm Xen index, the
lint counts on the verbatim sources vs the hand port, and how many of the functions the hand
port keeps live stay live in porter's port.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from porter.linux_to_xen import lint, port_source, xenindex
from porter.linux_to_xen.port import Provenance, live_functions

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c")


def show(repo: Path, ref: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "show", f"{ref}:{path}"], check=True,
                          capture_output=True).stdout


def main() -> int:
    real = Path(os.environ.get("PORTER_REAL", "/work/real"))
    xen, bsp = real / "xen", real / "renesas-bsp"
    if not xen.is_dir() or not bsp.is_dir():
        print(f"no real inputs under {real}: set PORTER_REAL")
        return 2
    tmp = Path(tempfile.mkdtemp(prefix="porter-bench-"))
    os.environ["XDG_CACHE_HOME"] = str(tmp / "cache")
    hand_dir, bsp_dir = tmp / "hand", tmp / "bsp"
    hand_dir.mkdir()
    bsp_dir.mkdir()
    for n in FILES + ("io-pgtable.h",):
        (hand_dir / n).write_bytes(show(xen, "ipmmu_v2", f"xen/drivers/passthrough/arm/{n}"))
        (bsp_dir / n).write_bytes(show(bsp, "rcar-3.5.3", f"drivers/iommu/{n}"))
    hand = {str(hand_dir / n): (hand_dir / n).read_bytes() for n in FILES}
    verbatim = {str(bsp_dir / n): (bsp_dir / n).read_bytes() for n in FILES}

    t = time.perf_counter()
    findings = lint(hand, xen, "base-v2")
    cold = time.perf_counter() - t
    xenindex._MEMO.clear()   # warm: read from the on-disk cache, as a second `porter lint` does
    t = time.perf_counter()
    lint(hand, xen, "base-v2")
    warm = time.perf_counter() - t
    index = xenindex.xen_index(xen, "base-v2")
    vfind = lint(verbatim, xen, "base-v2", index=index)
    print(f"lint hand port (3 files): {len(findings)} findings; cold index {cold:.2f} s, warm {warm:.2f} s")
    print(f"lint verbatim BSP (3 files): {len(vfind)} findings, "
          f"{len({f['symbol'] for f in vfind if f['kind'] != 'include'})} distinct symbols, "
          f"{sum(1 for f in vfind if f['kind'] == 'include')} Linux-only includes")

    total_kept = total_wanted = 0
    for n in FILES:
        src = (bsp_dir / n).read_bytes()
        best = None
        for _ in range(3):
            res = port_source(src, filename=str(bsp_dir / n), index=index,
                              provenance=Provenance(f"drivers/iommu/{n}", str(bsp), "rcar-3.5.3"))
            best = res if best is None or res.timings["rules"] < best.timings["rules"] else best
        wanted = live_functions((hand_dir / n).read_bytes(), index) & live_functions(src, index)
        kept = wanted & live_functions(best.output, index)
        total_kept += len(kept)
        total_wanted += len(wanted)
        tm = best.timings
        lines = src.count(b"\n")
        print(f"port {n} ({lines} lines): "
              f"rules {tm['rules']:.3f} s, compat {tm['compat']:.3f} s, lint loop {tm['lint_loop']:.3f} s, "
              f"total {tm['total']:.3f} s; live functions kept {len(kept)}/{len(wanted)}; "
              f"disabled {len(best.disabled)}; drift {len(best.drift)}; findings {len(best.findings)}")
    print(f"live-function retention vs hand port: {total_kept}/{total_wanted}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
