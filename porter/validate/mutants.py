"""Mutants: deliberately broken variants of the ported C. Validation that
passes them proves nothing; each must be killed (some scenario fails).

A mutant is a regular expression over one file and its replacement; it is
applied to the first file where it matches. Patterns name the broken thing
(a register, a bit, a call), not one driver's spelling of the code around it,
so they fit any port of the driver. Mutants that match nowhere are
reported with applied=False and do not count toward the kill rate.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .build import BuildError, Sources, build
from .runner import run_platforms
from .scenarios import PLATFORMS


@dataclass(frozen=True)
class Mutant:
    name: str
    kind: str
    pattern: str
    replacement: str
    why: str                      # what breaks, in words

    def apply(self, sources: Sources) -> tuple[str, Sources] | None:
        rx = re.compile(self.pattern, re.M)
        for name in ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h"):
            text = sources.texts.get(name)
            if text is None:
                continue
            new, n = rx.subn(self.replacement, text, count=1)
            if n and new != text:
                return name, sources.replace(name, new)
        return None


MUTANTS = (
    Mutant("reg-offset-IMTTLBR0", "wrong register offset",
           r"(#define\s+IMTTLBR0\s+)0x0010", r"\g<1>0x0018",
           "the page-table base goes to TTBR1"),
    Mutant("reg-offset-IMTTBCR", "wrong register offset",
           r"(#define\s+IMTTBCR\s+)0x0008", r"\g<1>0x000c",
           "the translation control lands in IMBUSCR"),
    Mutant("reg-offset-IMMAIR0", "wrong register offset",
           r"(#define\s+IMMAIR0\s+)0x0028", r"\g<1>0x002c",
           "memory attributes go to IMMAIR1"),
    Mutant("reg-offset-IMUCTR", "wrong register offset",
           r"(#define\s+IMUCTR\(n\)\s+\(0x0)300", r"\g<1>304",
           "micro-TLB control written to a hole"),
    Mutant("reg-offset-ctx-stride", "wrong register offset",
           r"(#define\s+IM_CTX_SIZE\s+)0x40", r"\g<1>0x80",
           "contexts other than 0 are programmed in the wrong window"),
    Mutant("utlb-ttsel-zero", "wrong register field",
           r"(?<!#define )IMUCTR_TTSEL_MMU\([^()]*\)", "IMUCTR_TTSEL_MMU(0)",
           "every micro-TLB routes to context 0"),
    Mutant("tlb-no-flush", "missing TLB flush",
           r"reg\s*\|=\s*IMCTR_FLUSH;", ";",
           "TLB invalidation writes IMCTR without FLUSH"),
    Mutant("tlb-no-sync-on-unmap", "missing TLB flush",
           r"(\bif\s*\(\s*unmapped\s*\)\s*\n?\s*)io_pgtable_tlb_\w+\([^;]*\);", r"\g<1>;",
           "unmap does not invalidate the TLB"),
    Mutant("pte-af-shift", "wrong shift or mask in a PTE",
           r"(#define\s+ARM_LPAE_PTE_AF\s+[^\n]*?<<\s*)10\b", r"\g<1>9",
           "the access flag is written one bit too low"),
    Mutant("pte-addr-mask", "wrong shift or mask in a PTE",
           r"(#define\s+ARM_LPAE_MAX_ADDR_BITS\s+)48", r"\g<1>32",
           "output addresses above 4 GiB are truncated"),
    Mutant("pte-page-type", "wrong shift or mask in a PTE",
           r"(#define\s+ARM_LPAE_PTE_TYPE_PAGE\s+)3", r"\g<1>1",
           "level-3 entries get the reserved type"),
    Mutant("pte-ns-dropped", "wrong shift or mask in a PTE",
           r"(\.quirks\s*=\s*)IO_PGTABLE_QUIRK_ARM_NS", r"\g<1>0",
           "NS/NSTable are not set: secure access faults"),
    Mutant("block-size-no-2m", "wrong block size",
           r"SZ_1G\s*\|\s*SZ_2M\s*\|\s*SZ_4K", "SZ_1G | SZ_4K",
           "2 MiB blocks are never used"),
    Mutant("block-size-level", "wrong block size",
           r"\((\w*(?:LEVELS|LVL))\s*-\s*\(l\)\)(\s*\*)", r"(\1 - (l) - 1)\2",
           "block sizes are a level too small"),
    Mutant("perm-rdonly-dropped", "dropped permission bit",
           r"\b\w+\s*\|=\s*ARM_LPAE_PTE_AP_RDONLY;", ";",
           "read-only mappings become writable"),
    Mutant("perm-unpriv-dropped", "dropped permission bit",
           r"(\b\w+\s*=\s*)ARM_LPAE_PTE_AP_UNPRIV\s*\|\s*", r"\g<1>",
           "devices lose unprivileged access"),
    Mutant("level-sl0-off-by-one", "off-by-one level",
           r"(?<=[=|] )IMTTBCR_SL0_TWOBIT_LVL_1\b", "IMTTBCR_SL0_TWOBIT_LVL_2",
           "the hardware walk starts one level too low"),
    Mutant("level-tsz-off-by-one", "off-by-one level",
           r"\((64\w*)\s*-\s*([\w>.\-]*ias)\)(\s*<<\s*IMTTBCR_TSZ0_SHIFT)", r"(\1 - \2 - 1)\3",
           "TTBR0 covers one bit too many input addresses"),
    Mutant("level-recursion", "off-by-one level",
           r"(\b\w*_map\w*\([^;]*?\blvl\s*\+\s*)1\b", r"\g<1>2",
           "the allocator skips a table level"),
    Mutant("va64-not-set", "wrong register field",
           r"(?<=[?=] )IMCTR_VA64\b", "0",
           "VMSAv8-64 mode is never enabled"),
)


def run_mutants(sources: Sources, cc: str, baseline: set[str] | None = None, progress=None,
                cache: Path | None = None) -> list[dict]:
    """Build and validate every mutant; report which ones the scenarios kill.

    A mutant is killed when a scenario in `baseline` (the names that pass on
    the unmutated sources; all of them when None) fails, or when it does not
    compile."""
    planned = []
    out = []
    for m in MUTANTS:
        applied = m.apply(sources)
        if applied is None:
            out.append({"name": m.name, "killed": False, "applied": False, "kind": m.kind,
                        "detail": "pattern not found in these sources"})
            continue
        planned.append((m, *applied))

    def build_one(item):
        m, file, variant = item
        try:
            return build(variant, cc, cache), None
        except BuildError as exc:
            return None, str(exc)

    workers = os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        libs = list(pool.map(build_one, planned))
    built = [str(lib) for lib, _ in libs if lib is not None]
    with ProcessPoolExecutor(max_workers=min(workers, max(1, len(built)))) as pool:   # a mutant per core
        runs = dict(zip(built, pool.map(_scenarios, built)))
    for i, ((m, file, _), (lib, err)) in enumerate(zip(planned, libs), 1):
        if progress:
            progress(f"mutant {i}/{len(planned)}: {m.name}")
        entry = {"name": m.name, "killed": False, "applied": True, "kind": m.kind, "file": file, "why": m.why}
        if lib is None:
            entry.update(killed=True, detail=f"does not compile: {err}")
        else:
            results = runs[str(lib)]
            failed = [r for r in results if not r["passed"] and not r["detail"].startswith("not run")
                      and (baseline is None or r["name"] in baseline)]
            if failed:
                entry.update(killed=True, detail=f"{failed[0]['name']}: {failed[0]['detail']}")
            else:
                entry["detail"] = "every scenario passed"
        out.append(entry)
    return out


def _scenarios(lib: str) -> list[dict]:
    """Every platform's scenarios on one built mutant (in a worker process of its own)."""
    return run_platforms(lib, PLATFORMS, stop_early=True)
