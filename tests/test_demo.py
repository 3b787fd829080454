"""porter demo: the whole job on the embedded example, offline."""
from pathlib import Path

from tests.helpers import am_series, git, porter_json


def revision_bytes(ws: Path, rev: str) -> dict:
    return {p.name: p.read_bytes() for p in (ws / "series/ipmmu-vmsa" / rev).iterdir()}


def test_demo_runs_the_whole_job(tmp_path, have_cc):
    code, res = porter_json("demo", tmp_path / "d1")
    assert code == 0, res
    assert res["revisions"] == ["v1", "v2"]
    for checked in (res["validate"], res["validate_update"]):
        assert checked["ok"] and all(s["passed"] for s in checked["scenarios"])
    ws, xen = Path(res["workspace"]), tmp_path / "d1/xen"
    # v1 regenerates the hand-made port of demo-1.0, commit by commit
    trees = am_series(xen, "base", ws / "series/ipmmu-vmsa/v1", tmp_path / "am1")
    assert trees == [git(xen, "rev-parse", f"{c}^{{tree}}")
                     for c in git(xen, "rev-list", "--reverse", "base..ipmmu").split()]
    # v2 is the BSP update: the new Linux-only runtime-PM code comes in disabled, with a reason
    disabled = [n["message"] for n in res["update"]["notes"] if n.get("disabled")]
    assert any("ipmmu_runtime_resume" in m and "pm_runtime_get_sync" in m for m in disabled)
    assert not res["update"]["conflicts"] and not res["update"]["findings"]
    am_series(xen, "base", ws / "series/ipmmu-vmsa/v2", tmp_path / "am2")
    assert "#if 0 /* Xen: uses Linux-only dev_get_drvdata, pm_runtime_get_sync (new upstream code) */" \
        in (tmp_path / "am2/xen/drivers/passthrough/arm/ipmmu-vmsa.c").read_text()
    cover = (ws / "series/ipmmu-vmsa/v2/0000-cover-letter.patch").read_text()
    assert "Subject: [PATCH v2 0/6]" in cover and "Changes since v1:" in cover


def test_demo_is_deterministic(tmp_path, have_cc):
    for name in ("a", "b"):
        assert porter_json("demo", tmp_path / name)[0] == 0
    for rev in ("v1", "v2"):
        assert revision_bytes(tmp_path / "a/ws", rev) == revision_bytes(tmp_path / "b/ws", rev)


def test_demo_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy/file").write_text("x")
    code, res = porter_json("demo", tmp_path / "busy")
    assert code == 2 and "not empty" in res["error"]
    assert sorted(p.name for p in (tmp_path / "busy").iterdir()) == ["file"]
