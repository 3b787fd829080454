"""The bad-input corpus (tests/badinput.py) run through the CLI: every case is one line naming what
is at fault, the documented exit code, the same under --json as a document, nothing written outside
the workspace, and the workspace (recipe, revision v1) left as it was."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from porter.cli import main
from tests import minirepos
from tests.badinput import CASES
from tests.helpers import porter


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A workspace with the mini port learned from t1 and its revision v1."""
    root = tmp_path_factory.mktemp("bad-input")
    up, xen = minirepos.build(root / "src")
    ws = root / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base", "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    return ws


def snapshot(root: Path, skip: Path | None = None) -> dict:
    """{relative path: bytes, link target or 'dir'} of everything below root (links not followed)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        here = Path(dirpath)
        if skip is not None and (here == skip or skip in here.parents):
            dirs[:] = []
            continue
        for name in dirs + files:
            p = here / name
            rel = str(p.relative_to(root))
            if p.is_symlink():
                out[rel] = "link:" + os.readlink(p)
            elif p.is_dir():
                out[rel] = "dir"
            elif p.is_file():
                out[rel] = p.read_bytes()
            else:
                out[rel] = "special"
    return out


def invoke(ws: Path, argv, as_json: bool):
    args = ["-C", str(ws), *argv] + (["--json"] if as_json else [])
    env = {"PORTER_LOCK_TIMEOUT": "5", "PORTER_SANDBOX": "process"}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=True)


def run_case(base: Path, tmp: Path, case) -> dict:
    """Run one case twice (human, --json); what happened, as the report table counts it."""
    category, name, setup, argv, code, needle = case
    ws = tmp / "ws"
    outside = tmp / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("a secret outside the workspace\n")
    shutil.copytree(base, ws, symlinks=True)
    setup(ws, outside)
    before_ws = snapshot(ws, skip=ws / ".porter")
    before_out = snapshot(tmp, skip=ws)
    results = []
    for as_json in (False, True):
        res = invoke(ws, argv, as_json)
        traceback = res.exception is not None and not isinstance(res.exception, SystemExit)
        lines = res.output.strip().splitlines()
        if as_json:
            try:
                doc = json.loads(res.output)
                clean = (doc.get("ok") is False and isinstance(doc.get("error"), str)
                         and "\n" not in doc["error"] and needle in doc["error"])
            except ValueError:
                clean = False
        else:
            clean = len(lines) == 1 and lines[0].startswith("porter ") and needle in lines[0]
        results.append({"code": res.exit_code, "clean": clean and res.exit_code == code,
                        "traceback": traceback or "Traceback" in res.output, "output": res.output})
    lost = snapshot(ws, skip=ws / ".porter") != before_ws
    outside_writes = snapshot(tmp, skip=ws) != before_out or Path("/tmp/porter-pwned").exists()
    row = {"category": category, "case": name, "clean": all(r["clean"] for r in results),
           "traceback": any(r["traceback"] for r in results), "lost": lost, "outside": outside_writes,
           "outputs": [r["output"] for r in results], "codes": [r["code"] for r in results]}
    log = os.environ.get("PORTER_CORPUS_LOG")
    if log:
        with open(log, "a") as f:
            f.write(json.dumps({k: v for k, v in row.items() if k != "outputs"}) + "\n")
    return row


@pytest.mark.parametrize("case", CASES, ids=[c[1] for c in CASES])
def test_bad_input_is_one_line_and_harmless(base, tmp_path, case):
    row = run_case(base, tmp_path, case)
    assert not row["traceback"], row["outputs"]
    assert row["clean"], (row["codes"], row["outputs"])
    assert not row["lost"], "the failed command changed the workspace"
    assert not row["outside"], "the command wrote outside the workspace"


def test_thousands_of_nested_ifdefs_do_not_exhaust_the_recursion_limit():
    from porter import cparse
    from porter.linux_to_xen import apply_rules, load_rules, symbols
    depth = 3000
    src = (b"".join(b"#ifdef A%d\n" % i for i in range(depth)) + b"static int x(void) { pr_err(\"x\"); return 1; }\n"
           + b"#endif\n" * depth)
    items = list(cparse.top_level_items(cparse.parse(src).tree.root_node))
    assert [i.type for i, _ in items] == ["function_definition"] and len(items[0][1]) == depth
    symbols.collect(src, known=set(), live_defs=True)
    out = apply_rules(src, load_rules(["logging"], []), filename="x.c").output
    assert b"printk(XENLOG_ERR \"x\")" in out
