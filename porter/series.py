"""The series engine: run a recipe's steps on the base, one commit per step, without a checkout.

Blobs, trees and commits are written in-process into the bare Xen cache (objects.ObjectStore), so
a resync never checks out the Xen tree; committer = author and committer date = author date make
every commit id a function of the inputs alone.
"""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from . import gitutil, history, templating
from .errors import BadInput, Findings
from .recipe import Recipe, Step
from .objects import ObjectStore
from .structured import FileEdits, apply_file
from .workspace import Workspace

TRAILER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")


@dataclass
class Built:
    base: str
    tag: str
    tag_sha: str
    commits: list[str] = field(default_factory=list)
    provenance: dict[str, tuple[str, str]] = field(default_factory=dict)   # upstream path -> (sha, subject)
    conflicts: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    units_changed: dict[str, list[str]] = field(default_factory=dict)    # xen path -> units
    formatted: dict = field(default_factory=dict, repr=False)   # format-patch output by arguments

    @property
    def tip(self) -> str:
        return self.commits[-1] if self.commits else self.base


class WorkTree:
    """The tree under construction, kept as git objects written in-process."""

    def __init__(self, store: ObjectStore, repo: Path, base: str):
        self.store, self.repo = store, repo
        self.tree = store.tree_of(base)
        self.pending: dict[str, str | None] = {}
        self.files: dict[str, bytes | None] = {}

    def read(self, path: str) -> bytes | None:
        if path not in self.files:
            blob = self.store.lookup(self.tree, path)
            self.files[path] = self.store.read(blob) if blob else None
        return self.files[path]

    def write(self, path: str, data: bytes | None) -> None:
        self.pending[path] = self.store.write(b"blob", data) if data is not None else None
        self.files[path] = data

    def apply(self, patch: bytes, label: str = "carry") -> list[dict]:
        """Apply a carried patch to the files it touches; 3-way through an index when plain fails.

        Returns [] on success, else one failure per file that did not apply: {file, hunk, line,
        reason}, its conflict markers (labelled with `label`) written into the file, at `line`."""
        paths = _patch_paths(patch)
        with tempfile.TemporaryDirectory(prefix="porter-apply-") as tmp:
            root = Path(tmp) / "t"
            for path in paths:
                data = self.read(path)
                if data is not None:
                    (root / path).parent.mkdir(parents=True, exist_ok=True)
                    (root / path).write_bytes(data)
            root.mkdir(exist_ok=True)
            proc = gitutil.run(root, "apply", "-", input=patch, env={"GIT_CEILING_DIRECTORIES": tmp})
            if proc.returncode:
                return self._apply_3way(patch, paths, Path(tmp), _git_lines(proc.stderr), label)
            for path in paths:
                f = root / path
                self.write(path, f.read_bytes() if f.is_file() else None)
        return []

    def _apply_3way(self, patch: bytes, paths: list[str], tmp: Path, plain: list[str], label: str) -> list[dict]:
        env = {"GIT_INDEX_FILE": str(tmp / "index")}
        self.tree = self.store.tree_with(self.tree, self.pending)
        self.pending = {}
        gitutil.git(self.repo, "read-tree", self.tree, env=env)
        proc = gitutil.run(self.repo, "apply", "--cached", "--3way", "-", input=patch, env=env)
        three = _git_lines(proc.stderr) if proc.returncode else []
        failures = []
        for path in paths:
            stages = {}
            for entry in gitutil.git(self.repo, "ls-files", "-s", "--", path, env=env).splitlines():
                meta = entry.split(b"\t", 1)[0].split()
                stages[int(meta[2])] = meta[1].decode()
            if 0 in stages or not stages:
                if not proc.returncode:
                    self.write(path, self.store.read(stages[0]) if stages else None)
                continue
            line = 0
            if 2 in stages and 3 in stages:
                merged = _merge_with_markers(self.repo, self.store, stages, label)
                self.write(path, merged)
                mark = f"<<<<<<< series before {label}".encode()
                line = next((n for n, text in enumerate(merged.splitlines(), 1) if text == mark), 0)
            mine = [m for m in plain + three if path in m] or plain + three
            failures.append({"file": path, "hunk": _failed_hunk(patch, path, plain), "line": line,
                             "reason": "; ".join(dict.fromkeys(mine)) or f"git apply exit {proc.returncode}"})
        if proc.returncode and not failures:
            failures.append({"file": ", ".join(paths), "hunk": "", "line": 0,
                             "reason": "; ".join(plain + three) or f"git apply exit {proc.returncode}"})
        return failures

    def commit(self, parent: str, message: str, author: str, date: str) -> str:
        self.tree = self.store.tree_with(self.tree, self.pending)
        self.pending = {}
        return self.store.commit(self.tree, parent, author, date, message)


