"""Issue 6 on the real series: a learned port re-applied onto a newer BSP release."""
import difflib
import subprocess


from porter.linux_to_xen import lint
from tests import xenbuild
from tests.helpers import am_series, git, porter, porter_json

DRV = "drivers/iommu/ipmmu-vmsa.c"
PORTED = {"drivers/iommu/ipmmu-vmsa.c": "xen/drivers/passthrough/arm/ipmmu-vmsa.c",
          "drivers/iommu/io-pgtable-arm.c": "xen/drivers/passthrough/arm/io-pgtable-arm.c",
          "drivers/iommu/io-pgtable.c": "xen/drivers/passthrough/arm/io-pgtable.c"}


def show(repo, rev: str, path: str) -> bytes:
    return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True,
                          check=True).stdout


def learned_ws(real, tmp_path, ref, base, tag):
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp", "--public-url", "https://github.com/renesas-rcar/linux-bsp.git", "--xen",
                  real / "xen", "--base", base)[0] == 0
    assert porter("learn", ref, "--from", tag, cwd=ws)[0] == 0
    return ws


def test_v1_onto_rcar_353_brings_the_change_and_disables_new_linux_only_statements(real, tmp_path):
    ws = learned_ws(real, tmp_path, "ipmmu_v1", "base-v1", "rcar-3.5.2")
    assert porter("resync", "--from", "rcar-3.5.2", cwd=ws)[0] == 0
    code, res = porter_json("resync", "--from", "rcar-3.5.3", cwd=ws)
    assert res["revision"] == "v2" and not res["conflicts"] and not res["drift"], res
    bsp = real / "renesas-bsp"
    old = git(bsp, "show", f"rcar-3.5.2:{DRV}").splitlines()
    new = git(bsp, "show", f"rcar-3.5.3:{DRV}").splitlines()
    added = [line for line in difflib.unified_diff(old, new, lineterm="", n=0)
             if line.startswith("+") and not line.startswith("+++") and line[1:].strip()]
    assert added
    patch1 = next((ws / "series/ipmmu-vmsa/v2").glob("0001-*")).read_text()
    assert all(line in patch1.splitlines() for line in added)
    assert "tag rcar-3.5.3" in patch1

    # the two new geometry lines use Linux-only API: disabled together, as a note, nothing left
    assert code == 0 and not res["findings"], res["findings"]
    port = next((ws / "series/ipmmu-vmsa/v2").glob("0002-*")).read_text()
    assert_geometry_disabled(port)
    notes = [n for n in res["notes"] if n.get("disabled")]
    assert [n["unit"] for n in notes] == ["function ipmmu_domain_init_context"]

    am = tmp_path / "am"
    am_series(real / "xen", "base-v1", ws / "series/ipmmu-vmsa/v2", am)
    files = {x: (am / x).read_bytes() for x in PORTED.values()}
    header = "xen/drivers/passthrough/arm/io-pgtable.h"
    files[header] = (am / header).read_bytes()
    hand = {x: show(real / "xen", "ipmmu_v1", x) for x in [*PORTED.values(), header]}
    before = {f["symbol"] for f in lint(hand, ws / ".porter/xen.git", "base-v1")}
    live_new = {f["symbol"] for f in lint(files, ws / ".porter/xen.git", "base-v1")} - before
    assert not live_new                                 # never live and silent
    assert_builds(real, "base-v1", ws / "series/ipmmu-vmsa/v2", tmp_path)


def assert_geometry_disabled(patch: str) -> None:
    lines = patch.splitlines()
    at = next(i for i, line in enumerate(lines) if "geometry.aperture_end" in line)
    assert lines[at - 1].startswith("+#if 0 /* Xen: uses Linux-only DMA_BIT_MASK")
    assert "(new upstream code) */" in lines[at - 1]
    assert "geometry.force_aperture" in lines[at + 1] and lines[at + 2] == "+#endif"


def assert_builds(real, base, revision, tmp_path) -> None:
    """Every object of the revision compiles with Xen's flags (skipped without the cross compiler)."""
    if not xenbuild.have_cross():
        return
    patches = sorted(p for p in revision.glob("*.patch") if not p.name.startswith("0000-"))
    xen = xenbuild.prepare(real / "xen", base, tmp_path / "build", patches)
    for xpath in PORTED.values():
        code, out = xenbuild.compile(xen, xpath[len("xen/"):])
        assert code == 0, (xpath, xenbuild.errors(out))


def merge_file_conflicts(ours: bytes, base: bytes, theirs: bytes, tmp) -> int:
    paths = []
    for name, data in (("ours", ours), ("base", base), ("theirs", theirs)):
        (tmp / name).write_bytes(data)
        paths.append(str(tmp / name))
    return subprocess.run(["git", "merge-file", "-p", *paths], capture_output=True).returncode


def test_ml_onto_rcar_353_has_fewer_conflicts_than_a_line_merge(real, tmp_path):
    ws = learned_ws(real, tmp_path, "ipmmu_ml", "base-ml", "ml-base")
    code, res = porter_json("resync", "--from", "rcar-3.5.3", cwd=ws)
    bsp, xen = real / "renesas-bsp", real / "xen"
    line_conflicts = 0
    for upath, xpath in {**PORTED, "drivers/iommu/io-pgtable.h": "xen/drivers/passthrough/arm/io-pgtable.h"}.items():
        imported, ported = git(xen, "log", "--reverse", "--format=%H", "base-ml..ipmmu_ml", "--", xpath).split()[:2]
        line_conflicts += merge_file_conflicts(show(xen, ported, xpath), show(bsp, "ml-base", upath),
                                               show(bsp, "rcar-3.5.3", upath), tmp_path)
    assert len(res["conflicts"]) < line_conflicts, (res["conflicts"], line_conflicts)
    assert res["revision"] == "v1" and code == 0 and not res["findings"], res["findings"]
    assert_geometry_disabled(next((ws / "series/ipmmu-vmsa/v1").glob("0002-*")).read_text())
    assert_builds(real, "base-ml", ws / "series/ipmmu-vmsa/v1", tmp_path)
