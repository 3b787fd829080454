"""`porter ci-template`: CI workflows that keep a workspace honest."""
from __future__ import annotations

from pathlib import Path

import click

from .. import __version__, ui, workspace
from ..errors import BadInput
from .group import porter_command

FILES = {"github": ".github/workflows/porter.yml", "github-comment": ".github/workflows/porter-comment.yml",
         "gitlab": ".gitlab-ci.yml"}
WRITES = {"github": ("github", "github-comment"), "github-comment": ("github-comment",), "gitlab": ("gitlab",)}


def render(kind: str, spec: str) -> str:
    from importlib.resources import files
    text = (files("porter") / "templates" / "ci" / f"{kind}.yml").read_text("utf-8")
    return text.replace("@PORTER_INSTALL@", spec)


@porter_command("ci-template")
@click.argument("kind", type=click.Choice(list(FILES)))
@click.option("--install", "spec", default=f"xen-porter=={__version__}", show_default=True,
              help="What CI passes to pip install: porter's distribution xen-porter, or a git URL "
                   "(git+https://host/porter.git@TAG).")
@click.option("--write", is_flag=True,
              help="Write the file(s) into the workspace (github: porter.yml and porter-comment.yml) "
                   "instead of printing.")
def ci_template_cmd(cwd: Path, kind, spec, write):
    """Print a CI workflow: install porter and a cross compiler, fetch the sources from the public
    URLs in porter.toml (cached), run `porter check` and `porter build`, and keep one review comment
    per pull/merge request up to date.

    GitHub needs two workflows: `github` (the check, read-only, safe for pull requests from forks)
    and `github-comment` (posts the review from a workflow_run, never running the pull request's
    code). Inside a workspace, sources that CI cannot reach (local paths) are refused.

    \b
    Examples:
      porter ci-template github --write             # .github/workflows/porter{,-comment}.yml
      porter ci-template gitlab > .gitlab-ci.yml    # then set PORTER_REVIEW_TOKEN (api scope)
      porter ci-template github --install 'git+https://example.org/porter.git@v0.1.0'
    """
    spec = spec.strip()
    if not spec or any(c in spec for c in "\"'\n\r`$\\ ;|&<>"):
        raise BadInput(f"invalid --install {spec!r}")
    root = workspace.root_for(cwd)
    if root is not None:
        ws = workspace.load(root)
        for which in ("upstream", "xen"):
            ws.public_url(which)         # one line when CI could not fetch a source
    elif write:
        raise BadInput("--write needs a workspace (run it inside one or use -C DIR)")
    docs = {k: render(k, spec) for k in WRITES[kind]}
    if write:
        for k, text in docs.items():
            workspace.atomic_write(root / FILES[k], text.encode())
            ui.say(f"wrote {FILES[k]}")
    elif not ui.json_mode():
        click.echo(docs[kind], nl=False)
    return {"kind": kind, "template": docs[kind], "files": {FILES[k]: docs[k] for k in docs} if write else {}}
