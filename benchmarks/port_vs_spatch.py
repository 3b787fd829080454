#!/usr/bin/env python3
"""`porter port` against Coccinelle's `spatch` on the same driver with equivalent rules.

The rules: benchmarks/port_vs_spatch.toml for porter, benchmarks/port_vs_spatch.cocci for spatch
(five call rewrites).  porter does a whole port with them (rules, compat block, includes, lint and
disabling of what stays Linux-only, provenance header), spatch only the rewrites.  The input is
ipmmu-vmsa.c of rcar-3.5.3 (PORTER_REAL/renesas-bsp; --source names another file there); the
Xen index is warm (built once before).
Then the per-line cost at 1x, 2x, 4x, 8x, 16x the file (copies concatenated, the driver's names
renamed per copy), and whether porter's disable loop converged (no finding left).  At the first
size, where the port's time went: its phases as `porter port --json` times them, and the rest of
the process (interpreter, imports, index, git); and the least start-up a process that ports pays
(interpreter, the port's imports without the CLI, the warm index) beside the port's own work.

Wall times are medians of interleaved runs; CPU time (user+sys) is printed beside them, being far
less disturbed by other load on the machine.

Usage: PORTER_REAL=/work/real python benchmarks/port_vs_spatch.py [--runs N] [--sizes 1,2,4,8,16]
                                                                   [--source REF:PATH]
"""
import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resync import compile_porter, porter_python  # noqa: E402 - benchmarks/ is sys.path[0]

HERE = Path(__file__).resolve().parent


def timed(args, env=None, cwd=None) -> tuple[float, float, subprocess.CompletedProcess]:
    r0, t0 = resource.getrusage(resource.RUSAGE_CHILDREN), time.perf_counter()
    proc = subprocess.run(args, capture_output=True, env=env, cwd=cwd)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        sys.exit(f"{args[0]} failed: {proc.stderr.decode(errors='replace').strip()[:300]}")
    return t1 - t0, (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), proc


# what any process that ports pays before porting: the interpreter, the port's imports (no CLI) and
# reading the (warm) Xen index
LEAST = "import sys; from porter.linux_to_xen import port, xen_index; xen_index(sys.argv[1], 'base-v2')"


def copies(src: bytes, k: int) -> bytes:
    """k copies of src, the driver's own names (ipmmu_*, IMxxx registers) renamed in each."""
    parts = [src]
    for i in range(1, k):
        parts.append(re.sub(rb"\b(ipmmu|IM)", lambda m: m.group(1) + b"%d_" % i, src))
    return b"\n".join(parts)


