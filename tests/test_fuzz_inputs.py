"""Fuzzing the files a pull request can change (porter.toml, recipe.toml, .edits): whatever they
hold, porter answers with BadInput (one line) or works; never another exception. Bounded so that
the whole file runs in seconds."""
from __future__ import annotations

import os
import shutil
import tomllib
from pathlib import Path

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from porter import recipe, workspace
from porter.errors import BadInput, Findings
from porter.structured import FileEdits
from tests import minirepos
from tests.helpers import porter

FUZZ = settings(max_examples=int(os.environ.get("PORTER_FUZZ", "150")), deadline=None, suppress_health_check=list(HealthCheck))

scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(allow_nan=False),
                    st.text(max_size=30), st.sampled_from(["", "..", "/etc/passwd", "a\nb", "t1", "base",
                                                           "1600000000 +0100", "A <a@b>", "--x", "*/"]))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=8), inner, max_size=4)),
                      max_leaves=12)


def _toml_safe(value):
    """What a TOML file can hold: no None, keys as strings."""
    if value is None:
        return ""
    if isinstance(value, dict):
        return {str(k): _toml_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_toml_safe(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return str(value)
    return value


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    up, xen = minirepos.build(root / "src")
    ws = root / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base", "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    return ws


def _paths(doc, prefix=()):
    """Every (key path) in a TOML document, tables and arrays included."""
    yield prefix
    if isinstance(doc, dict):
        for k, v in doc.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            yield from _paths(v, prefix + (i,))


def _mutate(doc, path, value):
    if not path:
        return value if isinstance(value, dict) else doc
    target = doc
    for key in path[:-1]:
        target = target[key]
    if value is None and isinstance(target, dict):
        target.pop(path[-1], None)
    else:
        target[path[-1]] = value
    return doc


@FUZZ
@given(data=st.data())
def test_fuzzed_porter_toml_is_bad_input_or_loads(learned, tmp_path_factory, data):
    ws = tmp_path_factory.mktemp("ws")
    original = tomllib.loads((learned / "porter.toml").read_text())
    paths = list(_paths(original))
    path = data.draw(st.sampled_from(paths))
    doc = _toml_safe(_mutate(original, path, data.draw(values)))
    (ws / "porter.toml").write_text(tomli_w.dumps(doc) if isinstance(doc, dict) else "")
    try:
        loaded = workspace.load(ws)
        loaded.series_dir, loaded.base, loaded.config["upstream"]["url"]
    except BadInput as exc:
        assert "\n" not in str(exc)


@FUZZ
@given(data=st.data())
def test_fuzzed_recipe_toml_is_bad_input_or_loads(learned, tmp_path_factory, data):
    series = tmp_path_factory.mktemp("series") / "foo"
    shutil.copytree(learned / "series" / "foo", series)
    original = tomllib.loads((series / "recipe.toml").read_text())
    paths = [p for p in _paths(original) if p]
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths))
        try:
            original = _mutate(original, path, data.draw(values))
        except (KeyError, IndexError, TypeError):
            pass
    (series / "recipe.toml").write_text(tomli_w.dumps(_toml_safe(original)))
    try:
        rec = recipe.load(series)
        for s in rec.steps:
            s.subject, s.to_toml()
    except BadInput as exc:
        assert "\n" not in str(exc)


edits_lines = st.lists(st.one_of(
    st.sampled_from(["# porter structured edits v1", "keep function foo", "edit function foo_probe",
                     "insert after function foo_read", "delete struct foo_dev", "disable include <x>",
                     "| int x;", "|", "! no newline", "keep", "edit", "| \\x00", "insert before",
                     "keep declaration foo_dev", "edit function", "keep directive #define X"]),
    st.text(max_size=40)), max_size=20)


@FUZZ
@given(lines=edits_lines, raw=st.binary(max_size=60))
def test_fuzzed_edits_are_bad_input_or_load(lines, raw):
    for data in ("\n".join(lines).encode("utf-8", "surrogatepass") if all(
            "\ud800" > c or c > "\udfff" for c in "".join(lines)) else b"", raw):
        try:
            edits = FileEdits.load(data, "x.c")
            FileEdits.load(edits.dump(), "x.c")
        except BadInput as exc:
            assert "\n" not in str(exc)


@settings(max_examples=int(os.environ.get("PORTER_FUZZ_E2E", "12")), deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_fuzzed_recipe_through_resync_is_one_line_or_works(learned, tmp_path_factory, data):
    """End to end (fewer examples: each builds the series): resync with a fuzzed recipe."""
    from porter import resync as resync_mod
    ws = tmp_path_factory.mktemp("e2e") / "ws"
    shutil.copytree(learned, ws, symlinks=True)
    path = ws / "series" / "foo" / "recipe.toml"
    doc = tomllib.loads(path.read_text())
    paths = [p for p in _paths(doc) if p and p[0] in ("steps", "series")]
    p = data.draw(st.sampled_from(paths))
    try:
        doc = _mutate(doc, p, data.draw(values))
    except (KeyError, IndexError, TypeError):
        pass
    path.write_text(tomli_w.dumps(_toml_safe(doc)))
    try:
        resync_mod.resync(workspace.load(ws), "t1")
    except (BadInput, Findings) as exc:
        assert "\n" not in str(exc)
