"""Issue 13 on Xen's real SMMUv3 port (10 commits on Linux 5.8.18), resynced onto Linux 6.1 where the
driver moved to drivers/iommu/arm/arm-smmu-v3/ and split out arm-smmu-v3.h.  Needs PORTER_SMMU
(shared/tools/smmu-fixtures.sh); skips without it."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import am_series, git, porter, porter_json

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

DRIVER = "xen/drivers/passthrough/arm/smmu-v3.c"
HEADER = "xen/drivers/passthrough/arm/arm-smmu-v3.h"
LINUX_URL = "https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git"


@pytest.fixture(scope="module")
def smmu(tmp_path_factory):
    value = os.environ.get("PORTER_SMMU")
    if not value or not (Path(value) / "linux").is_dir() or not (Path(value) / "xen").is_dir():
        pytest.skip("PORTER_SMMU not set (real SMMUv3 fixtures)")
    root = Path(value)
    ws = tmp_path_factory.mktemp("smmu") / "ws"
    code, out = porter("init", ws, "--name", "smmuv3", "--upstream", root / "linux", "--xen", root / "xen",
                       "--base", "smmuv3-base", "--public-url", LINUX_URL)
    assert code == 0, out
    code, learned = porter_json("learn", "smmuv3", "--from", "v5.8.18", cwd=ws)
    assert code == 0, learned
    return root, ws, learned


def test_learn_takes_every_driver_commit_as_c_unit_edits(smmu):
    root, ws, learned = smmu
    steps = learned["steps"]
    assert len(steps) == 10 and learned["left_out"] == []
    assert steps[0]["kind"] == "import"
    driver = [s for s in steps[1:] if "smmuv3" in s["subject"] or "Revert atomic" in s["subject"]]
    assert len(driver) == 7 and all(s["files"]["edits"] >= 1 for s in driver)
    glue = steps[-1]       # the driver, Makefile, Kconfig, MAINTAINERS and SUPPORT.md in one commit
    assert glue["files"] == {"edits": 1, "templates": 2, "patches": 2}
    # the Xen helpers the driver uses belong to the series though they touch no driver file
    assert {s["subject"] for s in steps[5:7]} == {"xen/device-tree: Add dt_property_match_string helper",
                                                  "xen/compiler: import 'fallthrough' keyword from linux"}


def test_same_tag_resync_gives_the_ten_real_trees(smmu, tmp_path):
    root, ws, _ = smmu
    code, res = porter_json("resync", "--from", "v5.8.18", cwd=ws)
    assert code == 0 and res["revision"] == "v1", res
    trees = am_series(root / "xen", "smmuv3-base", ws / "series/smmuv3/v1", tmp_path / "am")
    real = git(root / "xen", "rev-list", "--reverse", "smmuv3-base..smmuv3").split()
    assert trees == [git(root / "xen", "rev-parse", f"{c}^{{tree}}") for c in real]


def test_resync_onto_6_1_follows_the_move_and_the_split(smmu):
    import smmu as bench
    root, ws, _ = smmu
    code, res = porter_json("resync", "--from", "v6.1", cwd=ws)
    assert code == 1 and res["revision"] is None      # conflicts: the scratch loop takes over
    notes = [n["message"] for n in res["notes"]]
    assert any(f"moved {bench.OLD_UP} to {bench.NEW_UP}" in n for n in notes)
    assert any("new upstream header drivers/iommu/arm/arm-smmu-v3/arm-smmu-v3.h" in n for n in notes)
    xen_git = ws / ".porter/xen.git"
    tip = git(xen_git, "rev-parse", "refs/porter/smmuv3/last")
    header = subprocess.run(["git", "-C", str(xen_git), "show", f"{tip}:{HEADER}"], capture_output=True).stdout
    assert b"struct arm_smmu_device {" in header          # a unit the port edits, matched in the header
    driver = subprocess.run(["git", "-C", str(xen_git), "show", f"{tip}:{DRIVER}"], capture_output=True).stdout
    assert b'#include "arm-smmu-v3.h"' in driver and b"struct arm_smmu_device {" not in driver
    assert not any("struct arm_smmu_device" in c["unit"] and "removed" in c["reason"] for c in res["conflicts"])
    # fewer conflicts than a line merge of the same three versions; none from a whole stored patch
    linux = root / "linux"
    theirs = subprocess.run(["git", "-C", str(linux), "show", f"v6.1:{bench.NEW_UP}"], capture_output=True).stdout
    base = subprocess.run(["git", "-C", str(linux), "show", f"v5.8.18:{bench.OLD_UP}"], capture_output=True).stdout
    ours = subprocess.run(["git", "-C", str(root / "xen"), "show", f"smmuv3:{DRIVER}"], capture_output=True).stdout
    line_merge = bench.merge_file_conflicts(ours, base, theirs)
    print(f"conflicts: porter {len(res['conflicts'])}, git merge-file {line_merge}")
    assert 0 < len(res["conflicts"]) < line_merge
    assert all(not c["unit"].startswith("carry ") for c in res["conflicts"])
    # nothing Linux-only live and silent
    from porter import workspace
    from porter.recipe import load
    w = workspace.load(ws)
    unreported = bench.unreported_linux_only(w, res, tip, load(w.series_dir).learned["commit"])
    assert unreported == [], unreported[:10]
