"""Issue 13 on a self-made port: every commit learned per file, merge and unrelated commits, a port
step after a carried change, and an upstream move + split with a unit moving into a new header."""
import re
import tomllib

import pytest
import tomli_w

from tests import minirepos
from tests.helpers import am_series, git, porter, porter_json

FILES = [minirepos.QUX_DRV, minirepos.QUX_XDOC, "SUPPORT.md", "xen/drivers/passthrough/arm/Makefile",
         "xen/include/xen/lib.h"]


@pytest.fixture
def split(tmp_path):
    up, xen = minirepos.build_split(tmp_path / "src")
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--name", "qux", "--upstream", up, "--xen", xen, "--base", "base",
                       "--public-url", "https://example.org/qux.git")
    assert code == 0, out
    code, learned = porter_json("learn", "port", "--from", "t1", cwd=ws)
    assert code == 0, learned
    return up, xen, ws, learned


def test_every_commit_is_learned_per_file(split):
    up, xen, ws, learned = split
    steps = learned["steps"]
    assert [s["subject"] for s in steps] == [
        "iommu/arm: qux: Import the qux driver", "iommu/arm: qux: Add Xen changes",
        "iommu/arm: qux: Track coherency and build it", "Merge branch 'side' into port",
        "xen: add xen_settle", "iommu/arm: qux: settle before use"]
    assert [s["kind"] for s in steps] == ["import", "port", "carry", "port", "port", "port"]
    # the unrelated commit is left out and said so; the merge is one step along the first parent
    (left,) = learned["left_out"]
    assert left["subject"] == "x86: add other_thing" and "no series file" in left["reason"]
    assert steps[3].get("merge") is True
    # one commit, four files, each in its own form
    assert steps[2]["files"] == {"edits": 1, "templates": 1, "patches": 2}
    sdir = next((ws / "series/qux/steps").glob("03-*"))
    assert sorted(p.name for p in sdir.iterdir()) == ["Makefile.j2", "SUPPORT.md.patch", "message",
                                                      "qux.c.edits", "qux.txt.patch"]
    assert "edit struct qux_dev" in (sdir / "qux.c.edits").read_text()
    assert (sdir / "Makefile.j2").read_text() == "obj-$(CONFIG_QUX) += qux.o\n"
    # the last step is learned against the driver as the carried change and the merge left it
    last = next((ws / "series/qux/steps").glob("06-*")) / "qux.c.edits"
    text = last.read_text()
    assert "keep struct qux_dev" in text and "keep function qux_read" in text
    assert "edit function qux_probe" in text and "| \txen_settle();" in text


def test_same_tag_resync_rebuilds_every_kept_commit(split, tmp_path):
    up, xen, ws, _ = split
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 0 and res["revision"] == "v1", res
    trees = am_series(xen, "base", ws / "series/qux/v1", tmp_path / "am")
    kept = [c for c in git(xen, "rev-list", "--reverse", "--first-parent", "base..port").split()
            if "other_thing" not in git(xen, "log", "-1", "--format=%s", c)]
    assert len(trees) == len(kept) == 6
    for tree, real in zip(trees, kept):
        for path in FILES:
            ours = git(tmp_path / "am", "show", f"{tree}:{path}") if _has(tmp_path / "am", tree, path) else None
            theirs = git(xen, "show", f"{real}:{path}") if _has(xen, real, path) else None
            assert ours == theirs, (path, real)
        assert not _has(tmp_path / "am", tree, "xen/arch/x86/other.c")   # left out, not carried


def _has(repo, tree, path) -> bool:
    import subprocess
    return subprocess.run(["git", "-C", str(repo), "cat-file", "-e", f"{tree}:{path}"]).returncode == 0


