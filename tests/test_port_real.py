"""porter port on the verbatim BSP sources, measured against the real hand port (PORTER_REAL)."""
import subprocess

import pytest

from porter.linux_to_xen import lint, port_source, xen_index
from porter.linux_to_xen.port import Provenance, live_functions
from tests.helpers import ports_alike

FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c")


def show(repo, ref, path):
    return subprocess.run(["git", "-C", str(repo), "show", f"{ref}:{path}"], check=True,
                          capture_output=True).stdout


@pytest.mark.parametrize("name", FILES)
def test_port_keeps_what_the_hand_port_keeps(real, tmp_path, name, monkeypatch):
    index = xen_index(real / "xen", "base-v2")
    bsp = real / "renesas-bsp"
    for n in FILES + ("io-pgtable.h",):
        (tmp_path / n).write_bytes(show(bsp, "rcar-3.5.3", f"drivers/iommu/{n}"))
    src = (tmp_path / name).read_bytes()
    res = ports_alike(monkeypatch, src, filename=str(tmp_path / name), index=index,
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


def test_generic_port_compile_errors_are_all_reported(real, tmp_path):
    """Compiled in the real base-v2 tree with Xen's flags (-Werror): whatever the compiler rejects
    is reported by porter (a lint finding at that line, or a static function nothing live calls)."""
    from tests import xenbuild
    if not xenbuild.have_cross():
        pytest.skip(f"no {xenbuild.CROSS}gcc (aarch64 cross compiler)")
    index = xen_index(real / "xen", "base-v2")
    xen = xenbuild.prepare(real / "xen", "base-v2", tmp_path / "xen")
    arm = xen / "drivers/passthrough/arm"
    ported = {}
    for n in ("io-pgtable.h", "ipmmu-vmsa.c", "io-pgtable-arm.c"):
        ported[n] = port_source(show(real / "renesas-bsp", "rcar-3.5.3", f"drivers/iommu/{n}"),
                                filename=str(arm / n), index=index)
        (arm / n).write_bytes(ported[n].output)
    for n in ("ipmmu-vmsa.c", "io-pgtable-arm.c"):
        code, log = xenbuild.compile(xen, f"drivers/passthrough/arm/{n}")
        reported = {(n, f["line"]) for f in lint({str(arm / n): ported[n].output}, real / "xen", "base-v2",
                                                 index=index)}
        uncalled = {u["function"] for u in ported[n].uncalled}
        errors = xenbuild.errors(log)
        for e in errors:
            if "[-Werror=unused-function]" in e["message"]:
                assert e["message"].split("'")[1] in uncalled, e
            else:
                assert (e["file"], e["line"]) in reported, e
        assert (code == 0) == (not errors) and (code == 0 or ported[n].findings or ported[n].uncalled)
