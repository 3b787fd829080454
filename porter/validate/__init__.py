"""porter validate: build ported IPMMU driver C on the host against a Xen
shim, run it against the reference model, and report scenario by scenario.

Library entry point: `validate_sources(source_dir, mutants=False, progress=None)`.
"""
from __future__ import annotations

import time
from pathlib import Path

from .build import BuildError, Sources, compiler, find_sources
from .build import build as build_library
from .runner import run_platforms
from .scenarios import PLATFORMS

__all__ = ["validate_sources", "BuildError"]


def _say(progress, text: str) -> None:
    if progress:
        progress(text)


def validate_sources(source_dir: Path, mutants: bool = False, progress=None, cache: Path | None = None) -> dict:
    """Validate the ported files found (recursively, by name) in source_dir.

    Returns {"ok", "scenarios": [{"name", "passed", "detail"}], "mutants": [{"name", "killed", ...}]}
    plus "kill_rate" when mutants were run, "error" when the C does not build,
    and "timing" (seconds) for the build and the scenarios.
    """
    cc = compiler()                                   # BadInput (exit 2) when there is none
    files = find_sources(Path(source_dir))
    sources = Sources.read(files)
    doc: dict = {"ok": False, "scenarios": [], "mutants": [],
                 "sources": {n: str(p) for n, p in sorted(files.items())}}
    t0 = time.monotonic()
    _say(progress, "building the port on the host")
    try:
        lib = build_library(sources, cc, cache)
    except BuildError as exc:
        doc["error"] = str(exc)
        doc["scenarios"] = [{"name": "build", "passed": False, "detail": str(exc)}]
        return doc
    t1 = time.monotonic()
    _say(progress, "running scenarios against the IPMMU model")
    doc["scenarios"] = run_platforms(lib, PLATFORMS)
    t2 = time.monotonic()
    doc["timing"] = {"build": round(t1 - t0, 3), "scenarios": round(t2 - t1, 3)}
    doc["ok"] = all(s["passed"] for s in doc["scenarios"])
    if mutants:
        from .mutants import run_mutants
        baseline = {s["name"] for s in doc["scenarios"] if s["passed"]}
        doc["mutants"] = run_mutants(sources, cc, baseline, progress=progress, cache=cache)
        live = [m for m in doc["mutants"] if m.get("applied", True)]
        killed = sum(1 for m in live if m["killed"])
        doc["kill_rate"] = round(killed / len(live), 3) if live else 0.0
        doc["timing"]["mutants"] = round(time.monotonic() - t2, 3)
    return doc
