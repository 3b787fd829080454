"""The series engine: run a recipe's steps on the base, one commit per step, without a checkout.

Blobs, trees and commits are written in-process into the bare Xen cache (objects.ObjectStore), so
a resync never checks out the Xen tree; committer = author and committer date = author date make
every commit id a function of the inputs alone.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import re
import tempfile
from functools import lru_cache
from pathlib import Path, PurePosixPath

from . import filemap, gitutil, history, markers, rule_port, templating
from .built import Built
from .errors import BadInput, Findings
from .recipe import Recipe, Step
from .objects import ObjectStore
from .structured import FileEdits, apply_file, segment
from .structured.match import match_units
from .workspace import Workspace, atomic_write

TRAILER = re.compile(r"^[A-Za-z][A-Za-z0-9-]*: ")


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
                _mode, blob, stage = entry.split()[:3]      # then a tab and the path
                stages[int(stage)] = blob.decode()
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
            failures.append({"file": ", ".join(paths), "hunk": _failed_hunk(patch, paths[0], plain) if len(paths) == 1 else "",
                             "line": 0, "reason": "; ".join(dict.fromkeys(plain + three)) or f"git apply exit {proc.returncode}"})
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
        if path not in (f.path, f.source_file[2:]):      # path: the new name, source_file: the old
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
    for tag, i1, i2, j1, j2 in _line_ops(before, after):
        if i1 <= line - 1 < i2:
            return j1 + (line - 1 - i1 if tag == "equal" else 0) + 1
    return after.count(b"\n") + 1


@lru_cache(maxsize=16)
def _line_ops(before: bytes, after: bytes) -> list:
    """The alignment of two texts, once per pair (a resync maps every finding of a file through it)."""
    from .structured.states import align
    return align(before.splitlines(), after.splitlines())[1]


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


def render_template(source: str, context: dict, where: str, folder: Path | None = None) -> str:
    """Build glue rendered in the sandbox; include/import read only from the step's folder."""
    env = templating.confined([folder]) if folder else templating.environment()
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
    old_up = {}
    for upath in rec.files:
        old_up[upath] = gitutil.show_blob(up, learned_sha, upath)
        if old_up[upath] is None:
            raise BadInput(f"recipe file map names {upath}, which is not in the upstream tree at "
                           f"{rec.upstream_tag}: the recipe was learned from another upstream")
    at_tag = filemap.resolve(up, rec.files, learned_sha, tag_sha, tag, rec.moves.get(tag, {}))
    built.notes.extend(at_tag.notes)
    new_up = {u: old_up[u] if tag_sha == learned_sha else gitutil.show_blob(up, tag_sha, at_tag.at_tag[u])
              for u in rec.files}
    headers = {hx: gitutil.show_blob(up, tag_sha, hu) for x in rec.files.values() for hu, hx in at_tag.header_of(x)}
    built.provenance = history.last_commits_touching(
        up, tag_sha, sorted(set(at_tag.at_tag.values()) | {hu for hs in at_tag.headers.values() for hu, _ in hs}))
    x2u = rec.xen_to_upstream
    series_dir = ws.series_dir
    check_new = None
    if lint_new and tag_sha != learned_sha and any(s.edits for s in rec.steps):
        check_new = _new_code_checkers(ws, rec, old_up, new_up, at_tag, headers)
    store = ObjectStore(xen)
    try:
        tree = WorkTree(store, xen, base)
        run = Replay(tree, built, at_tag, check_new)
        parent = base
        marks, at_step = (0, 0), []
        for n, step in enumerate(rec.steps, 1):
            progress(f"{n}/{len(rec.steps)} {step.kind}: {step.subject}")
            sdir = rec.step_dir(series_dir, step)
            message = retag(step.message, rec.upstream_tag, tag)
            if step.kind == "import":
                upaths = []
                for xpath in step.files:
                    if xpath not in x2u:
                        raise BadInput(f"recipe: imported file {xpath} is not in the file map")
                    upath = x2u[xpath]
                    run.write(xpath, new_up[upath], learned=old_up[upath])
                    upaths.append(at_tag.at_tag[upath])
                    for hu, hx in at_tag.header_of(xpath):
                        run.write(hx, headers[hx], learned=None)
                        upaths.append(hu)
                message = with_provenance(message, provenance_block(ws, tag, upaths, built))
            else:
                for xpath, name in step.edits.items():
                    run.edits(step, sdir, xpath, name)
                if step.kind == "port":      # a port step written as rules: the files it has no edits of
                    for xpath in step.files:
                        if xpath not in step.edits and xpath not in step.patches:
                            rule_port.run(ws, step, sdir, xpath, tree, x2u, new_up, built, tag)
                            run.learned.pop(xpath, None)
                if step.templates:
                    _run_build(ws, rec, step, sdir, run, tag)
                for xpath, name in step.patches.items():
                    run.patch(step, xpath, (sdir / name).read_bytes(), str(sdir / name))
                if step.patch:
                    for xpath, data in split_patch((sdir / step.patch).read_bytes()).items():
                        run.patch(step, xpath, data, str(sdir / step.patch))
            parent = tree.commit(parent, message, step.author, step.date)
            built.commits.append(parent)
            for item in built.conflicts[marks[0]:] + built.findings[marks[1]:]:
                item.setdefault("commit", parent)
                if item.get("line") and item.get("file") in (step.files or []) + list(step.edits):
                    at_step.append((item, tree.read(item["file"]) or b""))
            marks = (len(built.conflicts), len(built.findings))
        if check_new is not None:
            _lint_result(ws, rec, run, built)
        for item, text in at_step:     # lines of the files as the last commit has them
            item["line"] = map_line(text, tree.read(item["file"]) or b"", item["line"])
    finally:
        store.close()
    built.notes = _unique(built.notes)
    built.findings = _unique(built.findings)
    gitutil.git(xen, "update-ref", f"refs/porter/{ws.name}/last", built.tip)
    return built


