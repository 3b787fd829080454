"""`porter status`: where a workspace stands and what to run next, from what is on disk."""
from __future__ import annotations

from . import mail as mail_mod, recipe as recipe_mod, revision
from .errors import BadInput, Findings
from .workspace import Workspace, is_url


def status(ws: Workspace) -> dict:
    doc = {"workspace": str(ws.root), "series": ws.name, "base": ws.base,
           "sources": {w: {"url": ws.config[w]["url"], "public_url": ws.config[w].get("public_url"),
                           "cached": (ws.cache / f"{w}.git").is_dir()} for w in ("upstream", "xen")},
           "recipe": None, "revisions": [], "warnings": []}
    try:
        rec = recipe_mod.load(ws.series_dir)
    except BadInput as exc:
        rec, doc["recipe_error"] = None, str(exc)
    if rec is not None:
        kinds = {}
        for s in rec.steps:
            kinds[s.kind] = kinds.get(s.kind, 0) + 1
        doc["recipe"] = {"upstream_tag": rec.upstream_tag, "learned_ref": rec.learned.get("ref"),
                         "steps": len(rec.steps), "kinds": kinds, "subject_prefix": rec.subject_prefix,
                         "notes_for": sorted(rec.changes, key=lambda v: int(v[1:]))}
    for n in ws.revisions():
        files = ws.revision_files(n)
        cover = next((d for name, d in files.items() if name.startswith("0000-")), b"")
        sent = mail_mod.from_cover(cover, n)
        try:
            tag = revision.cover_tag(files, f"series/{ws.name}/v{n}")
        except Findings:
            tag = None
        doc["revisions"].append({"revision": f"v{n}", "tag": tag, "patches": len(files) - 1,
                                 "subject_prefix": sent.subject_prefix(n) if sent else None,
                                 "sender": sent.sender if sent else None, "date": sent.date if sent else None})
    for which, src in doc["sources"].items():
        if not is_url(src["public_url"] or src["url"]):
            what = "CI cannot fetch it" + (" and patches cannot name it" if which == "upstream" else "")
            doc["warnings"].append(f"[{which}] has no public URL: {what} (set [{which}] public_url in "
                                   f"porter.toml)")
    if doc["sources"]["xen"]["cached"]:
        warning = revision.release_warning(ws)
        if warning:
            doc["warnings"].append(warning)
    doc["next"] = next_step(doc)
    return doc


def next_step(doc: dict) -> str:
    if doc["recipe"] is None:
        return "porter learn REF --from TAG   # read the hand-made port base..REF"
    if not doc["revisions"]:
        return f"porter resync --from {doc['recipe']['upstream_tag']}"
    newest = doc["revisions"][-1]
    return (f"porter check   # then: porter send {newest['revision']} --dry-run")
