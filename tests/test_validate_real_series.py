"""validate on the real ipmmu_v1 series: its last, "temp" patch stops TLB flushes reaching the cache
IPMMUs (ipmmu_ctx_write2 no longer writes them), and the model's stale TLB shows it."""
import subprocess

from porter.validate import validate_sources

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h")


def sources(real, rev, dest):
    dest.mkdir()
    for name in FILES:
        data = subprocess.run(["git", "-C", str(real / "xen"), "show", f"{rev}:xen/drivers/passthrough/arm/{name}"],
                              capture_output=True, check=True).stdout
        (dest / name).write_bytes(data)
    return dest


def scenario(doc, name):
    return next(s for s in doc["scenarios"] if s["name"] == name)


def test_the_temp_no_flush_patch_leaves_stale_translations(real, have_cc, tmp_path):
    with_temp = validate_sources(sources(real, "ipmmu_v1", tmp_path / "v1"))
    without = validate_sources(sources(real, "ipmmu_v1~1", tmp_path / "v1-1"))
    assert not with_temp.get("error") and not without.get("error")      # both build (alloc_page_table op)
    broken = scenario(with_temp, "gen3/unmap-tlb")
    assert not broken["passed"] and "stale TLB" in broken["detail"]
    assert scenario(without, "gen3/unmap-tlb")["passed"]
    assert scenario(with_temp, "gen2/unmap-tlb")["passed"]                # no cache IPMMU, no stale entry
