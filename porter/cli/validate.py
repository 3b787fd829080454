"""porter validate: check a revision (or ported files) against the IPMMU model."""
from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

import click

from .. import gitutil, ui, workspace
from ..errors import BadInput
from .group import porter_command


def revision_sources(cwd: Path, rev: str | None, dest: Path) -> Path:
    """Apply series/<name>/v<N>/*.patch, in order, to the files they touch as the base has them.

    Only those files are written (no clone, no checkout of the Xen tree): that is all validate reads.
    """
    ws = workspace.load(cwd)
    n = workspace.parse_version(rev)
    if n is None:
        n = ws.newest_revision()
    patches = sorted(workspace.inside(ws.root, p, "patch") for p in ws.revision_dir(n).glob("*.patch")
                     if not p.name.startswith("0000-"))
    if not patches:
        raise BadInput(f"{ws.revision_dir(n)} holds no patch files")
    base = gitutil.resolve(ws.xen_git, ws.base, "base")
    tree = dest / "xen"
    tree.mkdir(parents=True)
    touched = {m.decode() for p in patches for m in re.findall(rb"^(?:\+\+\+|---) [ab]/(\S+)$", p.read_bytes(), re.M)}
    for path in sorted(touched):
        data = gitutil.show_blob(ws.xen_git, base, path)
        if data is not None:
            target = workspace.safe_join(tree, path, "patched file")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
    for patch in patches:
        try:
            gitutil.git(tree, "apply", "-", input=patch.read_bytes(), env={"GIT_CEILING_DIRECTORIES": str(dest)})
        except gitutil.GitError as exc:
            raise BadInput(f"{patch.name} does not apply on {ws.base}: {exc}") from None
    return tree


@porter_command("validate", writes=True)
@click.argument("revision", required=False)
@click.option("--source", "source", type=click.Path(file_okay=False),
              help="Validate the ported files found in DIR instead of a revision.")
@click.option("--mutants", is_flag=True, help="Also run broken variants and report which are caught.")
@click.option("--sandbox", type=click.Choice(["auto", "bwrap", "process"]), default=None,
              help="Where the built code runs: bwrap (read-only file system, no network, own PID "
                   "namespace), process (resource limits only) or auto (bwrap when it works; the default, "
                   "or $PORTER_SANDBOX).")
def validate_cmd(cwd: Path, revision, source, mutants, sandbox):
    """Build the ported C on the host and check it against the IPMMU-VMSA model, in a sandbox
    (see README, "What porter validate protects against").

    On a failure the revision applied on the base is kept (its path is printed), so that build
    errors point at files that still exist.

    \b
    Examples:
      porter validate               # the newest revision
      porter validate v2 --mutants  # and check that broken ports are caught
      porter validate --source DIR  # ported files in DIR
    """
    from .. import sandbox as sandbox_mod
    from ..validate import validate_sources
    sandbox_mod.request(sandbox)

    if source and revision:
        raise BadInput("give either a revision or --source DIR, not both")
    tmp = None
    cache = workspace.cache_for(cwd)
    doc = None
    try:
        if source:
            src = Path(source) if Path(source).is_absolute() else cwd / source
        else:
            tmp = Path(tempfile.mkdtemp(prefix="porter-validate-", dir=_scratch(cache)))
            with ui.progress("applying the revision on the base"):
                src = revision_sources(cwd, revision, tmp)
        with ui.progress("validating") as step:
            doc = validate_sources(src, mutants=mutants, progress=step,
                                   cache=cache / "validate" if cache else None)
    finally:
        if tmp and (doc is None or doc.get("ok")):
            shutil.rmtree(tmp, ignore_errors=True)
    if tmp and not doc.get("ok"):
        doc["kept"] = str(src)
    doc["sandbox"] = sandbox_mod.mode()
    report(doc)
    return doc


def _scratch(cache: Path | None) -> Path | None:
    """Where a revision is applied for validation: the workspace's cache when there is one."""
    if cache is None:
        return None
    (cache / "tmp").mkdir(parents=True, exist_ok=True)
    return cache / "tmp"


def report(doc: dict) -> None:
    if doc.get("error"):
        ui.say(f"build failed: {doc['error']} (fix the recipe's port step that makes this line, "
               f"resync, validate again)", style="red")
    else:
        for s in doc["scenarios"]:
            if s["passed"]:
                ui.say(f"  pass  {s['name']}", style="green")
            else:
                ui.say(f"  FAIL  {s['name']}: {s['detail']}", style="red")
        passed = sum(1 for s in doc["scenarios"] if s["passed"])
        ui.say(f"{passed}/{len(doc['scenarios'])} scenarios passed", style="green" if doc.get("ok") else "red")
        if not doc.get("ok"):
            ui.say("  a failing scenario names what the driver did and what the model expected; "
                   "'porter validate --json' gives every detail", style="red")
    live = [m for m in doc.get("mutants", []) if m.get("applied", True)]
    if live:
        killed = [m for m in live if m["killed"]]
        ui.say(f"mutants: {len(killed)}/{len(live)} killed ({100 * doc.get('kill_rate', 0):.0f}%)")
        for m in live:
            if not m["killed"]:
                ui.say(f"  survived  {m['name']} ({m['kind']}: {m.get('why', '')}): {m.get('detail', '')}",
                       style="yellow")
    if doc.get("kept"):
        ui.say(f"kept the revision applied on the base in {doc['kept']} for inspection "
               f"(remove it when done)", style="yellow")
