#!/usr/bin/env python3
"""Issue 14 benchmark: the shipped ipmmu-vmsa recipe on the real trees.

A workspace from the recipe, a cold resync from rcar-3.5.3, then warm ones (the Xen header index,
the git caches and the port cache exist) against `git am` of the revision in a checked-out clone
(goal: within 3x), and `porter validate` of the revision warm (goal: within 2 s). Wall clock and
CPU seconds (this process and its children: what a machine shared with other jobs does not skew).

    PORTER_REAL=/work/real python benchmarks/shipped_recipe.py [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from porter import workspace  # noqa: E402
from porter.resync import resync  # noqa: E402
from porter.validate import validate_sources  # noqa: E402

BSP_URL = "https://github.com/renesas-rcar/linux-bsp.git"
ARM = "xen/drivers/passthrough/arm"
PORTED = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h")


def clock() -> tuple[float, float]:
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.monotonic(), time.process_time() + children.ru_utime + children.ru_stime


def since(start: tuple[float, float]) -> dict:
    now = clock()
    return {"wall": round(now[0] - start[0], 3), "cpu": round(now[1] - start[1], 3)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    real = Path(os.environ.get("PORTER_REAL", ""))
    if not (real / "renesas-bsp").is_dir():
        print("set PORTER_REAL to the real fixtures", file=sys.stderr)
        return 2
    out: dict = {}
    with tempfile.TemporaryDirectory(prefix="porter-bench-") as tmp:
        root = Path(tmp) / "ws"
        ws = workspace.init(root, None, str(real / "renesas-bsp"), str(real / "xen"), "base-v2",
                            public_url=BSP_URL, recipe="ipmmu-vmsa")
        start = clock()
        resync(ws, "rcar-3.5.3")
        out["resync_cold"] = since(start)
        warm = []
        for _ in range(args.runs):
            start = clock()
            resync(ws, "rcar-3.5.3")
            warm.append(since(start))
        out["resync_warm"] = min(warm, key=lambda t: t["wall"])
        patches = sorted(p for p in (ws.series_dir / "v1").glob("*.patch") if not p.name.startswith("0000-"))
        am = []
        for i in range(args.runs):
            tree = Path(tmp) / f"am{i}"
            subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(real / "xen"), str(tree)],
                           check=True)
            subprocess.run(["git", "-C", str(tree), "checkout", "-q", "--detach", "base-v2"], check=True)
            start = clock()
            subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.org", "-C", str(tree),
                            "am", "-q", *map(str, patches)], check=True, capture_output=True)
            am.append(since(start))
        out["git_am"] = min(am, key=lambda t: t["wall"])
        out["resync_over_am"] = {k: round(out["resync_warm"][k] / max(out["git_am"][k], 1e-3), 2)
                                 for k in ("wall", "cpu")}
        src = Path(tmp) / "src"
        src.mkdir()
        for name in PORTED:
            src.joinpath(name).write_bytes(subprocess.run(
                ["git", "-C", str(ws.xen_git), "show", f"refs/porter/{ws.name}/last:{ARM}/{name}"],
                capture_output=True, check=True).stdout)
        validate_sources(src, cache=ws.cache / "validate")
        runs = []
        for _ in range(args.runs):
            start = clock()
            doc = validate_sources(src, cache=ws.cache / "validate")
            runs.append({**since(start), "passed": sum(s["passed"] for s in doc["scenarios"]),
                         "scenarios": len(doc["scenarios"])})
        out["validate_warm"] = min(runs, key=lambda t: t["wall"])
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        for k, v in out.items():
            print(f"{k:16} {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
