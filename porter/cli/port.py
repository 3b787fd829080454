"""`porter port`: a generic port of a Linux file with the rule packs."""
from __future__ import annotations

from pathlib import Path

import click

from .. import gcpause, ui, workspace
from .args import output_path, read_source, xen_and_ref
from .group import porter_command


@porter_command("port", writes=True)
@gcpause.paused()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("-o", "--output", "out", required=True, help="Where to write the ported file.")
@click.option("--xen", default=None, help="Xen git repository (default: the workspace's).")
@click.option("--ref", default=None, help="Xen ref the port targets (default: the base).")
@click.option("--rules", "rules", multiple=True,
              help="Rule pack name or rule file (.toml); repeat. Default: every generic pack.")
@click.option("--upstream-path", default=None, help="Path of the file in the Linux tree.")
@click.option("--tree", default=None, help="Linux tree URL for the provenance header.")
@click.option("--tag", default=None, help="Linux tag for the provenance header.")
@click.option("--commit", default=None, help="Last upstream commit touching the file.")
def port_cmd(cwd: Path, file, out, xen, ref, rules, upstream_path, tree, tag, commit):
    """Port a Linux FILE to Xen with the rule packs: lint-clean, Linux code kept under #if 0.

    \b
    Examples:
      porter port drivers/iommu/ipmmu-vmsa.c -o ipmmu-vmsa.c
      porter port foo.c -o out/foo.c --xen ~/src/xen --ref staging --rules logging --rules my-rules.toml
    """
    from ..linux_to_xen import engine, xen_index
    from ..linux_to_xen.port import DEFAULT_PACKS, detect_provenance, port_source
    from ..linux_to_xen.rules import load_packs
    from ..linux_to_xen.xenindex import cache_dir
    src_path = Path(file) if Path(file).is_absolute() else cwd / file
    source = read_source(src_path, file)
    dest = output_path(cwd, out)
    repo, ref = xen_and_ref(cwd, xen, ref)
    packs = [r for r in rules if not (r.endswith(".toml") or "/" in r)] if rules else list(DEFAULT_PACKS)
    files = [Path(r) if Path(r).is_absolute() else cwd / r for r in rules if r.endswith(".toml") or "/" in r]
    load_packs(packs, files)   # bad pack or rule file: exit 2 before any work
    prov = detect_provenance(src_path)
    for key, value in (("upstream_path", upstream_path), ("tree", tree), ("tag", tag), ("commit", commit)):
        if value:
            setattr(prov, key, value)
    if commit and prov.commit != commit:
        prov.subject = ""
    with ui.progress(f"indexing Xen headers at {ref}"):
        index = xen_index(repo, ref, cache=cache_dir(cwd))
    with ui.progress(f"porting {file}"), engine.templates_compiled_for(cwd):
        res = port_source(source, filename=str(src_path), index=index, packs=packs,
                          rule_files=files, provenance=prov)
    workspace.atomic_write(dest, res.output)
    for d in res.drift:
        ui.say(f"drift: {d['rule']} {d['file']}:{d['line']}: {d['message']}")
    for d in res.disabled:
        ui.say(f"disabled: {d['unit']}: {d['reason']}")
    for f in res.findings:
        ui.say(f"{f['file']}:{f['line']}: {f['message']}")
    for u in res.uncalled:
        ui.say(f"uncalled: {u['function']} (line {u['line']}): static, nothing live calls it")
    uncalled = (f"; {len(res.uncalled)} static function(s) nothing live calls: the file builds with "
                f"Xen's -Werror only once Xen glue calls them") if res.uncalled else ""
    ui.say(f"wrote {dest}: {len(res.disabled)} unit(s) disabled, {len(res.compat)} compat helper(s), "
           f"{len(res.drift)} drift, {len(res.findings)} finding(s){uncalled}")
    return {"ok": not res.drift and not res.findings, "output": str(dest), "disabled": res.disabled,
            "drift": res.drift, "findings": res.findings, "compat": res.compat, "uncalled": res.uncalled,
            "timings": {k: round(v, 4) for k, v in res.timings.items()}}
