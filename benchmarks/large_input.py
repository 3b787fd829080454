#!/usr/bin/env python3
"""The rule engine and lint on large inputs (issue 12: a 20 MB file takes seconds, not minutes,
in bounded memory).

Each shape is generated at each size (C written here, from scratch), then the rule engine (every
generic pack's rules) and lint are each run in a child process of their own, which prints its CPU
time and peak memory (ru_maxrss).  The Xen index is the tiny fake Xen of the tests, so no real
inputs are needed.  Shapes:
  driver    copies of a small driver (includes, structs, functions, macros, #ifdef), names renamed
  function  one function of many statements
  lines     a few huge lines (statements joined with spaces)
  macro     one #define whose body is continued over many lines

Usage: python benchmarks/large_input.py [--sizes 1,5,20] [--shapes driver,function,lines,macro]
Prints per shape and size: MB, engine cpu s and peak MB, lint cpu s and peak MB, and the cpu per
MB, whose spread across sizes says whether the cost is linear.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

DRIVER = """\
#include <linux/slab.h>
#include <linux/io.h>
#include "local{n}.h"

#define W{n}_CTRL 0x10
#define W{n}_READ(w, off) ioread32((w)->base + (off))

struct w{n}_dev {{
\tstruct device *dev;
\tvoid __iomem *base;
\tu32 flags;
}};

static u32 w{n}_read(struct w{n}_dev *w, unsigned int off)
{{
\treturn W{n}_READ(w, off);
}}

static int w{n}_probe(struct device *dev)
{{
\tstruct w{n}_dev *w = kzalloc(sizeof(*w), GFP_KERNEL);

\tif (!w) {{
\t\tdev_err(dev, "w{n}: no memory\\n");
\t\treturn -ENOMEM;
\t}}
\tw->dev = dev;
\tpr_info("w{n}: flags %u\\n", w{n}_read(w, W{n}_CTRL));
\tkfree(w);
\treturn 0;
}}

#ifdef CONFIG_W{n}_EXTRA
static void w{n}_extra(void) {{ linux_only_call(); }}
#endif
"""

STATEMENT = "\tv{n} = readl(base + {n}); pr_info(\"v %d\\n\", v{n}); kfree(p{n});\n"


def shape(name: str, size: int) -> bytes:
    """About size bytes of C of the given shape."""
    parts: list[str] = []
    total, n = 0, 0
    if name == "driver":
        while total < size:
            parts.append(DRIVER.format(n=n))
            total += len(parts[-1])
            n += 1
        return "\n".join(parts).encode()
    head = {"function": "static void big(void)\n{\n", "lines": "static void big(void)\n{\n",
            "macro": "#define BIG(base) do { \\\n"}[name]
    tail = {"function": "}\n", "lines": "}\n", "macro": "} while (0)\n"}[name]
    while total < size:
        s = STATEMENT.format(n=n)
        if name == "lines":
            s = s.replace("\n", " ") + ("\n" if n % 20000 == 19999 else "")
        elif name == "macro":
            s = s.replace("\n", " \\\n")
        parts.append(s)
        total += len(s)
        n += 1
    return (head + "".join(parts) + tail).encode()


def child(what: str, path: str, xen: str) -> None:
    os.environ.setdefault("XDG_CACHE_HOME", str(Path(path).parent / "cache"))
    from porter.linux_to_xen import engine, xen_index
    from porter.linux_to_xen.lint import lint_sources
    from porter.linux_to_xen.port import DEFAULT_PACKS
    from porter.linux_to_xen.rules import load_packs
    index = xen_index(xen, "base")
    rules = [r for p in load_packs(DEFAULT_PACKS, ()) for r in p.rules]
    src = Path(path).read_bytes()
    t0, w0 = time.process_time(), time.perf_counter()
    if what == "engine":
        res = engine.apply_rules(src, rules, filename=path, known=index.macro_known)
        found = sum(a["found"] for a in res.applied)
    else:
        found = len(lint_sources({path: src}, index))
    print(json.dumps({"cpu": time.process_time() - t0, "wall": time.perf_counter() - w0, "found": found,
                      "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,5,20", help="MB, comma-separated")
    ap.add_argument("--shapes", default="driver,function,lines,macro")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child:
        child(*a.child)
        return 0
    from tests.fixtures.linux_to_xen.fakexen import make_xen
    tmp = Path(tempfile.mkdtemp(prefix="porter-large-"))
    xen = make_xen(tmp / "xen")
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores; times are CPU (user+sys)")
    for name in a.shapes.split(","):
        per_mb = []
        for mb in (float(x) for x in a.sizes.split(",")):
            f = tmp / f"{name}-{mb:g}.c"
            f.write_bytes(shape(name, int(mb * 1024 * 1024)))
            row = {}
            for what in ("engine", "lint"):
                out = subprocess.run([sys.executable, __file__, "--child", what, str(f), str(xen)],
                                     capture_output=True, text=True)
                if out.returncode != 0:
                    sys.exit(f"{what} on {f.name} failed: {out.stderr.strip()[-500:]}")
                row[what] = json.loads(out.stdout)
            size = f.stat().st_size / 1024 / 1024
            per_mb.append((row["engine"]["cpu"] + row["lint"]["cpu"]) / size)
            print(f"{name:8s} {size:6.1f} MB: engine {row['engine']['cpu']:7.2f} s peak {row['engine']['peak_mb']:6.0f} MB"
                  f" ({row['engine']['found']} rewrites) | lint {row['lint']['cpu']:7.2f} s peak "
                  f"{row['lint']['peak_mb']:6.0f} MB ({row['lint']['found']} findings) | "
                  f"{per_mb[-1]:.2f} s/MB", flush=True)
            f.unlink()
        print(f"{name:8s} cpu per MB, largest / smallest: {max(per_mb) / min(per_mb):.2f} (linear: about 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
