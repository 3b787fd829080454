"""porter build, and resync/check gated on it, on the demo's Xen tree (its own small build, host cc)."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import tomli_w
import tomllib

from porter import demo
from porter.build.config import host_arch
from tests.helpers import git, porter, porter_json

NAME = "ipmmu-vmsa"
PORT_C = "xen/drivers/passthrough/arm/ipmmu-vmsa.c"


@pytest.fixture(scope="module")
def demo_src(tmp_path_factory, have_cc) -> Path:
    """The demo's upstream and Xen repositories (with the hand port on branch ipmmu)."""
    if not shutil.which("make") or host_arch() is None:
        pytest.skip("needs make and a host architecture porter knows")
    root = tmp_path_factory.mktemp("demo")
    upstream = demo.build_upstream(root)
    demo.build_xen(root, upstream)
    return root


def new_ws(src: Path, tmp: Path, build: dict | None = None, xen: Path | None = None, base: str = "base") -> Path:
    ws = tmp / "ws"
    code, out = porter("init", ws, "--name", NAME, "--upstream", src / "upstream", "--xen", xen or src / "xen",
                       "--base", base, "--public-url", "https://example.org/demo/renesas-bsp.git")
    assert code == 0, out
    config = tomllib.loads((ws / "porter.toml").read_text())
    config["build"] = {"arch": host_arch(), "cc": "cc"} if build is None else build
    (ws / "porter.toml").write_text(tomli_w.dumps(config))
    return ws


def xen_clone(src: Path, tmp: Path) -> Path:
    xen = tmp / "xen"
    subprocess.run(["git", "clone", "-q", str(src / "xen"), str(xen)], check=True)
    git(xen, "checkout", "-q", "--detach")
    for branch in ("base", "ipmmu"):
        git(xen, "branch", "-f", branch, f"origin/{branch}")
    return xen


def commit(repo: Path, message: str) -> None:
    git(repo, "-c", "user.name=T", "-c", "user.email=t@example.org", "commit", "-q", "-a", "-m", message)


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))


