"""How much of the imported Linux code a series' port steps change and how much they disable.

xen-devel asks for minimal change to imported Linux files. For every file an import step brings
in, the port steps' result is compared line by line with the verbatim import: a Linux line is
kept (live), disabled (kept, but inside `#if 0`), or changed (gone or rewritten); lines the port
adds (Xen code, `#if 0`/`#endif` wrappers) are counted apart. The files are rebuilt from the
patches alone (they are new files of the series), so a hand-made series is measured the same way.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import gitutil

_IF0 = re.compile(r"^\s*#\s*if\s+0\b")
_IF = re.compile(r"^\s*#\s*if(n?def)?\b")
_ELSE = re.compile(r"^\s*#\s*(else|elif)\b")
_ENDIF = re.compile(r"^\s*#\s*endif\b")
_NEW_FILE = re.compile(rb"^diff --git a/\S+ b/(\S+)\n(?:[^\n]*\n)*?new file mode", re.M)
_TOUCHED = re.compile(rb"^\+\+\+ b/(\S+)$", re.M)


def disabled_lines(lines: list[str]) -> set[int]:
    """Indices of the lines inside the first branch of an `#if 0`."""
    out: set[int] = set()
    stack: list[bool] = []           # per open conditional: is this branch an `#if 0` one
    for i, line in enumerate(lines):
        if _IF0.match(line):
            stack.append(True)
            continue
        if _IF.match(line):
            stack.append(False)
            continue
        if _ELSE.match(line) and stack:
            stack[-1] = False
            continue
        if _ENDIF.match(line) and stack:
            stack.pop()
            continue
        if any(stack):
            out.add(i)
    return out


def count(linux: str, port: str) -> dict:
    """{linux_lines, kept, changed, disabled, added} of port against the verbatim linux text."""
    a, b = linux.splitlines(), port.splitlines()
    off = disabled_lines(b)
    kept = disabled = 0
    from cydifflib import SequenceMatcher     # difflib's algorithm, compiled: the same opcodes
    matcher = SequenceMatcher(None, a, b, autojunk=False)
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            dis = sum(1 for j in range(j1, j2) if j in off)
            disabled += dis
            kept += (j2 - j1) - dis
    return {"linux_lines": len(a), "kept": kept, "changed": len(a) - kept - disabled,
            "disabled": disabled, "added": len(b) - kept - disabled}


def measure(patches: list[bytes], kinds: list[str], read=None) -> list[dict]:
    """Per imported file: its counts after the last port step that touches it.  read(i, path):
    the file's bytes once patches[:i + 1] are applied, when something holds them (the commits the
    patches were made from); else the patches are applied here."""
    imported: dict[str, str] = {}
    ported: dict[str, str] = {}
    import contextlib
    import tempfile
    # without read, a plain folder: git apply works on it as patch(1) would, no repository needed
    with contextlib.nullcontext() if read else tempfile.TemporaryDirectory(prefix="porter-linux-changes-") as tmp:
        root = Path(tmp) if tmp else None
        created: set[str] = set()                  # the series' own files: no base needed
        for i, (data, kind) in enumerate(zip(patches, kinds)):
            created |= {m.decode() for m in _NEW_FILE.findall(data)}
            touched = [m.decode() for m in _TOUCHED.findall(data) if m.decode() in created]
            if not touched:
                continue
            if read is None:
                _apply(root, data, touched)
            text = (lambda path: _text(read(i, path))) if read else \
                (lambda path: (root / path).read_text("utf-8", "surrogateescape"))
            if kind == "import":
                for path in touched:
                    if path not in imported:
                        imported[path] = text(path)
            elif kind == "port":
                for path in touched:
                    if path in imported:
                        ported[path] = text(path)
    return [{"file": path, **count(imported[path], ported[path])} for path in sorted(ported)]


def _apply(root: Path, patch: bytes, touched: list[str]) -> None:
    gitutil.git(root, "apply", *(f"--include={p}" for p in touched), "-", input=patch,
                env={"GIT_CEILING_DIRECTORIES": str(root)})


def _text(data: bytes) -> str:
    """data as a file read in text mode reads it (universal newlines)."""
    return data.decode("utf-8", "surrogateescape").replace("\r\n", "\n").replace("\r", "\n")


def totals(files: list[dict]) -> dict:
    keys = ("linux_lines", "kept", "changed", "disabled", "added")
    return {k: sum(f[k] for f in files) for k in keys}


def for_revision(files: dict[str, bytes], kinds: list[str], read=None) -> dict:
    """{files, totals} of a revision (series/NAME/vN/ files) whose steps are of the given kinds
    (read: as measure's, by patch number less one)."""
    numbered = sorted(n for n in files if re.match(r"\d{4}-", n) and not n.startswith("0000-"))
    if len(numbered) != len(kinds):
        return {"files": [], "totals": totals([])}
    measured = measure([files[n] for n in numbered], kinds, read)
    return {"files": measured, "totals": totals(measured)}


def describe(report: dict) -> list[str]:
    lines = []
    for f in report["files"]:
        lines.append(f"{f['file']}: {f['changed']} Linux line(s) changed, {f['disabled']} disabled, "
                     f"{f['kept']} kept of {f['linux_lines']}; {f['added']} Xen line(s) added")
    return lines
