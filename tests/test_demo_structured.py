"""The real-input structured checks (test_real_roundtrip, test_real_learn_finds_the_edited_function) on the demo's data,
so that CI runs them: the demo's hand port of demo-1.0 and every later demo release."""

import pytest

from porter import gitutil
from porter.demo import DATA, PORTED, RELEASES, build_upstream, port_sources
from porter.structured import learn_file
from tests.test_structured_roundtrip import roundtrip

XEN_DIR = "xen/drivers/passthrough/arm/"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    ported = port_sources(root / "port")
    upstream = build_upstream(root)
    releases = {tag: {name: gitutil.show_blob(upstream, tag, f"drivers/iommu/{name}") for name in PORTED}
                for tag in RELEASES}
    return {name: (ported / name).read_bytes() for name in PORTED}, releases


@pytest.mark.parametrize("name", PORTED)
def test_demo_roundtrip(demo, name):
    ported, releases = demo
    first = releases[RELEASES[0]][name]
    assert first == (DATA / "upstream" / RELEASES[0] / "drivers/iommu" / name).read_bytes()
    roundtrip(first, ported[name], XEN_DIR + name)
    for tag in RELEASES[1:]:                          # upstream moving, and back
        newer = releases[tag][name]
        assert newer is not None
        roundtrip(first, newer, XEN_DIR + name)
        roundtrip(newer, ported[name], XEN_DIR + name)


def test_demo_learn_finds_the_edited_functions(demo):
    ported, releases = demo
    u, p = releases[RELEASES[0]]["ipmmu-vmsa.c"], ported["ipmmu-vmsa.c"]
    text = learn_file(u, p, XEN_DIR + "ipmmu-vmsa.c").dump()
    for function in ("ipmmu_lookup", "ipmmu_master_utlb", "ipmmu_probe"):   # the functions the port edits
        assert f"function {function} @".encode() in text