def _git_lines(stderr: bytes) -> list[str]:
    """git's messages, without the `error: ` prefix and the noise lines."""
    out = []
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = line.strip()
        if not line or line.startswith(("Checking patch", "Falling back", "U ")):
            continue
        out.append(line.removeprefix("error: "))
    return out


def _failed_hunk(patch: bytes, path: str, messages: list[str]) -> str:
    """The header of the hunk of path git names in `patch failed: PATH:LINE` (else the first)."""
    from unidiff import PatchSet
    try:
        files = PatchSet(patch.decode("utf-8", "surrogateescape"))
    except Exception:      # a patch unidiff cannot read: git's own message still says where
        return ""
    at = None
    for m in messages:
        hit = re.match(r"patch failed: (.+):(\d+)$", m)
        if hit and hit.group(1) == path:
            at = int(hit.group(2))
    for f in files:
        if path not in (f.path, f.source_file[2:], f.target_file[2:]):
            continue
        hunk = next((h for h in f if h.source_start == at), f[0] if len(f) else None)
        if hunk is not None:
            return (f"@@ -{hunk.source_start},{hunk.source_length} +{hunk.target_start},{hunk.target_length} @@"
                    + (f" {hunk.section_header}" if hunk.section_header else ""))
    return ""


def _merge_with_markers(repo: Path, store: ObjectStore, stages: dict[int, str], label: str) -> bytes:
    """The 3-way merge of an index conflict (stage 1 base, 2 the series, 3 the patch), markers
    labelled with the carried step."""
    with tempfile.TemporaryDirectory(prefix="porter-carry-") as tmp:
        names = []
        for stage in (2, 1, 3):
            f = Path(tmp) / str(stage)
            f.write_bytes(store.read(stages[stage]) if stage in stages else b"")
            names.append(str(f))
        proc = gitutil.run(tmp, "merge-file", "-p", "--diff3", "-L", f"series before {label}",
                           "-L", f"{label} base", "-L", label, *names)
    return proc.stdout


def map_line(before: bytes, after: bytes, line: int) -> int:
    """Line `line` (1-based) of before, as a line of after (where its text went)."""
    if before == after or line <= 0:
        return line
    from .structured.states import align
    for tag, i1, i2, j1, j2 in align(before.splitlines(), after.splitlines())[1]:
        if i1 <= line - 1 < i2 or (i1 == i2 == line - 1):
            return j1 + (line - 1 - i1 if tag == "equal" else 0) + 1
    return after.count(b"\n") + 1


def _patch_paths(patch: bytes) -> list[str]:
    """The files a patch touches (old and new names), each once."""
    names = re.findall(rb"^(?:\+\+\+|---) [ab]/(.+)$", patch, re.M)
    return list(dict.fromkeys(m.decode("utf-8", "surrogateescape") for m in names))


def retag(message: str, old: str, new: str) -> str:
    """The message with the learned upstream tag, as a whole token, replaced by the new one."""
    if old == new:
        return message
    return re.sub(rf"(?<![\w.-]){re.escape(old)}(?![\w-]|\.\w)", lambda _: new, message)


def with_provenance(message: str, block: str) -> str:
    """Insert block as a paragraph before the trailers (Signed-off-by: ...) of message."""
    paras = message.rstrip("\n").split("\n\n")
    if len(paras) > 1 and all(TRAILER.match(line) for line in paras[-1].splitlines()):
        paras.insert(len(paras) - 1, block)
    else:
        paras.append(block)
    return "\n\n".join(paras) + "\n"


