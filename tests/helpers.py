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