def _lint_result(ws: Workspace, rec: Recipe, run: "Replay", built: Built) -> None:
    """The last net under the per-unit lint: Linux-only names live in the resynced files that the
    learned port did not have and nothing reported yet (a name new upstream code uses that the
    port removed, say) become findings."""
    from .linux_to_xen import xen_index
    from .linux_to_xen.lint import lint_sources
    ported = [x for x in rec.files.values() if C_SOURCE.search(x)]
    ported += [hx for x in rec.files.values() for _, hx in run.at_tag.header_of(x)]
    # the Xen headers the series itself changes define names too (a helper it adds)
    own = {x for step in rec.steps for x in step.edits if x.endswith(".h") and x not in ported}
    index = xen_index(ws.xen_git, ws.base, cache=ws.cache / "xen-index")     # (the one check_new read: kept per tree)
    files = {x: run.tree.read(x) or b"" for x in ported + sorted(own)}
    found = [f for f in lint_sources(files, index) if f["file"] in ported]
    reported = {(r.get("file"), s.strip()) for r in built.findings + built.notes
                for s in str(r.get("symbol", "")).split(",")}
    in_conflict = {x: markers.conflict_lines(text) for x, text in files.items()}
    new = [f for f in found if (f["file"], f["symbol"]) not in reported and f["line"] not in in_conflict[f["file"]]]
    commit = rec.learned.get("commit")
    before = _learned_lint(ws, commit, list(files), index) if commit and new else set()   # (read only when needed)
    for f in new:
        if (f["file"], f["symbol"]) not in before:
            built.findings.append(dict(f, unit="", message=f"new upstream code: {f.get('message', f['symbol'])}"))


