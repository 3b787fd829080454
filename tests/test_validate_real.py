"""porter validate on the real ipmmu_v2 Xen port (PORTER_REAL)."""
import subprocess

import pytest

from porter.validate import validate_sources

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h")
# Genuine bugs of the ipmmu_v2 port, found by the model (see the validate report):
# the base context's ipmmu_vmsa_domain has mmu == NULL, dereferenced on teardown
# (ipmmu_ctx_write1) and in the fault handler (dev_err on domain->mmu->dev); on a
# single IPMMU (mmu == root) deassign frees a page table that was never allocated.
KNOWN_BUGS = {"gen3/teardown", "gen3/fault-irq", "gen2/teardown", "gen2/fault-irq"}


@pytest.fixture(scope="module")
def real_port(real, tmp_path_factory):
    out = tmp_path_factory.mktemp("real-port")
    for name in FILES:
        blob = subprocess.run(["git", "-C", str(real / "xen"), "show",
                               f"ipmmu_v2:xen/drivers/passthrough/arm/{name}"],
                              capture_output=True, check=True).stdout
        (out / name).write_bytes(blob)
    return out


def test_real_port_builds_and_translates(real_port, have_cc):
    doc = validate_sources(real_port)
    failed = {s["name"] for s in doc["scenarios"] if not s["passed"]}
    assert "error" not in doc
    assert failed == KNOWN_BUGS, [s for s in doc["scenarios"] if not s["passed"]]
    crash = next(s for s in doc["scenarios"] if s["name"] == "gen3/teardown")
    assert "crashed" in crash["detail"]


def test_real_port_mutants_are_killed(real_port, have_cc):
    doc = validate_sources(real_port, mutants=True)
    live = [m for m in doc["mutants"] if m["applied"]]
    assert len(live) >= 15
    assert doc["kill_rate"] >= 0.9, [m for m in live if not m["killed"]]
