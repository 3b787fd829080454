#!/usr/bin/env python3
"""`porter lint` of the three files of the real hand port, cold (nothing cached), warm, and with a
cold index whose headers were read before (a new Xen ref: headers are kept per blob),
against `git archive` + `ctags` of the same Xen headers (what a tags-based check would read).

Interleaved runs, medians; CPU time (user+sys, with children) beside the wall time, being far
less disturbed by other load on the machine.  Goal (issue 16): cold lint <= 0.4 s, judged
on both.

Usage: PORTER_REAL=/work/real python benchmarks/lint_speed.py [--runs N]
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

from resync import compile_porter  # noqa: E402 - benchmarks/ is sys.path[0]

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h")


def timed(args, **kw) -> tuple[float, float]:
    return _timed_fn(lambda: subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw))


def med(rows, i):
    return statistics.median(r[i] for r in rows)


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    real = Path(os.environ.get("PORTER_REAL", "/work/real"))
    xen = real / "xen"
    if not xen.is_dir():
        sys.exit("set PORTER_REAL to the real inputs")
    porter = os.environ.get("PORTER_EXE") or shutil.which(    # PORTER_EXE: another build, to compare
        "porter", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    ctags = shutil.which("ctags")
    tmp = Path(tempfile.mkdtemp(prefix="porter-lint-bench-"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"PYTHONDONTWRITEBYTECODE={'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}")
    compile_porter()      # as resync.py does: timing porter, not Python compiling porter's sources
    try:
        for n in FILES:
            data = subprocess.run(["git", "-C", str(xen), "show", f"ipmmu_v2:xen/drivers/passthrough/arm/{n}"],
                                  check=True, capture_output=True).stdout
            (tmp / n).write_bytes(data)
        lint = [porter, "lint", *FILES[:3], "--xen", str(xen), "--ref", "base-v2"]
        cold, warm, newref, anchor = [], [], [], []
        for i in range(a.runs):
            cache = tmp / f"cache{i}"
            env = dict(os.environ, XDG_CACHE_HOME=str(cache))
            cold.append(timed(lint, cwd=tmp, env=env))
            warm.append(timed(lint, cwd=tmp, env=env))
            for f in (cache / "porter" / "xen-index").glob("xen-*.json"):
                f.unlink()       # the ref's index gone, the headers read for it kept: a new Xen ref
            newref.append(timed(lint, cwd=tmp, env=env))
            if ctags:
                hdr = tmp / f"headers{i}"
                hdr.mkdir()

                def archive_and_tags():
                    arch = subprocess.Popen(["git", "-C", str(xen), "archive", "base-v2", "xen/include"],
                                            stdout=subprocess.PIPE)
                    subprocess.run(["tar", "-x", "-C", str(hdr)], stdin=arch.stdout, check=True)
                    arch.wait()
                    subprocess.run([ctags, "-R", "-f", str(hdr / "tags"), str(hdr)], check=True)
                anchor.append(_timed_fn(archive_and_tags))
                shutil.rmtree(hdr)
        print(f"porter lint (3 files) cold: wall {med(cold, 0):.3f} s cpu {med(cold, 1):.3f} s "
              f"(goal <= 0.4 s: on wall time {verdict(med(cold, 0))}, on cpu time {verdict(med(cold, 1))}; "
              f"the cpu time adds up the processes that read the headers side by side)")
        print(f"porter lint (3 files) warm: wall {med(warm, 0):.3f} s cpu {med(warm, 1):.3f} s")
        print(f"porter lint (3 files) cold index, headers already read (a new Xen ref): wall {med(newref, 0):.3f} s "
              f"cpu {med(newref, 1):.3f} s (goal <= 0.4 s: on cpu time {verdict(med(newref, 1))})")
        if anchor:
            print(f"git archive + ctags of xen/include: wall {med(anchor, 0):.3f} s cpu {med(anchor, 1):.3f} s | "
                  f"ratio cold wall {med(cold, 0) / med(anchor, 0):.2f}x cpu {med(cold, 1) / med(anchor, 1):.2f}x, "
                  f"warm wall {med(warm, 0) / med(anchor, 0):.2f}x")
        else:
            print("ctags is not installed: no anchor")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


def verdict(seconds: float) -> str:
    return "reached" if seconds <= 0.4 else "NOT reached"


def _timed_fn(fn) -> tuple[float, float]:
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    fn()
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)


if __name__ == "__main__":
    sys.exit(main())