def _learned_lint(ws: Workspace, commit: str, paths: list[str], index) -> set[tuple[str, str]]:
    """(file, symbol) the lint finds in the learned port's files, cached by commit and paths."""
    from .linux_to_xen import xenindex
    from .linux_to_xen.lint import lint_sources
    key = hashlib.sha1("\0".join([commit, index.tree, *paths, xenindex.code_digest()]).encode())
    cache = ws.cache / "learned-lint" / (key.hexdigest() + ".json")
    try:
        return {tuple(x) for x in json.loads(cache.read_text("utf-8"))}
    except (OSError, ValueError):
        pass
    learned = {x: gitutil.show_blob(ws.xen_git, commit, x) or b"" for x in paths}
    found = sorted({(f["file"], f["symbol"]) for f in lint_sources(learned, index)})
    try:
        atomic_write(cache, json.dumps(found).encode())
    except OSError:
        pass      # a read-only cache only costs time
    return set(found)


C_SOURCE = re.compile(r"\.[ch]$")


def _unique(records: list[dict]) -> list[dict]:
    seen, out = set(), []
    for r in records:
        key = repr(sorted((k, v) for k, v in r.items() if k != "line"))
        if key not in seen:
            seen.add(key)
            out.append(r)
    return out


def split_patch(patch: bytes) -> dict[str, bytes]:
    """A multi-file git patch as {path: that file's patch}."""
    out: dict[str, bytes] = {}
    for chunk in re.split(rb"(?m)^(?=diff --git )", patch):
        if not chunk.startswith(b"diff --git "):
            continue
        paths = _patch_paths(chunk)
        if paths:
            out[paths[-1]] = chunk
    return out


class Replay:
    """Runs step contents on the tree built from the new upstream, and keeps the learned world: each
    file as the same steps leave it on the upstream the recipe was learned from, wherever that
    differs.  A step's C edits were learned against the learned world's file, so they are merged
    from there onto the tree's (unit by unit), and replay the learned commits exactly when both agree.
    """

    def __init__(self, tree: WorkTree, built: Built, at_tag: filemap.TagFiles, check_new: dict | None):
        self.tree, self.built, self.at_tag = tree, built, at_tag
        self.learned: dict[str, bytes | None] = {}     # only files that differ from the tree's
        self.check_new = {x: _once(c, known) for x, (c, known) in check_new.items()} if check_new else {}

    def write(self, xpath: str, data: bytes | None, learned: bytes | None) -> None:
        self.tree.write(xpath, data)
        self._learned(xpath, learned)

    def _learned(self, xpath: str, data: bytes | None) -> None:
        if data == self.tree.read(xpath):
            self.learned.pop(xpath, None)
        else:
            self.learned[xpath] = data

    def learned_text(self, xpath: str) -> bytes | None:
        return self.learned[xpath] if xpath in self.learned else self.tree.read(xpath)

    def edits(self, step: Step, sdir: Path, xpath: str, name: str) -> None:
        edits = FileEdits.load((sdir / name).read_bytes(), xpath)
        ours = self.tree.read(xpath) or b""
        if xpath not in self.learned:
            res = apply_file(edits, ours, ours, xpath)      # conflicts here: the recipe is not this tree's
            for c in res.conflicts:
                c.setdefault("step", step.dir)
            self._record(xpath, res)
            learned_new = output = res.output
        else:
            base = self.learned[xpath] or b""
            learned_new = apply_file(edits, base, base, xpath).output
            # conflict blocks of earlier steps ride along on their port side (markers.py)
            resolved = {p: markers.port_side(self.tree.read(p) or b"")
                        for p in [xpath] + [hx for _, hx in self.at_tag.header_of(xpath)]}
            results = split_apply(edits, base, resolved[xpath][0],
                                  [(hx, resolved[hx][0]) for _, hx in self.at_tag.header_of(xpath)],
                                  xpath, self.check_new)
            for path, res in results.items():
                for c in res.conflicts:
                    c.setdefault("step", step.dir)
                restored, moved = markers.restore(resolved[path][0], res.output, resolved[path][1])
                for item in res.conflicts + res.notes + res.findings:   # lines of the file with its blocks
                    if isinstance(item.get("line"), int) and item["line"] > 0:
                        item["line"] = moved(item["line"])
                res.output = restored
                self._record(path, res)
                if path != xpath:
                    self.tree.write(path, res.output)
            output = results[xpath].output
        if step.rules:
            output = _run_rules(step, sdir, output, xpath, self.built)
        self.tree.write(xpath, output)
        self._learned(xpath, learned_new)

    def _record(self, path: str, res) -> None:
        built = self.built
        built.conflicts.extend(res.conflicts)
        built.notes.extend(res.notes)
        for f in res.findings:
            (built.notes if f.get("disabled") else built.findings).append(f)
        if res.units_changed:
            units = built.units_changed.setdefault(path, [])
            units.extend(u for u in res.units_changed if u not in units)

    def patch(self, step: Step, xpath: str, patch: bytes, where: str) -> None:
        diverged, learned = xpath in self.learned, self.learned.get(xpath)
        for fail in self.tree.apply(patch, step.dir):
            self.built.conflicts.append({
                "file": fail["file"], "unit": f"carry {step.dir}", "line": fail["line"], "step": step.dir,
                "hunk": fail["hunk"], "patch": where,
                "reason": f"stored change of {fail['file']} in '{step.subject}' does not apply, even 3-way: "
                          f"{fail['reason']}",
                "suggestion": f"resolve the <<<<<<< series before {step.dir} / >>>>>>> {step.dir} "
                              "markers in this step's commit"})
        if diverged:
            self._learned(xpath, apply_to_bytes(learned, xpath, patch))

    def template(self, xpath: str, insert) -> None:
        """insert(text) -> text, on the tree's file and the learned world's."""
        learned = self.learned_text(xpath)
        self.tree.write(xpath, insert(self.tree.read(xpath) or b""))
        self._learned(xpath, insert(learned or b""))


