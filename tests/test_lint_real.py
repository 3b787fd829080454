"""porter lint on the real inputs: the verbatim BSP sources and the real hand port (PORTER_REAL)."""
import subprocess

import pytest

from porter.linux_to_xen import lint, xen_index

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c")


def export(repo, ref, prefix, dest, names):
    dest.mkdir(parents=True, exist_ok=True)
    out = {}
    for n in names:
        data = subprocess.run(["git", "-C", str(repo), "show", f"{ref}:{prefix}{n}"],
                              check=True, capture_output=True).stdout
        (dest / n).write_bytes(data)
        out[n] = dest / n
    return out


@pytest.fixture(scope="module")
def index(real):
    return xen_index(real / "xen", "base-v2")


def test_hand_port_is_clean(real, tmp_path, index):
    paths = export(real / "xen", "ipmmu_v2", "xen/drivers/passthrough/arm/", tmp_path,
                   FILES + ("io-pgtable.h",))
    files = {str(paths[n]): paths[n].read_bytes() for n in FILES}
    assert lint(files, real / "xen", "base-v2", index=index) == []


def test_verbatim_bsp_has_dozens_of_linux_only_symbols(real, tmp_path, index):
    paths = export(real / "renesas-bsp", "rcar-3.5.3", "drivers/iommu/", tmp_path,
                   FILES + ("io-pgtable.h",))
    files = {str(paths[n]): paths[n].read_bytes() for n in FILES}
    findings = lint(files, real / "xen", "base-v2", index=index)
    symbols = {f["symbol"] for f in findings if f["kind"] != "include"}
    assert len(symbols) >= 40
    for name in ("kzalloc", "kfree", "dev_err", "of_parse_phandle_with_args", "platform_get_resource",
                 "devm_ioremap_resource", "dma_map_single", "alloc_pages_exact", "irqreturn_t",
                 "iommu_group_get", "MODULE_LICENSE", "platform_driver_register"):
        assert name in symbols, name
    # Xen has these: never reported
    for name in ("spin_lock_irqsave", "readl", "BIT", "container_of", "udelay", "ERR_PTR"):
        assert name not in symbols, name
    assert any(f["kind"] == "include" and f["symbol"] == "linux/slab.h" for f in findings)


def test_smmuv3_hand_port_is_clean(tmp_path):
    """The real SMMUv3 port (PORTER_SMMU): IS_ENABLED(CONFIG_X), a typeof local, ignored variadic
    macro arguments and code under CONFIG_ACPI (off in a default arm build) raise nothing."""
    import os
    from pathlib import Path
    root = os.environ.get("PORTER_SMMU")
    if not root or not (Path(root) / "xen").is_dir():
        pytest.skip("PORTER_SMMU not set (real SMMUv3 trees)")
    xen = Path(root) / "xen"
    paths = export(xen, "smmuv3", "xen/drivers/passthrough/arm/", tmp_path, ("smmu-v3.c",))
    files = {str(paths["smmu-v3.c"]): paths["smmu-v3.c"].read_bytes()}
    assert lint(files, xen, "smmuv3", index=xen_index(xen, "smmuv3")) == []


def test_verbatim_smmuv3_members_are_checked_against_xen_structs(tmp_path):
    import os
    from pathlib import Path
    root = os.environ.get("PORTER_SMMU")
    if not root or not (Path(root) / "linux").is_dir():
        pytest.skip("PORTER_SMMU not set (real SMMUv3 trees)")
    paths = export(Path(root) / "linux", "v5.8.18", "drivers/iommu/", tmp_path, ("arm-smmu-v3.c",))
    files = {str(paths["arm-smmu-v3.c"]): paths["arm-smmu-v3.c"].read_bytes()}
    xen = Path(root) / "xen"
    found = {f["symbol"]: f for f in lint(files, xen, "smmuv3-base", index=xen_index(xen, "smmuv3-base"))}
    # Xen's struct iommu_ops has none of these Linux callbacks
    for member in ("map", "domain_free", "pgsize_bitmap", "of_xlate"):
        assert "struct iommu_ops" in found[member]["message"], found.get(member)
