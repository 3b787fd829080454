"""Lint every unit that new upstream code brings into a ported file, so none goes in live and silent."""
from __future__ import annotations

from functools import lru_cache

from .linux_to_xen import symbols, xen_index
from .linux_to_xen.lint import lint_sources


@lru_cache(maxsize=4)
def _index(xen_repo: str, base: str):
    return xen_index(xen_repo, base)


def make_check_new(xen_repo, base: str, context: list[bytes]):
    """A check_new callback for structured.apply_file: findings for Linux-only names in a unit.

    Names the context (the ported file, its new upstream and the series' headers) defines count as
    known; the context is parsed on the first call only, so a file no new code reaches costs nothing.
    """
    defined: set[str] | None = None

    def check(text: bytes, unit: str):
        nonlocal defined
        index = _index(str(xen_repo), base)
        if defined is None:
            defined = set()
            for src in context:
                syms = symbols.collect(src, live_only=False)
                defined |= syms.defines | syms.fields
        findings = []
        for f in lint_sources({unit: text}, index):
            if f["symbol"] not in defined:
                f = {k: v for k, v in f.items() if k != "file"}
                findings.append(dict(f, message=f"new upstream code: {f['message']}"))
        return text, findings

    return check