def worktrees(ws: Path) -> list[str]:
    out = git(ws / ".porter/xen.git", "worktree", "list", "--porcelain")
    return sorted(line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree "))


def test_build_reports_every_patch_and_waits_for_the_build_glue(demo_src, tmp_path):
    ws = new_ws(demo_src, tmp_path)
    assert porter("learn", "ipmmu", "--from", "demo-1.0", cwd=ws)[0] == 0
    code, res = porter_json("resync", "--from", "demo-1.0", cwd=ws)
    assert code == 0 and res["revision"] == "v1" and res["build"]["ok"], res
    code, res = porter_json("build", "v1", cwd=ws)
    assert code == 0 and res["ok"], res
    patches = res["patches"]
    assert len(patches) == 6
    # the verbatim import and the port are not built until the build-glue patch (5) names them
    for p in patches[:4]:
        assert p["objects"] == [] and "xen/drivers/passthrough/arm/ipmmu-vmsa.o" in p["not_in_makefile"]
    assert {o["object"]: o["status"] for o in patches[4]["objects"]} == {
        "xen/drivers/passthrough/arm/ipmmu-vmsa.o": "OK", "xen/drivers/passthrough/arm/io-pgtable-arm.o": "OK"}
    assert [o["status"] for o in patches[5]["unchanged"]] == ["OK", "OK"]
    # the configured worktree is reused and is the only one left; a second run says the same
    assert worktrees(ws) == sorted([str(ws / ".porter/xen.git"), str(ws / ".porter/build/tree")])
    assert porter_json("build", cwd=ws) == (0, res)
    assert git(ws / ".porter/build/tree", "status", "--porcelain", "--untracked-files=no") == ""


def test_a_patch_that_breaks_the_build_is_never_written_and_check_fails(demo_src, tmp_path):
    xen = xen_clone(demo_src, tmp_path)
    git(xen, "checkout", "-q", "-b", "broken", "ipmmu")
    edit(xen / PORT_C, "reg |= IMCTR_FLUSH;", "reg |= IMCTR_FLUSH | IMCTR_NO_SUCH_BIT;")
    commit(xen, "iommu/arm: ipmmu-vmsa: flush harder")
    edit(xen / PORT_C, "reg |= IMCTR_FLUSH | IMCTR_NO_SUCH_BIT;", "reg |= IMCTR_FLUSH;")
    commit(xen, "iommu/arm: ipmmu-vmsa: flush as before")     # the tip builds again: only patch 7 breaks
    ws = new_ws(demo_src, tmp_path, xen=xen)
    assert porter("learn", "broken", "--from", "demo-1.0", cwd=ws)[0] == 0

    code, res = porter_json("resync", "--from", "demo-1.0", cwd=ws)
    assert code == 1 and res["revision"] is None, res
    assert not (ws / "series" / NAME / "v1").exists()
    assert any("build failed" in r for r in res["not_written"])
    report = res["build"]
    status = {p["patch"][:4]: [o["status"] for o in p["objects"] + p["unchanged"]] for p in report["patches"]}
    assert status["0007"] == ["FAIL", "OK"] and status["0008"] == ["OK", "OK"], status
    err = report["errors"][0]
    assert err["patch"].startswith("0007-") and err["unit"] == "function ipmmu_flush_tlb"
    assert err["file"] == PORT_C and "IMCTR_NO_SUCH_BIT" in err["message"]
    # the scratch worktree holds the generated series, as for conflicts
    scratch = Path(res["scratch"])
    assert git(scratch, "log", "-1", "--format=%s") == "iommu/arm: ipmmu-vmsa: flush as before"
    assert git(scratch, "rev-parse", "HEAD") == git(ws / ".porter/xen.git", "rev-parse", res["branch"])

    code, res = porter_json("resync", "--from", "demo-1.0", "--no-build", cwd=ws)
    assert code == 0 and res["revision"] == "v1" and "build" not in res
    patch7 = next((ws / "series" / NAME / "v1").glob("0007-*.patch")).read_text().splitlines()

    code, res = porter_json("check", cwd=ws)
    assert code == 1 and res["differs"] == [] and not res["build"]["ok"], res
    err = res["build"]["errors"][0]
    assert err["patch"].startswith("0007-") and "IMCTR_NO_SUCH_BIT" in patch7[err["patch_line"] - 1]
    assert porter("check", "--no-build", cwd=ws)[0] == 0
    code, out = porter("check", cwd=ws)
    assert code == 1 and re.search(r"0007-\S+\.patch:\d+: function ipmmu_flush_tlb: " + PORT_C, out), out


def test_open_findings_are_never_written(demo_src, tmp_path):
    up = tmp_path / "up"
    subprocess.run(["git", "clone", "-q", str(demo_src / "upstream"), str(up)], check=True)
    git(up, "checkout", "-q", "demo-1.2")
    source = up / "drivers/iommu/ipmmu-vmsa.c"
    edit(source, "\tu32 reg = ipmmu_ctx_read(dom, IMCTR);\n",
         "\tu32 reg = ipmmu_ctx_read(dom, IMCTR);\n"
         "\tunsigned long quirks = (unsigned long)dev_get_drvdata(dom->root->dev);\n")
    edit(source, "\treg |= IMCTR_FLUSH;\n", "\treg |= IMCTR_FLUSH | (u32)quirks;\n")
    commit(up, "iommu/ipmmu-vmsa: flush with the device quirks")
    git(up, "tag", "demo-1.3")
    ws = new_ws(demo_src, tmp_path)
    config = tomllib.loads((ws / "porter.toml").read_text())
    config["upstream"]["url"] = str(up)
    (ws / "porter.toml").write_text(tomli_w.dumps(config))
    shutil.rmtree(ws / ".porter/upstream.git")
    assert porter("learn", "ipmmu", "--from", "demo-1.0", cwd=ws)[0] == 0
    assert porter("resync", "--from", "demo-1.0", cwd=ws)[0] == 0
    code, res = porter_json("resync", "--from", "demo-1.3", cwd=ws)
    assert code == 1 and res["revision"] is None, res
    assert sorted(p.name for p in (ws / "series" / NAME).iterdir() if p.name.startswith("v")) == ["v1"]
    named = " ".join(f.get("message", "") + f.get("symbol", "") for f in res["findings"])
    build_errors = " ".join(e["message"] for e in res["build"].get("errors", []))
    assert "dev_get_drvdata" in named or "dev_get_drvdata" in build_errors, res
    assert res["not_written"] and Path(res["scratch"]).is_dir()


def one_line_error(ws: Path, *args: str) -> str:
    code, out = porter("build", *args, cwd=ws)
    assert code == 2, out
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    return lines[0]


@pytest.fixture
def demo_ws(demo_src, tmp_path) -> Path:
    """A workspace with v1 of the demo series, and build settings to replace."""
    ws = new_ws(demo_src, tmp_path)
    assert porter("learn", "ipmmu", "--from", "demo-1.0", cwd=ws)[0] == 0
    assert porter("resync", "--from", "demo-1.0", "--no-build", cwd=ws)[0] == 0
    return ws


def set_build(ws: Path, build: dict) -> None:
    config = tomllib.loads((ws / "porter.toml").read_text())
    config["build"] = build
    (ws / "porter.toml").write_text(tomli_w.dumps(config))


def test_no_cross_compiler_names_what_to_install(demo_ws, tmp_path, monkeypatch):
    set_build(demo_ws, {"arch": "arm64"})
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("git", "make"):
        (bin_dir / tool).symlink_to(shutil.which(tool))
    monkeypatch.setenv("PATH", str(bin_dir))
    line = one_line_error(demo_ws)
    assert "apt-get install gcc-aarch64-linux-gnu" in line and "[build] cross_compile or cc" in line
    # resync and check skip the build (and say so) when porter.toml names no compiler
    code, res = porter_json("check", cwd=demo_ws)
    assert code == 0 and "apt-get install gcc-aarch64-linux-gnu" in res["build"]["skipped"]
    set_build(demo_ws, {"cross_compile": "no-such-target-"})
    assert "[build] cross_compile 'no-such-target-'" in one_line_error(demo_ws)
    assert porter("check", cwd=demo_ws)[0] == 2      # a configured compiler that is missing is an error


def test_a_host_compiler_is_not_a_cross_compiler(demo_ws):
    if host_arch() == "arm64":
        pytest.skip("the host compiler targets arm64 here")
    set_build(demo_ws, {"arch": "arm64", "cc": "cc"})
    line = one_line_error(demo_ws)
    assert "[build] cc 'cc' is not a compiler for arm64: it targets" in line


def test_a_tree_whose_build_cannot_be_configured(demo_src, tmp_path):
    xen = xen_clone(demo_src, tmp_path)
    git(xen, "checkout", "-q", "-b", "base2", "base")
    (xen / "xen/arch/arm/configs/defconfig").unlink()
    commit(xen, "drop the defconfig")
    ws = new_ws(demo_src, tmp_path, xen=xen)
    assert porter("learn", "ipmmu", "--from", "demo-1.0", cwd=ws)[0] == 0
    assert porter("resync", "--from", "demo-1.0", "--no-build", cwd=ws)[0] == 0
    config = tomllib.loads((ws / "porter.toml").read_text())
    config["xen"]["base"] = "base2"       # v1 applies there too; its build lacks the defconfig
    (ws / "porter.toml").write_text(tomli_w.dumps(config))
    line = one_line_error(ws)
    assert "cannot be configured" in line and "'make defconfig' failed" in line
    assert worktrees(ws) == sorted([str(ws / ".porter/xen.git"), str(ws / ".porter/build/tree")])
    assert not (ws / ".porter/build/configured").exists()


def test_a_compile_that_hangs_is_stopped(demo_ws, tmp_path, have_cc):
    marker = "59.0%d" % os.getpid()
    slow = tmp_path / "slowcc"
    slow.write_text(f"#!/bin/sh\nfor a in \"$@\"; do [ \"$a\" = ipmmu-vmsa.c ] && exec sleep {marker}; done\n"
                    f"exec {have_cc} \"$@\"\n")
    slow.chmod(0o755)
    set_build(demo_ws, {"arch": host_arch(), "cc": str(slow), "timeout": 5})
    line = one_line_error(demo_ws)
    assert re.search(r"compiling (\S+, )?xen/drivers/passthrough/arm/ipmmu-vmsa\.o at 0005-\S+ did not finish within 5 s",
                     line), line
    left = [p for p in Path("/proc").iterdir() if p.name.isdigit() and _cmdline(p).endswith(f"sleep\0{marker}")]
    assert left == []
    assert worktrees(demo_ws) == sorted([str(demo_ws / ".porter/xen.git"), str(demo_ws / ".porter/build/tree")])


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().decode("utf-8", "replace").rstrip("\0")
    except OSError:
        return ""


def test_build_config_options_reach_the_compiler(demo_src, tmp_path):
    xen = xen_clone(demo_src, tmp_path)
    git(xen, "checkout", "-q", "-b", "needs-option", "ipmmu")
    edit(xen / PORT_C, "#include \"io-pgtable.h\"\n",
         "#include \"io-pgtable.h\"\n\n#ifndef CONFIG_DEMO_FAST_FLUSH\n#error \"needs CONFIG_DEMO_FAST_FLUSH\"\n#endif\n")
    commit(xen, "iommu/arm: ipmmu-vmsa: require the fast flush option")
    ws = new_ws(demo_src, tmp_path, xen=xen)
    assert porter("learn", "needs-option", "--from", "demo-1.0", cwd=ws)[0] == 0
    assert porter("resync", "--from", "demo-1.0", "--no-build", cwd=ws)[0] == 0
    code, res = porter_json("build", cwd=ws)
    assert code == 1 and [e["message"] for e in res["errors"]] == ['#error "needs CONFIG_DEMO_FAST_FLUSH"']
    assert res["errors"][0]["patch"].startswith("0007-")
    set_build(ws, {"arch": host_arch(), "cc": "cc", "config": ["CONFIG_DEMO_FAST_FLUSH=y"]})
    code, res = porter_json("build", cwd=ws)       # the tree is configured again for the new options
    assert code == 0 and res["ok"], res
    set_build(ws, {"arch": host_arch(), "cc": "cc", "config": ["DEMO_FAST_FLUSH"]})
    assert "is not a Kconfig line" in one_line_error(ws)
