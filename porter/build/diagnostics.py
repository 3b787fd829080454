"""Compiler errors, and where they come from: the patch file, the line in it and the C unit."""
from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

import unidiff

from .. import gitutil

_DIAG = re.compile(r"^(?P<file>[^\s:][^:\n]*):(?P<line>\d+):(?:(?P<col>\d+):)?\s*(?:fatal )?error:\s*(?P<msg>.*)$")
MAX_ERRORS = 50


def errors(output: str, cwd: Path, root: Path) -> list[dict]:
    """The `file:line:col: error: ...` lines of a compile's output, paths made relative to root."""
    found = []
    for line in output.splitlines():
        m = _DIAG.match(line)
        if not m:
            continue
        path = Path(os.path.normpath(cwd / m.group("file")))
        try:
            rel = path.relative_to(root).as_posix()
        except ValueError:
            rel = str(path)
        found.append({"file": rel, "line": int(m.group("line")), "column": int(m.group("col") or 0),
                      "message": m.group("msg").strip()})
        if len(found) >= MAX_ERRORS:
            break
    if not found:
        lines = [ln.strip() for ln in output.splitlines()
                 if ln.strip() and not ln.startswith(("make: Entering", "make: Leaving"))]
        tail = [ln for ln in lines if "***" in ln or "rror" in ln] or lines[-1:] or ["failed without a message"]
        found.append({"file": "", "line": 0, "column": 0, "message": tail[0][:300]})
    return found


class Origins:
    """Map a line of a file at a commit of the series to the patch that added it."""

    def __init__(self, repo: Path, base: str, commits: list[str], patches: dict[str, bytes]):
        self.repo, self.base, self.commits = repo, base, commits
        self.names = list(patches)
        self.patches = patches

    def locate(self, err: dict, commit: str, touched: set[str]) -> dict:
        path, line = err["file"], err["line"]
        if path not in touched or not line:
            return dict(err, patch=None, patch_line=None, unit=_unit(self.repo, commit, path, line) if line else "")
        out = gitutil.git_text(self.repo, "blame", "--porcelain", "-L", f"{line},{line}",
                               f"{self.base}..{commit}", "--", path, check=False)
        first = out.split("\n", 1)[0].split()
        sha, orig = (first[0], int(first[1])) if len(first) >= 3 else ("", 0)
        patch = patch_line = None
        if sha in self.commits:
            patch = self.names[self.commits.index(sha)]
            patch_line = _patch_line(self.patches[patch], path, orig)
        return dict(err, patch=patch, patch_line=patch_line, unit=_unit(self.repo, commit, path, line))


def _patch_line(data: bytes, path: str, line: int) -> int | None:
    """The line of the patch file that adds `line` (a line number in the patched file) of path."""
    try:
        patchset = unidiff.PatchSet.from_string(data.decode("utf-8", "surrogateescape"))
    except unidiff.UnidiffParseError:
        return None
    for pf in patchset:
        if pf.path != path:
            continue
        for hunk in pf:
            for ln in hunk:
                if ln.is_added and ln.target_line_no == line:
                    return ln.diff_line_no
    return None


@lru_cache(maxsize=64)
def _units(repo: str, commit: str, path: str):
    from ..structured import units
    data = gitutil.show_blob(repo, commit, path)
    return units.segment(data) if data is not None and path.endswith((".c", ".h")) else []


def _unit(repo: Path, commit: str, path: str, line: int) -> str:
    """The C unit (function, struct, declaration, ...) holding line, or "" when there is none."""
    for unit in _units(str(repo), commit, path):
        if unit.line <= line < unit.line + unit.text.count(b"\n") + (not unit.text.endswith(b"\n")):
            return unit.label()
    return ""


def render(err: dict) -> str:
    """One line: where in the series, then where in the tree, then the compiler's message."""
    where = f"{err['file']}:{err['line']}:{err['column']}" if err["file"] else ""
    parts = []
    if err.get("patch"):
        parts.append(f"{err['patch']}:{err['patch_line']}" if err.get("patch_line") else err["patch"])
    elif err["file"]:
        parts.append("(in the base)")
    if err.get("unit"):
        parts.append(err["unit"])
    if where:
        parts.append(where)
    return ": ".join(parts + [f"error: {err['message']}"])