def render_template(source: str, context: dict, where: str) -> str:
    env = templating.environment()
    return templating.render(lambda: env.from_string(source), context, where)


def insert_after(text: bytes, after: str, occurrence: int, block: bytes, where: str) -> bytes:
    lines = text.splitlines(keepends=True)
    if not after:
        return block + text
    anchor = after.encode("utf-8", "surrogateescape")
    seen = 0
    for i, line in enumerate(lines):
        if line.rstrip(b"\r\n") == anchor:
            seen += 1
            if seen == occurrence:
                if not line.endswith(b"\n"):
                    lines[i] = line + b"\n"
                return b"".join(lines[:i + 1]) + block + b"".join(lines[i + 1:])
    raise Findings(f"{where}: anchor line {after!r} (occurrence {occurrence}) not found")


def build(ws: Workspace, rec: Recipe, tag: str, progress=lambda text: None, lint_new: bool = True) -> Built:
    xen, up = ws.xen_git, ws.upstream_git
    base = ws.resolve("xen", ws.base, "base")
    tag_sha = ws.resolve("upstream", tag, "upstream tag")
    learned_sha = ws.resolve("upstream", rec.upstream_tag, "learned upstream tag")
    built = Built(base=base, tag=tag, tag_sha=tag_sha)
    new_up, old_up = {}, {}
    for upath in rec.files:
        old_up[upath] = gitutil.show_blob(up, learned_sha, upath)
        if old_up[upath] is None:
            raise BadInput(f"recipe file map names {upath}, which is not in the upstream tree at "
                           f"{rec.upstream_tag}: the recipe was learned from another upstream")
        new_up[upath] = old_up[upath] if tag_sha == learned_sha else gitutil.show_blob(up, tag_sha, upath)
        if new_up[upath] is None:
            raise Findings(f"imported upstream file {upath} does not exist at {tag}: removed or renamed "
                           f"upstream; update the recipe's file map")
    built.provenance = history.last_commits_touching(up, tag_sha, sorted(rec.files))
    x2u = rec.xen_to_upstream
    series_dir = ws.series_dir
    check_new = None
    if lint_new and tag_sha != learned_sha:
        check_new = _new_code_checkers(ws, rec, old_up, new_up)
    store = ObjectStore(xen)
    try:
        tree = WorkTree(store, xen, base)
        parent = base
        marks, at_step = (0, 0), []
        for n, step in enumerate(rec.steps, 1):
            progress(f"{n}/{len(rec.steps)} {step.kind}: {step.subject}")
            sdir = rec.step_dir(series_dir, step)
            message = retag(step.message, rec.upstream_tag, tag)
            if step.kind == "import":
                for xpath in step.files:
                    if xpath not in x2u:
                        raise BadInput(f"recipe: imported file {xpath} is not in the file map")
                    tree.write(xpath, new_up[x2u[xpath]])
                message = with_provenance(message, provenance_block(ws, tag, [x2u[x] for x in step.files], built))
            elif step.kind == "port":
                _run_port(step, sdir, tree, x2u, old_up, new_up, built, check_new)
            elif step.kind == "build":
                _run_build(ws, rec, step, sdir, tree, tag)
            else:
                for fail in tree.apply((sdir / step.patch).read_bytes(), step.dir):
                    built.conflicts.append({
                        "file": fail["file"], "unit": f"carry {step.dir}", "line": fail["line"],
                        "hunk": fail["hunk"], "patch": str(sdir / step.patch),
                        "reason": f"carried patch '{step.subject}' does not apply, even 3-way: {fail['reason']}",
                        "suggestion": f"resolve the <<<<<<< series before {step.dir} / >>>>>>> {step.dir} "
                                      "markers in this step's commit"})
            parent = tree.commit(parent, message, step.author, step.date)
            built.commits.append(parent)
            for item in built.conflicts[marks[0]:] + built.findings[marks[1]:]:
                item.setdefault("commit", parent)
                if item.get("line") and item.get("file") in (step.files or []) + list(step.edits):
                    at_step.append((item, tree.read(item["file"]) or b""))
            marks = (len(built.conflicts), len(built.findings))
        for item, text in at_step:     # lines of the files as the last commit has them
            item["line"] = map_line(text, tree.read(item["file"]) or b"", item["line"])
    finally:
        store.close()
    gitutil.git(xen, "update-ref", f"refs/porter/{ws.name}/last", built.tip)
    return built


