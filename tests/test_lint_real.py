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
