"""`porter learn REF --from TAG`: read the hand-made port base..REF and write the recipe."""
from __future__ import annotations

import difflib
import re
import tempfile
from pathlib import Path, PurePosixPath

from . import gitutil, history, recipe as recipe_mod
from .errors import BadInput
from .importcheck import check_import_tag
from .objects import ObjectStore
from .recipe import Recipe, Step
from .structured import learn_file
from .workspace import Workspace

BUILD_NAMES = re.compile(r"^(Makefile|Kconfig.*|Rules\.mk|.*\.mk)$")


def slug(subject: str) -> str:
    s = re.sub(r"[^A-Za-z0-9]+", "-", subject).strip("-").lower()
    return s[:52].rstrip("-") or "step"


def upstream_by_blob(ws: Workspace, tag_sha: str) -> dict[str, str]:
    """{blob id: upstream path} at tag (first path wins for duplicated content)."""
    out: dict[str, str] = {}
    for path, blob in sorted(gitutil.ls_tree(ws.upstream_git, tag_sha).items()):
        out.setdefault(blob, path)
    return out


def insertion_templates(old: bytes, new: bytes) -> list[dict] | None:
    """Build glue as pure insertions: [{after, occurrence, text}], or None when lines were changed."""
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    blocks = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            continue
        if op != "insert":
            return None
        after = a[i1 - 1] if i1 else b""
        blocks.append({"after": after.rstrip(b"\r\n").decode("utf-8", "surrogateescape"),
                       "occurrence": a[:i1].count(after) if i1 else 0,
                       "text": b"".join(b[j1:j2])})
    return blocks


C_FILE = re.compile(r"\.[ch]$")
_DEFINES = [re.compile(p, re.M) for p in (
    r"^\s*#\s*define\s+(\w+)",                            # macros
    r"^[A-Za-z_][\w \t*]*?\b(\w+)\s*\(",                    # a function's head or prototype
    r"^\s*(?:menu)?config\s+(\w+)",                         # Kconfig symbols
)]


def is_import(commit: history.Commit, blob_to_upstream: dict[str, str]) -> bool:
    return bool(commit.changes) and all(c.status == "A" and c.new_blob in blob_to_upstream
                                        for c in commit.changes)


def step_kind(step: Step) -> str:
    """What a learned step is made of: port (C edits only), build (templates only), else carry."""
    if step.edits and not (step.templates or step.patches):
        return "port"
    if step.templates and not (step.edits or step.patches):
        return "build"
    return "carry"


def unconditional_builds(templates: dict[str, bytes], ported: set[str]) -> list[str]:
    """Objects of ported files that learned build glue builds unconditionally (obj-y)."""
    objects = {PurePosixPath(x).with_suffix(".o").name for x in ported}
    found = []
    for text in templates.values():
        for m in re.finditer(rb"^obj-y\s*\+=\s*(.+)$", text, re.M):
            found += [o for o in m.group(1).decode("utf-8", "replace").split() if o in objects]
    return found


