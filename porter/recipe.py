"""The recipe: everything needed to regenerate a series, as text files in series/NAME/.

    recipe.toml                 series metadata, file map, step list
    cover.txt                   the cover letter's purpose text (first line: title)
    steps/NN-slug/message       commit message of step NN (subject, body, trailers)
    steps/NN-slug/*.edits       C files: learned structured edits, one per file, against the file as
                                the previous steps leave it
    steps/NN-slug/*.j2          build files: jinja2 templates of the build glue
    steps/NN-slug/*.patch       any other file: its own stored patch (one file each, so one that does
                                not apply never takes another file's change with it)
    steps/NN-slug/change.patch  older recipes: a whole stored commit (split per file when replayed)

A step may hold edits, templates and patches together; its kind says what it is made of:
import (upstream files verbatim), port (C edits only), build (templates only), carry (the rest).
`[moves.TAG]` in recipe.toml says where an upstream file the recipe imports lives at TAG
(learned upstream path -> path at TAG) when git's rename detection does not find it.
"""
from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import tomli_w

from . import schema
from .errors import BadInput
from .workspace import inside, replace_dir, safe_join

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
    file_rules: dict[str, list[str]] = field(default_factory=dict)   # port: Xen path -> its own rule files
    templates: list[dict] = field(default_factory=list)       # build: {file, after, template}
    patches: dict[str, str] = field(default_factory=dict)     # Xen path -> .patch file of that file
    patch: str = ""                                           # older recipes: the whole change
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
        if self.file_rules:
            d["file_rules"] = self.file_rules
        if self.templates:
            d["templates"] = self.templates
        if self.patches:
            d["patches"] = self.patches
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
    moves: dict[str, dict[str, str]] = field(default_factory=dict)   # tag -> {learned path: path at tag}
    changes: dict = field(default_factory=dict)     # {"v2": {"cover" | patch number | step dir: [note]}}
    name: str = ""                                  # a shipped recipe's series name

    @property
    def xen_to_upstream(self) -> dict[str, str]:
        return {x: u for u, x in self.files.items()}

    def step_dir(self, series_dir: Path, step: Step) -> Path:
        return safe_join(series_dir / "steps", step.dir, "step dir")


IDENT = re.compile(r"^[^<>\n]+ <[^<>\n]*>$")


def _relpath(value, where: str) -> str:
    if not isinstance(value, str):
        raise BadInput(f"{where}: expected a path string, got {value!r}")
    safe_join(Path("/ws"), value, where)
    return value


def _read(sdir: Path, series_dir: Path, name: str, where: str) -> Path:
    """A file the recipe names in step folder sdir: inside it, and really inside the series folder."""
    path = safe_join(sdir, name, where)
    inside(series_dir, path, where)
    if not path.is_file():
        raise BadInput(f"{path}: missing, but {where} names it")
    return path


def _step(s, i: int, series_dir: Path, where: str) -> Step:
    at = f"{where}: steps[{i}]"
    if not isinstance(s, dict):
        raise BadInput(f"{at} must be a table, got {type(s).__name__}")
    kind = schema.text(s, "kind", at)
    if kind not in KINDS:
        raise BadInput(f"{at}.kind must be one of {', '.join(KINDS)}, got {kind!r}")
    author = schema.text(s, "author", at)
    if not IDENT.match(author):
        raise BadInput(f"{at}.author must be 'Name <email>', got {author!r}")
    step = Step(dir=schema.text(s, "dir", at), kind=kind, author=author,
                date=schema.raw_date(schema.text(s, "date", at), f"{at}.date"),
                files=[_relpath(f, f"{at}.files") for f in schema.strings(s, "files", at)],
                edits={_relpath(k, f"{at}.edits"): _relpath(v, f"{at}.edits")
                       for k, v in schema.string_map(s, "edits", at).items()},
                rules=schema.strings(s, "rules", at),
                file_rules={_relpath(k, f"{at}.file_rules"): schema.strings(s["file_rules"], k, f"{at}.file_rules")
                            for k in schema.table(s, "file_rules", at, required=False)},
                patches={_relpath(k, f"{at}.patches"): _relpath(v, f"{at}.patches")
                         for k, v in schema.string_map(s, "patches", at).items()},
                patch=schema.text(s, "patch", at, required=False))
    for j, t in enumerate(schema.get(s, "templates", list, at, required=False, default=[])):
        tw = f"{at}.templates[{j}]"
        if not isinstance(t, dict):
            raise BadInput(f"{tw} must be a table, got {type(t).__name__}")
        entry = {**t, "file": _relpath(schema.text(t, "file", tw), f"{tw}.file"),
                 "after": schema.get(t, "after", str, tw),
                 "occurrence": schema.get(t, "occurrence", int, tw, required=False, default=1),
                 "template": schema.text(t, "template", tw)}
        if entry["occurrence"] < 0 or (entry["after"] and entry["occurrence"] < 1):
            raise BadInput(f"{tw}.occurrence must be 1 or more, got {entry['occurrence']}")
        if "\n" in entry["after"]:
            raise BadInput(f"{tw}.after must be one line, got {entry['after']!r}")
        step.templates.append(entry)
    sdir = safe_join(series_dir / "steps", step.dir, f"{at}.dir")
    inside(series_dir, sdir, f"{at}.dir")
    names = ([t["template"] for t in step.templates] + list(step.edits.values()) + list(step.patches.values())
             + ([step.patch] if step.patch else []) + [r for r in step.rules if r.endswith(".toml")]
             + [r for rs in step.file_rules.values() for r in rs])
    for name in names:
        _read(sdir, series_dir, name, f"step {step.dir}")
    msg = safe_join(sdir, "message", at)
    if not msg.is_file():
        raise BadInput(f"{msg}: missing commit message of step {step.dir}")
    inside(series_dir, msg, f"step {step.dir} commit message")
    try:
        step.message = msg.read_text("utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{msg}: not UTF-8 text") from None
    if not step.message.strip():
        raise BadInput(f"{msg}: empty commit message")
    if schema.CONTROL.search(step.subject.replace("\t", " ")):
        raise BadInput(f"{msg}: the subject line holds a control character")
    return step


