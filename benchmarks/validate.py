"""Time porter validate: host build + all scenarios, on the demo port and (with
PORTER_REAL) on the real ipmmu_v2 port; cold (empty build cache) and warm."""
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from porter.demo import port_sources
from porter.validate import validate_sources


def measure(label, src):
    os.environ["PORTER_VALIDATE_CACHE"] = tempfile.mkdtemp(prefix="porter-bench-")
    for run in ("cold", "warm"):
        t = time.monotonic()
        doc = validate_sources(src)
        total = time.monotonic() - t
        passed = sum(s["passed"] for s in doc["scenarios"])
        print(f"{label:5} {run}: build {doc['timing']['build']:.2f}s scenarios {doc['timing']['scenarios']:.2f}s "
              f"total {total:.2f}s ({passed}/{len(doc['scenarios'])} passed)")
    t = time.monotonic()
    doc = validate_sources(src, mutants=True)
    live = [m for m in doc["mutants"] if m["applied"]]
    print(f"{label:5} mutants: {sum(m['killed'] for m in live)}/{len(live)} killed "
          f"(kill rate {doc['kill_rate']:.0%}) in {time.monotonic() - t:.2f}s")
    shutil.rmtree(os.environ.pop("PORTER_VALIDATE_CACHE"), ignore_errors=True)


measure("demo", port_sources(Path(tempfile.mkdtemp(prefix="porter-demo-port-"))))
real = os.environ.get("PORTER_REAL")
if real:
    tmp = Path(tempfile.mkdtemp(prefix="porter-real-"))
    for name in ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h"):
        (tmp / name).write_bytes(subprocess.run(
            ["git", "-C", f"{real}/xen", "show", f"ipmmu_v2:xen/drivers/passthrough/arm/{name}"],
            capture_output=True, check=True).stdout)
    measure("real", tmp)
    shutil.rmtree(tmp)
else:
    print("real: skipped (set PORTER_REAL)", file=sys.stderr)
