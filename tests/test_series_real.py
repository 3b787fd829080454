"""Issue 3 on the real series: learn the hand-made port, resync, git am gives the same trees."""
import re

import pytest

from porter import maintainers
from tests.helpers import am_series, git, porter, porter_json

CASES = [("ipmmu_v2", "base-v2", "rcar-3.5.3", 7),
         ("ipmmu_v1", "base-v1", "rcar-3.5.2", 8),
         ("ipmmu_ml", "base-ml", "ml-base", 6)]


@pytest.mark.parametrize("ref,base,tag,count", CASES)
def test_learn_resync_am_gives_real_trees(real, tmp_path, ref, base, tag, count):
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp", "--public-url", "https://github.com/renesas-rcar/linux-bsp.git",
                       "--xen", real / "xen", "--base", base)
    assert code == 0, out
    code, learned = porter_json("learn", ref, "--from", tag, cwd=ws)
    assert code == 0, learned
    kinds = [s["kind"] for s in learned["steps"]]
    assert kinds[:5] == ["import", "port", "import", "port", "build"]
    assert all(k == "port" for k in kinds[5:])       # later driver commits: C-unit edits too
    assert "ipmmu-vmsa.o" in learned["steps"][4]["note"]      # the real series builds with obj-y
    code, res = porter_json("resync", "--from", tag, cwd=ws)
    assert code == 0, res
    assert res["revision"] == "v1" and res["changed"]
    rev = ws / "series/ipmmu-vmsa/v1"
    patches = sorted(rev.glob("*.patch"))
    assert len(patches) == count + 1 and patches[0].name == "0000-cover-letter.patch"
    trees = am_series(real / "xen", base, rev, tmp_path / "am")
    real_commits = git(real / "xen", "rev-list", "--reverse", f"{base}..{ref}").split()
    assert trees == [git(real / "xen", "rev-parse", f"{c}^{{tree}}") for c in real_commits]

    cover = patches[0].read_text()
    assert re.search(rf"^Subject: \[PATCH 0/{count}\] ", cover, re.M)
    assert "base-commit: " in cover
    sections = maintainers.parse(git(real / "xen", "show", f"{base}:MAINTAINERS"))
    arm = next(s for s in sections if s.title.startswith("ARM (W/"))
    header = cover.split("\n\n", 1)[0]
    for person in arm.maintainers:
        assert person.split(" <")[1].rstrip(">") in header
    first = patches[1].read_text()
    sha = git(real / "renesas-bsp", "log", "-1", "--format=%h", "--abbrev=12", tag, "--",
              "drivers/iommu/ipmmu-vmsa.c")
    assert f"drivers/iommu/ipmmu-vmsa.c: commit {sha}" in first and f"tag {tag}" in first

    code, again = porter_json("resync", "--from", tag, cwd=ws)
    assert code == 0 and again["changed"] is False and again["revision"] == "v1"