def test_move_and_split_are_followed(split, tmp_path):
    up, xen, ws, _ = split
    code, res = porter_json("resync", "--from", "t2", cwd=ws)
    notes = [n["message"] for n in res["notes"]]
    assert any("moved drivers/iommu/qux.c to drivers/iommu/qux/qux-main.c" in n for n in notes), notes
    assert any("new upstream header drivers/iommu/qux/qux-main.h" in n for n in notes), notes
    # the port's edit of struct qux_dev (bool coherent) is matched in the new header, not deleted
    assert [c["file"] for c in res["conflicts"]] == [minirepos.QUX_XDOC], res["conflicts"]
    assert not any("struct qux_dev" in n.get("unit", "") and "removed" in n["message"] for n in res["notes"])
    # the doc's stored patch conflicts with upstream's rewording; the driver's change in the same
    # commit is applied all the same
    (doc,) = [c for c in res["conflicts"] if c["file"] == minirepos.QUX_XDOC]
    assert doc["step"].startswith("03-") and code == 1
    scratch = ws / ".porter/scratch"
    log = git(scratch, "log", "--format=%H %s", "base..HEAD").splitlines()
    carry = next(line.split()[0] for line in log if "Track coherency" in line)
    header = git(scratch, "show", f"{carry}:xen/drivers/passthrough/arm/qux-main.h")
    assert "\tunsigned long flags;\n\tvoid __iomem *base;\n\tint irq;\n\tbool coherent;\n" in header
    assert "obj-$(CONFIG_QUX) += qux.o" in git(scratch, "show", f"{carry}:xen/drivers/passthrough/arm/Makefile")
    assert "not qux" in git(scratch, "show", f"{carry}:SUPPORT.md")
    driver = git(scratch, "show", f"HEAD:{minirepos.QUX_DRV}")
    assert '#include "qux-main.h"' in driver and "return -EAGAIN;" in driver and "xen_settle();" in driver
    assert "struct qux_dev {" not in driver and "#define QUX_CTRL" not in driver
    # the new Linux-only helper in the header is linted: disabled and reported
    final_h = git(scratch, "show", "HEAD:xen/drivers/passthrough/arm/qux-main.h")
    assert re.search(r"#if 0 /\* Xen: uses Linux-only dma_wmb \(new upstream code\) \*/\nstatic inline void qux_barrier",
                     final_h), final_h
    assert any(n.get("disabled") and "qux_barrier" in n["message"] for n in res["notes"])


def test_recipe_move_override_and_a_bad_one(split):
    up, xen, ws, _ = split
    recipe = ws / "series/qux/recipe.toml"
    recipe.write_text(recipe.read_text() + '\n[moves.t2]\n"drivers/iommu/qux.c" = "drivers/iommu/nope.c"\n')
    code, out = porter("resync", "--from", "t2", cwd=ws)
    assert code == 1 and "drivers/iommu/nope.c" in out and "does not exist" in out
    recipe.write_text(recipe.read_text().replace("drivers/iommu/nope.c", "drivers/iommu/qux/qux-main.c"))
    code, res = porter_json("resync", "--from", "t2", cwd=ws)
    assert any("(found by recipe.toml [moves])" in n["message"] for n in res["notes"]), res["notes"]
    code, again = porter_json("learn", "port", "--from", "t1", cwd=ws)      # relearning keeps [moves]
    assert code == 0 and "[moves.t2]" in recipe.read_text()


def test_paths_keeps_a_commit_that_would_be_left_out(split):
    up, xen, ws, _ = split
    code, learned = porter_json("learn", "port", "--from", "t1", "--paths", "xen/arch/x86", cwd=ws)
    assert code == 0 and learned["left_out"] == []
    assert "x86: add other_thing" in [s["subject"] for s in learned["steps"]]


