#!/usr/bin/env python3
"""Issue 6 benchmark: re-apply a learned port onto a new BSP release, structurally vs `git merge-file`.

For each scenario (learn the port of a Xen branch made from one upstream tag, resync it onto
another), and each ported file: the number of conflicts `git merge-file` leaves on the three
versions (learned upstream, hand port, new upstream), the number the structured merge leaves,
its time, and, for both merges, the silent changes (lines outside conflict markers whose
disabled/live state differs from a 3-way merge of the port's and upstream's: structured/states.py)
and the Linux-only names new upstream code brought in live without a report (goal: 0 of both).
With the porter CLI available, also the wall time of `porter resync`.

    PORTER_REAL=/work/real python benchmarks/bsp_update.py [--json] [--no-cli]

With PORTER_SMMU set, the SMMUv3 case (benchmarks/smmu.py) follows.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from porter.structured import apply_file, learn_file  # noqa: E402
from porter.structured.states import marker_lines, silent_changes  # noqa: E402

SCENARIOS = [
    # name, Xen branch, its base, upstream tag it was made from, new upstream tag
    ("v1 -> rcar-3.5.3", "ipmmu_v1", "base-v1", "rcar-3.5.2", "rcar-3.5.3"),
    ("ml -> rcar-3.5.3", "ipmmu_ml", "base-ml", "ml-base", "rcar-3.5.3"),
]
# library-only scenarios whose new upstream is a rewrite made here of the new tag's driver:
# every 4th function renamed (callers follow), every 6th (outside #if blocks) moved to the end of the file
REWRITES = [("v1 -> rcar-3.5.3 rewritten", "ipmmu_v1", "base-v1", "rcar-3.5.2", "rcar-3.5.3"),
            ("ml -> rcar-3.5.3 rewritten", "ipmmu_ml", "base-ml", "ml-base", "rcar-3.5.3")]
FILES = {"drivers/iommu/ipmmu-vmsa.c": "xen/drivers/passthrough/arm/ipmmu-vmsa.c",
         "drivers/iommu/io-pgtable-arm.c": "xen/drivers/passthrough/arm/io-pgtable-arm.c",
         "drivers/iommu/io-pgtable.c": "xen/drivers/passthrough/arm/io-pgtable.c",
         "drivers/iommu/io-pgtable.h": "xen/drivers/passthrough/arm/io-pgtable.h"}


def git(repo, *args) -> bytes:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True).stdout


def show(repo, rev, path) -> bytes:
    return git(repo, "show", f"{rev}:{path}")


def port_commit(xen, base, ref, xpath) -> str:
    """The commit of the `port` step of xpath: the second commit of base..ref touching it
    (the first imports the upstream file verbatim)."""
    commits = git(xen, "rev-list", "--reverse", f"{base}..{ref}", "--", xpath).decode().split()
    return commits[1]


def git_merge_file(ours: bytes, base: bytes, theirs: bytes) -> tuple[int, bytes]:
    """(conflicts, merged text with markers) of `git merge-file --diff3`."""
    with tempfile.TemporaryDirectory(prefix="bsp-bench-") as tmp:
        names = []
        for n, data in (("port", ours), ("old", base), ("new", theirs)):
            (Path(tmp) / n).write_bytes(data)
            names.append(str(Path(tmp) / n))
        proc = subprocess.run(["git", "merge-file", "-p", "--diff3", *names], capture_output=True)
    if proc.returncode < 0:
        raise RuntimeError("git merge-file failed")
    return proc.returncode, proc.stdout


def outside_conflicts(text: bytes) -> bytes:
    """text with each conflict block read as its first (the port's) side: what the blocks hold is
    reported as a conflict, and the port's side keeps the code around them whole."""
    inside = marker_lines(text)
    out, side = [], None
    for n, line in enumerate(text.splitlines(keepends=True)):
        if n not in inside:
            out.append(line)
        elif line.startswith(b"<<<<<<< "):
            side = "port"
        elif line.startswith((b"||||||| ", b"=======", b">>>>>>> ")):
            side = None
        elif side == "port":
            out.append(line)
    return b"".join(out)


def linux_only_check(xen, base, new_files: list[bytes], port_files: list[bytes], old_files: list[bytes]):
    """(check_new, unreported(outputs, ports, reported)) built on the lint of porter.linux_to_xen,
    or (None, None) when it is not there."""
    try:
        from porter.linux_to_xen import xen_index
        from porter.linux_to_xen.lint import lint_sources
    except ImportError:
        return None, None
    try:
        from porter.newcode import make_check_new
        cache = Path(tempfile.gettempdir()) / "porter-bsp-bench" / "xen-index"
        check_new = make_check_new(xen, base, new_files + port_files, old_files + port_files, cache)
    except ImportError:
        check_new = None
    index = xen_index(xen, base)

    def unreported(outputs: dict[str, bytes], ports: dict[str, bytes], reported: set[str]) -> list[dict]:
        """Linux-only names live in the merged files that the hand port did not already have and
        no check_new finding reported."""
        before = {f["symbol"] for f in lint_sources(ports, index)}
        return [f for f in lint_sources(outputs, index)
                if f["symbol"] not in before and f["symbol"] not in reported]

    return check_new, unreported


def rewritten(src: bytes) -> bytes:
    """src with every 4th function renamed (its uses too) and every 6th outside #if blocks moved
    to the end."""
    import re
    from porter.structured.units import segment
    units = segment(src)
    funcs = [u for u in units if u.kind == "function"]
    names = [u.name for k, u in enumerate(funcs) if k % 4 == 3]
    moved = {id(u) for k, u in enumerate(funcs) if k % 6 == 5 and not u.cond}
    text = b"".join(u.text for u in units if id(u) not in moved) + \
        b"".join(b"\n" + u.body for u in units if id(u) in moved)
    for name in names:
        text = re.sub(rb"\b" + re.escape(name.encode()) + rb"\b", name.encode() + b"_v2", text)
    return text


def run_library(real: Path) -> list[dict]:
    xen, bsp = real / "xen", real / "renesas-bsp"
    rows = []
    for name, ref, base, old_tag, new_tag in SCENARIOS + REWRITES:
        olds = {u: show(bsp, old_tag, u) for u in FILES}
        news = {u: show(bsp, new_tag, u) for u in FILES}
        if (name, ref, base, old_tag, new_tag) in REWRITES:
            news = {u: rewritten(d) if u.endswith(".c") else d for u, d in news.items()}
        ports = {x: show(xen, port_commit(xen, base, ref, x), x) for x in FILES.values()}
        check_new, unreported = linux_only_check(xen, base, list(news.values()), list(ports.values()),
                                                 list(olds.values()))
        outputs, line_outputs, reported, files = {}, {}, set(), []
        for upath, xpath in FILES.items():
            u, n, p = olds[upath], news[upath], ports[xpath]
            line_conflicts, line_output = git_merge_file(p, u, n)
            line_outputs[xpath] = outside_conflicts(line_output)
            t0 = time.perf_counter()
            edits = learn_file(u, p, xpath)
            t1 = time.perf_counter()
            res = apply_file(edits, u, n, xpath, check_new=check_new)
            t2 = time.perf_counter()
            assert apply_file(edits, u, u, xpath).output == p, f"roundtrip broken for {xpath}"
            outputs[xpath] = outside_conflicts(res.output)
            for f in res.findings:   # a disabled unit reports "a, b" for the names it disabled
                reported |= set(str(f.get("symbol", "")).split(", "))
            disabled_by_porter = {f["line"] - 1 + k for f in res.findings if f.get("disabled")
                                  for k in range(_unit_lines(res.output, f["line"] - 1))}
            reported_lines = {k - 1 for c in res.conflicts for k in c.get("lines", [])}
            silent = set(silent_changes(u, p, n, res.output, disabled_by_porter)) - reported_lines
            silent_line = silent_changes(u, p, n, line_output)
            files.append({"file": xpath, "git_merge_file": line_conflicts, "structured": len(res.conflicts),
                          "silent_structured": len(silent), "silent_git_merge_file": len(silent_line),
                          "notes": len(res.notes), "findings": len(res.findings),
                          "units_changed": len(res.units_changed),
                          "learn_s": round(t1 - t0, 3), "apply_s": round(t2 - t1, 3),
                          "conflicts": [{k: c[k] for k in ("unit", "line", "reason")} for c in res.conflicts]})
        live = unreported(outputs, ports, reported) if unreported else None
        live_line = unreported(line_outputs, ports, set()) if unreported else None
        rows.append({"scenario": name, "files": files,
                     "git_merge_file": sum(f["git_merge_file"] for f in files),
                     "structured": sum(f["structured"] for f in files),
                     "silent_structured": sum(f["silent_structured"] for f in files),
                     "silent_git_merge_file": sum(f["silent_git_merge_file"] for f in files),
                     "unreported_linux_only": None if live is None else len(live),
                     "unreported_linux_only_git_merge_file": None if live_line is None else len(live_line),
                     "unreported": live or []})
    return rows


def _unit_lines(text: bytes, first: int) -> int:
    """Lines of the `#if 0` block porter opened at line `first` (up to its #endif)."""
    lines = text.splitlines()[first:]
    depth = 0
    for k, line in enumerate(lines):
        stripped = line.lstrip()
        if stripped.startswith(b"#if"):
            depth += 1
        elif stripped.startswith(b"#endif"):
            depth -= 1
            if depth <= 0:
                return k + 1
    return 1


# ---------------------------------------------------------------------------------------------
# PORTER RESYNC TIMING (series engine).  The full CLI job per scenario:
#   porter init WS --name ... --upstream BSP --xen XEN --base BASE
#   porter learn REF --from OLD_TAG
#   porter resync --from NEW_TAG --no-build        <- timed (git am does not compile either)
# ---------------------------------------------------------------------------------------------
def time_porter_resync(real: Path, ref: str, base: str, old_tag: str, new_tag: str) -> dict:
    porter = shutil.which("porter", path=os.pathsep.join([str(Path(sys.executable).parent),
                                                          os.environ.get("PATH", "")]))
    if porter is None:
        return {"error": "porter CLI not found"}
    with tempfile.TemporaryDirectory(prefix="bsp-bench-ws-") as tmp:
        ws = Path(tmp) / "ws"

        def run(*args, cwd=None):
            t = time.perf_counter()
            p = subprocess.run([porter, *map(str, args)], cwd=cwd, capture_output=True, text=True)
            return p, time.perf_counter() - t

        p, _ = run("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp", "--public-url", "https://github.com/renesas-rcar/linux-bsp.git",
                   "--xen", real / "xen", "--base", base)
        if p.returncode:
            return {"error": f"init: {p.stdout.strip() or p.stderr.strip()}"}
        p, t_learn = run("learn", ref, "--from", old_tag, cwd=ws)
        if p.returncode:
            return {"error": f"learn: {p.stdout.strip() or p.stderr.strip()}"}
        # git am does not compile: neither does the timed resync (as in benchmarks/resync.py)
        no_build = ["--no-build"] if "--no-build" in run("resync", "--help")[0].stdout else []
        run("resync", "--from", old_tag, *no_build, cwd=ws)
        p, t_resync = run("resync", "--json", "--from", new_tag, *no_build, cwd=ws)
        out = {"learn_s": round(t_learn, 2), "resync_s": round(t_resync, 2), "exit": p.returncode}
        rev = max((d for d in (ws / "series/ipmmu-vmsa").glob("v*")), key=lambda d: int(d.name[1:]))
        out["git_am_s"] = round(time_git_am(real / "xen", base, rev, Path(tmp) / "am"), 3)
        shutil.rmtree(rev)        # the same resync again, with the Xen index now cached
        _, t_warm = run("resync", "--json", "--from", new_tag, *no_build, cwd=ws)
        out["resync_warm_s"] = round(t_warm, 2)
        out["ratio_cold"] = round(t_resync / out["git_am_s"], 1)
        out["ratio_warm"] = round(t_warm / out["git_am_s"], 1)
        try:
            data = json.loads(p.stdout)
            out["conflicts"] = len(data.get("conflicts", []))
            out["findings"] = len(data.get("findings", []))
        except ValueError:
            out["output"] = (p.stdout or p.stderr).strip()[-300:]
        return out


def time_git_am(xen: Path, base: str, rev: Path, dest: Path) -> float:
    """git am of the revision's patches on base, in a clone already checked out there."""
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(xen), str(dest)], check=True)
    sha = git(xen, "rev-parse", base).decode().strip()
    subprocess.run(["git", "-C", str(dest), "checkout", "-q", "--detach", sha], check=True)
    patches = [str(p) for p in sorted(rev.glob("0*.patch")) if not p.name.startswith("0000-")]
    t = time.perf_counter()
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.org", "-C", str(dest), "am",
                    "-q", "--keep-cr", *patches], check=True, capture_output=True)
    return time.perf_counter() - t


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--real", default=os.environ.get("PORTER_REAL"), help="real fixtures (PORTER_REAL)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--no-cli", action="store_true", help="skip timing `porter resync`")
    args = ap.parse_args(argv)
    if not args.real:
        print("set PORTER_REAL or --real to the real fixtures", file=sys.stderr)
        return 2
    real = Path(args.real)
    rows = run_library(real)
    if not args.no_cli:
        for row, (_, ref, base, old_tag, new_tag) in zip(rows, SCENARIOS):
            row["porter_resync"] = time_porter_resync(real, ref, base, old_tag, new_tag)
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'scenario / file':48} {'git merge-file':>14} {'structured':>10} {'notes':>5} "
          f"{'findings':>8} {'learn+apply':>11} {'silent (git/structured)':>24}")
    for row in rows:
        print(f"{row['scenario']}")
        for f in row["files"]:
            print(f"  {f['file']:46} {f['git_merge_file']:>14} {f['structured']:>10} {f['notes']:>5} "
                  f"{f['findings']:>8} {f['learn_s'] + f['apply_s']:>10.3f}s "
                  f"{f['silent_git_merge_file']:>12}/{f['silent_structured']}")
            for c in f["conflicts"]:
                print(f"      conflict: {c['unit']} line {c['line']}: {c['reason']}")
        unrep = row["unreported_linux_only"]
        unrep_line = row["unreported_linux_only_git_merge_file"]
        print(f"  {'total':46} {row['git_merge_file']:>14} {row['structured']:>10}   "
              f"silent changes: git merge-file {row['silent_git_merge_file']}, structured "
              f"{row['silent_structured']}; Linux-only names live without a report: git merge-file "
              f"{'n/a' if unrep_line is None else unrep_line}, structured {'n/a' if unrep is None else unrep}")
        for f in row["unreported"]:
            print(f"      unreported: {f['file']}:{f['line']}: {f['symbol']}")
        if "porter_resync" in row:
            print(f"  porter resync: {row['porter_resync']}")
    if os.environ.get("PORTER_SMMU"):      # the SMMUv3 case (moved and split upstream): benchmarks/smmu.py
        import smmu
        print("SMMUv3 (Xen's 10 commits on Linux 5.8.18) -> Linux 6.1")
        smmu.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main())