def _once(check, known: set[bytes]):
    """check_new for a unit only when it holds a line not linted yet: a unit every later step still
    sees as new upstream code (the learned world never has it) is linted, and reported, once; a
    later step's own edit of it brings the port's lines (`known`: the hand port's), not new code."""
    seen: set[bytes] = set()

    def wrapped(text: bytes, label: str):
        lines = set(text.splitlines())
        if lines <= seen or lines <= seen | known:
            return text, []
        out, findings = check(text, label)
        seen.update(lines, out.splitlines())
        return out, findings

    return wrapped


def split_apply(edits: FileEdits, base: bytes, ours: bytes, headers: list[tuple[str, bytes]], xpath: str,
                checks: dict) -> dict:
    """{path: MergeResult}: the edits learned on `base` (a .c file) merged onto `ours`, and onto the
    new upstream headers split out of it for the units that moved there."""
    if not headers:
        return {xpath: apply_file(edits, base, ours, xpath, check_new=checks.get(xpath))}
    units = segment(base)
    new_units = [(hx, segment(text)) for hx, text in headers]
    flat = [u for _, us in new_units for u in us]
    owner = [k for k, (_, us) in enumerate(new_units) for _ in us]
    pairs = match_units(units, flat + segment(ours))
    seg_of = _segments_by_unit(edits.segments, units)
    moved = {o: (owner[j], j) for o, j in pairs.items()
             if j < len(flat) and o in seg_of and not seg_of[o].disabled}
    moved_segs = {id(seg_of[o]) for o in moved}
    keep = [s for s in edits.segments if id(s) not in moved_segs]
    results = {xpath: apply_file(FileEdits(xpath, keep),
                                 b"".join(u.text for i, u in enumerate(units) if i not in moved), ours,
                                 xpath, check_new=checks.get(xpath))}
    for k, (hx, text) in enumerate(headers):
        order = sorted((j, o) for o, (kk, j) in moved.items() if kk == k)
        segs = [dataclasses.replace(seg_of[o]) for _, o in order]
        results[hx] = apply_file(FileEdits(hx, segs), b"".join(units[o].text for _, o in order), text, hx,
                                 check_new=checks.get(hx))
    return results


