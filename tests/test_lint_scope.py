"""Lint with real scope: what the file's includes reach, members checked against their struct,
and no false alarm on the shapes hand ports use (a self-written Xen tree)."""
import pytest

from porter.linux_to_xen import lint


@pytest.fixture()
def xen(fake_xen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return fake_xen


def found(xen, tmp_path, src: bytes) -> dict:
    f = tmp_path / "drv.c"
    f.write_bytes(src)
    return {x["symbol"]: x for x in lint({str(f): src}, xen, "base")}


def test_a_name_counts_only_when_an_included_header_reaches_it(xen, tmp_path):
    src = b"#include <xen/lib.h>\nstatic int f(unsigned int n) { printk(\"x\"); return ilog2(n); }\n"
    got = found(xen, tmp_path, src)
    assert list(got) == ["ilog2"] and "include" in got["ilog2"]["message"]
    assert found(xen, tmp_path, src.replace(b"\n", b"\n#include <xen/log2.h>\n", 1)) == {}
    # asm/ is the arm header; xen/types.h comes in through xen/lib.h
    assert found(xen, tmp_path, b"#include <xen/lib.h>\n#include <asm/io.h>\n"
                                b"static u32 g(void) { return readl(0); }\n") == {}
    # while a Linux header is still included (itself a finding), any Xen name counts
    got = found(xen, tmp_path, b"#include <linux/log2.h>\nstatic int f(unsigned n) { return ilog2(n); }\n")
    assert list(got) == ["linux/log2.h"]


def test_a_member_is_checked_against_its_struct(xen, tmp_path):
    src = b"""#include <xen/device_tree.h>
struct my_priv { struct device *dev; int n; };
static void *get(struct device *dev) { return dev->driver_data; }
static void *get2(struct my_priv *p) { return p->dev->driver_data; }
static void *get3(void *v) { return ((struct device *)v)->driver_data; }
static int ok(struct my_priv *p, struct dt_device_node *np) { return p->n + np->dev.type; }
static struct dmi_system_id ids = { .driver_data = 0 };
static struct my_priv bad = { .missing = 1 };
"""
    got = found(xen, tmp_path, src)
    assert set(got) == {"driver_data", "missing"}
    assert got["driver_data"]["line"] == 3 and got["driver_data"]["kind"] == "field"
    assert "struct device" in got["driver_data"]["message"]
    assert "struct my_priv" in got["missing"]["message"]
    # through a typedef'd member
    chain = src.split(b"static void *get(")[0] + (b"typedef struct device dev_t2;\nstruct holder { dev_t2 *d; };\n"
                                                 b"static void *h(struct holder *h) { return h->d->driver_data; }\n")
    assert "struct device" in found(xen, tmp_path, chain)["driver_data"]["message"]
    # on a struct nobody defines, a member is only checked by name (the type is the finding)
    assert set(found(xen, tmp_path, src.split(b"static void *get(")[0] +
                     b"static int h(struct unknown_s *u) { return u->driver_data != 0; }\n")) == {"unknown_s"}


def test_no_false_alarm_on_hand_port_shapes(xen, tmp_path):
    src = b"""#include <xen/lib.h>
#define dev_dbg(dev, fmt, ...)
#define FIELD_PREP(_mask, _val) (((typeof(_mask))(_val)) & (_mask))

struct cfg { u32 vtcr; };
static struct cfg the_cfg;

static inline int helper_defined_here(int x)
{
    return x + 1;
}

static int probe(int reg)
{
    typeof(&the_cfg.vtcr) vtcr = &the_cfg.vtcr;
    __typeof__(reg) copy = reg;

    if (IS_ENABLED(CONFIG_NOT_IN_XEN) && reg)
        copy++;
    dev_dbg(no_such_device, "probe %d %s\\n", reg, linux_only_name);
    *vtcr = FIELD_PREP(0x3, copy);
    return helper_defined_here(copy);
}
"""
    assert found(xen, tmp_path, src) == {}
    # the same shapes still report what is really missing
    got = found(xen, tmp_path, src.replace(b"return helper_defined_here(copy);", b"return linux_helper(copy);"))
    assert list(got) == ["linux_helper"]


def test_code_under_an_option_a_default_build_leaves_off_is_not_live(xen, tmp_path):
    from porter.linux_to_xen import xen_index
    assert xen_index(xen, "base").kconfig_off == {"HAS_FOO"}
    src = b"""#include <xen/lib.h>
#ifdef CONFIG_HAS_FOO
static void a(void) { linux_a(); }
#endif
#ifdef CONFIG_ON_BY_DEFAULT
static void b(void) { linux_b(); }
#endif
#ifdef CONFIG_SELECTED
static void c(void) { linux_c(); }
#endif
"""
    assert set(found(xen, tmp_path, src)) == {"linux_b", "linux_c"}


def test_each_index_gets_its_own_live_includes_even_at_a_freed_ones_address(xen, tmp_path):
    """The includes of a text are remembered per index: an index made where a freed one lived (the
    same id) is not answered with what the freed one's options left live."""
    import importlib
    from dataclasses import replace

    from porter.linux_to_xen import symbols, xen_index
    includes = importlib.import_module("porter.linux_to_xen.lint")._includes
    base = xen_index(xen, "base")
    src = b"#ifdef CONFIG_HAS_FOO\n#include <xen/log2.h>\n#endif\n"
    for i in range(8):
        idx = replace(base, kconfig_off=frozenset({"HAS_FOO"}) if i % 2 else frozenset(), _scopes={})
        system, _quoted = includes(src, idx.default_config_known)
        assert system == ([] if i % 2 else ["xen/log2.h"])
        symbols._dead_ranges.cache_clear()     # as other files' readings would push it out
        del idx
