"""Where the recipe's upstream files are at another tag: moves, renames and split-out headers.

An upstream file the recipe imports is looked for, in order: where `[moves.TAG]` of recipe.toml
says; at the same path; where git's rename detection between the learned tag and TAG puts it;
at the file added since the learned tag that holds most of its lines (same extension, the same
name first): a file upstream merged into a bigger one, which git's rename detection misses.  A header
that the file at TAG includes from its own folder (`#include "x.h"`) and that is new there is
imported with it, next to the Xen file, and the port's units that moved into it are ported there.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from difflib import SequenceMatcher
from pathlib import PurePosixPath

from . import gitutil
from .errors import Findings

SIMILAR = 0.6      # share of the old file's lines found in the new one
MAX_CANDIDATES = 200
_LOCAL_INCLUDE = re.compile(rb'^\s*#\s*include\s+"([^"/]+\.h)"', re.M)


@dataclass
class TagFiles:
    at_tag: dict[str, str]                                   # learned upstream path -> path at the tag
    headers: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # xen .c -> [(upstream, xen) .h]
    notes: list[dict] = field(default_factory=list)

    def header_of(self, xpath: str) -> list[tuple[str, str]]:
        return self.headers.get(xpath, [])


def resolve(up, files: dict[str, str], learned_sha: str, tag_sha: str, tag: str,
            overrides: dict[str, str]) -> TagFiles:
    """files: the recipe's file map (learned upstream path -> Xen path)."""
    out = TagFiles({})
    tree = gitutil.ls_tree(up, tag_sha) if tag_sha != learned_sha else None
    if tree is None:
        out.at_tag = {u: u for u in files}
        return out
    renames: dict[str, str] | None = None
    for upath in files:
        new = overrides.get(upath)
        if new is not None:
            if new not in tree:
                raise Findings(f"recipe.toml [moves.\"{tag}\"] says {upath} is {new} at {tag}, which does not exist")
            how = "recipe.toml [moves]"
        elif upath in tree:
            out.at_tag[upath] = upath
            continue
        else:
            if renames is None:
                renames = _git_renames(up, learned_sha, tag_sha, sorted({_area(u) for u in files}))
            new = renames.get(upath)
            how = "git rename detection"
            if new is None:
                new = _most_similar(up, learned_sha, tag_sha, upath, tree)
                how = "content similarity"
            if new is None:
                raise Findings(f"imported upstream file {upath} does not exist at {tag}: removed or renamed "
                               f"upstream; say where it is in recipe.toml [moves.\"{tag}\"]")
        out.at_tag[upath] = new
        out.notes.append({"file": files[upath], "unit": "", "line": 0,
                          "message": f"upstream moved {upath} to {new} at {tag} (found by {how})"})
    moved_into = set(out.at_tag.values())
    for upath, xpath in files.items():
        new = out.at_tag[upath]
        if not xpath.endswith(".c"):
            continue
        text = gitutil.show_blob(up, tag_sha, new) or b""
        for name in dict.fromkeys(m.decode("utf-8", "replace") for m in _LOCAL_INCLUDE.findall(text)):
            hpath = str(PurePosixPath(new).parent / name)
            old_h = str(PurePosixPath(upath).parent / name)
            if hpath not in tree or hpath in moved_into or gitutil.show_blob(up, learned_sha, old_h) is not None:
                continue
            hx = str(PurePosixPath(xpath).parent / name)
            out.headers.setdefault(xpath, []).append((hpath, hx))
            moved_into.add(hpath)
            out.notes.append({"file": hx, "unit": "", "line": 0,
                              "message": f"new upstream header {hpath}, which {PurePosixPath(new).name} "
                                         f"includes, imported with it as {hx}"})
    return out


def _area(path: str) -> str:
    """Where to look for a moved file: its first two folders (drivers/iommu), which keeps git's
    rename detection exhaustive on a tree the size of Linux."""
    parts = PurePosixPath(path).parts[:-1]
    return "/".join(parts[:2]) if parts else "."


def _git_renames(up, a: str, b: str, areas: list[str]) -> dict[str, str]:
    out = gitutil.git(up, "diff", "--name-status", "-z", "-M", "-l0", "--diff-filter=R", a, b, "--", *areas)
    fields = out.decode("utf-8", "surrogateescape").split("\0")
    renames = {}
    i = 0
    while i + 2 < len(fields):
        if fields[i].startswith("R"):
            renames[fields[i + 1]] = fields[i + 2]
            i += 3
        else:
            i += 2
    return renames


def _most_similar(up, a: str, b: str, upath: str, tree: dict[str, str]) -> str | None:
    old = (gitutil.show_blob(up, a, upath) or b"").splitlines()
    name = PurePosixPath(upath).name
    added = gitutil.git_text(up, "diff", "--name-only", "--diff-filter=A", a, b, "--", _area(upath)).split("\n")
    cands = [p for p in added if p.endswith(PurePosixPath(upath).suffix) and p in tree]
    # the same file name first; at most MAX_CANDIDATES read
    cands = sorted(cands, key=lambda p: (PurePosixPath(p).name != name, p))[:MAX_CANDIDATES]
    best, best_share = None, SIMILAR
    for cand in cands:
        sm = SequenceMatcher(None, old, (gitutil.show_blob(up, b, cand) or b"").splitlines(), autojunk=False)
        if not old or sm.real_quick_ratio() * (len(old) + len(sm.b)) / 2 < best_share * len(old):
            continue
        share = sum(m.size for m in sm.get_matching_blocks()) / len(old)    # of the old file, found there
        if share > best_share:
            best, best_share = cand, share
    return best
