"""`porter demo`: the whole job on the embedded example."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui
from .build import show_build
from .group import porter_command


@porter_command("demo")
@click.argument("target", type=click.Path(file_okay=False), default="porter-demo")
def demo_cmd(cwd: Path, target):
    """Build the embedded example (a self-written driver, 3 releases, a Xen tree, a hand port) and run the job.

    \b
    Examples:
      porter demo /tmp/porter-demo
      cd /tmp/porter-demo/ws && porter status && porter review
    """
    from .. import demo
    with ui.progress("demo") as update:
        result = demo.run(cwd / target, update)
    first, checked, bsp = result["first"], result["validate"], result["update"]
    ws = Path(result["workspace"])
    ui.say(f"workspace: {ws}")
    ui.say(f"learned the hand-made port of {demo.RELEASES[0]}; resync gave series/ipmmu-vmsa/{first['revision']}/")
    show_build(first.get("build"))
    _say_validate(first["revision"] or "the regenerated series", checked)
    disabled = [n for n in bsp["notes"] if n.get("disabled")]
    written = f"series/ipmmu-vmsa/{bsp['revision']}/" if bsp["revision"] else \
        f"no revision written ({'; '.join(bsp.get('not_written', []))}), series in {bsp.get('scratch')}"
    ui.say(f"BSP update to {demo.RELEASES[-1]}: {written} "
           f"({len(bsp['conflicts'])} conflicts, {len(bsp['findings'])} findings for a human, "
           f"{len(disabled)} new Linux-only units disabled)")
    show_build(bsp.get("build"))
    for n in disabled:
        ui.say(f"  disabled: {n['file']}:{n.get('line')}: {n['message']}")
    for f in bsp["findings"]:
        ui.say(f"  finding: {f.get('file')}:{f.get('line')}: {f.get('unit', '')}: {f.get('message')}", style="yellow")
    for c in bsp.get("changes", []):
        ui.say(f"  change: {c}")
    _say_validate(bsp["revision"] or "the regenerated series", result["validate_update"])
    return {"workspace": str(ws), "revisions": [first["revision"], bsp["revision"]],
            "validate": checked, "validate_update": result["validate_update"],
            "update": {k: bsp.get(k) for k in ("conflicts", "findings", "notes", "build", "not_written")},
            "build": first.get("build"),
            "ok": checked["ok"] and result["validate_update"]["ok"] and bool(first["ok"]) and bool(bsp["ok"])}


def _say_validate(revision: str, checked: dict) -> None:
    passed = sum(s["passed"] for s in checked["scenarios"])
    ui.say(f"validate {revision}: {passed}/{len(checked['scenarios'])} hardware-model scenarios passed",
           style="green" if checked["ok"] else "red")
