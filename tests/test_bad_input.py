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
from tests.badinput import BUILD_CASES, CASES, SECRET
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


def invoke(ws: Path, argv, as_json: bool, env: dict | None = None):
    args = ["-C", str(ws), *argv] + (["--json"] if as_json else [])
    env = {"PORTER_LOCK_TIMEOUT": "5", "PORTER_SANDBOX": "process", **(env or {})}
    return CliRunner().invoke(main, args, env=env, catch_exceptions=True)


def secret_read(ws: Path, outputs: list[str]) -> bool:
    """Whether the fake key of the build-glue cases reached porter's output or the build tree."""
    if any(SECRET in out for out in outputs):
        return True
    tree = ws / ".porter" / "build" / "tree"
    return tree.is_dir() and any(SECRET.encode() in v for v in snapshot(tree).values() if isinstance(v, bytes))


def run_case(base: Path, tmp: Path, case) -> dict:
    """Run one case twice (human, --json); what happened, as the report table counts it."""
    category, name, setup, argv, code, needle, *env = case
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
        res = invoke(ws, argv, as_json, env[0] if env else None)
        traceback = res.exception is not None and not isinstance(res.exception, SystemExit)
        lines = res.output.strip().splitlines()
        if code == 0:      # a case that must succeed and say needle (the build-glue cases: the sandbox)
            clean = needle in res.output and (not as_json or json.loads(res.output).get("ok") is True)
        elif as_json:
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
    outside_writes = (snapshot(tmp, skip=ws) != before_out or Path("/tmp/porter-pwned").exists()
                      or any(p.name == "pwned" for p in ws.rglob("*")))
    row = {"category": category, "case": name, "clean": all(r["clean"] for r in results),
           "traceback": any(r["traceback"] for r in results), "lost": lost, "outside": outside_writes,
           "secret_read": secret_read(ws, [r["output"] for r in results]),
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


@pytest.fixture(scope="module")
def demo_base(tmp_path_factory, have_cc) -> Path:
    """The demo workspace, learned from the hand port (no revision yet), built with the host cc."""
    import tomli_w
    import tomllib

    from porter import demo, sandbox
    from porter.build.config import host_arch
    if not shutil.which("make") or host_arch() is None:
        pytest.skip("needs make and a host architecture porter knows")
    if not sandbox.bwrap_works():
        pytest.skip("bubblewrap does not work here: without it a build glue can write where the user can")
    root = tmp_path_factory.mktemp("bad-build")
    demo.build_xen(root, demo.build_upstream(root))
    ws = root / "ws"
    assert porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", root / "upstream", "--xen", root / "xen",
                  "--base", "base", "--public-url", "https://example.org/demo.git")[0] == 0
    config = tomllib.loads((ws / "porter.toml").read_text())
    config["build"] = {"arch": host_arch(), "cc": "cc"}
    (ws / "porter.toml").write_text(tomli_w.dumps(config))
    assert porter("learn", "ipmmu", "--from", "demo-1.0", cwd=ws)[0] == 0
    return ws


@pytest.mark.parametrize("case", BUILD_CASES, ids=[c[1] for c in BUILD_CASES])
def test_build_glue_stays_in_the_build_tree(demo_base, tmp_path, case):
    row = run_case(demo_base, tmp_path, case)
    assert not row["traceback"], row["outputs"]
    assert row["clean"], (row["codes"], row["outputs"])
    assert not row["lost"], "the build changed the workspace"
    assert not row["outside"], "the build wrote outside the build tree"
    assert not row["secret_read"], "the build read a file outside the build tree"


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
