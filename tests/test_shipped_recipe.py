"""The recipe porter ships (series/ipmmu-vmsa/): it loads, its rules parse, its steps are well formed,
its templates render; `porter init --recipe` starts a workspace from it. No real trees needed."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from porter import cparse, recipe as recipe_mod
from porter.linux_to_xen import apply_rules, load_rules, pack_names
from porter.linux_changes import count, disabled_lines
from porter.series import render_template
from porter.workspace import RECIPES, shipped_recipe, shipped_recipes

from .helpers import porter

REPO = Path(__file__).resolve().parent.parent
SUBJECTS = [
    "iommu/arm: ipmmu-vmsa: Add IPMMU-VMSA support",
    "iommu/arm: ipmmu-vmsa: Add Xen changes for main driver",
    "iommu/arm: ipmmu-vmsa: Add io-pgtables support",
    "iommu/arm: ipmmu-vmsa: Add Xen changes for io-pgtables",
    "iommu/arm: Build IPMMU-VMSA related stuff",
    "iommu/arm: ipmmu-vmsa: Deallocate page table asynchronously",
    "iommu/arm: ipmmu-vmsa: Enable VMSAv8-64 mode if IPMMU HW supports it",
]
KINDS = ["import", "port", "import", "port", "build", "carry", "carry"]


@pytest.fixture(scope="module")
def rec():
    return recipe_mod.load(shipped_recipe("ipmmu-vmsa"))


def test_the_package_ships_the_top_level_series_folder():
    assert (REPO / "series" / "ipmmu-vmsa" / "recipe.toml").is_file()
    assert RECIPES.resolve() == (REPO / "series").resolve()
    assert "ipmmu-vmsa" in shipped_recipes()
    import porter.recipes
    assert (Path(porter.recipes.__file__).parent / "ipmmu-vmsa" / "recipe.toml").is_file()


def test_steps_are_the_real_series_in_order(rec):
    assert rec.name == "ipmmu-vmsa" and rec.upstream_tag == "rcar-3.5.3"
    assert [s.kind for s in rec.steps] == KINDS
    assert [s.subject for s in rec.steps] == SUBJECTS
    assert rec.cover.splitlines()[0] == "IPMMU-VMSA support on ARM"
    mapped = set(rec.files.values())
    for step in rec.steps:
        assert step.files and set(step.files) <= mapped | {
            "xen/drivers/passthrough/Kconfig", "xen/drivers/passthrough/arm/Makefile"}
        assert not step.edits, "the shipped recipe is rules and glue, nothing learned"
    imported = [f for s in rec.steps if s.kind == "import" for f in s.files]
    assert sorted(imported) == sorted(mapped)


def test_rules_parse_and_name_known_packs(rec):
    sdir = shipped_recipe("ipmmu-vmsa") / "steps"
    for step in (s for s in rec.steps if s.kind == "port"):
        packs = [r for r in step.rules if not r.endswith(".toml")]
        assert set(packs) <= set(pack_names())
        files = [sdir / step.dir / r for r in step.rules if r.endswith(".toml")]
        files += [sdir / step.dir / r for rs in step.file_rules.values() for r in rs]
        assert files
        rules = load_rules(packs, files)
        own = [r for r in rules if r.source in map(str, files)]
        assert own and all(r.expect != "any" for r in own), "recipe rules state their count"


def test_build_templates_render_the_option_off_by_default(rec):
    step = rec.steps[4]
    sdir = shipped_recipe("ipmmu-vmsa") / "steps" / step.dir
    files = sorted(rec.files.values())
    ctx = {"name": "ipmmu-vmsa", "tag": "rcar-3.5.3", "files": files,
           "objects": [Path(f).with_suffix(".o").name for f in files if f.endswith(".c")]}
    out = {t["file"]: render_template((sdir / t["template"]).read_text(), ctx, t["template"])
           for t in step.templates}
    kconfig = out["xen/drivers/passthrough/Kconfig"]
    assert re.search(r"^config IPMMU_VMSA$", kconfig, re.M) and re.search(r"^\tdefault n$", kconfig, re.M)
    assert out["xen/drivers/passthrough/arm/Makefile"].strip() == \
        "obj-$(CONFIG_IPMMU_VMSA) += io-pgtable-arm.o io-pgtable.o ipmmu-vmsa.o"


def test_the_glue_template_renders_and_parses(rec):
    step = rec.steps[1]
    rules = [r for r in load_rules([], [shipped_recipe("ipmmu-vmsa") / "steps" / step.dir / "driver.toml"])
             if r.op == "insert_template"]
    src = b"static int ipmmu_probe(void *p)\n{\n\treturn 0;\n}\n"
    res = apply_rules(src, rules, filename="ipmmu-vmsa.c")
    assert res.drift == []
    out = res.output.decode()
    assert "DT_DEVICE_START(ipmmu, \"Renesas IPMMU-VMSA\", DEVICE_IOMMU)" in out
    assert ".map_pages = ipmmu_xen_map_pages" in out and ".teardown = ipmmu_xen_teardown" in out
    assert cparse.parse(res.output).errors == []


def test_carried_patches_touch_the_files_their_step_names(rec):
    sdir = shipped_recipe("ipmmu-vmsa") / "steps"
    for step in (s for s in rec.steps if s.kind == "carry"):
        text = (sdir / step.dir / step.patch).read_text()
        touched = set(re.findall(r"^\+\+\+ b/(\S+)$", text, re.M))
        assert touched and touched == set(step.files)


def test_init_from_the_shipped_recipe(tmp_path):
    for name in ("up", "xen"):
        repo = tmp_path / name
        subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
        (repo / "README").write_text(name)
        subprocess.run(["git", "-C", str(repo), "add", "README"], check=True)
        subprocess.run(["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@x",
                        "commit", "-qm", "init"], check=True)
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--recipe", "ipmmu-vmsa", "--upstream", tmp_path / "up",
                       "--public-url", "https://example.org/bsp.git", "--xen", tmp_path / "xen", "--base", "main")
    assert code == 0, out
    toml = (ws / "porter.toml").read_text()
    assert 'name = "ipmmu-vmsa"' in toml and '"CONFIG_IPMMU_VMSA=y"' in toml   # what `porter build` enables
    copied = ws / "series" / "ipmmu-vmsa"
    assert (copied / "recipe.toml").read_bytes() == (shipped_recipe("ipmmu-vmsa") / "recipe.toml").read_bytes()
    assert (copied / "steps" / "02-port-driver" / "glue.c.j2").is_file()
    assert not (copied / "__init__.py").exists()
    recipe_mod.load(copied)
    code, out = porter("init", tmp_path / "ws2", "--recipe", "no-such", "--upstream", tmp_path / "up",
                       "--public-url", "https://example.org/bsp.git", "--xen", tmp_path / "xen", "--base", "main")
    assert code == 2 and "unknown recipe 'no-such'" in out and "ipmmu-vmsa" in out
    assert not (tmp_path / "ws2" / "porter.toml").exists()


def test_linux_changes_counts_changed_disabled_and_added_lines():
    linux = "a\nb\nc\nd\ne\n"
    port = "a\n#if 0 /* Xen: x */\nb\n#else\nB\n#endif\nc\nD\ne\nxen1\nxen2\n"
    assert count(linux, port) == {"linux_lines": 5, "kept": 3, "changed": 1, "disabled": 1, "added": 7}
    lines = ["#if 0", "x", "#ifdef A", "y", "#endif", "#else", "z", "#endif", "w"]
    assert disabled_lines(lines) == {1, 3}


def test_xen_device_descriptors_parse_and_name_nothing_linux_only():
    from porter.linux_to_xen import symbols
    src = (b"static int probe(struct dt_device_node *n, const void *d)\n{\n\treturn 0;\n}\n"
           b"DT_DEVICE_START(foo, \"Foo Bar-IOMMU\", DEVICE_IOMMU)\n"
           b"    .dt_match = foo_ids,\n    .init = probe,\nDT_DEVICE_END\n")
    parsed = cparse.parse(src)
    assert parsed.errors == []
    names = {u.name for u in symbols.collect(src, parsed).uses}
    assert {"foo_ids", "probe"} <= names and not {"Foo", "Bar", "foo"} & names
