#!/usr/bin/env python3
"""Time `porter resync` of the real 7-patch series against `git am` of the same patches.

Usage: PORTER_REAL=OUT python benchmarks/resync.py [--runs N]
Both start warm: the workspace cache exists, the am clone is checked out at the base
(the checkout and the reset between runs are not timed).  Prints min and median of each.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run(*args, cwd=None):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(fn, runs):
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--ref", default="ipmmu_v2")
    ap.add_argument("--base", default="base-v2")
    ap.add_argument("--tag", default="rcar-3.5.3")
    a = ap.parse_args()
    real = os.environ.get("PORTER_REAL")
    if not real:
        sys.exit("set PORTER_REAL to the real fixtures (see DEVELOPERS.md)")
    porter = shutil.which("porter") or sys.exit("porter is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="porter-bench-"))
    try:
        ws = tmp / "ws"
        run(porter, "init", str(ws), "--name", "ipmmu-vmsa", "--upstream", f"{real}/renesas-bsp",
            "--xen", f"{real}/xen", "--base", a.base,
            "--public-url", "https://github.com/renesas-rcar/linux-bsp.git")
        run(porter, "learn", a.ref, "--from", a.tag, cwd=ws)
        rev = ws / "series/ipmmu-vmsa/v1"

        def resync():
            shutil.rmtree(rev, ignore_errors=True)
            run(porter, "resync", "--from", a.tag, cwd=ws)

        t_resync = timed(resync, a.runs)
        patches = [str(p) for p in sorted(rev.glob("0*.patch")) if not p.name.startswith("0000-")]
        am = tmp / "am"
        run("git", "clone", "-q", "--shared", "--no-checkout", f"{real}/xen", str(am))
        base = subprocess.run(["git", "-C", f"{real}/xen", "rev-parse", a.base], check=True,
                              capture_output=True, text=True).stdout.strip()
        run("git", "-C", str(am), "checkout", "-q", "--detach", base)
        t_am = []
        for _ in range(a.runs):
            run("git", "-C", str(am), "reset", "-q", "--hard", base)
            t = time.perf_counter()
            run("git", "-c", "user.name=b", "-c", "user.email=b@example.org", "-C", str(am), "am", "-q",
                "--keep-cr", *patches)
            t_am.append(time.perf_counter() - t)
        t_start = timed(lambda: run(porter, "--version"), a.runs)
        rs, ga = statistics.median(t_resync), statistics.median(t_am)
        print(f"series: {a.ref} ({len(patches)} patches) from {a.tag} on {a.base}, {a.runs} runs each")
        print(f"porter resync: min {min(t_resync):.3f} s  median {rs:.3f} s")
        print(f"git am:        min {min(t_am):.3f} s  median {ga:.3f} s")
        print(f"ratio (median resync / median git am): {rs / ga:.2f}x  (goal: <= 3x)")
        print(f"porter start-up alone (porter --version): median {statistics.median(t_start):.3f} s")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
