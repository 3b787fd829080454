"""The recipe: everything needed to regenerate a series, as text files in series/NAME/.

    recipe.toml                 series metadata, file map, step list
    cover.txt                   the cover letter's purpose text (first line: title)
    steps/NN-slug/message       commit message of step NN (subject, body, trailers)
    steps/NN-slug/*.edits       port: learned structured edits, one per ported file
    steps/NN-slug/*.j2          build: jinja2 templates of the build glue
    steps/NN-slug/change.patch  carry: the stored change
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from .errors import BadInput
from .workspace import atomic_dir, atomic_write, safe_join

KINDS = ("import", "port", "build", "carry")


@dataclass
class Step:
    dir: str
    kind: str
    author: str
    date: str                                   # git raw date: "<epoch> <tz>"
    files: list[str] = field(default_factory=list)   # Xen paths this step touches
    edits: dict[str, str] = field(default_factory=dict)       # port: Xen path -> .edits file
    rules: list[str] = field(default_factory=list)            # port: rule packs / rule files
    templates: list[dict] = field(default_factory=list)       # build: {file, after, template}
    patch: str = ""                                           # carry
    message: str = ""                                         # loaded from steps/DIR/message

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]

    def to_toml(self) -> dict:
        d = {"dir": self.dir, "kind": self.kind, "author": self.author, "date": self.date,
             "files": self.files}
        if self.edits:
            d["edits"] = self.edits
        if self.rules:
            d["rules"] = self.rules
        if self.templates:
            d["templates"] = self.templates
        if self.patch:
            d["patch"] = self.patch
        return d


@dataclass
class Recipe:
    upstream_tag: str                           # the tag the recipe was learned from
    files: dict[str, str]                       # upstream path -> Xen path
    steps: list[Step]
    subject_prefix: str = "PATCH"
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    learned: dict = field(default_factory=dict)     # {ref, commit}
    cover: str = ""
    changes: dict = field(default_factory=dict)     # {"v2": {"cover" | patch number | step dir: [note]}}

    @property
    def xen_to_upstream(self) -> dict[str, str]:
        return {x: u for u, x in self.files.items()}

    def step_dir(self, series_dir: Path, step: Step) -> Path:
        return safe_join(series_dir / "steps", step.dir, "step dir")


IDENT = re.compile(r"^[^<>\n]+ <[^<>\n]*>$")
RAW_DATE = re.compile(r"^\d+ [+-]\d{4}$")


def _relpath(value, where: str) -> str:
    if not isinstance(value, str):
        raise BadInput(f"{where}: expected a path string, got {value!r}")
    safe_join(Path("/ws"), value, where)
    return value


def load(series_dir: Path) -> Recipe:
    path = series_dir / "recipe.toml"
    if not path.is_file():
        raise BadInput(f"no recipe at {path} (run 'porter learn' first)")
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: {exc}") from None
    where = str(path)
    try:
        series = doc["series"]
        files = {_relpath(u, f"{where}: files key"): _relpath(x, f"{where}: files.{u}")
                 for u, x in doc.get("files", {}).items()}
        steps = []
        for i, s in enumerate(doc["steps"]):
            if s.get("kind") not in KINDS:
                raise BadInput(f"{where}: steps[{i}].kind must be one of {', '.join(KINDS)}")
            step = Step(dir=s["dir"], kind=s["kind"], author=s["author"], date=s["date"],
                        files=[_relpath(f, f"{where}: steps[{i}].files") for f in s.get("files", [])],
                        edits={_relpath(k, f"{where}: steps[{i}].edits"): _relpath(v, f"{where}: steps[{i}].edits")
                               for k, v in s.get("edits", {}).items()},
                        rules=list(s.get("rules", [])),
                        templates=list(s.get("templates", [])),
                        patch=s.get("patch", ""))
            sdir = safe_join(series_dir / "steps", step.dir, f"{where}: steps[{i}].dir")
            if not isinstance(step.author, str) or not IDENT.match(step.author):
                raise BadInput(f"{where}: steps[{i}].author must be 'Name <email>', got {step.author!r}")
            if not isinstance(step.date, str) or not RAW_DATE.match(step.date):
                raise BadInput(f"{where}: steps[{i}].date must be '<epoch> <+hhmm>', got {step.date!r}")
            for t in step.templates:
                _relpath(t["file"], f"{where}: steps[{i}].templates.file")
            names = ([t["template"] for t in step.templates] + list(step.edits.values())
                     + ([step.patch] if step.patch else []))
            for name in names:
                if not safe_join(sdir, name, f"{where}: steps[{i}]").is_file():
                    raise BadInput(f"{sdir / name}: missing, but step {step.dir} names it")
            msg = sdir / "message"
            if not msg.is_file():
                raise BadInput(f"{msg}: missing commit message of step {step.dir}")
            step.message = msg.read_text("utf-8")
            steps.append(step)
        cover = series_dir / "cover.txt"
        changes = _changes(doc.get("changes", {}), where)
        return Recipe(upstream_tag=series["upstream_tag"], files=files, steps=steps,
                      subject_prefix=series.get("subject_prefix", "PATCH"),
                      to=list(series.get("to", [])), cc=list(series.get("cc", [])),
                      learned=dict(series.get("learned", {})),
                      cover=cover.read_text("utf-8") if cover.is_file() else "", changes=changes)
    except KeyError as exc:
        raise BadInput(f"{where}: missing field {exc.args[0]!r}") from None


def _changes(doc, where: str) -> dict:
    """[changes.vN]: the author's notes per revision, {"cover" | patch number | step dir: [lines]}."""
    if not isinstance(doc, dict):
        raise BadInput(f"{where}: [changes] must be a table of [changes.vN] tables")
    for version, notes in doc.items():
        if not re.fullmatch(r"v[1-9]\d*", version) or not isinstance(notes, dict):
            raise BadInput(f"{where}: [changes.{version}]: want [changes.vN] tables (v2, v3...)")
        for key, lines in notes.items():
            if not isinstance(lines, list) or not all(isinstance(x, str) and "\n" not in x for x in lines):
                raise BadInput(f"{where}: changes.{version}.{key} must be a list of one-line strings")
    return doc


def save(series_dir: Path, recipe: Recipe, step_files: dict[str, dict[str, bytes]]) -> None:
    """Write the recipe whole (recipe.toml, cover.txt, steps/): step_files maps step dir -> {name: bytes}.

    Revisions (vN/) already in series_dir are kept; the rest is replaced atomically.
    """
    doc = {
        "series": {"upstream_tag": recipe.upstream_tag, "subject_prefix": recipe.subject_prefix,
                   "to": recipe.to, "cc": recipe.cc, "learned": recipe.learned},
        "files": recipe.files,
        "steps": [s.to_toml() for s in recipe.steps],
    }
    if recipe.changes:
        doc["changes"] = recipe.changes
    series_dir.mkdir(parents=True, exist_ok=True)
    with atomic_dir(series_dir / "steps") as tmp:
        for step in recipe.steps:
            d = safe_join(tmp, step.dir, "step dir")
            d.mkdir()
            (d / "message").write_text(step.message, "utf-8")
            for name, data in step_files.get(step.dir, {}).items():
                safe_join(d, name, "step file").write_bytes(data)
    atomic_write(series_dir / "cover.txt", recipe.cover.encode())
    atomic_write(series_dir / "recipe.toml", tomli_w.dumps(doc).encode())
