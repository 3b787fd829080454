"""porter validate: check a revision (or ported files) against the IPMMU model."""
from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import click

from .. import gitutil, ui, workspace
from ..errors import BadInput
from .group import porter_command


def revision_sources(cwd: Path, rev: str | None, dest: Path) -> Path:
    """Apply series/<name>/v<N>/*.patch on the base in a scratch index of the Xen cache and write
    out the files validate reads (by name, at their paths); return the directory holding them."""
    from ..validate.build import C_FILES, H_FILES
    ws = workspace.load(cwd)
    n = workspace.parse_version(rev)
    if n is None:
        n = ws.newest_revision()
    patches = sorted(p for p in ws.revision_dir(n).glob("*.patch") if not p.name.startswith("0000-"))
    if not patches:
        raise BadInput(f"{ws.revision_dir(n)} holds no patch files")
    tree = dest / "xen"
    env = {"GIT_INDEX_FILE": str((dest / "index").resolve())}
    gitutil.git(ws.xen_git, "read-tree", gitutil.resolve(ws.xen_git, ws.base, "base"), env=env)
    gitutil.git(ws.xen_git, "apply", "--cached", *[str(p.resolve()) for p in patches], env=env)
    wanted = set(C_FILES + H_FILES)
    for entry in gitutil.git(ws.xen_git, "ls-files", "-s", "-z", env=env).split(b"\0"):
        meta, _, path = entry.partition(b"\t")
        name = path.decode("utf-8", "surrogateescape")
        if name.rsplit("/", 1)[-1] in wanted:
            target = workspace.safe_join(tree, name, "patched file")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gitutil.read_object(ws.xen_git, meta.split()[1].decode())[2])
    (dest / "index").unlink()
    return tree


@porter_command("validate")
@click.argument("revision", required=False)
@click.option("--source", "source", type=click.Path(file_okay=False),
              help="Validate the ported files found in DIR instead of a revision.")
@click.option("--mutants", is_flag=True, help="Also run broken variants and report which are caught.")
def validate_cmd(cwd: Path, revision, source, mutants):
    """Build the ported C on the host and check it against the IPMMU-VMSA model.

    On a failure the revision applied on the base is kept (its path is printed), so that build
    errors point at files that still exist.

    \b
    Examples:
      porter validate               # the newest revision
      porter validate v2 --mutants  # and check that broken ports are caught
      porter validate --source DIR  # ported files in DIR
    """
    from ..validate import validate_sources

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
