"""porter port on the verbatim BSP sources, measured against the real hand port (PORTER_REAL)."""
import subprocess

import pytest

from porter.linux_to_xen import lint, port_source, xen_index
from porter.linux_to_xen.port import Provenance, live_functions

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c")


def show(repo, ref, path):
    return subprocess.run(["git", "-C", str(repo), "show", f"{ref}:{path}"], check=True,
                          capture_output=True).stdout


@pytest.mark.parametrize("name", FILES)
def test_port_keeps_what_the_hand_port_keeps(real, tmp_path, name):
    index = xen_index(real / "xen", "base-v2")
    bsp = real / "renesas-bsp"
    for n in FILES + ("io-pgtable.h",):
        (tmp_path / n).write_bytes(show(bsp, "rcar-3.5.3", f"drivers/iommu/{n}"))
    src = (tmp_path / name).read_bytes()
    res = port_source(src, filename=str(tmp_path / name), index=index,
                      provenance=Provenance(f"drivers/iommu/{name}", str(bsp), "rcar-3.5.3"))
    assert res.drift == [] and res.findings == []
    assert lint({str(tmp_path / name): res.output}, real / "xen", "base-v2", index=index) == []
    hand = live_functions(show(real / "xen", "ipmmu_v2", f"xen/drivers/passthrough/arm/{name}"), index)
    upstream = live_functions(src, index)
    mine = live_functions(res.output, index)
    wanted = hand & upstream
    assert wanted
    assert len(wanted & mine) / len(wanted) >= 0.9, sorted(wanted - mine)
    assert f"Xen port of Linux drivers/iommu/{name}" in res.output.decode()
    assert res.timings["rules"] < 1.0
