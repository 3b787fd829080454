"""`porter check`: the CI gate. Regenerate the newest revision from the recipe and compare it, byte for
byte, with the committed one. Never writes into series/NAME/: the regenerated files only live in memory
(git format-patch runs in a temp dir)."""
from __future__ import annotations

import difflib

from . import recipe as recipe_mod, revision, series
from .workspace import Workspace

DIFF_LINES = 40


def regenerate(ws: Workspace, rec, version: int, progress=lambda text: None):
    """(files, built) of revision `version` as the recipe makes it today, with the changelog resync
    writes (against the committed previous revision) and the mail options its cover letter shows."""
    from .resync import written_mail, written_revision
    where = f"series/{ws.name}/v{version}"
    committed = ws.revision_files(version)
    tag = revision.cover_tag(committed, where)
    built = series.build(ws, rec, tag, progress)    # as resync does: port rules may rewrite new code
    files = written_revision(ws, rec, built, version, written_mail(ws, rec, committed, version))
    return files, built, committed


def short_diff(name: str, old: bytes | None, new: bytes | None, version: int, limit: int = DIFF_LINES) -> str:
    if old is None:
        return f"{name}: missing from the committed revision v{version} (the recipe produces it)"
    if new is None:
        return f"{name}: in the committed revision v{version} but not produced by the recipe"
    a = old.decode("utf-8", "replace").splitlines(keepends=True)
    b = new.decode("utf-8", "replace").splitlines(keepends=True)
    lines = list(difflib.unified_diff(a, b, f"committed/v{version}/{name}", f"regenerated/{name}", n=2))
    lines = [line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in lines]
    if len(lines) > limit:
        lines = lines[:limit] + [f"... ({len(lines) - limit} more diff lines)\n"]
    return "".join(lines)


def check(ws: Workspace, progress=lambda text: None, build: bool = True) -> dict:
    """Regenerate and compare; with a compiler for the target, also build the committed revision.
    Not ok on any difference, conflict, drift, open finding or build failure."""
    version = ws.newest_revision()
    rec = recipe_mod.load(ws.series_dir)
    files, built, committed = regenerate(ws, rec, version, progress)
    differs = []
    for name in sorted(set(files) | set(committed)):
        old, new = committed.get(name), files.get(name)
        if old != new:
            differs.append({"file": name, "diff": short_diff(name, old, new, version)})
    result = {"revision": f"v{version}", "tag": built.tag, "differs": differs, "conflicts": built.conflicts,
              "drift": built.drift, "findings": built.findings}
    ok = not differs and not built.conflicts and not built.drift and not built.findings
    if build:
        result["build"] = build_committed(ws, version, committed, progress)
        ok = ok and (bool(result["build"].get("skipped")) or result["build"]["ok"])
    result["ok"] = ok
    return result


def build_committed(ws: Workspace, version: int, committed: dict[str, bytes], progress) -> dict:
    from . import build
    cfg, why = build.optional_compiler(ws, build.patch_paths(committed.values()))
    if cfg is None:
        return {"skipped": why}
    return build.build_revision(ws, version, progress, cfg)
