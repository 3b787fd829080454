"""Stage 2: pair the units of two versions of a file.

First by identity (kind + name; duplicates paired by identical text, then in order, then by
similarity), then by content similarity for renamed or moved units of the same kind.  Similarity
ignores whitespace, blank and brace-only lines, and needs shared lines that are not boilerplate
(a line found in several units of a version, like `return 0;`): two units that share only
boilerplate are never the same unit.
"""
from __future__ import annotations

import re
from collections import Counter
from difflib import SequenceMatcher
from functools import cache
from typing import Callable

from .units import Unit

_NO_CONTENT = re.compile(rb"^[\s{}();,]*$")

# kinds whose similarity-pairing makes sense (not directives, not blank tails)
_SIMILAR_KINDS = {"function", "struct", "union", "enum", "declaration", "typedef", "define",
                  "macro", "comment", "error", "include"}
RENAME_RATIO = 0.6


def content_lines(text: bytes) -> list[bytes]:
    """The lines that say something: whitespace-normalised, without blank and brace-only lines."""
    return [b"".join(line.split()) for line in text.splitlines() if not _NO_CONTENT.match(line)]


_GENERIC = re.compile(rb"\b(?:[a-z_]+_t|int|long|short|char|unsigned|signed|bool|void|u8|u16|u32|u64|s32|"
                      rb"const|static|struct|return|if|else|for|while|do|break|continue|goto|switch|case|"
                      rb"default|sizeof|NULL|true|false|ret|err|rc|res|i|j|k|n|val|flags|out|fail|E[A-Z0-9]+|"
                      rb"0x[0-9a-fA-F]+|\d+)\b")


def boilerplate(*versions: list[Unit]) -> set[bytes]:
    """Content lines that say nothing of their own: made only of keywords, numbers, error codes and
    the usual local names (`int ret;`, `if (ret)`, `return -EINVAL;`), or found in more than two
    units of some version."""
    out: set[bytes] = set()
    for units in versions:
        seen = Counter(line for u in units for line in set(content_lines(u.text)))
        out |= {line for line, n in seen.items() if n > 2}
        for u in units:
            out |= {b"".join(line.split()) for line in u.text.splitlines()
                    if not re.search(rb"[A-Za-z_]", _GENERIC.sub(b"", line))}
    return out


def _ratio(a: Unit, b: Unit, threshold: float, common: Callable[[], set[bytes]]) -> float:
    """Similarity of two units' content lines, each unit's own name read as the same word (a
    rename is not a difference), or 0 when their lines that name neither unit share only
    boilerplate."""
    la, lb = _named(a), _named(b)
    sm = SequenceMatcher(None, la, lb, autojunk=False)
    if sm.real_quick_ratio() < threshold or sm.quick_ratio() < threshold:
        return 0.0
    ratio = sm.ratio()
    if ratio < threshold:
        return 0.0
    boiler = common()
    da = [line for line in la if line not in boiler and _SELF not in line]
    db = [line for line in lb if line not in boiler and _SELF not in line]
    if not da or not db or SequenceMatcher(None, da, db, autojunk=False).ratio() < 0.5:
        return 0.0
    return ratio


_SELF = b"\x00"


def _named(u: Unit) -> list[bytes]:
    lines = content_lines(u.text)
    if not u.name.isidentifier():
        return lines
    name = re.compile(rb"\b" + re.escape(u.name.encode()) + rb"\b")
    return [name.sub(_SELF, line) for line in lines]


def match_units(a: list[Unit], b: list[Unit]) -> dict[int, int]:
    """{index in a: index in b} for units that are the same unit in both versions."""
    pairs: dict[int, int] = {}
    taken_b: set[int] = set()
    common = cache(lambda: boilerplate(a, b))     # read only for units alike enough to compare
    groups_a: dict[tuple[str, str], list[int]] = {}
    groups_b: dict[tuple[str, str], list[int]] = {}
    for i, u in enumerate(a):
        groups_a.setdefault((u.kind, u.name), []).append(i)
    for j, u in enumerate(b):
        groups_b.setdefault((u.kind, u.name), []).append(j)
    for k, la in groups_a.items():
        lb = groups_b.get(k)
        if not lb:
            continue
        if len(la) == 1 and len(lb) == 1:
            pairs[la[0]] = lb[0]
            continue
        # identical text first, in order
        free_b = list(lb)
        rest_a = []
        for i in la:
            same = [j for j in free_b if b[j].text == a[i].text]
            # identical duplicates (`#endif`, blank tails): the one with the same neighbours
            hit = max(same, key=lambda j: _alike_neighbours(a, i, b, j), default=None)
            if hit is None:
                rest_a.append(i)
            else:
                pairs[i] = hit
                free_b.remove(hit)
        if len(rest_a) == len(free_b):
            pairs.update(zip(rest_a, free_b))
            continue
        _greedy(a, b, rest_a, free_b, pairs, 0.3, common)
    taken_b.update(pairs.values())
    rest_a = [i for i in range(len(a)) if i not in pairs and a[i].kind in _SIMILAR_KINDS]
    rest_b = [j for j in range(len(b)) if j not in taken_b and b[j].kind in _SIMILAR_KINDS]
    if rest_a and rest_b:
        _greedy(a, b, rest_a, rest_b, pairs, RENAME_RATIO, common, same_kind=True)
    return pairs


def _alike_neighbours(a: list[Unit], i: int, b: list[Unit], j: int) -> int:
    """How many of a[i]'s two neighbours (the unit before, the one after) b[j] shares."""
    def ident(units, k):
        return (units[k].kind, units[k].name) if 0 <= k < len(units) else None
    return (ident(a, i - 1) == ident(b, j - 1)) + (ident(a, i + 1) == ident(b, j + 1))


def _greedy(a, b, la, lb, pairs, threshold, common, same_kind=False):
    cand = []
    for i in la:
        for j in lb:
            if same_kind and a[i].kind != b[j].kind and "error" not in (a[i].kind, b[j].kind):
                continue
            r = _ratio(a[i], b[j], threshold, common)
            if r >= threshold:
                cand.append((-r, abs(i - j), i, j))
    cand.sort()
    used_a, used_b = set(), set()
    for _, _, i, j in cand:
        if i in used_a or j in used_b:
            continue
        pairs[i] = j
        used_a.add(i)
        used_b.add(j)
