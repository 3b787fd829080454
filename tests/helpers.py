"""Test helpers: run the porter CLI in-process and apply a revision with git am."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

from click.testing import CliRunner

from porter.cli import main


def porter(*args: str, cwd: Path | None = None) -> tuple[int, str]:
    argv = (["-C", str(cwd)] if cwd else []) + [str(a) for a in args]
    result = CliRunner().invoke(main, argv, catch_exceptions=False)
    return result.exit_code, result.output


def porter_json(*args: str, cwd: Path | None = None) -> tuple[int, dict]:
    code, out = porter(*args, "--json", cwd=cwd)
    return code, json.loads(out)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True).stdout.strip()


def am_series(xen: Path, base: str, revision: Path, dest: Path) -> list[str]:
    """Apply every patch of revision on base in a fresh clone; return the tree id after each."""
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(xen), str(dest)], check=True)
    git(dest, "checkout", "-q", "--detach", git(xen, "rev-parse", base))
    trees = []
    env_args = ["-c", "user.name=t", "-c", "user.email=t@example.org"]
    for patch in sorted(revision.glob("*.patch")):
        if patch.name.startswith("0000-"):
            continue
        subprocess.run(["git", *env_args, "-C", str(dest), "am", "-q", "--keep-cr", str(patch)],
                       check=True, capture_output=True)
        trees.append(git(dest, "rev-parse", "HEAD^{tree}"))
    return trees


def ports_alike(monkeypatch, source: bytes, **kw):
    """port_source's outcome, checked to be the one of a port that parses every text afresh
    (cparse.note_edits keeping no incremental reparse)."""
    from porter import cparse
    from porter.linux_to_xen import port_source, symbols

    def fresh_port():
        cparse._PARSES.kept.clear()
        symbols._RAWS.kept.clear()     # walks of the parses kept
        return port_source(source, **kw)
    res = fresh_port()
    with monkeypatch.context() as m:
        m.setattr(cparse, "note_edits", lambda old, new, edits: None)
        afresh = fresh_port()
    assert (res.output, res.disabled, res.findings, res.uncalled) == \
        (afresh.output, afresh.disabled, afresh.findings, afresh.uncalled)
    return res
