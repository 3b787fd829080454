"""porter lint: Linux-only API in live code, against a small self-written Xen tree."""
import json
import subprocess
import sys
from pathlib import Path

import hypothesis
import pytest

from porter import cparse
from porter.errors import BadInput
from porter.linux_to_xen import lint, xen_index
from porter.linux_to_xen import structs, symbols, xenindex

FIX = Path(__file__).parent / "fixtures" / "linux_to_xen"


@pytest.fixture()
def xen(fake_xen, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return fake_xen


def run(*args, cwd):
    return subprocess.run([sys.executable, "-m", "porter.cli", *args] if False else
                          [str(Path(sys.executable).parent / "porter"), *args],
                          cwd=cwd, capture_output=True, text=True)


def test_index_reads_headers_macros_fields_and_skips_x86(xen):
    idx = xen_index(xen, "base")
    for name in ("printk", "XENLOG_ERR", "xfree", "_xzalloc", "dt_device_node", "u32", "paddr_t",
                 "dt_node_full_name", "readl", "ffsl", "DEFINE_SPINLOCK"):
        assert idx.defines(name), name
    assert idx.has_field("driver_data") and idx.has_field("full_name")
    assert not idx.defines("x86_only_helper")
    assert not idx.defines("kzalloc")
    assert idx.has_header("asm/io.h") and idx.has_header("xen/lib.h")
    assert not idx.has_header("linux/slab.h")
    assert idx.macro_known("CONFIG_HAS_FOO") is None
    assert idx.macro_known("CONFIG_SAMPLE_LINUX_ONLY") is False


def test_lint_finds_live_linux_api_only(xen):
    path = FIX / "sample_driver.c"
    findings = lint({str(path): path.read_bytes()}, xen, "base")
    by_symbol = {f["symbol"]: f for f in findings}
    for name in ("kzalloc", "kfree", "GFP_KERNEL", "dev_err", "pr_info", "ioread32", "iowrite32",
                 "clk_prepare_enable", "pm_runtime_enable", "MODULE_LICENSE", "clk"):
        assert name in by_symbol, name
    assert by_symbol["kzalloc"]["kind"] == "call"
    assert by_symbol["clk"]["kind"] == "type"
    assert by_symbol["linux/slab.h"]["kind"] == "include"
    src = path.read_text().splitlines()
    assert "kzalloc" in src[by_symbol["kzalloc"]["line"] - 1]
    # dead code, comments, local definitions, Xen's own API and the quoted header are not findings
    for name in ("linux_only_dead_call", "another_linux_only_call", "kcalloc", "sample_write",
                 "SAMPLE_REG_CTRL", "printk", "xfree", "u32", "sample_dev", "flags", "base", "dev"):
        assert name not in by_symbol, name
    assert all(set(f) == {"symbol", "file", "line", "kind", "message"} for f in findings)


def test_lint_clean_file_and_config_branches(xen, tmp_path):
    src = b"""#include <xen/lib.h>
#include "local.h"
#ifdef CONFIG_NOT_IN_XEN
static void a(void) { linux_call(); }
#else
static void a(void) { printk(XENLOG_ERR "x\\n"); LOCAL(1); }
#endif
#if defined(CONFIG_HAS_FOO) && 0
static void b(void) { other_linux_call(); }
#endif
"""
    (tmp_path / "local.h").write_bytes(b"#define LOCAL(x) (x)\n")
    f = tmp_path / "clean.c"
    f.write_bytes(src)
    assert lint({str(f): src}, xen, "base") == []
    # the same code with the #else branch's API missing is a finding
    bad = src.replace(b"printk(", b"linux_printk(")
    found = lint({str(f): bad}, xen, "base")
    assert [x["symbol"] for x in found] == ["linux_printk"]
    assert found[0]["line"] == 6


def test_macro_bodies_and_pasted_arguments():
    src = b"""#define WRAP(x) linux_helper(x)
#define NAME(n) n##_suffix
#define QUIET(a, b)
static int f(int v) { QUIET(ignored_name, v); return WRAP(v) + NAME(tok); }
"""
    syms = symbols.collect(src)
    names = {u.name for u in syms.uses}
    assert "linux_helper" in names
    assert syms.nonname_params["NAME"] == [0] and syms.nonname_params["QUIET"] == [0, 1]


def test_dead_ranges():
    src = b"LA\n#if 0\nLB\n#else\nLC\n#endif\n#ifdef CONFIG_X\nLD\n#elif 1\nLE\n#endif\nLF\n"
    dead = symbols.Ranges(symbols.dead_ranges(src, lambda n: False if n == "CONFIG_X" else None))
    assert src.index(b"LB") in dead and src.index(b"LD") in dead
    for live in (b"LA", b"LC", b"LE", b"LF"):
        assert src.index(live) not in dead, live


def test_index_is_cached_by_tree(xen, tmp_path, monkeypatch):
    xen_index(xen, "base")
    cached = list((tmp_path / "cache" / "porter" / "xen-index").glob("xen-*.json"))
    assert len(cached) == 1
    xenindex._MEMO.clear()

    def boom(*a, **k):
        raise AssertionError("index rebuilt instead of read from the cache")
    monkeypatch.setattr(xenindex, "build", boom)
    assert xen_index(xen, "v4.9").defines("printk")


def test_what_another_porter_version_kept_is_never_read_and_is_removed(xen, tmp_path, monkeypatch):
    folder = tmp_path / "cache" / "porter" / "xen-index"
    xen_index(xen, "base")
    [current] = folder.glob("xen-*.json")
    assert current.name.endswith(f"-v{xenindex.INDEX_VERSION}-{xenindex.code_digest()}.json")
    xenindex._MEMO.clear()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep.json").write_text("{}")
    stale = [folder / current.name.replace(xenindex.code_digest(), "0" * 16),
             folder / current.name.replace(f"-{xenindex.code_digest()}", ""), folder / "headers-0000000000000000"]
    for f in stale[:2]:
        f.write_bytes(current.read_bytes().replace(b'"printk"', b'"stale_name"'))
    stale[2].mkdir()
    (stale[2] / "x.json").write_text("{}")
    (folder / "headers-1111111111111111").symlink_to(outside)
    other = folder / "other.json"
    other.write_text("{}")
    current.unlink()                  # an index from another version of porter's reading is never read
    index = xen_index(xen, "base")
    assert index.defines("printk") and not index.defines("stale_name")
    assert not any(f.exists() for f in stale) and not (folder / "headers-1111111111111111").exists()
    assert (outside / "keep.json").exists() and other.exists() and current.exists()
    assert (folder / f"headers-{xenindex.code_digest()}").is_dir()


def test_index_in_workspace_cache(xen, tmp_path):
    ws = tmp_path / "ws"
    (ws / "sub").mkdir(parents=True)
    (ws / "porter.toml").write_text("[series]\nname='x'\n[xen]\nbase='b'\n")
    assert xenindex.cache_dir(ws / "sub") == ws / ".porter" / "xen-index"


def test_bad_ref_and_repo(xen, tmp_path):
    with pytest.raises(BadInput, match="^unknown ref 'no-such-ref' in "):
        xen_index(xen, "no-such-ref")
    with pytest.raises(BadInput, match=r"^xen '.*/nothing' is not a git repository$"):
        xen_index(tmp_path / "nothing", "base")
    (tmp_path / "plain").mkdir()
    (tmp_path / "afile").write_text("x")
    for what, ref in (("plain", "base"), ("plain", "-bad"), ("afile", "base")):
        with pytest.raises(BadInput, match=rf"^xen '.*/{what}' is not a git repository$"):
            xen_index(tmp_path / what, ref)


def test_cli_json_and_exit_codes(xen, tmp_path):
    drv = FIX / "sample_driver.c"
    r = run("lint", "--json", str(drv), "--xen", str(xen), "--ref", "base", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["command"] == "lint" and doc["ok"] is False
    assert {"kzalloc", "kfree"} <= {f["symbol"] for f in doc["findings"]}
    clean = tmp_path / "ok.c"
    clean.write_text("#include <xen/lib.h>\nvoid f(void) { printk(XENLOG_INFO \"hi\\n\"); }\n")
    r = run("lint", "--json", str(clean), "--xen", str(xen), "--ref", "base", cwd=tmp_path)
    assert r.returncode == 0 and json.loads(r.stdout) == {"command": "lint", "ok": True, "findings": []}
    r = run("lint", str(clean), "--xen", str(xen), "--ref", "nope", cwd=tmp_path)
    assert r.returncode == 2 and "nope" in r.stderr
    r = run("lint", "--json", str(tmp_path / "missing.c"), "--xen", str(xen), "--ref", "base", cwd=tmp_path)
    assert r.returncode == 2 and "missing.c" in json.loads(r.stdout)["error"]
    r = run("lint", str(clean), cwd=tmp_path)
    assert r.returncode == 2 and "--xen" in r.stderr


_TAGS = hypothesis.strategies.sampled_from(["a", "b", "c", "d"])
_TABLES = hypothesis.strategies.builds(
    lambda m, t, d: structs.StructTable({k: set(v) for k, v in m.items()}, t, d),
    hypothesis.strategies.dictionaries(_TAGS, hypothesis.strategies.lists(_TAGS, max_size=3)),
    hypothesis.strategies.dictionaries(_TAGS, hypothesis.strategies.dictionaries(_TAGS, _TAGS, max_size=3)),
    hypothesis.strategies.dictionaries(_TAGS, _TAGS))


@hypothesis.given(own=_TABLES, index=_TABLES)
def test_a_joined_struct_table_reads_as_the_updated_one(own, index):
    before = index.to_json()
    updated = structs.StructTable()
    updated.update(own)
    updated.update(index)
    assert own.joined(index).to_json() == updated.to_json()
    assert index.to_json() == before


def test_the_struct_table_reads_bodies_with_a_tag_and_typedefs_of_them_the_first_definition_first():
    src = b"""
struct ref *p;
struct dev { int id; struct bus *bus; struct { int x; } anon; };
struct dev { long later; struct ops *bus; };
typedef struct dev dev_t;
typedef struct { int a; } anon_t;
typedef union u { struct dev d; } u_t, *u_p;
typedef enum e { E1 } e_t;
union u2 { struct ops o; dev_t t; };
void f(void) { struct local { struct dev *d; } l; }
"""
    t = structs.table(cparse.parse(src))
    assert t.members == {"dev": {"anon", "bus", "id", "int", "later", "long", "ops", "struct", "x"},
                         "u": {"d", "dev", "struct"}, "u2": {"dev_t", "o", "ops", "struct", "t"},
                         "local": {"d", "dev", "struct"}}
    assert t.member_types == {"dev": {"bus": "bus"}, "u": {"d": "dev"}, "u2": {"o": "ops", "t": "dev_t"},
                              "local": {"d": "dev"}}
    assert t.typedefs == {"dev_t": "dev", "u_t": "u", "u_p": "u"}
    found = cparse.query_captures(cparse.parse(src).tree.root_node, structs.PARTS_PATTERN)
    assert structs.table(cparse.parse(src), found=found) == t
