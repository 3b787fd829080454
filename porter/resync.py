"""`porter resync --from TAG`: regenerate the series and write a new revision when it differs."""
from __future__ import annotations

import re
from pathlib import Path

from . import gitutil, recipe as recipe_mod, revision, series
from .errors import BadInput, Findings
from .workspace import Workspace, atomic_dir

_CHANGES = re.compile(r"\nChanges since v\d+:\n(?:  - .*\n)+", re.M)
_PREFIX = re.compile(r"^Subject: \[[^\]]*?(\d+/\d+)\]", re.M)


def normalized(data: bytes) -> bytes:
    """A patch without what only says which revision it belongs to: the commit id and [PATCH vN]."""
    text = data.decode("utf-8", "surrogateescape").split("\n", 1)[-1]
    text = _PREFIX.sub(r"Subject: [\1]", text, count=1)
    text = _CHANGES.sub("\n", text)
    text = re.sub(r"^index [0-9a-f]+\.\.[0-9a-f]+.*$", "index", text, flags=re.M)
    return text.encode("utf-8", "surrogateescape")


def patch_subject(data: bytes) -> str:
    m = re.search(rb"^Subject: \[[^\]]*\] (.*(?:\n .*)*)", data, re.M)
    return m.group(1).decode("utf-8", "replace").replace("\n ", " ") if m else ""


def compare(old: dict[str, bytes], new: dict[str, bytes]) -> list[dict]:
    """Per patch (matched by subject): same, changed, new or removed."""
    old_by = {patch_subject(d): (n, d) for n, d in old.items() if not n.startswith("0000-")}
    new_by = {patch_subject(d): (n, d) for n, d in new.items() if not n.startswith("0000-")}
    out = []
    for subject, (name, data) in new_by.items():
        if subject not in old_by:
            out.append({"file": name, "subject": subject, "status": "new"})
        else:
            same = normalized(old_by[subject][1]) == normalized(data)
            out.append({"file": name, "subject": subject, "status": "same" if same else "changed"})
    out += [{"file": n, "subject": s, "status": "removed"} for s, (n, _) in old_by.items() if s not in new_by]
    return out


def change_lines(old: dict[str, bytes], new: dict[str, bytes], built: series.Built) -> list[str]:
    lines = []
    old_tag = revision_tag(old)
    if old_tag and old_tag != built.tag:
        lines.append(f"upstream moved from {old_tag} to {built.tag}")
    for path, units in sorted(built.units_changed.items()):
        lines.append(f"{path}: upstream changed {', '.join(units)}")
    for entry in compare(old, new):
        if entry["status"] != "same":
            lines.append(f"{entry['status']}: {entry['subject']}")
    return lines


def revision_changes(ws: Workspace, rec, built: series.Built, old: dict[str, bytes], version: int,
                     probe: dict[str, bytes] | None = None) -> tuple[list[str], list[dict]]:
    """(the cover's "Changes since v<version-1>" lines, per-patch {file, subject, status}) of revision
    `version` built as `built`, against the previous revision's files `old` ({} for the first one).
    resync and check both call this, so check regenerates the exact cover letter resync wrote."""
    if probe is None:
        probe = revision.format_series(ws, rec, built, version, [])
    if not old:
        return [], compare(old, probe)
    from . import review
    try:
        lines, reviewed = review.revision_changes(ws, rec, built, old, probe)
    except Findings:     # the previous revision is not readable as patches: say less, still say it
        return change_lines(old, probe, built), compare(old, probe)
    return lines, [{k: p[k] for k in ("file", "subject", "status")} for p in reviewed]


def scratch_branch(ws: Workspace) -> str:
    return f"porter/{ws.name}/conflicts"


def scratch_worktree(ws: Workspace, built: series.Built) -> Path:
    """Check the conflicted series out in .porter/scratch (branch porter/NAME/conflicts) for a human."""
    path = ws.cache / "scratch"
    if path.exists():      # before moving the branch: git refuses to move a checked-out branch
        gitutil.git(ws.xen_git, "worktree", "remove", "--force", str(path))
    gitutil.git(ws.xen_git, "worktree", "prune")
    gitutil.git(ws.xen_git, "branch", "-f", scratch_branch(ws), built.tip)
    gitutil.git(ws.xen_git, "worktree", "add", "-q", "--force", str(path), scratch_branch(ws))
    for conflict in built.conflicts:
        if conflict.get("patch"):     # leave the carried patch's conflict markers for a human
            gitutil.git(path, "apply", "--3way", conflict["patch"], check=False)
    return path


def revision_tag(files: dict[str, bytes]) -> str | None:
    """The upstream tag of a previous revision, or None when its cover letter does not say."""
    try:
        return revision.cover_tag(files, "previous revision")
    except Findings:
        return None


def _same(old: dict[str, bytes], new: dict[str, bytes]) -> bool:
    return {n: normalized(d) for n, d in new.items()} == {n: normalized(d) for n, d in old.items()}


def resync(ws: Workspace, tag: str, progress=lambda text: None) -> dict:
    rec = recipe_mod.load(ws.series_dir)
    built = series.build(ws, rec, tag, progress)
    result = {"revision": None, "changed": False, "conflicts": built.conflicts, "drift": built.drift,
              "findings": built.findings, "notes": built.notes, "patches": []}
    if built.conflicts or built.drift:
        result.update(ok=False, scratch=str(scratch_worktree(ws, built)), branch=scratch_branch(ws))
        return result
    revs = ws.revisions()
    if revs:
        old = ws.revision_files(revs[-1])
        if revision_tag(old) == tag:      # from another tag, the cover letter differs anyway
            again = revision.format_series(ws, rec, built, revs[-1], [])
            if _same(old, again):
                result.update(revision=f"v{revs[-1]}", patches=compare(old, again), ok=not built.findings)
                return result
    else:
        old = {}
    version = (revs[-1] if revs else 0) + 1
    probe = revision.format_series(ws, rec, built, version, [])
    changes, patches = revision_changes(ws, rec, built, old, version, probe)
    files = revision.format_series(ws, rec, built, version, changes) if changes else probe
    target = ws.series_dir / f"v{version}"
    if target.exists():
        raise BadInput(f"{target} exists but is not a revision porter can read")
    with atomic_dir(target) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
    result.update(revision=f"v{version}", changed=True, patches=patches, changes=changes,
                  ok=not built.findings)
    return result
