"""Lint every unit that new upstream code brings into a ported file, so none goes in live and silent."""
from __future__ import annotations

from .linux_to_xen import symbols, xen_index
from .linux_to_xen.lint import lint_sources


def make_check_new(xen_repo, base: str, context: list[bytes]):
    """A check_new callback for structured.apply_file: findings for Linux-only names in a unit.

    Names the rest of the ported files or the new upstream files define count as known.
    """
    index = xen_index(xen_repo, base)
    defined: set[str] = set()
    for src in context:
        syms = symbols.collect(src, live_only=False)
        defined |= syms.defines | syms.fields

    def check(text: bytes, unit: str):
        findings = []
        for f in lint_sources({unit: text}, index):
            if f["symbol"] not in defined:
                f = {k: v for k, v in f.items() if k != "file"}
                findings.append(dict(f, message=f"new upstream code: {f['message']}"))
        return text, findings

    return check
