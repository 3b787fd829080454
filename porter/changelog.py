"""The changelog of a revision as xen-devel expects it: "Changes since vN" in the cover letter and
"Changes in vN" under each patch's `---` (git am drops it), the author's own notes first, then
porter's lines worded for a reviewer; a patch's older "Changes in" blocks are kept below.

Human notes live in the recipe (recipe.toml):

    [changes.v2]
    cover = ["Address Julien's review of v1"]
    2 = ["Use dt_device_get_address() as the other Xen IOMMU drivers do"]

keyed by patch number (or step folder name).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from . import gitutil

MAX_COVER_REASONS = 3
_BLOCK = re.compile(r"\A((?:Changes in v\d+:\n(?:[-*] .*\n|  .*\n)*\n)+)", re.M)


@dataclass
class Changelog:
    cover: list[str] = field(default_factory=list)          # "Changes since v<N-1>" items
    patches: dict[int, str] = field(default_factory=dict)    # patch number -> block under ---

    def __bool__(self) -> bool:
        return bool(self.cover or self.patches)


@lru_cache(maxsize=256)
def _subject(repo: str, commit: str) -> str:
    out = gitutil.run(repo, "log", "-1", "--format=%s", commit, "--").stdout
    return out.decode("utf-8", "replace").strip()


def reason(origin: str, header: str, upstream_repo: str) -> str:
    """One origin of a changed hunk (review's vocabulary) as a reviewer reads it."""
    kind, _, what = origin.partition(":")
    where = header.removeprefix("@@").strip().rpartition(": ")[2] if header else ""
    if kind == "upstream":
        subject = _subject(upstream_repo, what) if re.fullmatch(r"[0-9a-f]{7,40}", what) else ""
        return f'Follow upstream commit {what} ("{subject}")' if subject else f"Update to upstream {what}"
    if kind == "learned":
        return f"Update the Xen changes to {what}"
    if kind == "carry":
        return "Rework the change"
    if origin == "rule:new-code":
        return "Disable new upstream code that uses Linux-only API (kept under #if 0)"
    if kind == "rule":
        return "Update the build glue" if "/" in what else f"Apply the {what} rewriting rule"
    if kind == "recipe":
        return "Reword the commit message"
    return f"Hand edit in {where}" if where else "Hand edit"


def notes_for(rec, version: int) -> dict[str, list[str]]:
    return {str(k): list(v) for k, v in (getattr(rec, "changes", {}) or {}).get(f"v{version}", {}).items()}


def _old_blocks(data: bytes | None) -> str:
    if not data:
        return ""
    text = data.decode("utf-8", "surrogateescape")
    _, sep, after = text.partition("\n---\n")
    m = _BLOCK.match(after) if sep else None
    return m.group(1) if m else ""


def build(rec, version: int, reviewed: list[dict], old: dict[str, bytes], old_tag: str | None,
          new_tag: str, units_changed: dict[str, list[str]], upstream_repo: str) -> Changelog:
    """The changelog of revision `version` from review's per-patch pairing of it with the previous one."""
    notes = notes_for(rec, version)
    steps = {n: s.dir for n, s in enumerate(getattr(rec, "steps", []), 1)}
    log = Changelog(cover=list(notes.get("cover", [])))
    if old_tag and old_tag != new_tag:
        log.cover.append(f"Rebase on upstream {new_tag} (v{version - 1} was on {old_tag})")
    for path, units in sorted(units_changed.items() if old_tag != new_tag else ()):
        log.cover.append(f"{path.rsplit('/', 1)[-1]}: follow upstream changes to {', '.join(units)}")
    for p in reviewed:
        number = int(p["file"][:4]) if p["file"][:4].isdigit() else 0
        human = notes.get(str(number), []) + notes.get(steps.get(number, ""), [])
        if p["status"] == "removed":
            log.cover.append(f"Drop \"{p['subject']}\"")
            continue
        if p["status"] == "new":
            lines = human + [f"New in v{version}"]
            log.cover.append(f"New patch {number}: \"{p['subject']}\"")
        else:
            lines = human + list(dict.fromkeys(reason(h["origin"], h.get("header", ""), upstream_repo)
                                               for h in p.get("hunks", [])))
            if lines:
                shown = "; ".join(lines[:MAX_COVER_REASONS])
                more = len(lines) - MAX_COVER_REASONS
                log.cover.append(f"Patch {number} \"{p['subject']}\": {shown}"
                                 + (f" (and {more} more, listed in the patch)" if more > 0 else ""))
        older = _old_blocks(old.get(p.get("old_file") or ""))
        if lines or older:
            block = (f"Changes in v{version}:\n" + "".join(f"- {line}\n" for line in lines) + "\n"
                     if lines else "")
            log.patches[number] = block + older
    return log


def insert(patch: bytes, block: str) -> bytes:
    """The patch with block right under its first `---` line (before the diffstat)."""
    if not block:
        return patch
    head, sep, rest = patch.partition(b"\n---\n")
    if not sep:
        return patch
    return head + sep + block.encode("utf-8", "surrogateescape") + rest


def strip(text: str) -> str:
    """A patch's text without its "Changes in vN" blocks (for comparing revisions)."""
    head, sep, rest = text.partition("\n---\n")
    if not sep:
        return text
    return head + sep + _BLOCK.sub("", rest, count=1)
