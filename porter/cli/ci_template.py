"""`porter ci-template`: a CI workflow that keeps a workspace honest."""
from __future__ import annotations

from pathlib import Path

import click

from .. import ui
from .group import porter_command


@porter_command("ci-template")
@click.argument("kind", type=click.Choice(["github", "gitlab"]))
@click.option("--install", "spec", default="porter", show_default=True,
              help="What CI passes to pip install: a git URL (git+https://host/porter.git@TAG) or a name.")
def ci_template_cmd(cwd: Path, kind, spec):
    """Print a CI workflow that installs porter, runs `porter check` and posts `porter review --markdown`."""
    from importlib.resources import files

    from ..errors import BadInput
    if not spec.strip() or any(c in spec for c in "\"\n\r`$"):
        raise BadInput(f"invalid --install {spec!r}")
    text = (files("porter") / "templates" / "ci" / f"{kind}.yml").read_text("utf-8")
    text = text.replace("@PORTER_INSTALL@", spec.strip())
    if not ui.json_mode():
        click.echo(text, nl=False)
    return {"kind": kind, "template": text}
