"""A port step written as rules (no learned edits): the generic port of porter/linux_to_xen with the
step's packs and rule files, on the file as the series' tree has it.

The result is a function of its inputs (the file, the rules and templates, the packs, Xen's headers
at the base, the headers the file includes, the provenance and porter's own porting code), so it is
kept in .porter/port-cache/ under a digest of them: a resync whose inputs did not change does not
port again.
"""
from __future__ import annotations

import functools
import hashlib
import json
from pathlib import Path, PurePosixPath

from . import gitutil
from .errors import BadInput
from .workspace import atomic_write, safe_join

CODE = sorted((Path(__file__).parent / "linux_to_xen").glob("*.py")) + [Path(__file__).parent / "cparse.py"]


@functools.lru_cache(maxsize=8)
def _tree_of(repo: Path, commit: str) -> str:
    return gitutil.tree_of(repo, commit)


def _digest(parts: list[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()


def run(ws, step, sdir: Path, xpath: str, tree, x2u: dict[str, str], new_up: dict[str, bytes],
        built, tag: str) -> None:
    from .linux_to_xen import Provenance, port_source, xen_index
    from .linux_to_xen.rules import PACK_DIR, load_pack
    if xpath not in x2u:
        raise BadInput(f"recipe: ported file {xpath} is not in the file map")
    upath = x2u[xpath]
    source = tree.read(xpath)
    if source is None:
        raise BadInput(f"recipe: step {step.dir} ports {xpath}, which no earlier step imported")
    names = [r for r in step.rules if r.endswith(".toml")] + step.file_rules.get(xpath, [])
    files = [safe_join(sdir, r, f"{step.dir}: rules") for r in names]
    packs = [r for r in step.rules if not r.endswith(".toml")]
    for pack in packs:
        if not (PACK_DIR / f"{pack}.toml").is_file():
            load_pack(pack)                   # an unknown pack: one line, exit 2
    base_tree = _tree_of(ws.xen_git, built.base)
    # the local headers it includes: as the tree has them, else as upstream has them
    headers = {PurePosixPath(x).name: tree.read(x) or new_up[u]
               for x, u in sorted(x2u.items()) if x.endswith(".h")}
    sha, subject = built.provenance.get(upath, ("", ""))
    tree_url = ws.config["upstream"].get("public_url") or ws.config["upstream"]["url"]
    prov = Provenance(upath, tree_url, tag, sha, subject)
    key = _digest([source, xpath.encode(), base_tree.encode(), json.dumps(vars(prov)).encode(),
                   *(p.read_bytes() for p in sorted(sdir.iterdir()) if p.is_file()),
                   *(n.encode() + b"\0" + d for n, d in sorted(headers.items())),
                   *(p.encode() + b"\0" + (PACK_DIR / f"{p}.toml").read_bytes() for p in packs),
                   *(n.encode() for n in names), *(p.read_bytes() for p in CODE)])
    cached = ws.cache / "port-cache" / f"{key}.json"
    try:
        doc = json.loads(cached.read_text("utf-8"))
        output = doc["output"].encode("utf-8", "surrogateescape")
    except (OSError, ValueError, KeyError):
        index = xen_index(ws.xen_git, ws.base, cache=ws.cache / "xen-index")
        res = port_source(source, filename=xpath, index=index, packs=packs, rule_files=files,
                          provenance=prov, headers=headers, disable_unused=True)
        doc = {"output": res.output.decode("utf-8", "surrogateescape"), "drift": res.drift,
               "findings": res.findings, "disabled": res.disabled}
        output = res.output
        try:
            atomic_write(cached, json.dumps(doc).encode("utf-8", "surrogateescape"))
        except OSError:
            pass                                # a read-only cache only costs time
    tree.write(xpath, output)
    built.drift.extend(dict(d, file=xpath) for d in doc["drift"])
    built.findings.extend(dict(f, file=xpath) for f in doc["findings"])
    built.notes.extend({"file": xpath, "unit": d["unit"], "reason": d["reason"], "disabled": True}
                       for d in doc["disabled"])
