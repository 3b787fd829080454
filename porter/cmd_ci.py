"""CLI registrations of the CI commands: check, review, ci-template."""
from __future__ import annotations

from pathlib import Path

import click

from . import ui, workspace
from .cli import porter_command


@porter_command("check")
def check_cmd(cwd: Path):
    """CI gate: regenerate the newest revision from the recipe and compare it with the committed one.

    Exit 0 when identical; exit 1 naming each patch file that differs, with a short diff.
    Never touches the committed files."""
    from .check import check
    ws = workspace.load(cwd)
    with ui.progress("check: regenerating the newest revision") as update:
        result = check(ws, update)
    for c in result["conflicts"]:
        ui.say(f"conflict: {c['file']}:{c.get('line', 0)}: {c.get('unit', '')}: {c['reason']}", style="red")
    for d in result["drift"]:
        ui.say(f"drift: {d}", style="red")
    if not result["differs"]:
        ui.say(f"ok: series/{ws.name}/{result['revision']} is what the recipe makes from {result['tag']}",
               style="green")
    for d in result["differs"]:
        ui.say(f"differs: series/{ws.name}/{result['revision']}/{d['file']}", style="red")
        show_diff(d["diff"])
    if result["differs"]:
        ui.say(f"{len(result['differs'])} file(s) differ from what the recipe makes: a hand edit, "
               f"a stale recipe or a changed upstream; run 'porter resync --from {result['tag']}' "
               f"or update the recipe", style="red")
    return result


def show_diff(text: str, indent: str = "    ") -> None:
    """A diff on stdout, coloured on a terminal (rich drops the styles elsewhere)."""
    for line in text.splitlines():
        style = None
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        ui.say(indent + line, style=style)


@porter_command("review")
@click.argument("va", required=False, metavar="[vA]")
@click.argument("vb", required=False, metavar="[vB]")
@click.option("--markdown", "as_markdown", is_flag=True, help="A comment ready for a merge request.")
def review_cmd(cwd: Path, va, vb, as_markdown):
    """What changed between two revisions (default: the two newest), patch by patch.

    Each patch is same, changed, new or removed; each changed hunk of the interdiff (range-diff
    style) gets its origin: upstream:<commit|tag>, learned:<unit>, rule:<id>, carry:<patch>,
    recipe:<step> or manual (nothing in porter explains it)."""
    from . import review
    ws = workspace.load(cwd)
    with ui.progress("review") as update:
        result = review.review(ws, workspace.parse_version(va), workspace.parse_version(vb), update)
    if as_markdown:
        text = review.markdown(result, ws.name)
        if ui.json_mode():
            result["markdown"] = text
        else:
            click.echo(text, nl=False)
        return result
    up = result["upstream"]
    ui.say(f"series/{ws.name}: {result['from']} -> {result['to']} (upstream {up['from']} -> {up['to']})",
           style="bold")
    marks = {"same": "=", "changed": "!", "new": "+", "removed": "-"}
    colours = {"same": None, "changed": "yellow", "new": "green", "removed": "red"}
    for p in result["patches"]:
        ui.say(f"{marks[p['status']]} {p['status']:<8} {p['file']}: {p['subject']}", style=colours[p["status"]])
        for h in p["hunks"]:
            ui.say(f"    [{h['origin']}] {h['header']}", style="red" if h["origin"] == "manual" else "cyan")
            show_diff(h["diff"], indent="      ")
    return result


@porter_command("ci-template")
@click.argument("kind", type=click.Choice(["github", "gitlab"]))
@click.option("--install", "spec", default="porter", show_default=True,
              help="What CI passes to pip install: a git URL (git+https://host/porter.git@TAG) or a name.")
def ci_template_cmd(cwd: Path, kind, spec):
    """Print a CI workflow that installs porter, runs `porter check` and posts `porter review --markdown`."""
    from importlib.resources import files
    from .errors import BadInput
    if not spec.strip() or any(c in spec for c in "\"\n\r`$"):
        raise BadInput(f"invalid --install {spec!r}")
    text = (files("porter") / "templates" / "ci" / f"{kind}.yml").read_text("utf-8")
    text = text.replace("@PORTER_INSTALL@", spec.strip())
    if not ui.json_mode():
        click.echo(text, nl=False)
    return {"kind": kind, "template": text}
