"""porter port on a self-written Linux-style driver against a self-written Xen tree."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from porter import cparse
from porter.linux_to_xen import lint, port_source, xen_index
from porter.linux_to_xen.port import Provenance, live_functions
from tests.helpers import ports_alike

FIX = Path(__file__).parent / "fixtures" / "linux_to_xen"

PORTER = str(Path(sys.executable).parent / "porter")


@pytest.fixture()
def xen(fake_xen):
    return fake_xen


def test_port_is_lint_clean_keeps_linux_visible_and_reports_disabled(xen, tmp_path, monkeypatch):
    src_path = tmp_path / "sample_driver.c"
    src_path.write_bytes((FIX / "sample_driver.c").read_bytes())
    (tmp_path / "sample.h").write_bytes((FIX / "sample.h").read_bytes())
    index = xen_index(xen, "base")
    res = ports_alike(monkeypatch, src_path.read_bytes(), filename=str(src_path), index=index,
                      provenance=Provenance("drivers/misc/sample.c", "https://example.com/linux.git",
                                            "v1.0", "0123abcd", "sample: add driver"))
    out = res.output.decode()
    assert lint({str(src_path): res.output}, xen, "base") == []
    assert res.findings == [] and res.drift == []
    # provenance header
    assert "Xen port of Linux drivers/misc/sample.c" in out and "Tag: v1.0" in out
    assert "=> commit 0123abcd (sample: add driver)" in out
    # compat: only what live code uses and Xen lacks
    assert "#define kzalloc(size, gfp)" in out and "#define kfree(ptr) xfree(ptr)" in out
    assert "#define ioread32(addr) readl(addr)" in out
    assert "kcalloc(" not in out.split("end of compatibility helpers")[0]
    assert "#define dev_printk" in out and "#define dev_warn" not in out
    # pr_info rewritten to printk with a level
    assert 'printk(XENLOG_INFO "sample: freeing %p\\n", s);' in out
    # Linux-only API with no Xen counterpart: the smallest unit is disabled, with the reason
    units = {d["unit"]: d["reason"] for d in res.disabled}
    assert "call pm_runtime_enable() in function sample_alloc" in units
    assert "clk_prepare_enable" in units["function sample_enable"]
    assert units["MODULE_LICENSE()"]
    assert "#if 0 /* Xen: uses Linux-only clk_prepare_enable" in out
    assert "static int sample_enable(struct sample_dev *s)" in out
    # the Linux includes stay visible, the Xen ones follow
    assert "#if 0 /* Xen: Linux includes */\n#include <linux/slab.h>" in out
    assert "#include <xen/xmalloc.h>" in out and '#include "sample.h"' in out
    assert live_functions(res.output, index) >= {"sample_read", "sample_write", "sample_alloc",
                                                 "sample_free"}
    assert len(cparse.parse(res.output).errors) <= len(cparse.parse(src_path.read_bytes()).errors)
    # porting the port again changes nothing but the (already present) header
    again = port_source(res.output, filename=str(src_path), index=index,
                        provenance=Provenance("drivers/misc/sample.c", "https://example.com/linux.git",
                                              "v1.0", "0123abcd", "sample: add driver"))
    assert again.output == res.output


def test_cli_port_json_and_bad_input(xen, tmp_path):
    src_path = tmp_path / "sample_driver.c"
    src_path.write_bytes((FIX / "sample_driver.c").read_bytes())
    (tmp_path / "sample.h").write_bytes((FIX / "sample.h").read_bytes())
    out = tmp_path / "out" / "sample.c"
    r = subprocess.run([PORTER, "port", "--json", str(src_path), "-o", str(out), "--xen", str(xen),
                        "--ref", "base", "--upstream-path", "drivers/misc/sample.c", "--tag", "v2"],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    assert doc["command"] == "port" and doc["ok"] is True and doc["output"] == str(out)
    assert doc["drift"] == [] and doc["findings"] == []
    assert all(set(d) == {"unit", "reason"} for d in doc["disabled"]) and doc["disabled"]
    assert "Xen port of Linux drivers/misc/sample.c" in out.read_text()
    # unknown pack, malformed rule file: exit 2, one line
    r = subprocess.run([PORTER, "port", str(src_path), "-o", str(out), "--xen", str(xen), "--ref", "base",
                        "--rules", "no-such-pack"], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2 and "no-such-pack" in r.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[[rule]]\nid = 'x'\nop = 'disable'\nanchor = { kind = 'function' }\n")
    r = subprocess.run([PORTER, "port", str(src_path), "-o", str(out), "--xen", str(xen), "--ref", "base",
                        "--rules", str(bad)], cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 2 and "bad.toml" in r.stderr and "x.reason" in r.stderr
    # drift from a recipe rule: exit 1
    drift = tmp_path / "drift.toml"
    drift.write_text("[[rule]]\nid = 'recipe.gone'\nop = 'disable'\nanchor = { kind = 'function', "
                     "name = 'sample_vanished' }\nexpect = 1\nreason = 'x'\n")
    r = subprocess.run([PORTER, "port", "--json", str(src_path), "-o", str(out), "--xen", str(xen),
                        "--ref", "base", "--rules", "includes", "--rules", str(drift)],
                       cwd=tmp_path, capture_output=True, text=True)
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert [d["rule"] for d in doc["drift"]] == ["recipe.gone"]


def test_cli_output_must_stay_in_workspace(xen, tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "porter.toml").write_text("[series]\nname = 's'\n[xen]\nbase = 'base'\nurl = 'x'\n")
    src_path = ws / "sample_driver.c"
    src_path.write_bytes((FIX / "sample_driver.c").read_bytes())
    for bad in ("../escape.c", str(tmp_path / "elsewhere.c")):
        r = subprocess.run([PORTER, "port", str(src_path), "-o", bad, "--xen", str(xen), "--ref", "base"],
                           cwd=ws, capture_output=True, text=True)
        assert r.returncode == 2 and "workspace" in r.stderr or "leaves" in r.stderr, r.stderr
    assert not (tmp_path / "escape.c").exists() and not (tmp_path / "elsewhere.c").exists()


def test_detect_provenance_inside_and_outside_a_git_tree(tmp_path):
    from porter.linux_to_xen.port import detect_provenance
    plain = tmp_path / "plain" / "drv.c"
    plain.parent.mkdir()
    plain.write_text("int x;\n")
    assert detect_provenance(plain) == Provenance(upstream_path="drv.c")
    tree = tmp_path / "linux"
    (tree / "drivers").mkdir(parents=True)
    (tree / "drivers" / "drv.c").write_text("int x;\n")
    git = ["git", "-C", str(tree), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    subprocess.run(["git", "init", "-q", str(tree)], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "drv: add"], check=True)
    subprocess.run([*git, "tag", "v9"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    assert detect_provenance(tree / "drivers" / "drv.c") == \
        Provenance("drivers/drv.c", str(tree.resolve()), "v9", head, "drv: add")
    inside_git_dir = tree / ".git" / "drv.c"
    inside_git_dir.write_text("int x;\n")
    assert detect_provenance(inside_git_dir) == Provenance(upstream_path="drv.c")
