"""Lint against the compiler on the real drivers (PORTER_REAL, PORTER_SMMU, aarch64 cross compiler).

Recall: the verbatim Linux driver, its system includes swapped for the hand port's, compiled in
the Xen tree with Xen's flags; every name gcc calls unknown (undeclared, implicit, unknown type,
no member) should be among lint's findings on the verbatim file.
False alarms: lint's findings on the real hand ports (which build).
Generic port: `porter port` of the verbatim rcar-3.5.3 files, compiled with Xen's flags; errors
other than unused static functions, and whether lint reports each.

    PORTER_REAL=/work/real PORTER_SMMU=/work/smmu python benchmarks/lint_truth.py
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from porter.linux_to_xen import lint, port_source, symbols, xen_index  # noqa: E402
from tests import xenbuild  # noqa: E402

ARM = "xen/drivers/passthrough/arm/"
_SYS = re.compile(rb"^[ \t]*#[ \t]*include[ \t]*<[^>]+>[^\n]*\n", re.M)


def show(repo: Path, ref: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "show", f"{ref}:{path}"], check=True,
                          capture_output=True).stdout


def with_includes_of(verbatim: bytes, port: bytes) -> bytes:
    incs = b"".join(m.group(0) for m in _SYS.finditer(port))
    first = _SYS.search(verbatim)
    body = _SYS.sub(b"", verbatim)
    at = first.start() if first else 0
    return body[:at] + incs + body[at:]


def truth(xen: Path, name: str, text: bytes, extra: dict[str, bytes]) -> set[str]:
    for n, data in extra.items():
        (xen / ARM[4:] / n).write_bytes(data)
    (xen / ARM[4:] / name).write_bytes(text)
    _, out = xenbuild.compile(xen, ARM[4:] + name)
    if os.environ.get("LINT_TRUTH_LOG"):
        Path(os.environ["LINT_TRUTH_LOG"], name + ".log").write_text(out)
    own = symbols.collect(text, live_only=False).defines
    return {n for n in xenbuild.error_names(out, name) if n not in own and not symbols.is_builtin(n)}


def recall_case(label, xen_repo, base, verbatim: dict[str, bytes], port_files: dict[str, bytes],
                headers: dict[str, bytes], tmp: Path) -> dict:
    xen = xenbuild.prepare(xen_repo, base, tmp / f"xen-{label}")
    index = xen_index(xen_repo, base)
    files = {str(tmp / n): d for n, d in {**verbatim, **headers}.items()}
    for p, d in files.items():
        Path(p).write_bytes(d)
    found = {f["symbol"] for f in lint({p: files[p] for p in files if not p.endswith(".h")},
                                       xen_repo, base, index=index)}
    out = {}
    for n, text in verbatim.items():
        names = truth(xen, n, with_includes_of(text, port_files[n]), headers)
        hit = names & found
        out[n] = {"compiler": len(names), "lint": len(hit), "recall": round(len(hit) / max(1, len(names)), 3),
                  "missed": sorted(names - found)}
    return out


def false_alarms(xen_repo, base, files: dict[str, bytes], tmp: Path) -> list:
    paths = {}
    for n, d in files.items():
        (tmp / n).write_bytes(d)
        paths[str(tmp / n)] = d
    index = xen_index(xen_repo, base)
    return [f"{Path(f['file']).name}:{f['line']}: {f['symbol']}"
            for f in lint({p: d for p, d in paths.items() if p.endswith(".c")}, xen_repo, base, index=index)]


def generic_port(real: Path, tmp: Path) -> dict:
    xen_repo = real / "xen"
    index = xen_index(xen_repo, "base-v2")
    xen = xenbuild.prepare(xen_repo, "base-v2", tmp / "xen-port")
    result = {}
    ported = {}
    for n in ("io-pgtable.h", "ipmmu-vmsa.c", "io-pgtable-arm.c"):
        src = show(real / "renesas-bsp", "rcar-3.5.3", "drivers/iommu/" + n)
        out = port_source(src, filename=n, index=index)
        ported[n] = out
        (xen / ARM[4:] / n).write_bytes(out.output)
    for n in ("ipmmu-vmsa.c", "io-pgtable-arm.c"):
        (tmp / n).write_bytes(ported[n].output)
        (tmp / "io-pgtable.h").write_bytes(ported["io-pgtable.h"].output)
        code, log = xenbuild.compile(xen, ARM[4:] + n)
        errs = [e for e in xenbuild.errors(log) if "defined but not used" not in e["message"]]
        findings = lint({str(tmp / n): ported[n].output}, xen_repo, "base-v2", index=index)
        flines = {(Path(f["file"]).name, f["line"]) for f in findings}
        result[n] = {"exit": code, "errors": len(errs),
                     "unused": len(xenbuild.errors(log)) - len(errs),
                     "port_findings": len(ported[n].findings),
                     "unreported": [f"{Path(e['file']).name}:{e['line']}: {e['message']}" for e in errs
                                    if (Path(e["file"]).name, e["line"]) not in flines]}
    return result


def main() -> None:
    real = Path(os.environ["PORTER_REAL"])
    smmu = Path(os.environ["PORTER_SMMU"]) if os.environ.get("PORTER_SMMU") else None
    report: dict = {}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bsp, xr = real / "renesas-bsp", real / "xen"
        names = ("ipmmu-vmsa.c", "io-pgtable-arm.c")
        report["recall_ipmmu"] = recall_case(
            "ipmmu", xr, "base-v2", {n: show(bsp, "rcar-3.5.3", "drivers/iommu/" + n) for n in names},
            {n: show(xr, "ipmmu_v2", ARM + n) for n in names},
            {"io-pgtable.h": with_includes_of(show(bsp, "rcar-3.5.3", "drivers/iommu/io-pgtable.h"),
                                              show(xr, "ipmmu_v2", ARM + "io-pgtable.h"))}, tmp)
        hand = {n: show(xr, "ipmmu_v2", ARM + n) for n in ("ipmmu-vmsa.c", "io-pgtable-arm.c",
                                                           "io-pgtable.c", "io-pgtable.h")}
        (tmp / "hand").mkdir()
        report["false_alarms_ipmmu_v2"] = false_alarms(xr, "base-v2", hand, tmp / "hand")
        if smmu:
            lx, sx = smmu / "linux", smmu / "xen"
            report["recall_smmuv3"] = recall_case(
                "smmu", sx, "smmuv3-base", {"smmu-v3.c": show(lx, "v5.8.18", "drivers/iommu/arm-smmu-v3.c")},
                {"smmu-v3.c": show(sx, "smmuv3", ARM + "smmu-v3.c")}, {}, tmp)
            (tmp / "smmu").mkdir()
            report["false_alarms_smmuv3"] = false_alarms(
                sx, "smmuv3", {"smmu-v3.c": show(sx, "smmuv3", ARM + "smmu-v3.c")}, tmp / "smmu")
        report["generic_port"] = generic_port(real, tmp)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