def phases(t: dict, cpu: float) -> None:
    """Where one port's time went: its phases as `porter port --json` times them (wall, in the
    process), and what is left of the process's cpu time (interpreter, imports, index, git)."""
    if not {"rules", "compat", "lint_loop", "total"} <= t.keys():
        return          # an older build: no timings
    rest = t["total"] - t["rules"] - t["compat"] - t["lint_loop"]
    print(f"    phases: rules {1000 * t['rules']:.0f} ms, compat block {1000 * t['compat']:.0f} ms, "
          f"lint and disable loop {1000 * t['lint_loop']:.0f} ms, "
          f"provenance header and what follows it {1000 * rest:.0f} ms; "
          f"outside the port (interpreter, imports, index, git) about {1000 * (cpu - t['total']):.0f} ms")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--sizes", default="1,2,4,8,16")
    ap.add_argument("--source", default="rcar-3.5.3:drivers/iommu/ipmmu-vmsa.c",
                    help="the file ported, as <ref>:<path> in PORTER_REAL/renesas-bsp (its copies at "
                         "sizes above 1 rename the IPMMU driver's names only)")
    a = ap.parse_args()
    real = Path(os.environ.get("PORTER_REAL", "/work/real"))
    if not (real / "renesas-bsp").is_dir():
        sys.exit("set PORTER_REAL to the real inputs (renesas-bsp, xen)")
    porter = os.environ.get("PORTER_EXE") or shutil.which(    # PORTER_EXE: another build, to compare
        "porter", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    spatch = shutil.which("spatch")
    if porter is None:
        sys.exit("porter is not installed")
    tmp = Path(tempfile.mkdtemp(prefix="porter-vs-spatch-"))
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp / "cache"))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; "
          f"PYTHONDONTWRITEBYTECODE={'set' if os.environ.get('PYTHONDONTWRITEBYTECODE') else 'unset'}")
    compile_porter()      # as resync.py does: timing porter, not Python compiling porter's sources
    try:
        src = subprocess.run(["git", "-C", str(real / "renesas-bsp"), "show", a.source],
                             check=True, capture_output=True).stdout

        def run_porter(path: Path):
            return timed([porter, "port", str(path), "-o", str(tmp / "out.c"), "--json", "--xen",
                          str(real / "xen"), "--ref", "base-v2", "--rules", str(HERE / "port_vs_spatch.toml")],
                         env=env, cwd=tmp)

        def run_spatch(path: Path):
            return timed([spatch, "--very-quiet", "--sp-file", str(HERE / "port_vs_spatch.cocci"), str(path),
                          "-o", str(tmp / "out.cocci.c")], env=env, cwd=tmp)

        rows = []
        for k in [int(x) for x in a.sizes.split(",")]:
            f = tmp / f"{Path(a.source.split(':', 1)[-1]).stem}-x{k}.c"
            f.write_bytes(copies(src, k))
            lines = f.read_bytes().count(b"\n")
            if k == 1:
                run_porter(f)           # builds the Xen index: the runs below are warm
            runs = a.runs if k <= 2 else max(1, a.runs // 2 if k <= 4 else 1)
            p, s = [], []
            for _ in range(runs):
                p.append(run_porter(f))
                if spatch:
                    s.append(run_spatch(f))
            doc = json.loads(p[-1][2].stdout)
            row = {"k": k, "lines": lines, "porter": statistics.median(x[0] for x in p),
                   "porter_cpu": statistics.median(x[1] for x in p), "findings": len(doc.get("findings", [])),
                   "disabled": len(doc.get("disabled", [])),
                   "work": statistics.median(json.loads(x[2].stdout).get("timings", {}).get("total", 0) for x in p)}
            if s:
                row["spatch"] = statistics.median(x[0] for x in s)
                row["spatch_cpu"] = statistics.median(x[1] for x in s)
            rows.append(row)
            sp = (f" | spatch wall {row['spatch']:.3f} s cpu {row['spatch_cpu']:.3f} s | ratio wall "
                  f"{row['porter'] / row['spatch']:.2f}x cpu {row['porter_cpu'] / row['spatch_cpu']:.2f}x") if s else ""
            print(f"{k:2d}x {lines:6d} lines: porter port wall {row['porter']:.3f} s cpu {row['porter_cpu']:.3f} s "
                  f"({1000 * row['porter_cpu'] / lines:.3f} ms cpu/line, {row['disabled']} disabled, "
                  f"{row['findings']} findings left){sp}")
            if k == rows[0]["k"]:
                phases(doc.get("timings", {}), row["porter_cpu"])
        if not spatch:
            print("spatch is not installed: no anchor")
        first = rows[0]
        if "spatch" in first:
            ok = first["porter"] <= first["spatch"]
            print(f"goal porter port <= spatch on the 1x file: {'reached' if ok else 'NOT reached'} "
                  f"(wall {first['porter'] / first['spatch']:.2f}x, cpu {first['porter_cpu'] / first['spatch_cpu']:.2f}x)")
        per_line = [r["porter_cpu"] / r["lines"] for r in rows]
        growth = max(per_line) / min(per_line)
        converged = all(r["findings"] == 0 for r in rows)
        print(f"per-line cpu cost, largest / smallest: {growth:.2f} (linear: about 1); "
              f"disable loop converged at every size: {converged}")
        marginal = [(b["porter_cpu"] - a["porter_cpu"]) / (b["lines"] - a["lines"]) for a, b in zip(rows, rows[1:])]
        if marginal:
            print("cpu per added line between sizes (the start-up cost left out): "
                  + ", ".join(f"{1000 * m:.3f} ms" for m in marginal))
        tiny = tmp / "tiny.c"
        tiny.write_bytes(b"#include <linux/slab.h>\nstatic void f(void *p)\n{\n\tkfree(p);\n}\n")
        fixed = statistics.median(run_porter(tiny)[1] for _ in range(3))
        print(f"porter port of a 5-line file (its start-up: interpreter, imports, index, git): cpu {fixed:.3f} s")
        if first["work"]:        # an older build prints no timings
            least = statistics.median(timed([porter_python(), "-c", LEAST, str(real / "xen")], env=env, cwd=tmp)[1]
                                      for _ in range(3))
            anchor = f" against spatch's {first['spatch_cpu']:.3f} s" if "spatch" in first else ""
            print(f"least start-up of a process that ports (interpreter, the port's imports, the warm Xen index; "
                  f"no CLI): cpu {least:.3f} s; with the {first['k']}x port's own work "
                  f"({1000 * first['work']:.0f} ms) {least + first['work']:.3f} s{anchor}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