def _segments_by_unit(segs, units) -> dict:
    """{index of a unit of the learned file: the segment that refers to it}."""
    by_key = {(u.key, u.digest): i for i, u in enumerate(units)}
    by_digest: dict[str, list[int]] = {}
    for i, u in enumerate(units):
        by_digest.setdefault(u.digest, []).append(i)
    out: dict[int, object] = {}
    for s in segs:
        if not s.refers:
            continue
        i = by_key.get((s.key, s.digest))
        if i is None or i in out:
            i = next((c for c in by_digest.get(s.digest, []) if c not in out), None)
        if i is not None:
            out[i] = s
    return out


def apply_to_bytes(data: bytes | None, xpath: str, patch: bytes) -> bytes | None:
    """One file's patch applied to data (None: the file does not exist); the data unchanged when it
    does not apply."""
    with tempfile.TemporaryDirectory(prefix="porter-apply-") as tmp:
        root = Path(tmp) / "t"
        target = root / xpath
        target.parent.mkdir(parents=True, exist_ok=True)
        if data is not None:
            target.write_bytes(data)
        proc = gitutil.run(root, "apply", "-", input=patch, env={"GIT_CEILING_DIRECTORIES": tmp})
        if proc.returncode:
            return data
        return target.read_bytes() if target.is_file() else None


def _new_code_checkers(ws: Workspace, rec: Recipe, old_up: dict[str, bytes], new_up: dict[str, bytes],
                       at_tag: filemap.TagFiles, headers: dict[str, bytes]) -> dict:
    """{Xen path: (check_new, the hand port's lines)}; check_new's context is that file (learned port
    and new upstream) and the headers."""
    from .newcode import make_check_new
    xen = ws.xen_git
    commit = rec.learned.get("commit")
    learned = {x: (gitutil.show_blob(xen, commit, x) if commit else None) or b"" for x in rec.files.values()}
    context = [d for u, d in new_up.items() if u.endswith(".h")] + \
              [d for x, d in learned.items() if x.endswith(".h")] + [d or b"" for d in headers.values()]
    out = {}
    for u, x in rec.files.items():
        known = set(learned[x].splitlines())
        for path in [x] + [hx for _, hx in at_tag.header_of(x)]:
            out[path] = (make_check_new(xen, ws.base, [new_up[u], learned[x]] + context, [old_up[u], learned[x]],
                                        ws.cache / "xen-index"), known)
    return out


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


def _run_build(ws: Workspace, rec: Recipe, step: Step, sdir: Path, run: Replay, tag: str) -> None:
    files = sorted(rec.files.values())
    context = {"name": ws.name, "tag": tag, "files": files,
               "objects": [PurePosixPath(f).with_suffix(".o").name for f in files if f.endswith(".c")]}
    for t in step.templates:
        where = f"{sdir.name}/{t['template']}"
        block = render_template((sdir / t["template"]).read_bytes().decode("utf-8", "surrogateescape"),
                                context, where, sdir).encode("utf-8", "surrogateescape")
        run.template(t["file"], lambda text: insert_after(text, t["after"], t["occurrence"], block, where))


def provenance_block(ws: Workspace, tag: str, upaths: list[str], built: Built) -> str:
    tree_url = ws.public_url("upstream")
    lines = [f"Imported from {tree_url} tag {tag}:"]
    for upath in upaths:
        sha, subject = built.provenance[upath]
        lines.append(f"  {upath}: commit {sha[:12]} (\"{subject}\")")
    return "\n".join(lines)