def test_a_recipe_with_a_whole_stored_patch_still_replays(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/up.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    sdir = next((ws / "series/foo/steps").glob("04-*"))
    (sdir / "foo.c.edits").unlink()
    last = git(xen, "rev-parse", "port")
    (sdir / "change.patch").write_text(git(xen, "diff", "--full-index", f"{last}^", last) + "\n")
    recipe = ws / "series/foo/recipe.toml"
    doc = tomllib.loads(recipe.read_text())
    step = doc["steps"][3]
    del step["edits"]
    step.update(kind="carry", patch="change.patch")
    recipe.write_text(tomli_w.dumps(doc))
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 0 and res["revision"] == "v1", res
    trees = am_series(xen, "base", ws / "series/foo/v1", tmp_path / "am")
    assert trees[-1] == git(xen, "rev-parse", "port^{tree}")


def test_a_file_merged_into_a_bigger_one_is_found_by_its_lines(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/up.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    git(up, "checkout", "-q", "t1")
    git(up, "rm", "-q", "drivers/iommu/foo.c")
    extra = b"".join(b"static int foo_extra_%d(void)\n{\n\treturn %d;\n}\n\n" % (i, i) for i in range(40))
    minirepos.write(up, "drivers/iommu/foo-core.c", minirepos.DRIVER_T1 + b"\n" + extra)
    minirepos.commit(up, "foo: fold into foo-core.c", 9)
    git(up, "tag", "t9")
    renames = git(up, "diff", "--name-status", "-M", "t1", "t9")
    assert not renames.startswith("R")            # too small a share of the new file for git
    code, res = porter_json("resync", "--from", "t9", cwd=ws)
    assert any("moved drivers/iommu/foo.c to drivers/iommu/foo-core.c at t9 (found by content similarity)"
               in n["message"] for n in res["notes"]), res["notes"]


def test_a_conflict_is_reported_once_and_later_steps_still_land(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    git(xen, "checkout", "-q", "port")
    later = minirepos.PORT.replace(b"\tint irq;\n", b"\tint irq;\n\tbool coherent;\n").replace(
        b"devm_kzalloc(&pdev->dev, sizeof(*foo), GFP_KERNEL)", b"xzalloc(struct foo_dev)").replace(
        b"\treturn 0;\n}\n", b"\treturn foo ? 0 : -ENODEV;\n}\n")      # right below the conflict
    minirepos.write(xen, "xen/drivers/passthrough/arm/foo.c", later)
    minirepos.commit(xen, "iommu/arm: foo: allocate with xzalloc", 9)
    git(xen, "checkout", "-q", "base")
    minirepos.write(up, "drivers/iommu/foo.c", minirepos.DRIVER_T1.replace(b'"foo ctrl %x\\n"', b'"foo control %#x\\n"'))
    minirepos.commit(up, "foo: clearer message", 10)
    git(up, "tag", "t9")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/up.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    code, res = porter_json("resync", "--from", "t9", cwd=ws)
    (conflict,) = res["conflicts"]         # made by step 2; step 5 edits the same function elsewhere
    assert conflict["unit"] == "function foo_probe" and conflict["step"].startswith("02-")
    tip = git(ws / ".porter/scratch", "show", "HEAD:xen/drivers/passthrough/arm/foo.c")
    assert tip.count("<<<<<<< port") == 1 and "xzalloc(struct foo_dev)" in tip and "foo control %#x" in tip
    assert "return foo ? 0 : -ENODEV;" in tip


@pytest.mark.parametrize("bad,needle", [
    ('moves = 3\n', "[moves.TAG]"),
    ('[moves.t2]\n"drivers/iommu/qux.c" = "../../etc/passwd"\n', "moves.t2"),
])
def test_a_bad_moves_table_is_one_line_and_exit_2(split, bad, needle):
    up, xen, ws, _ = split
    recipe = ws / "series/qux/recipe.toml"
    text = recipe.read_text()
    recipe.write_text(bad + text if bad.startswith("moves =") else text + "\n" + bad)
    code, out = porter("resync", "--from", "t2", cwd=ws)
    assert code == 2 and needle in out and len(out.strip().splitlines()) == 1, out
