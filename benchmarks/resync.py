#!/usr/bin/env python3
"""Time `porter resync` against `git am` of the same patches, interleaved, medians of N runs.

Scenarios (issue 16 goals):
  same tag   learn ipmmu_v2 (base-v2) from rcar-3.5.3, resync --from rcar-3.5.3   warm  <= 2x git am
  BSP update learn ipmmu_v1 (base-v1) from rcar-3.5.2, resync --from rcar-3.5.3   warm  <= 3x, cold <= 5x
Warm: the workspace's caches exist (a previous resync ran), the newest revision is removed before
each run.  Cold: a fresh workspace (init + learn + resync of the learned tag, untimed), then the
resync to the new tag; and the same with the Xen index that resync builds already in the fresh
workspace (copied from a cold run's), which shows how much of a cold resync the index is.
`git am` applies the revision's patches on the base in a clone (reset between runs, untimed).
Wall time is reported with the CPU time (user+sys of the process and the git processes it waited
for), which is far less disturbed by other load on the machine.

Usage: PORTER_REAL=/work/real python benchmarks/resync.py [--runs N]
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


NO_BUILD: list[str] = []     # resync's compile gate is left out: git am does not compile either


def run(*args, cwd=None):
    subprocess.run(args, cwd=cwd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def timed(fn) -> tuple[float, float]:
    """(wall, cpu) seconds of fn(), cpu counting the child processes it waited for."""
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    fn()
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


def porter_exe() -> str:
    """$PORTER_EXE (another build of porter, to compare), else the porter beside this Python."""
    if os.environ.get("PORTER_EXE"):
        return os.environ["PORTER_EXE"]
    found = shutil.which("porter", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                         os.environ.get("PATH", "")]))
    return found or sys.exit("porter is not installed")


class Scenario:
    def __init__(self, tmp: Path, real: str, name: str, ref: str, base: str, learned: str, tag: str):
        self.tmp, self.real, self.name = tmp, real, name
        self.ref, self.base, self.learned, self.tag = ref, base, learned, tag
        self.porter = porter_exe()
        self.n = 0

    def workspace(self) -> Path:
        self.n += 1
        ws = self.tmp / f"{self.ref}-{self.n}"
        run(self.porter, "init", str(ws), "--name", "ipmmu-vmsa", "--upstream", f"{self.real}/renesas-bsp",
            "--xen", f"{self.real}/xen", "--base", self.base,
            "--public-url", "https://github.com/renesas-rcar/linux-bsp.git")
        run(self.porter, "learn", self.ref, "--from", self.learned, cwd=ws)
        if self.learned != self.tag:
            run(self.porter, "resync", "--from", self.learned, *NO_BUILD, cwd=ws)
        return ws

    def resync(self, ws: Path) -> None:
        run(self.porter, "resync", "--from", self.tag, *NO_BUILD, cwd=ws)

    def newest(self, ws: Path) -> Path:
        return max((ws / "series/ipmmu-vmsa").glob("v*"), key=lambda d: int(d.name[1:]))


def porter_python() -> str:
    """The Python that runs the porter being timed (its script's #! line)."""
    first = Path(porter_exe()).read_bytes()[:200].split(b"\n", 1)[0]
    return first[2:].decode().strip() if first.startswith(b"#!") else sys.executable


def compile_porter() -> None:
    """Byte-compile the porter package being timed, as a (non-editable) pip install does: with
    PYTHONDONTWRITEBYTECODE set and an editable install, every run would compile porter again."""
    run(porter_python(), "-c",
        "import compileall, os, porter; compileall.compile_dir(os.path.dirname(porter.__file__), quiet=1)")


def git_am_runner(tmp: Path, real: str, base: str, patches: list[str]):
    am = tmp / f"am-{base}"
    if not am.exists():
        run("git", "clone", "-q", "--shared", "--no-checkout", f"{real}/xen", str(am))
    sha = subprocess.run(["git", "-C", f"{real}/xen", "rev-parse", base], check=True,
                         capture_output=True, text=True).stdout.strip()
    run("git", "-C", str(am), "checkout", "-q", "--detach", sha)

    def once():
        run("git", "-C", str(am), "reset", "-q", "--hard", sha)
        return timed(lambda: run("git", "-c", "user.name=b", "-c", "user.email=b@example.org",
                                 "-C", str(am), "am", "-q", "--keep-cr", *patches))
    return once


def report(label: str, porter: list, anchor: list, goal: float) -> bool:
    pw, pc = statistics.median(t[0] for t in porter), statistics.median(t[1] for t in porter)
    aw, ac = statistics.median(t[0] for t in anchor), statistics.median(t[1] for t in anchor)
    ok = pw / aw <= goal
    print(f"{label}: porter wall {pw:.3f} s cpu {pc:.3f} s | git am wall {aw:.3f} s cpu {ac:.3f} s | "
          f"ratio wall {pw / aw:.2f}x cpu {pc / ac:.2f}x (goal <= {goal:g}x: {'reached' if ok else 'NOT reached'})")
    return ok


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--cold-runs", type=int, default=3)
    a = ap.parse_args()
    real = os.environ.get("PORTER_REAL")
    if not real:
        sys.exit("set PORTER_REAL to the real fixtures (/work/real)")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"PYTHONDONTWRITEBYTECODE={'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}")
    compile_porter()
    if "--no-build" in subprocess.run([porter_exe(), "resync", "--help"], capture_output=True, text=True).stdout:
        NO_BUILD.append("--no-build")
    tmp = Path(tempfile.mkdtemp(prefix="porter-bench-"))
    try:
        same = Scenario(tmp, real, "same tag", "ipmmu_v2", "base-v2", "rcar-3.5.3", "rcar-3.5.3")
        bsp = Scenario(tmp, real, "BSP update", "ipmmu_v1", "base-v1", "rcar-3.5.2", "rcar-3.5.3")
        results = {}
        for sc in (same, bsp):
            ws = sc.workspace()
            sc.resync(ws)
            rev = sc.newest(ws)
            patches = [str(p) for p in sorted(rev.glob("0*.patch")) if not p.name.startswith("0000-")]
            keep = tmp / f"patches-{sc.ref}"
            shutil.copytree(rev, keep)
            patches = [str(keep / Path(p).name) for p in patches]
            am = git_am_runner(tmp, real, sc.base, patches)
            warm, anchor = [], []
            for _ in range(a.runs):                      # interleaved: porter, git am, porter, ...
                shutil.rmtree(sc.newest(ws))
                warm.append(timed(lambda: sc.resync(ws)))
                anchor.append(am())
            results[sc.name] = (warm, anchor, len(patches))
            if sc is bsp:
                cold, indexed = [], []
                for _ in range(a.cold_runs):
                    fresh = sc.workspace()
                    cold.append(timed(lambda: sc.resync(fresh)))
                    anchor.append(am())
                    other = sc.workspace()
                    shutil.copytree(fresh / ".porter" / "xen-index", other / ".porter" / "xen-index")
                    indexed.append(timed(lambda: sc.resync(other)))
                results["cold"] = (cold, anchor, len(patches))
                results["indexed"] = indexed
        ok = []
        w, an, n = results["same tag"]
        print(f"same tag: ipmmu_v2 on base-v2 from rcar-3.5.3, {n} patches, {a.runs} runs")
        ok.append(report("  warm", w, an, 2))
        w, an, n = results["BSP update"]
        print(f"BSP update: ipmmu_v1 learned from rcar-3.5.2, resync to rcar-3.5.3, {n} patches")
        ok.append(report("  warm", w, an, 3))
        c, an, n = results["cold"]
        ok.append(report("  cold", c, an, 5))
        report("  cold, the Xen index already built", results["indexed"], an, 5)
        start = [timed(lambda: run(porter_exe(), "--version")) for _ in range(a.runs)]
        base = [timed(lambda: run(sys.executable, "-c", "pass")) for _ in range(a.runs)]
        print(f"porter --version: wall {statistics.median(t[0] for t in start):.3f} s "
              f"(python -c pass {statistics.median(t[0] for t in base):.3f} s)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
