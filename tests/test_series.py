"""Issue 3 on a small self-made port: learn, resync, git am, determinism, bad input."""
import re
from pathlib import Path

import pytest

from tests import minirepos
from tests.helpers import am_series, git, porter, porter_json
from tests.minirepos import learned_workspace as make_ws


def test_learn_classifies_and_writes_a_readable_recipe(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    series = ws / "series/foo"
    recipe = (series / "recipe.toml").read_text()
    # every later edit of a C file is learned as C-unit edits too, against the file as step 2 left it
    assert re.findall(r'kind = "(\w+)"', recipe) == ["import", "port", "build", "port"]
    assert '"drivers/iommu/foo.c" = "xen/drivers/passthrough/arm/foo.c"' in recipe
    steps = sorted(p.name for p in (series / "steps").iterdir())
    edits = (series / "steps" / steps[1] / "foo.c.edits").read_text()
    assert 'insert include "<xen/lib.h>"' in edits and "disable macro MODULE_LICENSE" in edits
    assert "keep function foo_read" in edits and "edit function foo_probe" in edits
    assert (series / "steps" / steps[2] / "Makefile.j2").read_text() == "obj-$(CONFIG_FOO) += foo.o\n"
    coherency = (series / "steps" / steps[3] / "foo.c.edits").read_text()
    assert "edit struct foo_dev" in coherency and "| \tbool coherent;" in coherency
    assert "keep function foo_probe" in coherency     # the port's own version, unchanged by this step
    code, again = porter_json("learn", "port", "--from", "t1", cwd=ws)
    assert code == 0 and not any("note" in s for s in again["steps"])   # obj-$(CONFIG_FOO): no note


def test_resync_gives_am_able_series_with_the_hand_made_trees(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 0 and res["revision"] == "v1", res
    rev = ws / "series/foo/v1"
    assert sorted(p.name for p in rev.iterdir())[0] == "0000-cover-letter.patch"
    trees = am_series(xen, "base", rev, tmp_path / "am")
    assert trees == [git(xen, "rev-parse", f"{c}^{{tree}}")
                     for c in git(xen, "rev-list", "--reverse", "base..port").split()]
    cover = (rev / "0000-cover-letter.patch").read_text()
    head = cover.split("\n\n", 1)[0]
    assert "Subject: [PATCH 0/4] Add foo support" in head
    assert "To: devel@lists.example.org" in head and "alice@example.org" in head
    assert "ivan@example.org" not in head and "rita@example.org" not in head   # X: and catch-all
    assert "depends on 1 patches on top of Xen" not in cover or "xen: add xzalloc_bytes" in cover
    assert "prerequisite-patch-id: " in cover and "base-commit: " in cover
    first = next(p for p in sorted(rev.iterdir()) if p.name.startswith("0001-")).read_text()
    sha = git(up, "rev-parse", "--short=12", "t1")
    assert f"drivers/iommu/foo.c: commit {sha} (\"foo: first release\")" in first
    assert "Imported from https://example.org/foo.git tag t1:" in first


def test_resync_is_deterministic_and_idempotent(tmp_path, repos):
    a, b = make_ws(tmp_path, repos, "a"), make_ws(tmp_path, repos, "b")
    for ws in (a, b):
        assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    files_a = {p.name: p.read_bytes() for p in (a / "series/foo/v1").iterdir()}
    files_b = {p.name: p.read_bytes() for p in (b / "series/foo/v1").iterdir()}
    assert files_a == files_b
    code, res = porter_json("resync", "--from", "t1", cwd=a)
    assert code == 0 and not res["changed"] and res["revision"] == "v1"
    assert sorted(p.name for p in (a / "series/foo").iterdir() if p.name.startswith("v")) == ["v1"]


def test_resync_onto_new_tag_with_a_finding_writes_no_revision(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T2.replace(b"readl_relaxed", b"readq_relaxed"))
    minirepos.commit(up, "foo: read 64 bits", 9)
    git(up, "tag", "t6")
    code, res = porter_json("resync", "--from", "t6", cwd=ws)
    # foo_read, which the port keeps, changed upstream to use readq_relaxed: a finding for a human
    assert code == 1 and [f["symbol"] for f in res["findings"]] == ["readq_relaxed"]
    assert res["findings"][0]["unit"] == "function foo_read"
    # so no v2: the regenerated series waits in the scratch worktree, as conflicts do
    assert res["revision"] is None and res["not_written"] == ["1 open finding(s)"], res
    assert sorted(p.name for p in (ws / "series/foo").iterdir() if p.name.startswith("v")) == ["v1"]
    # foo_reset is new upstream and Linux-only: it comes in visibly disabled, with a note
    (note,) = [n for n in res["notes"] if n.get("disabled")]
    assert "function foo_reset" in note["message"] and "iowrite32" in note["message"]
    ported = (Path(res["scratch"]) / "xen/drivers/passthrough/arm/foo.c").read_text()
    assert "#if 0 /* Xen: uses Linux-only iowrite32 (new upstream code) */\nstatic void foo_reset" in ported
    assert "return readq_relaxed(foo->base + reg);" in ported
    assert git(Path(res["scratch"]), "rev-parse", "HEAD") == git(ws / ".porter/xen.git", "rev-parse", res["branch"])


def test_resync_onto_a_clean_new_tag_makes_v2_with_changelog(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T1.replace(b"#define FOO_CTRL\t0x10\n",
                                                                            b"#define FOO_CTRL\t0x10\n#define FOO_IRQ\t0x18\n"))
    minirepos.commit(up, "foo: name the irq register", 9)
    git(up, "tag", "t4")
    code, res = porter_json("resync", "--from", "t4", cwd=ws)
    assert code == 0 and res["revision"] == "v2" and res["changed"] and not res["findings"], res
    cover = (ws / "series/foo/v2/0000-cover-letter.patch").read_text()
    assert "Subject: [PATCH v2 0/4]" in cover
    assert "  - Rebase on upstream t4 (v1 was on t1)" in cover
    am_series(xen, "base", ws / "series/foo/v2", tmp_path / "am")
    assert "#define FOO_IRQ" in (tmp_path / "am/xen/drivers/passthrough/arm/foo.c").read_text()


@pytest.mark.parametrize("args,needle", [
    (["resync", "--from", "nope"], "unknown upstream tag 'nope'"),
    (["resync", "--from", "--upload-pack=x"], "invalid upstream tag"),
    (["learn", "--from", "t1", "--", "--upload-pack=x"], "invalid ref"),
    (["learn", "nope", "--from", "t1"], "unknown ref 'nope'"),
])
def test_bad_refs_get_one_line_and_exit_2(tmp_path, repos, args, needle):
    ws = make_ws(tmp_path, repos)
    code, out = porter(*args, cwd=ws)
    assert code == 2 and needle in out and len(out.strip().splitlines()) == 1, out
    assert not any(p.name.startswith("v") for p in (ws / "series/foo").iterdir())


def test_bad_workspace_and_sources(tmp_path, repos):
    up, xen = repos
    code, out = porter("resync", "--from", "t1", cwd=tmp_path)
    assert code == 2 and "porter.toml" in out
    for bad in (tmp_path / "missing", tmp_path / "src", "--upload-pack=touch pwned", "ext::sh -c touch% pwned",
                "file:///nonexistent/repo.git"):
        code, out = porter("init", tmp_path / "w", "--name", "x", "--upstream", bad, "--xen", xen,
                           "--base", "base")
        assert code == 2 and str(bad) in out and len(out.strip().splitlines()) == 1, out
        assert not (tmp_path / "w").exists() and not list(tmp_path.rglob("pwned"))


def test_recipe_paths_may_not_leave_the_workspace(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    recipe = ws / "series/foo/recipe.toml"
    text = recipe.read_text()
    for evil in ('dir = "../../../etc"', 'dir = "/tmp/x"'):
        recipe.write_text(re.sub(r'dir = "[^"]+"', evil, text, count=1))
        code, out = porter("resync", "--from", "t1", cwd=ws)
        assert code == 2 and "leaves" in out or "relative path" in out, out


def test_template_with_undefined_variable_is_bad_input(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    tpl = next((ws / "series/foo/steps").glob("*/Makefile.j2"))
    tpl.write_text("obj-y += {{ no_such_thing }}\n")
    code, out = porter("resync", "--from", "t1", cwd=ws)
    assert code == 2 and "no_such_thing" in out and "Makefile.j2" in out


def test_non_utf8_sources_are_carried_byte_exact(tmp_path):
    root = tmp_path / "src"
    up, xen = minirepos.build(root)
    latin = minirepos.DRIVER_T1.replace(b"static u32 foo_read", b"/* (c) J\xf6rg */\nstatic u32 foo_read")
    minirepos.write(up, "drivers/iommu/foo.c", latin)
    minirepos.commit(up, "foo: latin-1 author", 9)
    git(up, "tag", "t3")
    ws = make_ws(tmp_path, (up, xen))
    code, res = porter_json("resync", "--from", "t3", cwd=ws)
    assert res["revision"] == "v1", res
    am_series(xen, "base", ws / "series/foo/v1", tmp_path / "am")
    assert b"J\xf6rg" in (tmp_path / "am/xen/drivers/passthrough/arm/foo.c").read_bytes()


def test_conflict_goes_to_a_scratch_worktree_and_back_through_learn(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    changed = minirepos.DRIVER_T1.replace(b'"foo ctrl %x\\n"', b'"foo control %#x\\n"')
    minirepos.write(up, "drivers/iommu/foo.c", changed)
    minirepos.commit(up, "foo: clearer message", 9)
    git(up, "tag", "t9")
    code, res = porter_json("resync", "--from", "t9", cwd=ws)
    assert code == 1 and res["revision"] is None
    (conflict,) = res["conflicts"]
    assert conflict["unit"] == "function foo_probe" and conflict["file"].endswith("foo.c")
    scratch = ws / ".porter/scratch"
    text = (scratch / "xen/drivers/passthrough/arm/foo.c").read_text()
    assert "<<<<<<< port" in text and ">>>>>>> upstream" in text
    assert not any(p.name.startswith("v") for p in (ws / "series/foo").iterdir())
    # the documented loop: fix the port commit in the scratch tree, learn it, resync
    port_commit = git(scratch, "rev-list", "--reverse", "base..HEAD").split()[1]
    git(scratch, "checkout", "-q", port_commit)
    fixed = minirepos.PORT.replace(b'"foo ctrl %x\\n"', b'"foo control %#x\\n"')
    (scratch / "xen/drivers/passthrough/arm/foo.c").write_bytes(fixed)
    git(scratch, "-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-qa", "--amend", "--no-edit")
    git(scratch, "checkout", "-q", "-B", "fixed")
    for c in git(scratch, "rev-list", "--reverse", f"{port_commit}..porter/foo/conflicts").split():
        git(scratch, "-c", "user.name=t", "-c", "user.email=t@example.org", "cherry-pick", "--allow-empty", c)
    code, learned = porter_json("learn", "fixed", "--from", "t9", cwd=ws)
    assert code == 0 and [s["kind"] for s in learned["steps"]] == ["import", "port", "build", "port"]
    code, res = porter_json("resync", "--from", "t9", cwd=ws)
    assert res["revision"] == "v1" and not res["conflicts"], res


def test_port_step_rules_run_and_drift_fails_the_resync(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    recipe = ws / "series/foo/recipe.toml"
    step = next((ws / "series/foo/steps").glob("02-*"))
    rule = ('[pack]\nname = "foo-local"\nxen = "4.9"\n\n[[rule]]\nid = "foo.no-%s"\nop = "disable"\n'
            'anchor = { kind = "function", name = "foo_%s" }\nreason = "not used in Xen"\nexpect = %d\n')
    text = recipe.read_text()
    recipe.write_text(text.replace('kind = "port"\n', 'kind = "port"\nrules = ["foo.toml"]\n', 1))
    # foo_probe still calls a foo_read the rule disables: step 4, merged onto step 2's output, says so
    # (a finding, exit 1) and no revision is written, never silently
    (step / "foo.toml").write_text(rule % ("read", "read", 1))
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 1 and res["revision"] is None and not res["conflicts"], res
    assert [(f["symbol"], f["unit"]) for f in res["findings"]] == [("foo_read", "function foo_probe")]
    assert not (ws / "series/foo/v1").exists()
    (step / "foo.toml").write_text(rule % ("probe", "probe", 1))
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 0 and res["revision"] == "v1" and not res["findings"], res
    patch = next((ws / "series/foo/v1").glob("0002-*")).read_text()
    assert "+#if 0 /* Xen: not used in Xen */\n static int foo_probe" in patch
    (step / "foo.toml").write_text(rule % ("probe", "probe", 2))
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 1 and res["drift"] and res["drift"][0]["rule"] == "foo.no-probe"
    assert res["drift"][0]["file"] == "xen/drivers/passthrough/arm/foo.c"


def test_imported_file_moved_upstream_is_followed_and_removed_is_a_finding(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    git(up, "mv", "drivers/iommu/foo.c", "drivers/iommu/foo-new.c")
    minirepos.commit(up, "foo: rename", 9)
    git(up, "tag", "t9")
    code, res = porter_json("resync", "--from", "t9", cwd=ws)
    assert res["revision"] == "v1" and not res["conflicts"], res
    assert any("moved drivers/iommu/foo.c to drivers/iommu/foo-new.c" in n["message"] for n in res["notes"])
    first = next((ws / "series/foo/v1").glob("0001-*")).read_text()
    assert "drivers/iommu/foo-new.c: commit" in first
    git(up, "rm", "-q", "drivers/iommu/foo-new.c")
    minirepos.write(up, "README", b"nothing left\n")
    minirepos.commit(up, "foo: gone", 10)
    git(up, "tag", "t10")
    code, out = porter("resync", "--from", "t10", cwd=ws)
    assert code == 1 and "drivers/iommu/foo.c does not exist at t10" in out and "[moves" in out


def test_recipe_from_another_upstream_is_bad_input(tmp_path, repos):
    ws = make_ws(tmp_path, repos)
    recipe = ws / "series/foo/recipe.toml"
    recipe.write_text(recipe.read_text().replace('"drivers/iommu/foo.c" =', '"drivers/net/foo.c" ='))
    code, out = porter("resync", "--from", "t1", cwd=ws)
    assert code == 2 and "drivers/net/foo.c" in out and "another upstream" in out


def test_interrupted_resync_leaves_the_previous_revision(tmp_path, repos, monkeypatch):
    from porter import resync, workspace
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    series = ws / "series/foo"
    before = {p.name: p.read_bytes() for p in (series / "v1").iterdir()}
    real_write = type(series).write_bytes
    calls = []

    def dying_write(self, data):
        calls.append(self)
        if len(calls) == 3:
            raise KeyboardInterrupt("killed at the third write")
        return real_write(self, data)

    up, _ = repos
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T1.replace(b"#define FOO_CTRL\t0x10\n",
                                                                            b"#define FOO_CTRL\t0x10\n#define FOO_ID\t0x1c\n"))
    minirepos.commit(up, "foo: name the id register", 9)
    git(up, "tag", "t5")
    monkeypatch.setattr(type(series), "write_bytes", dying_write)
    with pytest.raises(KeyboardInterrupt, match="^killed at the third write$"):
        resync.resync(workspace.load(ws), "t5")
    monkeypatch.undo()
    assert sorted(p.name for p in series.iterdir()) == ["cover.txt", "recipe.toml", "steps", "v1"]
    assert {p.name: p.read_bytes() for p in (series / "v1").iterdir()} == before


def test_later_port_step_edit_merges_into_a_changed_struct(tmp_path, repos):
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T1.replace(b"\tint irq;\n", b"\tunsigned int irq;\n"))
    minirepos.commit(up, "foo: irq is unsigned", 9)
    git(up, "tag", "t9")
    code, res = porter_json("resync", "--from", "t9", cwd=ws)
    assert not res["conflicts"], res
    # step 4's field, learned after step 2, merged line by line into upstream's changed struct
    assert any(n.get("unit") == "struct foo_dev" and "port's added lines kept" in n["message"] for n in res["notes"])
    if res["revision"] is None:      # a finding keeps the revision out of series/: the series is in scratch
        assert code == 1 and res["findings"]
        text = (ws / ".porter/scratch/xen/drivers/passthrough/arm/foo.c").read_text()
    else:
        text = "".join(p.read_text() for p in (ws / "series/foo" / res["revision"]).glob("0004-*"))
    assert "<<<<<<<" not in text and "\tunsigned int irq;" in text and "\tbool coherent;" in text


def test_retag_replaces_whole_tags_only():
    from porter.series import retag
    assert retag("taken from rcar-3.5.2.", "rcar-3.5.2", "rcar-3.5.3") == "taken from rcar-3.5.3."
    assert retag("rcar-3.5.21 and xrcar-3.5.2", "rcar-3.5.2", "rcar-3.5.3") == "rcar-3.5.21 and xrcar-3.5.2"
    assert retag("t1: attempt1, t1", "t1", "t2") == "t2: attempt1, t2"


def _step_file(ws, index, name):
    return sorted((ws / "series/foo/steps").iterdir())[index] / name


@pytest.mark.parametrize("damage,needle", [
    (lambda ws: _step_file(ws, 1, "foo.c.edits").unlink(), "foo.c.edits: missing"),
    (lambda ws: _step_file(ws, 2, "Makefile.j2").unlink(), "Makefile.j2: missing"),
    (lambda ws: _step_file(ws, 3, "foo.c.edits").unlink(), "track-coherency/foo.c.edits: missing"),
    (lambda ws: _step_file(ws, 0, "message").unlink(), "missing commit message"),
    (lambda ws: _step_file(ws, 1, "foo.c.edits").write_text("keep banana\n"), "line 1"),
    (lambda ws: _edit_recipe(ws, 'author = "Tess', 'author = "Tess<'), "steps[0].author"),
    (lambda ws: _edit_recipe(ws, 'date = "', 'date = "soon '), "steps[0].date"),
    (lambda ws: _edit_recipe(ws, 'kind = "port"', 'kind = "prot"'), "steps[1].kind"),
    (lambda ws: _edit_recipe(ws, "[files]\n", "[files]\nx = 3\n"), "files.x"),
    (lambda ws: _edit_recipe(ws, "[series]", "[[[series"), "recipe.toml"),
])
def test_a_damaged_recipe_is_one_line_and_exit_2(tmp_path, repos, damage, needle):
    ws = make_ws(tmp_path, repos)
    damage(ws)
    code, out = porter("resync", "--from", "t1", cwd=ws)
    assert code == 2 and needle in out and len(out.strip().splitlines()) == 1, out


def _edit_recipe(ws, old, new):
    recipe = ws / "series/foo/recipe.toml"
    text = recipe.read_text()
    assert old in text
    recipe.write_text(text.replace(old, new, 1))


def test_a_committed_workspace_rebuilds_its_cache_and_fetch_brings_new_tags(tmp_path, repos):
    import shutil
    up, xen = repos
    ws = make_ws(tmp_path, repos)
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    shutil.rmtree(ws / ".porter")                    # a fresh checkout: porter.toml and series/ only
    code, res = porter_json("check", cwd=ws)
    assert code == 0 and res["ok"], res
    assert (ws / ".porter/upstream.git").is_dir() and (ws / ".porter/.gitignore").read_text() == "*\n"
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T2 + b"/* next */\n")
    minirepos.commit(up, "foo: next", 9)
    git(up, "tag", "t9")
    code, res = porter_json("fetch", cwd=ws)
    assert code == 0, res
    assert git(ws / ".porter/upstream.git", "rev-parse", "t9")
