"""`porter build`: compile a revision in the Xen tree, patch by patch."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui, workspace
from .group import porter_command


@porter_command("build")
@click.argument("revision", required=False)
def build_cmd(cwd: Path, revision):
    """Compile every object the revision touches, at every patch, with Xen's own flags (-Werror).

    Exit 0 when everything builds; 1 naming each failing object with its errors traced to the
    patch file, the line in it and the C unit; 2 when there is no compiler for the target."""
    from ..build import build_revision
    ws = workspace.load(cwd)
    with ui.progress("build") as update:
        result = build_revision(ws, workspace.parse_version(revision), update)
    show(result)
    return result


def show(result: dict) -> None:
    """Per patch and per object OK/FAIL, each error on its own line."""
    from ..build import render
    ui.say(f"build {result['revision']} for {result['arch']} with {result['compiler']} "
           f"(make in sandbox: {result['sandbox']})")
    for patch in result["patches"]:
        ui.say(f"{patch['patch']}")
        for obj in patch["objects"]:
            ui.say(f"  {obj['status']:<5} {obj['object']}", style="green" if obj["status"] == "OK" else "red")
            for err in obj["errors"]:
                ui.say(f"        {render(err)}", style="red")
        for obj in patch["unchanged"]:
            ui.say(f"  {obj['status']:<5} {obj['object']} (unchanged since {obj['as_at'][:4]})",
                   style="red" if obj["status"] == "FAIL" else None)
        for obj in patch["not_in_makefile"]:
            ui.say(f"  -     {obj} (not in its Makefile yet)")
    n = sum(len(p["objects"]) for p in result["patches"])
    if result["ok"]:
        ui.say(f"ok: {n} compiles, every patch builds", style="green")
    else:
        ui.say(f"{len(result['failed'])} of {n} compiles failed", style="red")


def show_build(report: dict | None) -> None:
    """resync's and check's build line: skipped, ok, or the failing objects and their errors."""
    if not report:
        return
    if report.get("skipped"):
        ui.say(f"build: skipped: {report['skipped']}", style="yellow")
    elif report["ok"]:
        n = sum(len(p["objects"]) for p in report["patches"])
        ui.say(f"build: ok ({report['arch']}, {n} compiles, every patch builds, sandbox {report['sandbox']})",
               style="green")
    else:
        from ..build import distinct_errors, render
        for f in report["failed"]:
            ui.say(f"build: FAIL {f['object']} at {f['patch']} (sandbox {report['sandbox']})", style="red")
        for err in distinct_errors(report):
            ui.say(f"  {render(err)}", style="red")