def _prefix(series: dict, where: str) -> str:
    prefix = schema.text(series, "subject_prefix", where, required=False, default="PATCH")
    if "]" in prefix or "[" in prefix:
        raise BadInput(f"{where}: subject_prefix must not contain brackets, got {prefix!r}")
    return prefix or "PATCH"


def load(series_dir: Path) -> Recipe:
    path = series_dir / "recipe.toml"
    if not path.is_file():
        raise BadInput(f"no recipe at {path} (run 'porter learn' first)")
    inside(series_dir, path, "recipe")
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path}: {exc}") from None
    where = str(path)
    series = schema.table(doc, "series", where)
    sw = f"{where}: [series]"
    files = {_relpath(u, f"{where}: files key"): _relpath(x, f"{where}: files.{u}")
             for u, x in schema.string_map(doc, "files", where).items()}
    raw_steps = schema.get(doc, "steps", list, where)
    if not raw_steps:
        raise BadInput(f"{where}: steps must list at least one step")
    dirs = [s.get("dir") for s in raw_steps if isinstance(s, dict)]
    if len(set(map(str, dirs))) != len(dirs):
        raise BadInput(f"{where}: two steps share one dir")
    steps = [_step(s, i, series_dir, where) for i, s in enumerate(raw_steps)]
    cover = series_dir / "cover.txt"
    if cover.exists():
        inside(series_dir, cover, "cover letter text")
    prefix = _prefix(series, sw)
    try:
        cover_text = cover.read_text("utf-8") if cover.is_file() else ""
    except UnicodeDecodeError:
        raise BadInput(f"{cover}: not UTF-8 text") from None
    return Recipe(upstream_tag=schema.text(series, "upstream_tag", sw), files=files, steps=steps,
                  subject_prefix=prefix,
                  to=schema.strings(series, "to", sw), cc=schema.strings(series, "cc", sw),
                  learned=dict(schema.table(series, "learned", sw, required=False)),
                  cover=cover_text, changes=_changes(doc.get("changes", {}), where),
                  name=schema.text(series, "name", sw, required=False))


def kept_settings(series_dir: Path) -> Recipe | None:
    """The settings learn keeps from an existing recipe (to, cc, subject_prefix, cover): the recipe
    when it loads, else its [series] table when that alone is sound, else None."""
    try:
        return load(series_dir)
    except BadInput:
        pass
    try:
        doc = tomllib.loads((series_dir / "recipe.toml").read_text("utf-8"))
        series = schema.table(doc, "series", "recipe")
        cover = series_dir / "cover.txt"
        return Recipe(upstream_tag="", files={}, steps=[], changes=_changes(doc.get("changes", {}), "recipe"),
                      subject_prefix=_prefix(series, "recipe"),
                      to=schema.strings(series, "to", "recipe"), cc=schema.strings(series, "cc", "recipe"),
                      cover=inside(series_dir, cover, "cover").read_text("utf-8") if cover.is_file() else "")
    except (OSError, ValueError, BadInput):
        return None


RECIPE_ENTRIES = ("recipe.toml", "cover.txt", "steps")


def _moves(raw, where: str) -> dict[str, dict[str, str]]:
    if not isinstance(raw, dict) or not all(isinstance(v, dict) for v in raw.values()):
        raise BadInput(f"{where}: [moves.TAG] tables map a learned upstream path to its path at TAG")
    return {tag: {_relpath(old, f"{where}: moves.{tag}"): _relpath(new, f"{where}: moves.{tag}.{old}")
                  for old, new in table.items()} for tag, table in raw.items()}


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

    The new series folder is written beside the old one and swapped in as a whole; revisions (vN/)
    and anything else already in series_dir are carried over."""
    doc = {
        "series": {"upstream_tag": recipe.upstream_tag, "subject_prefix": recipe.subject_prefix,
                   "to": recipe.to, "cc": recipe.cc, "learned": recipe.learned},
        "files": recipe.files,
        "steps": [s.to_toml() for s in recipe.steps],
    }
    if recipe.moves:
        doc["moves"] = recipe.moves
    if recipe.changes:
        doc["changes"] = recipe.changes

    def keep(name: str) -> bool:         # not the recipe, nor a temp dir a killed command left
        return name not in RECIPE_ENTRIES and not re.match(r"^\..*\.(tmp|old)-", name)

    with replace_dir(series_dir, keep=keep) as tmp:
        for step in recipe.steps:
            d = safe_join(tmp / "steps", step.dir, "step dir")
            d.mkdir(parents=True)
            (d / "message").write_text(step.message, "utf-8")
            for name, data in step_files.get(step.dir, {}).items():
                safe_join(d, name, "step file").write_bytes(data)
        (tmp / "steps").mkdir(exist_ok=True)
        (tmp / "cover.txt").write_bytes(recipe.cover.encode())
        (tmp / "recipe.toml").write_bytes(tomli_w.dumps(doc).encode())
