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
def test_e2_e3_the_bsp_update_builds_at_every_patch(real, cross, tmp_path, ref, base, tag):
    ws = learned(real, tmp_path, ref, base, tag)
    code, res = porter_json("resync", "--from", "rcar-3.5.3", cwd=ws)
    # the new Linux-only geometry lines come in disabled: the revision is written because it builds
    assert code == 0 and res["revision"] == "v1" and not res["findings"], res
    report = res["build"]
    assert report["ok"] and not report["errors"], report
    objs = compiled(report)
    assert "ipmmu-vmsa.o:OK" in objs["0005"] and all(o.endswith(":OK") for p in objs.values() for o in p)
    # the same series with the geometry lines live again does not build: check names the compiler's errors
    port = next((ws / "series/ipmmu-vmsa/v1").glob("0002-*.patch")).read_text()
    disabled = next(line[1:] for line in port.splitlines()
                    if line.startswith("+#if 0 /* Xen: uses Linux-only DMA_BIT_MASK"))
    for patch in (ws / "series/ipmmu-vmsa/v1").glob("00*.patch"):     # as added and as later context
        patch.write_text(patch.read_text().replace(disabled, "#if 1"))
    code, res = porter_json("check", cwd=ws)
    assert code == 1 and not res["build"]["ok"], res
    messages = " ".join(e["message"] for e in res["build"]["errors"])
    assert "geometry" in messages and "DMA_BIT_MASK" in messages, messages
    assert all(e["unit"] == "function ipmmu_domain_init_context" for e in res["build"]["errors"])