class Relevance:
    """Which commits of base..REF belong to the series.

    A commit belongs when it imports upstream files, touches a series file (imported, added by a
    kept step, or under one of `paths`), touches a file named like one of them (its documentation),
    or adds something the imported files use at REF (a macro, function or Kconfig symbol they name)
    or a line naming one of them (the build line of its object)."""

    def __init__(self, xen, ref_sha: str, imported: set[str], paths: tuple[str, ...]):
        self.xen, self.paths = xen, tuple(p.rstrip("/") for p in paths)
        self.files = set(imported)
        self.stems = {PurePosixPath(x).stem for x in imported}
        words: set[str] = set()
        for x in imported:
            words.update(re.findall(r"\w+", (gitutil.show_blob(xen, ref_sha, x) or b"").decode("utf-8", "replace")))
        self.words = words

    def _in_paths(self, path: str) -> bool:
        return path in self.files or any(path == p or path.startswith(p + "/") for p in self.paths)

    def why(self, commit: history.Commit, importing: bool) -> str | None:
        """Why commit belongs to the series, or None."""
        if importing:
            return "imports upstream files"
        touched = [c.path for c in commit.changes if self._in_paths(c.path)]
        if touched:
            return f"touches {touched[0]}"
        diff = gitutil.git_text(self.xen, "diff", "-U0", "--no-color", "--no-ext-diff", commit.parent, commit.sha)
        added = "\n".join(line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++"))
        for pattern in _DEFINES:
            for name in pattern.findall(added):
                if name in self.words:
                    return f"adds {name}, which the series uses"
        for c in commit.changes:
            if PurePosixPath(c.path).stem in self.stems:
                return f"touches {c.path}, named after a series file"
        for stem in sorted(self.stems):
            if re.search(rf"(?<![\w-]){re.escape(stem)}(?![\w-])", added):
                return f"names {stem}"
        return None

    def keep(self, commit: history.Commit) -> None:
        self.files.update(c.path for c in commit.changes if c.status == "A")


def learn(ws: Workspace, ref: str, tag: str, progress=lambda text: None,
          paths: tuple[str, ...] = ()) -> tuple[Recipe, list[dict], list[dict]]:
    """(recipe, one summary entry per step, the commits of base..REF left out and why)."""
    xen = ws.xen_git
    base_sha = ws.resolve("xen", ws.base, "base")
    ref_sha = ws.resolve("xen", ref, "ref")
    tag_sha = ws.resolve("upstream", tag, "upstream tag")
    shas = history.commit_range(xen, base_sha, ref_sha)
    if not shas:
        raise BadInput(f"no commits between base {ws.base!r} and {ref!r}")
    by_blob = upstream_by_blob(ws, tag_sha)
    import_notes = check_import_tag(ws, ref, tag, tag_sha, by_blob, shas)
    commits = [history.read_commit(xen, sha) for sha in shas]
    importing = [is_import(c, by_blob) for c in commits]
    relevance = Relevance(xen, ref_sha, {ch.path for c, imp in zip(commits, importing) if imp for ch in c.changes},
                          paths)
    imported: dict[str, str] = {}        # xen path -> upstream path
    store = ObjectStore(xen)
    try:
        steps, step_files, summary, left_out = _walk(
            commits, importing, relevance, by_blob, imported, LearnedState(xen, base_sha, store), progress)
        for entry in summary:
            if entry["commit"] in import_notes:
                entry["note"] = import_notes[entry["commit"]]
    finally:
        store.close()
    if not steps:
        raise BadInput(f"none of the commits between base {ws.base!r} and {ref!r} belongs to a port "
                       f"from {tag} (no upstream file imported; --paths names more files)")
    title = next((s.subject for s in steps if s.kind == "import"), steps[0].subject)
    title = title.rsplit(": ", 1)[-1]
    rec = Recipe(upstream_tag=tag, files={u: x for x, u in sorted(imported.items())}, steps=steps,
                 learned={"ref": ref, "commit": ref_sha, "base": base_sha},
                 cover=default_cover(title, imported))
    prev = recipe_mod.kept_settings(ws.series_dir)
    if prev is not None:      # what a human set in the old recipe survives; a broken one is replaced
        rec.to, rec.cc, rec.subject_prefix = prev.to, prev.cc, prev.subject_prefix
        rec.changes = prev.changes
        rec.cover = prev.cover or rec.cover
        rec.moves = prev.moves
    recipe_mod.save(ws.series_dir, rec, step_files)
    return rec, summary, left_out


def _walk(commits, importing, relevance, by_blob, imported, state, progress):
    """(steps, their files, summary, left out) of the commits, in order."""
    steps, step_files, summary, left_out = [], {}, [], []
    for n, (commit, imp) in enumerate(zip(commits, importing), 1):
        progress(f"{n}/{len(commits)} {commit.subject}")
        why = relevance.why(commit, imp)
        if why is None:
            left_out.append({"commit": commit.sha, "subject": commit.subject,
                             "reason": "touches no series file and adds nothing the series uses"
                                       + (" (merge commit)" if commit.merge else "")})
            continue
        relevance.keep(commit)
        step = Step(dir=f"{len(steps) + 1:02d}-{slug(commit.subject)}", kind="import", author=commit.author,
                    date=commit.date, files=[c.path for c in commit.changes], message=commit.message)
        files: dict[str, bytes] = {}
        if imp:
            for c in commit.changes:
                imported[c.path] = by_blob[c.new_blob]
                state.set(c.path, state.blob(c.new_blob))
        else:
            for c in commit.changes:
                _learn_file(state, commit, c, step, files)
            if not (step.edits or step.templates or step.patches):    # git am refuses empty patches
                left_out.append({"commit": commit.sha, "subject": commit.subject,
                                 "reason": "changes nothing the kept steps have not already made"})
                continue
            step.kind = step_kind(step)
        steps.append(step)
        step_files[step.dir] = files
        entry = {"commit": commit.sha, "subject": commit.subject, "kind": step.kind, "step": step.dir,
                 "files": {"edits": len(step.edits), "templates": len({t["file"] for t in step.templates}),
                           "patches": len(step.patches)}}
        if commit.merge:
            entry["merge"] = True
        built_always = unconditional_builds(
            {t["template"]: files[t["template"]] for t in step.templates}, set(imported))
        if built_always:
            entry["note"] = (f"builds {', '.join(built_always)} unconditionally (obj-y): reviewers ask "
                             f"that nothing is built by default until reviewed; consider "
                             f"obj-$(CONFIG_...) with a Kconfig option that defaults to n")
        summary.append(entry)
    return steps, step_files, summary, left_out


class LearnedState:
    """Files as the kept steps leave them (base plus kept commits): what each step is learned against,
    so that replaying the steps reproduces every commit even when commits were left out."""

    def __init__(self, xen, base: str, store: ObjectStore):
        self.xen, self.store = xen, store
        self.base_tree = store.tree_of(base)
        self.files: dict[str, bytes | None] = {}

    def get(self, path: str) -> bytes | None:
        if path not in self.files:
            blob = self.store.lookup(self.base_tree, path)
            self.files[path] = self.store.read(blob) if blob else None
        return self.files[path]

    def blob(self, sha: str) -> bytes:
        return self.store.read(sha)

    def set(self, path: str, data: bytes | None) -> None:
        self.files[path] = data


def _learn_file(state: LearnedState, commit: history.Commit, change: history.Change, step: Step,
                files: dict[str, bytes]) -> None:
    """One file of a commit, learned as C edits, a build template or a per-file patch."""
    xen, path = state.xen, change.path
    old = state.get(path)
    new = state.blob(change.new_blob) if change.status != "D" else None
    if old == new:
        return
    name = PurePosixPath(path).name
    if C_FILE.search(path) and new is not None and change.status in ("A", "M"):
        edits_name = _unique_name(files, name + ".edits")
        files[edits_name] = learn_file(old or b"", new, path).dump()
        step.edits[path] = edits_name
    elif BUILD_NAMES.match(name) and new is not None and change.status in ("A", "M") \
            and (blocks := insertion_templates(old or b"", new)) is not None:
        for block in blocks:
            tname = _unique_name(files, name + ".j2")
            files[tname] = _escape_jinja(block["text"])
            step.templates.append({"file": path, "after": block["after"],
                                   "occurrence": block["occurrence"], "template": tname})
    else:
        pname = _unique_name(files, name + ".patch")
        parent = state.blob(change.old_blob) if change.status not in ("A",) else None
        files[pname] = file_patch(xen, commit, path, old, new, parent)
        step.patches[path] = pname
    state.set(path, new)


def file_patch(xen, commit: history.Commit, path: str, old: bytes | None, new: bytes | None,
               parent: bytes | None) -> bytes:
    """The change of one file as a git patch from `old` (the file as the kept steps leave it; the
    commit's own diff when that is the file in its parent)."""
    if old == parent:
        return gitutil.git(xen, "diff", "--full-index", "--binary", "--no-renames", "--no-color",
                           "--no-ext-diff", commit.parent, commit.sha, "--", path)
    with tempfile.TemporaryDirectory(prefix="porter-learn-") as tmp:
        sides = []
        for side, data in (("a", old), ("b", new)):
            if data is None:
                sides.append("/dev/null")
                continue
            f = Path(tmp, side, path)
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(data)
            sides.append(f"{side}/{path}")
        out = gitutil.run(tmp, "diff", "--no-index", "--full-index", "--binary", "--no-color", "--no-ext-diff",
                          "--no-prefix", *sides)
    return out.stdout


def _escape_jinja(text: bytes) -> bytes:
    """Learned glue as a template that renders to exactly text: when text holds anything jinja2
    would read as syntax, every `{` becomes `{{ '{' }}`, so no text from the hand port is syntax."""
    if b"{{" in text or b"{%" in text or b"{#" in text:
        return text.replace(b"{", b"{{ '{' }}")
    return text


def _unique_name(files: dict, name: str) -> str:
    if name not in files:
        return name
    stem, n = name, 2
    while f"{n}-{stem}" in files:
        n += 1
    return f"{n}-{stem}"


def default_cover(title: str, imported: dict[str, str]) -> str:
    files = "\n".join(f"  {u} -> {x}" for x, u in sorted(imported.items()))
    return (f"{title}\n\n"
            f"This series brings the following Linux sources into Xen: first verbatim,\n"
            f"then with the changes Xen needs, so that a reviewer can tell the imported\n"
            f"code from the port.\n\n{files}\n")
