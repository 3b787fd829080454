"""Who to mail: Xen's MAINTAINERS sections matched against the touched paths.

A section applies to a path when one of its F: patterns matches and none of its X: patterns do
(get_maintainer.pl semantics: a pattern ending in '/' covers everything below it, otherwise it
names a file at that depth; '*' and '?' do not cross '/').  Catch-all sections such as THE REST
(`F: *` and `F: */`) apply only to paths no other section covers.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase
import re

_TAG = re.compile(r"^([A-Z]):\s*(.*)$")


@dataclass
class Section:
    title: str
    maintainers: list[str] = field(default_factory=list)
    lists: list[str] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)

    @property
    def catch_all(self) -> bool:
        return any(p in ("*", "*/") for p in self.files)

    def covers(self, path: str) -> bool:
        return (any(pattern_matches(p, path) for p in self.files)
                and not any(pattern_matches(p, path) for p in self.excludes))


def pattern_matches(pattern: str, path: str) -> bool:
    directory = pattern.endswith("/")
    pat = pattern.rstrip("/").split("/")
    parts = path.split("/")
    if directory:
        if len(parts) <= len(pat):
            return False
        parts = parts[:len(pat)]
    elif len(parts) != len(pat):
        return False
    return all(fnmatchcase(a, b) for a, b in zip(parts, pat))


def parse(text: str) -> list[Section]:
    sections, current = [], None
    for line in text.splitlines():
        m = _TAG.match(line)
        if m and current is not None:
            tag, value = m.group(1), m.group(2).strip()
            if tag == "M":
                current.maintainers.append(value)
            elif tag == "L" and value:
                current.lists.append(value.split()[0])
            elif tag == "F":
                current.files.append(value)
            elif tag == "X":
                current.excludes.append(value)
        elif not line.strip():
            current = None
        elif not line[0].isspace():
            current = Section(line.strip())
            sections.append(current)
    return [s for s in sections if s.files]


def recipients(sections: list[Section], paths: list[str]) -> tuple[list[str], list[str]]:
    """(lists for To:, maintainers for Cc:) of the sections covering any of paths, in file order."""
    chosen: list[Section] = []
    for path in paths:
        specific = [s for s in sections if not s.catch_all and s.covers(path)]
        for s in specific or [s for s in sections if s.catch_all and s.covers(path)]:
            if s not in chosen:
                chosen.append(s)
    order = {id(s): i for i, s in enumerate(sections)}
    chosen.sort(key=lambda s: order[id(s)])
    return unique(x for s in chosen for x in s.lists), unique(x for s in chosen for x in s.maintainers)


def unique(items) -> list[str]:
    """items without repeats (case-insensitive), in first-seen order."""
    seen, out = set(), []
    for item in items:
        if item and item.lower() not in seen:
            seen.add(item.lower())
            out.append(item)
    return out
