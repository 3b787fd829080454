#!/usr/bin/env python3
"""Time `porter build` of the real 7-patch series, cold and warm, against the same compiles by hand.

Usage: PORTER_REAL=OUT python benchmarks/build.py [--runs N]
cold: a fresh workspace (the scratch worktree is created and Xen's build configured first).
warm: the configured worktree is reused.
by hand: in the configured worktree, for every patch and every object porter compiled at that patch,
`git checkout` the patch and run `make -rR -f xen/Rules.mk -C DIR OBJ` as Xen's build does (one make
per object, as porter runs them; porter runs a patch's objects in parallel); "make -j by hand" runs
one `make -jN` per patch and directory with all its objects.
Prints min and median of each (wall, and CPU time of every process it ran) and the warm / by-hand
ratios (goal: within 1.5x). --sandbox bwrap|process sets PORTER_SANDBOX (how porter runs make).
CPU time of a porter command is perf's task-clock when `perf` is installed: the processes in a bwrap
PID namespace are not reaped by porter, so os.times() of the children misses them.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PORTER = [sys.executable, "-m", "porter.cli"]
PERF = shutil.which("perf")


def run(*args, cwd=None):
    return subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL).stdout


CPU = {}


def timed(fn, runs, label=None):
    """Wall seconds of each run; the CPU seconds of the processes each run started go to CPU[label]
    (what fn returns, else the children's CPU time)."""
    out = []
    for _ in range(runs):
        t, c = time.perf_counter(), os.times()
        cpu = fn()
        out.append(time.perf_counter() - t)
        c2 = os.times()
        if cpu is None:
            cpu = c2.children_user + c2.children_system - c.children_user - c.children_system
        CPU.setdefault(label, []).append(cpu)
    return out


def porter_cpu(*args):
    """Run porter; its CPU seconds, the sandboxed processes included (perf task-clock), or None."""
    if not PERF:
        run(*PORTER, *args)
        return None
    with tempfile.NamedTemporaryFile("r", suffix=".perf") as out:
        run(PERF, "stat", "-x,", "-e", "task-clock", "-o", out.name, "--", *PORTER, *args)
        line = next(ln for ln in out.read().splitlines() if "task-clock" in ln)
        return float(line.split(",")[0]) / 1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--ref", default="ipmmu_v2")
    ap.add_argument("--base", default="base-v2")
    ap.add_argument("--tag", default="rcar-3.5.3")
    ap.add_argument("--sandbox", choices=["bwrap", "process"], default=None)
    a = ap.parse_args()
    if a.sandbox:
        os.environ["PORTER_SANDBOX"] = a.sandbox
    real = os.environ.get("PORTER_REAL")
    if not real:
        sys.exit("set PORTER_REAL to the real fixtures")
    real = Path(real)
    tmp = Path(tempfile.mkdtemp(prefix="porter-bench-build-"))
    try:
        def fresh(name):
            ws = tmp / name
            run(*PORTER, "init", str(ws), "--name", "ipmmu-vmsa", "--upstream", str(real / "renesas-bsp"),
                "--public-url", "https://github.com/renesas-rcar/linux-bsp.git",
                "--xen", str(real / "xen"), "--base", a.base)
            run(*PORTER, "-C", str(ws), "learn", a.ref, "--from", a.tag)
            run(*PORTER, "-C", str(ws), "resync", "--from", a.tag, "--no-build")
            return ws

        colds = []
        for n in range(a.runs):
            ws = fresh(f"cold{n}")
            colds += timed(lambda: porter_cpu("-C", str(ws), "build"), 1, "porter build, cold")
        report = json.loads(run(*PORTER, "-C", str(ws), "build", "--json"))
        warms = timed(lambda: porter_cpu("-C", str(ws), "build"), a.runs, "porter build, warm")

        # the same compiles by hand, in the configured worktree porter left (it is checked out at the base)
        tree = ws / ".porter/build/tree"
        xen = tree / "xen"
        commits = run("git", "-C", str(tree), "rev-list", "--reverse",
                      f"{a.base}..refs/porter/ipmmu-vmsa/last").decode().split()
        cross = "aarch64-linux-gnu-"
        variables = ["XEN_TARGET_ARCH=arm64", f"CROSS_COMPILE={cross}", f"CC={shutil.which(cross + 'gcc')}",
                     f"BASEDIR={xen}", f"XEN_ROOT={tree}"]
        plan = [(c, [o["object"] for o in p["objects"]]) for c, p in zip(commits, report["patches"])]

        def by_hand():
            for commit, objects in plan:
                run("git", "-C", str(tree), "checkout", "-q", "-f", "--detach", commit)
                for obj in objects:
                    d, name = obj.rsplit("/", 1)
                    subprocess.run(["make", "-rR", "-B", "-f", str(xen / "Rules.mk"), "-C", str(tree / d),
                                    *variables, name], check=True, stdout=subprocess.DEVNULL)
            run("git", "-C", str(tree), "checkout", "-q", "-f", "--detach", a.base)

        def by_hand_parallel():        # one `make -jN` per patch and directory, all its objects at once
            for commit, objects in plan:
                run("git", "-C", str(tree), "checkout", "-q", "-f", "--detach", commit)
                dirs = {}
                for obj in objects:
                    d, name = obj.rsplit("/", 1)
                    dirs.setdefault(d, []).append(name)
                for d, names in dirs.items():
                    subprocess.run(["make", "-rR", "-B", f"-j{os.cpu_count() or 1}", "-f", str(xen / "Rules.mk"),
                                    "-C", str(tree / d), *variables, *names], check=True, stdout=subprocess.DEVNULL)
            run("git", "-C", str(tree), "checkout", "-q", "-f", "--detach", a.base)

        hands = timed(by_hand, a.runs, "make by hand")
        hands_j = timed(by_hand_parallel, a.runs, "make -j by hand")
        n = sum(len(o) for _, o in plan)
        print(f"series {a.ref} ({len(commits)} patches, {n} compiles, {os.cpu_count()} cores, "
              f"sandbox {report.get('sandbox', 'none')})")
        for label, xs in (("porter build, cold", colds), ("porter build, warm", warms),
                          ("make by hand", hands), ("make -j by hand", hands_j)):
            cpu = CPU[label]
            print(f"{label:20s} wall min {min(xs):6.2f} s  median {statistics.median(xs):6.2f} s   "
                  f"CPU min {min(cpu):6.2f} s  median {statistics.median(cpu):6.2f} s")
        for label, xs in (("make by hand", hands), ("make -j by hand", hands_j)):
            print(f"warm / {label}: {statistics.median(warms) / statistics.median(xs):.2f}x (median), "
                  f"{min(warms) / min(xs):.2f}x (min)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
