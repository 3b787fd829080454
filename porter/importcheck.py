"""learn's check that the port's imports are the upstream files at the tag it was told (--from)."""
from __future__ import annotations

from pathlib import PurePosixPath

from . import gitutil, history
from .errors import BadInput


def _blobs_at(repo, tags: list[str], paths: list[str]) -> dict[tuple[str, str], str]:
    """{(tag, path): blob id} for every tag and path that exists, in one git cat-file."""
    specs = [(t, p) for t in tags for p in paths]
    if not specs:
        return {}
    query = "".join(f"refs/tags/{t}:{p}\n" for t, p in specs).encode("utf-8", "surrogateescape")
    out = gitutil.git(repo, "cat-file", "--batch-check=%(objectname) %(objecttype)", input=query)
    found = {}
    for spec, line in zip(specs, out.decode().splitlines()):
        sha, _, kind = line.partition(" ")
        if kind == "blob":
            found[spec] = sha
    return found


def check_import_tag(ws, ref: str, tag: str, tag_sha: str, by_blob: dict[str, str], shas: list[str]) -> dict[str, str]:
    """Stop learn when a commit that only adds files imports another tag's files than `tag`.

    A commit adding files whose names exist upstream but whose content is not the upstream file at
    `tag` is an import from another tag (BadInput naming the tag it matches) or a new file porter
    will carry as a patch ({commit: note} for learn's summary)."""
    up = ws.upstream_git
    by_name: dict[str, list[str]] = {}
    for path in gitutil.ls_tree(up, tag_sha).keys():
        by_name.setdefault(PurePosixPath(path).name, []).append(path)
    tags = gitutil.git_text(up, "for-each-ref", "--sort=-creatordate", "--format=%(refname:short)",
                            "refs/tags").split()
    notes = {}
    for sha in shas:
        commit = history.read_commit(ws.xen_git, sha)
        adds = commit.changes
        if not adds or any(c.status != "A" for c in adds) or all(c.new_blob in by_blob for c in adds):
            continue
        candidates = {c.new_blob: by_name.get(PurePosixPath(c.path).name, []) for c in adds}
        if not any(candidates.values()):
            continue      # new files upstream never had: not an import
        paths = sorted({p for ps in candidates.values() for p in ps})
        blobs = _blobs_at(up, [t for t in tags if t != tag], paths)
        for other in (t for t in tags if t != tag):
            held = {blobs[(other, p)] for p in paths if (other, p) in blobs}
            if all(b in held for b in candidates):
                raise BadInput(f"--from {tag}: commit {sha[:12]} (\"{commit.subject}\") imports the "
                               f"upstream files of {other}, not of {tag}: run 'porter learn {ref} --from {other}'")
        names = ", ".join(PurePosixPath(c.path).name for c in adds)
        notes[sha] = (f"adds {names} under upstream names, but as no upstream tag has them: "
                      f"stored as a carried patch, which will not follow upstream")
    return notes
