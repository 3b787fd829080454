"""Command registrations; each is a few lines over a library module."""
from __future__ import annotations

from pathlib import Path

import click

from . import ui, workspace
from .cli import porter_command


@porter_command("init")
@click.argument("target", required=False, type=click.Path(file_okay=False))
@click.option("--name", required=True, help="Series name (series/NAME/).")
@click.option("--upstream", required=True, help="Upstream Linux tree: path or URL.")
@click.option("--xen", required=True, help="Xen tree: path or URL.")
@click.option("--base", required=True, help="Xen ref the series applies on.")
@click.option("--release", default=None, help="Xen release ref (default: found from the base's history).")
@click.option("--public-url", default=None,
              help="Upstream URL to name in provenance when --upstream is a local mirror.")
def init_cmd(cwd: Path, target, name, upstream, xen, base, release, public_url):
    """Create a workspace: porter.toml, series/NAME/ and a git cache in .porter/."""
    root = cwd / target if target else cwd
    with ui.progress("init") as update:
        ws = workspace.init(root, name, upstream, xen, base, release, public_url, update)
    ui.say(f"workspace {ws.root} ready: series {ws.name} on {ws.base}")
    return {"workspace": str(ws.root), "series": ws.name}


@porter_command("fetch")
def fetch_cmd(cwd: Path):
    """Fetch the upstream and Xen trees porter.toml names into .porter/ (cloning them if missing)."""
    ws = workspace.load(cwd)
    with ui.progress("fetching") as update:
        ws.fetch(progress=update)
    ui.say(f"fetched {ws.config['upstream']['url']} and {ws.config['xen']['url']} into {ws.cache}")
    return {"cache": str(ws.cache)}


@porter_command("learn")
@click.argument("ref")
@click.option("--from", "tag", required=True, help="Upstream tag the port was made from.")
def learn_cmd(cwd: Path, ref, tag):
    """Read the Xen commits base..REF of an existing port and write the recipe."""
    from .learn import learn
    ws = workspace.load(cwd)
    with ui.progress("learning") as update:
        rec, summary = learn(ws, ref, tag, update)
    for s in summary:
        ui.say(f"  {s['kind']:<6} {s['commit'][:12]} {s['subject']}")
        if s.get("note"):
            ui.say(f"         note: {s['note']}", style="yellow")
    ui.say(f"recipe written to {ws.series_dir.relative_to(ws.root)}/ ({len(summary)} steps from {tag})")
    return {"recipe": str(ws.series_dir / "recipe.toml"), "steps": summary}


@porter_command("resync")
@click.option("--from", "tag", required=True, help="Upstream tag to regenerate the series from.")
def resync_cmd(cwd: Path, tag):
    """Regenerate the series from upstream TAG into series/NAME/v<N>/."""
    from .resync import resync
    ws = workspace.load(cwd)
    with ui.progress("resync") as update:
        result = resync(ws, tag, update)
    for c in result["conflicts"]:
        ui.say(f"conflict: {c['file']}:{c.get('line', 0)}: {c.get('unit', '')}: {c['reason']}", style="red")
    for d in result["drift"]:
        ui.say(f"drift: {d}", style="red")
    for f in result["findings"]:
        ui.say(f"finding: {f.get('file')}:{f.get('line')}: {f.get('message', f)}", style="yellow")
    for n in result["notes"]:
        ui.say(f"note: {n.get('file')}: {n.get('unit', '')}: {n.get('message', '')}")
    if result.get("scratch"):
        ui.say(f"the series with conflict markers is checked out in {result['scratch']} "
               f"(branch {result['branch']}); fix the port commit there, then run "
               f"'porter learn {result['branch']} --from {tag}' and resync again")
    if result["revision"] and not result["changed"]:
        ui.say(f"no change: series/{ws.name}/{result['revision']} is up to date")
    elif result["revision"]:
        ui.say(f"wrote series/{ws.name}/{result['revision']}/ ({len(result['patches'])} patches + cover letter)",
               style="green")
        for p in result["patches"]:
            ui.say(f"  {p['status']:<8} {p['subject']}")
    return result
from . import cmd_lint, cmd_port  # noqa: E402,F401
from . import cmd_ci  # noqa: E402,F401
from . import cmd_validate  # noqa: E402,F401


@porter_command("demo")
@click.argument("target", type=click.Path(file_okay=False), default="porter-demo")
def demo_cmd(cwd: Path, target):
    """Build the embedded example (a self-written driver, 3 releases, a Xen tree, a hand port) and run the job."""
    from . import demo
    with ui.progress("demo") as update:
        result = demo.run(cwd / target, update)
    first, checked, bsp = result["first"], result["validate"], result["update"]
    ws = Path(result["workspace"])
    ui.say(f"workspace: {ws}")
    ui.say(f"learned the hand-made port of {demo.RELEASES[0]}; resync gave series/ipmmu-vmsa/{first['revision']}/")
    _say_validate(first["revision"], checked)
    disabled = [n for n in bsp["notes"] if n.get("disabled")]
    ui.say(f"BSP update to {demo.RELEASES[-1]}: series/ipmmu-vmsa/{bsp['revision']}/ "
           f"({len(bsp['conflicts'])} conflicts, {len(bsp['findings'])} findings for a human, "
           f"{len(disabled)} new Linux-only units disabled)")
    for n in disabled:
        ui.say(f"  disabled: {n['file']}:{n.get('line')}: {n['message']}")
    for f in bsp["findings"]:
        ui.say(f"  finding: {f.get('file')}:{f.get('line')}: {f.get('unit', '')}: {f.get('message')}", style="yellow")
    for c in bsp.get("changes", []):
        ui.say(f"  change: {c}")
    _say_validate(bsp["revision"], result["validate_update"])
    return {"workspace": str(ws), "revisions": [first["revision"], bsp["revision"]],
            "validate": checked, "validate_update": result["validate_update"],
            "update": {k: bsp[k] for k in ("conflicts", "findings", "notes")},
            "ok": checked["ok"] and result["validate_update"]["ok"]}


def _say_validate(revision: str, checked: dict) -> None:
    passed = sum(s["passed"] for s in checked["scenarios"])
    ui.say(f"validate {revision}: {passed}/{len(checked['scenarios'])} hardware-model scenarios passed",
           style="green" if checked["ok"] else "red")
