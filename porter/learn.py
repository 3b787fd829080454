"""`porter learn REF --from TAG`: read the hand-made port base..REF and write the recipe."""
from __future__ import annotations

import difflib
import re
from pathlib import PurePosixPath

from . import gitutil, history, recipe as recipe_mod
from .errors import BadInput
from .importcheck import check_import_tag
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


def classify(commit: history.Commit, blob_to_upstream: dict[str, str],
             imported: dict[str, str], ported: set[str]) -> str:
    paths = [c.path for c in commit.changes]
    if commit.changes and all(c.status == "A" and c.new_blob in blob_to_upstream for c in commit.changes):
        return "import"
    if commit.changes and all(c.status == "M" and c.path in imported and c.path not in ported
                              for c in commit.changes):
        return "port"
    if paths and all(BUILD_NAMES.match(PurePosixPath(p).name) for p in paths):
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


def learn(ws: Workspace, ref: str, tag: str, progress=lambda text: None) -> tuple[Recipe, list[dict]]:
    xen = ws.xen_git
    base_sha = ws.resolve("xen", ws.base, "base")
    ref_sha = ws.resolve("xen", ref, "ref")
    tag_sha = ws.resolve("upstream", tag, "upstream tag")
    shas = history.commit_range(xen, base_sha, ref_sha)
    if not shas:
        raise BadInput(f"no commits between base {ws.base!r} and {ref!r}")
    by_blob = upstream_by_blob(ws, tag_sha)
    import_notes = check_import_tag(ws, ref, tag, tag_sha, by_blob, shas)
    imported: dict[str, str] = {}        # xen path -> upstream path
    ported: set[str] = set()
    steps, step_files, summary = [], {}, []
    for n, sha in enumerate(shas, 1):
        commit = history.read_commit(xen, sha)
        progress(f"{n}/{len(shas)} {commit.subject}")
        kind = classify(commit, by_blob, imported, ported)
        step = Step(dir=f"{n:02d}-{slug(commit.subject)}", kind=kind, author=commit.author,
                    date=commit.date, files=[c.path for c in commit.changes], message=commit.message)
        files: dict[str, bytes] = {}
        if kind == "import":
            for c in commit.changes:
                imported[c.path] = by_blob[c.new_blob]
        elif kind == "port":
            for c in commit.changes:
                old = gitutil.show_blob(xen, commit.parent, c.path)
                new = gitutil.show_blob(xen, sha, c.path)
                name = _unique_name(files, PurePosixPath(c.path).name + ".edits")
                files[name] = learn_file(old, new, c.path).dump()
                step.edits[c.path] = name
                ported.add(c.path)
        elif kind == "build":
            templates = _build_templates(xen, commit, files)
            if templates is None:
                kind = step.kind = "carry"
            else:
                step.templates = templates
        if kind == "carry":
            step.patch = "change.patch"
            files["change.patch"] = gitutil.git(xen, "diff", "--full-index", "--binary", "--no-renames",
                                                "--no-color", "--no-ext-diff", commit.parent, sha)
        steps.append(step)
        step_files[step.dir] = files
        entry = {"commit": sha, "subject": commit.subject, "kind": kind, "step": step.dir}
        if sha in import_notes:
            entry["note"] = import_notes[sha]
        built_always = unconditional_builds(
            {t["template"]: files[t["template"]] for t in step.templates}, set(imported))
        if built_always:
            entry["note"] = (f"builds {', '.join(built_always)} unconditionally (obj-y): reviewers ask "
                             f"that nothing is built by default until reviewed; consider "
                             f"obj-$(CONFIG_...) with a Kconfig option that defaults to n")
        summary.append(entry)
    title = next((s.subject for s in steps if s.kind == "import"), steps[0].subject)
    title = title.rsplit(": ", 1)[-1]
    rec = Recipe(upstream_tag=tag, files={u: x for x, u in sorted(imported.items())}, steps=steps,
                 learned={"ref": ref, "commit": ref_sha, "base": base_sha},
                 cover=default_cover(title, imported))
    old = ws.series_dir / "recipe.toml"
    if old.is_file():
        prev = recipe_mod.load(ws.series_dir)
        rec.to, rec.cc, rec.subject_prefix = prev.to, prev.cc, prev.subject_prefix
        rec.changes = prev.changes
        rec.cover = prev.cover or rec.cover
    recipe_mod.save(ws.series_dir, rec, step_files)
    return rec, summary


def _build_templates(xen, commit: history.Commit, files: dict[str, bytes]) -> list[dict] | None:
    templates = []
    for c in commit.changes:
        if c.status not in ("A", "M"):
            return None
        new = gitutil.show_blob(xen, commit.sha, c.path)
        old = gitutil.show_blob(xen, commit.parent, c.path) if c.status == "M" else b""
        blocks = insertion_templates(old, new)
        if blocks is None:
            return None
        for block in blocks:
            name = _unique_name(files, PurePosixPath(c.path).name + ".j2")
            files[name] = _escape_jinja(block["text"])
            templates.append({"file": c.path, "after": block["after"],
                              "occurrence": block["occurrence"], "template": name})
    return templates


def _escape_jinja(text: bytes) -> bytes:
    if b"{{" in text or b"{%" in text or b"{#" in text:
        return b"{% raw %}" + text + b"{% endraw %}"
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