def _new_code_checkers(ws: Workspace, rec: Recipe, old_up: dict[str, bytes],
                       new_up: dict[str, bytes]) -> dict:
    """{Xen path: check_new} whose context is that file (learned port and new upstream) and the headers."""
    from .newcode import make_check_new
    xen = ws.xen_git
    commit = rec.learned.get("commit")
    learned = {x: (gitutil.show_blob(xen, commit, x) if commit else None) or b"" for x in rec.files.values()}
    headers = [d for u, d in new_up.items() if u.endswith(".h")] + \
              [d for x, d in learned.items() if x.endswith(".h")]
    return {x: make_check_new(xen, ws.base, [new_up[u], learned[x]] + headers, [old_up[u], learned[x]],
                              ws.cache / "xen-index")
            for u, x in rec.files.items()}


def _run_port(step: Step, sdir: Path, tree: WorkTree, x2u, old_up, new_up, built: Built, check_new) -> None:
    for xpath, name in step.edits.items():
        upath = x2u.get(xpath)
        if upath is None:
            raise BadInput(f"recipe: ported file {xpath} is not in the file map")
        edits = FileEdits.load((sdir / name).read_bytes(), xpath)
        res = apply_file(edits, old_up[upath], new_up[upath], xpath,
                         check_new=check_new[xpath] if check_new else None)
        output = res.output
        if step.rules:
            output = _run_rules(step, sdir, output, xpath, built)
        tree.write(xpath, output)
        built.conflicts.extend(res.conflicts)
        built.notes.extend(res.notes)
        for f in res.findings:
            (built.notes if f.get("disabled") else built.findings).append(f)
        if res.units_changed:
            built.units_changed[xpath] = list(res.units_changed)


def _run_rules(step: Step, sdir: Path, source: bytes, xpath: str, built: Built) -> bytes:
    """The step's rules (pack names, or .toml rule files in the step dir) on the merged port."""
    from .linux_to_xen import apply_rules, load_rules
    from .workspace import safe_join
    files = [safe_join(sdir, r, f"{step.dir}: rules") for r in step.rules if r.endswith(".toml")]
    packs = [r for r in step.rules if not r.endswith(".toml")]
    result = apply_rules(source, load_rules(packs, files), filename=xpath)
    built.drift.extend(dict(d, file=xpath) for d in result.drift)
    built.findings.extend(dict(f, file=xpath) for f in result.findings)
    return result.output


def _run_build(ws: Workspace, rec: Recipe, step: Step, sdir: Path, tree: WorkTree, tag: str) -> None:
    files = sorted(rec.files.values())
    context = {"name": ws.name, "tag": tag, "files": files,
               "objects": [PurePosixPath(f).with_suffix(".o").name for f in files if f.endswith(".c")]}
    for t in step.templates:
        where = f"{sdir.name}/{t['template']}"
        block = render_template((sdir / t["template"]).read_bytes().decode("utf-8", "surrogateescape"),
                                context, where).encode("utf-8", "surrogateescape")
        current = tree.read(t["file"]) or b""
        tree.write(t["file"], insert_after(current, t["after"], t["occurrence"], block, where))


def provenance_block(ws: Workspace, tag: str, upaths: list[str], built: Built) -> str:
    tree_url = ws.public_url("upstream")
    lines = [f"Imported from {tree_url} tag {tag}:"]
    for upath in upaths:
        sha, subject = built.provenance[upath]
        lines.append(f"  {upath}: commit {sha[:12]} (\"{subject}\")")
    return "\n".join(lines)
