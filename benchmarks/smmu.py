#!/usr/bin/env python3
"""Issue 13 benchmark: Xen's SMMUv3 port (10 commits on Linux 5.8.18), learned and resynced.

Prints: the time of `porter learn`, of a same-tag resync and of `git am` of the 10 commits (goal:
learn and resync within 3x of git am), whether the resynced trees are the real ones; the time of the
resync onto Linux 6.1 (moved and split; goal: within 10 s), its conflicts against `git merge-file`
of the same three versions (learned upstream, the hand port at its tip, new upstream; default
mode, which merges more than --diff3), and the
Linux-only names left live in the result that nothing reported (goal: 0).

    PORTER_SMMU=/work/smmu python benchmarks/smmu.py [--json]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from porter import learn, recipe, resync, workspace  # noqa: E402
from porter.linux_to_xen import xen_index  # noqa: E402
from porter.linux_to_xen.lint import lint_sources  # noqa: E402
from porter.markers import conflict_lines  # noqa: E402

DRIVER = "xen/drivers/passthrough/arm/smmu-v3.c"
HEADER = "xen/drivers/passthrough/arm/arm-smmu-v3.h"
OLD_UP = "drivers/iommu/arm-smmu-v3.c"
NEW_UP = "drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.c"


def git(repo, *args, check=True) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=check).stdout


def merge_file_conflicts(ours: bytes, base: bytes, theirs: bytes) -> int:
    with tempfile.TemporaryDirectory(prefix="smmu-bench-") as tmp:
        names = []
        for n, data in (("port", ours), ("old", base), ("new", theirs)):
            (Path(tmp) / n).write_bytes(data)
            names.append(str(Path(tmp) / n))
        out = subprocess.run(["git", "merge-file", "-p", *names], capture_output=True).stdout
    return sum(1 for line in out.splitlines() if line.startswith(b"<<<<<<< "))


def unreported_linux_only(ws: workspace.Workspace, result: dict, tip: str, learned_commit: str) -> list[dict]:
    """Linux-only names live in the resynced driver and header that the hand port did not have
    and that no finding, note or conflict of the resync names."""
    xen = ws.xen_git
    rec = recipe.load(ws.series_dir)
    own = sorted({x for s in rec.steps for x in s.edits if x.endswith(".h")})
    index = xen_index(xen, ws.base, cache=ws.cache / "xen-index")

    def files_at(commit, paths):
        out = {}
        for p in paths:
            data = git(xen, "show", f"{commit}:{p}", check=False)
            if data:
                out[p] = data
        return out

    now = files_at(tip, [DRIVER, HEADER] + own)
    before = {(f["file"], f["symbol"]) for f in lint_sources(files_at(learned_commit, [DRIVER] + own), index)}
    reported = {s.strip() for r in result["findings"] + result["notes"] for s in str(r.get("symbol", "")).split(",")}
    in_conflict = {p: conflict_lines(t) for p, t in now.items()}
    return [f for f in lint_sources(now, index)
            if f["file"] in (DRIVER, HEADER) and (DRIVER, f["symbol"]) not in before
            and f["symbol"] not in reported and f["line"] not in in_conflict[f["file"]]]


def run(root: Path, work: Path) -> dict:
    linux, xen = root / "linux", root / "xen"
    ws = workspace.init(work / "ws", "smmuv3", str(linux), str(xen), "smmuv3-base",
                        public_url="https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git")
    t0 = time.perf_counter()
    learn.learn(ws, "smmuv3", "v5.8.18")
    t_learn = time.perf_counter() - t0
    rec = recipe.load(ws.series_dir)
    kinds = [s.kind for s in rec.steps]
    driver_steps = [s for s in rec.steps if DRIVER in s.files and s.kind != "import"]
    t0 = time.perf_counter()
    same = resync.resync(ws, "v5.8.18")
    t_same = time.perf_counter() - t0
    rev = ws.series_dir / same["revision"]
    am = work / "am"
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(xen), str(am)], check=True)
    git(am, "checkout", "-q", "--detach", "smmuv3-base")
    patches = sorted(str(p) for p in rev.glob("*.patch") if not p.name.startswith("0000-"))
    t0 = time.perf_counter()
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.org", "-C", str(am), "am", "-q",
                    "--keep-cr", *patches], check=True, capture_output=True)
    t_am = time.perf_counter() - t0
    ours = git(am, "log", "--format=%T", "smmuv3-base..HEAD").split()
    real = git(xen, "log", "--format=%T", "smmuv3-base..smmuv3").split()
    identical = sum(a == b for a, b in zip(ours, real)) if len(ours) == len(real) else 0

    t0 = time.perf_counter()
    xen_index(ws.xen_git, ws.base, cache=ws.cache / "xen-index")   # built once per Xen tree, then cached
    t_index = time.perf_counter() - t0
    t0 = time.perf_counter()
    new = resync.resync(ws, "v6.1")
    t_new = time.perf_counter() - t0
    tip = git(ws.xen_git, "rev-parse", "refs/porter/smmuv3/last").decode().strip()
    header_imported = bool(git(ws.xen_git, "show", f"{tip}:{HEADER}", check=False))
    base_c = git(linux, "show", f"v5.8.18:{OLD_UP}")
    git_conflicts = merge_file_conflicts(git(xen, "show", f"smmuv3:{DRIVER}"), base_c,
                                         git(linux, "show", f"v6.1:{NEW_UP}"))
    unreported = unreported_linux_only(ws, new, tip, rec.learned["commit"])
    return {
        "learn_s": round(t_learn, 2), "same_tag_resync_s": round(t_same, 2), "git_am_s": round(t_am, 2),
        "learn_vs_am": round(t_learn / t_am, 1), "resync_vs_am": round(t_same / t_am, 1),
        "kinds": kinds, "driver_steps_as_edits": sum(1 for s in driver_steps if DRIVER in s.edits),
        "driver_steps": len(driver_steps), "trees_identical": f"{identical}/{len(real)}",
        "resync_6_1_s": round(t_new, 2), "xen_index_first_build_s": round(t_index, 2),
        "conflicts_porter": len(new["conflicts"]),
        "conflicts_git_merge_file": git_conflicts, "header_imported": header_imported,
        "stored_patch_conflicts": [c["file"] for c in new["conflicts"] if c["unit"].startswith("carry ")],
        "findings": len(new["findings"]), "linux_only_live_unreported": len(unreported),
        "unreported": [f"{f['file']}:{f['line']}: {f['symbol']}" for f in unreported][:20],
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    root = os.environ.get("PORTER_SMMU")
    if not root or not (Path(root) / "linux").is_dir():
        print("PORTER_SMMU is not set (build it with shared/tools/smmu-fixtures.sh)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="smmu-bench-") as tmp:
        res = run(Path(root), Path(tmp))
    if args.json:
        print(json.dumps(res, indent=2))
        return 0
    print(f"learn {res['learn_s']} s, same-tag resync {res['same_tag_resync_s']} s, git am {res['git_am_s']} s "
          f"({res['learn_vs_am']}x / {res['resync_vs_am']}x of git am; goal 3x)")
    print(f"steps {' '.join(res['kinds'])}; driver commits as C-unit edits: "
          f"{res['driver_steps_as_edits']}/{res['driver_steps']}; trees identical {res['trees_identical']}")
    print(f"resync onto 6.1: {res['resync_6_1_s']} s (goal 10 s; the Xen index, built once per tree before it: "
          f"{res['xen_index_first_build_s']} s), header imported: {res['header_imported']}")
    print(f"conflicts: porter {res['conflicts_porter']} vs git merge-file {res['conflicts_git_merge_file']}; "
          f"stored patches conflicting: {res['stored_patch_conflicts'] or 'none'}")
    print(f"Linux-only names live and unreported: {res['linux_only_live_unreported']} "
          f"(findings reported: {res['findings']})")
    for line in res["unreported"]:
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
