"""porter validate on the embedded demo port: passes, catches mutants, reports bad C."""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from porter.demo import port_sources
from porter.validate import validate_sources


@pytest.fixture(scope="module")
def demo_port(tmp_path_factory) -> Path:
    """The demo's hand-made Xen port of demo-1.0, as files."""
    return port_sources(tmp_path_factory.mktemp("demo"))


def porter(*args, env=None):
    return subprocess.run([str(Path(sys.executable).parent / "porter"), *args],
                          capture_output=True, text=True, env=env)


def test_demo_port_passes(demo_port, have_cc):
    doc = validate_sources(demo_port)
    assert doc["ok"], [s for s in doc["scenarios"] if not s["passed"]]
    names = {s["name"] for s in doc["scenarios"]}
    assert {"gen3/map-2m", "gen3/map-1g", "gen3/unmap-tlb", "gen3/address-space", "gen2/permissions"} <= names


def test_demo_mutants_are_killed(demo_port, have_cc):
    doc = validate_sources(demo_port, mutants=True)
    live = [m for m in doc["mutants"] if m["applied"]]
    assert len(live) >= 15
    assert doc["kill_rate"] >= 0.9, [m for m in live if not m["killed"]]


def test_missing_flush_is_reported_with_address(demo_port, tmp_path, have_cc):
    shutil.copytree(demo_port, tmp_path / "port")
    f = next((tmp_path / "port").rglob("ipmmu-vmsa.c"))
    f.write_text(f.read_text().replace("reg |= IMCTR_FLUSH;", ";"))
    proc = porter("validate", "--source", str(tmp_path / "port"), "--json")
    assert proc.returncode == 1
    doc = json.loads(proc.stdout)
    assert doc["command"] == "validate" and doc["ok"] is False
    bad = [s for s in doc["scenarios"] if not s["passed"]]
    assert bad[0]["name"].endswith("unmap-tlb")
    assert "iova 0x10000" in bad[0]["detail"] and "expected a translation fault" in bad[0]["detail"]


def test_compile_error_is_one_line(demo_port, tmp_path, have_cc):
    shutil.copytree(demo_port, tmp_path / "port")
    f = next((tmp_path / "port").rglob("io-pgtable-arm.c"))
    f.write_text(f.read_text().replace("static int arm_lpae_map(", "static int arm_lpae_map(oops "))
    proc = porter("validate", "--source", str(tmp_path / "port"))
    assert proc.returncode == 1
    out = (proc.stdout + proc.stderr).strip().splitlines()
    assert len(out) == 1 and "io-pgtable-arm.c:" in out[0] and "error" in out[0]
    assert "Traceback" not in proc.stderr


def test_no_compiler_exits_2(demo_port):
    env = dict(os.environ, CC="no-such-compiler-porter")
    proc = porter("validate", "--source", str(demo_port), env=env)
    assert proc.returncode == 2
    assert "install gcc" in proc.stderr


def test_missing_sources_is_bad_input(tmp_path):
    proc = porter("validate", "--source", str(tmp_path))
    assert proc.returncode == 2 and "ipmmu-vmsa.c" in proc.stderr
