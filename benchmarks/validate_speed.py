#!/usr/bin/env python3
"""`porter validate` of the real series (warm: its build cached) against the bare compile of the
same units (the compiler and link commands validate's build runs, with nothing cached).

Then `porter validate --mutants` once, with its CPU time over wall time: above 1 means the
mutants ran on more than one core.  Interleaved runs, medians; CPU time (user+sys with children)
beside the wall time, being far less disturbed by other load on the machine.
Goal (issue 16): validate warm <= 2x the bare compile.

Usage: PORTER_REAL=/work/real python benchmarks/validate_speed.py [--runs N]
"""
import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(fn) -> tuple[float, float]:
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    fn()
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def run(*args, cwd=None):
    """Run a command; exit 1 (findings: the real port fails some scenarios) is a result, not an error."""
    proc = subprocess.run(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    if proc.returncode not in (0, 1):
        sys.exit(f"{' '.join(map(str, args))}: {proc.stderr.decode(errors='replace').strip()[:300]}")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    real = os.environ.get("PORTER_REAL")
    if not real:
        sys.exit("set PORTER_REAL to the real inputs")
    porter = os.environ.get("PORTER_EXE") or shutil.which(    # PORTER_EXE: another build, to compare
        "porter", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    from porter.validate.build import Sources, build, find_sources
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    tmp = Path(tempfile.mkdtemp(prefix="porter-validate-bench-"))
    try:
        ws = tmp / "ws"
        run(porter, "init", str(ws), "--name", "ipmmu-vmsa", "--upstream", f"{real}/renesas-bsp",
            "--xen", f"{real}/xen", "--base", "base-v2", "--public-url", "https://github.com/renesas-rcar/linux-bsp.git")
        run(porter, "learn", "ipmmu_v2", "--from", "rcar-3.5.3", cwd=ws)
        no_build = ["--no-build"] if "--no-build" in subprocess.run(
            [porter, "resync", "--help"], capture_output=True, text=True).stdout else []
        run(porter, "resync", "--from", "rcar-3.5.3", *no_build, cwd=ws)     # validate is what is timed
        run(porter, "validate", cwd=ws)                    # builds once: the runs below are warm
        src = tmp / "src"
        for name in ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h"):
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            (src / name).write_bytes(subprocess.run(
                ["git", "-C", f"{real}/xen", "show", f"ipmmu_v2:xen/drivers/passthrough/arm/{name}"],
                capture_output=True, check=True).stdout)
        sources = Sources.read(find_sources(src))
        warm, bare = [], []
        for i in range(a.runs):
            warm.append(timed(lambda: run(porter, "validate", cwd=ws)))
            bare.append(timed(lambda: build(sources, cache=tmp / f"bare{i}")))
        wv, cv = statistics.median(t[0] for t in warm), statistics.median(t[1] for t in warm)
        wb, cb = statistics.median(t[0] for t in bare), statistics.median(t[1] for t in bare)
        print(f"porter validate (warm): wall {wv:.3f} s cpu {cv:.3f} s | bare compile of the units: wall {wb:.3f} s "
              f"cpu {cb:.3f} s | ratio wall {wv / wb:.2f}x cpu {cv / cb:.2f}x "
              f"(goal <= 2x: {'reached' if wv / wb <= 2 else 'NOT reached'})")
        wm, cm = timed(lambda: run(porter, "validate", "--mutants", cwd=ws))
        print(f"porter validate --mutants: wall {wm:.2f} s cpu {cm:.2f} s, cpu/wall {cm / wm:.2f} "
              f"on {os.cpu_count()} cores (above 1: more than one core used)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
