"""porter build on the real Xen 4.9 tree with an aarch64 cross compiler (PORTER_REAL; skips without)."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import porter, porter_json

CROSS = "aarch64-linux-gnu-gcc"


@pytest.fixture(scope="module")
def cross(real) -> str:
    if not shutil.which(CROSS) or not shutil.which("make"):
        pytest.skip(f"no {CROSS} (apt-get install gcc-aarch64-linux-gnu) or no make")
    return CROSS


def learned(real, tmp_path: Path, ref: str, base: str, tag: str) -> Path:
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp", "--public-url",
                  "https://github.com/renesas-rcar/linux-bsp.git", "--xen", real / "xen", "--base", base)[0] == 0
    assert porter("learn", ref, "--from", tag, cwd=ws)[0] == 0
    return ws


def compiled(report: dict) -> dict[str, list[str]]:
    return {p["patch"][:4]: sorted(o["object"].rsplit("/", 1)[-1] + ":" + o["status"] for o in p["objects"])
            for p in report["patches"]}


def test_e1_every_patch_builds_and_check_fails_on_a_broken_revision(real, cross, tmp_path):
    ws = learned(real, tmp_path, "ipmmu_v2", "base-v2", "rcar-3.5.3")
    code, res = porter_json("resync", "--from", "rcar-3.5.3", cwd=ws)
    assert code == 0 and res["revision"] == "v1", res
    report = res["build"]
    assert report["ok"] and report["arch"] == "arm64", report
    objs = compiled(report)
    # nothing is built before the build-glue patch; from it on, every object compiles
    assert all(objs[p] == [] for p in ("0001", "0002", "0003", "0004"))
    assert objs["0005"] == ["io-pgtable-arm.o:OK", "io-pgtable.o:OK", "ipmmu-vmsa.o:OK"]
    assert "ipmmu-vmsa.o:OK" in objs["0007"]
    code, res = porter_json("check", cwd=ws)
    assert code == 0 and res["build"]["ok"], res

    patch = next((ws / "series/ipmmu-vmsa/v1").glob("0007-*.patch"))
    text = patch.read_text()
    added = next(line for line in text.splitlines() if line.startswith("+\t") and line.rstrip().endswith(";"))
    patch.write_text(text.replace(added, added.rstrip()[:-1] + " porter_broke_this;", 1))
    code, res = porter_json("check", cwd=ws)
    assert code == 1 and not res["build"]["ok"], res
    err = res["build"]["errors"][0]
    assert err["patch"] == patch.name and err["unit"].startswith(("function ", "struct ", "declaration "))
    assert "porter_broke_this" in patch.read_text().splitlines()[err["patch_line"] - 1]


@pytest.mark.parametrize("ref,base,tag", [("ipmmu_v1", "base-v1", "rcar-3.5.2"), ("ipmmu_ml", "base-ml", "ml-base")])
def test_e2_e3_a_bsp_update_is_written_only_when_it_builds(real, cross, tmp_path, ref, base, tag):
    ws = learned(real, tmp_path, ref, base, tag)
    code, res = porter_json("resync", "--from", "rcar-3.5.3", cwd=ws)
    report = res.get("build", {})
    if res["revision"]:
        assert code == 0 and report["ok"], res
        return
    # not written: resync says why, with the compiler's own words, and keeps the series in scratch
    assert code == 1 and res["not_written"] and Path(res["scratch"]).is_dir(), res
    assert not list((ws / "series/ipmmu-vmsa").glob("v*"))
    if not res["conflicts"] and not res["drift"]:
        assert not report["ok"] or res["findings"]
        messages = " ".join(e["message"] for e in report["errors"])
        assert "geometry" in messages and "DMA_BIT_MASK" in messages, messages
        assert all(e["patch"] and e["unit"] for e in report["errors"] if e["file"].endswith("ipmmu-vmsa.c"))
