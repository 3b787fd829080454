"""Issue 7: `porter review` of what changed between revisions, on a tiny self-made port (and the real
one with PORTER_REAL), and the cover letter's "Changes since" built from the same data."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.helpers import porter, porter_json
from tests.test_check_cli import make_ws


def resync(ws: Path, tag: str, revision: str) -> dict:
    code, res = porter_json("resync", "--from", tag, cwd=ws)
    # the tiny Xen tree lacks printk & co: the new-code lint may report findings (exit 1)
    assert code in (0, 1) and not res["conflicts"] and not res["drift"], res
    assert res["revision"] == revision and res["changed"], res
    return res


def by_number(doc: dict) -> dict[str, dict]:
    return {p["file"][:4]: p for p in doc["patches"]}


@pytest.fixture
def ws2(tmp_path) -> Path:
    ws = make_ws(tmp_path)
    resync(ws, "t2", "v2")
    return ws


def test_review_upstream_move(ws2):
    code, doc = porter_json("review", cwd=ws2)
    assert code == 0, doc
    assert doc["command"] == "review" and doc["ok"] is True
    assert doc["from"] == "v1" and doc["to"] == "v2" and doc["upstream"] == {"from": "t1", "to": "t2"}
    p = by_number(doc)
    assert [p[k]["status"] for k in ("0001", "0002", "0003", "0004")] == ["changed", "changed", "same", "same"]
    assert p["0003"]["hunks"] == [] and p["0004"]["hunks"] == []
    for k in ("0001", "0002"):
        assert p[k]["hunks"] and all(h["origin"].startswith("upstream:") for h in p[k]["hunks"]), p[k]
        assert all(set(h) >= {"origin", "header"} for h in p[k]["hunks"])
    # the import's message names the new tag; the port's hunk sits in bar_probe, where upstream changed
    assert p["0001"]["hunks"][0]["header"] == "@@ Commit message"
    port = p["0002"]["hunks"]
    assert [h["origin"] for h in port] == ["upstream:t2"]
    assert port[0]["header"].endswith("static int bar_probe(struct platform_device *pdev)")
    assert "- \tif (!bar)" in port[0]["diff"] and "+ \tif (!bar || !pdev)" in port[0]["diff"]
    # explicit revisions give the same answer
    assert porter_json("review", "v1", "v2", cwd=ws2)[1]["patches"] == doc["patches"]


def test_review_import_hunk_names_the_upstream_commit(ws2):
    from tests.helpers import git
    doc = porter_json("review", cwd=ws2)[1]
    hunks = by_number(doc)["0001"]["hunks"]
    assert [h["header"] for h in hunks] == ["@@ Commit message", "@@ xen/drivers/passthrough/arm/bar.c"]
    # bar_status and the pdev check come from two upstream commits: one hunk, so the tag
    assert [h["origin"] for h in hunks] == ["upstream:t2", "upstream:t2"]
    newest, older = git(ws2 / ".porter/upstream.git", "rev-list", "t1..t2").split()
    assert hunks[1]["origins"] == sorted([f"upstream:{older[:12]}", f"upstream:{newest[:12]}"])
    assert f'+  drivers/iommu/bar.c: commit {newest[:12]} ("bar: check pdev in probe")' in hunks[0]["diff"]


def test_review_hand_edit_is_manual(ws2):
    patch = next((ws2 / "series/bar/v2").glob("0002-*.patch"))
    patch.write_text(patch.read_text().replace("XENLOG_INFO", "XENLOG_WARNING"))
    code, doc = porter_json("review", cwd=ws2)
    assert code == 0
    origins = [h["origin"] for h in by_number(doc)["0002"]["hunks"]]
    assert "manual" in origins
    code, out = porter("review", cwd=ws2)
    assert code == 0 and "[manual]" in out and "changed  0002-" in out


def test_review_learned_edit_carry_and_recipe_origins(tmp_path):
    ws = make_ws(tmp_path)
    steps = ws / "series/bar/steps"
    edits = next(steps.glob("02-*")) / "bar.c.edits"
    edits.write_text(edits.read_text().replace("XENLOG_INFO", "XENLOG_DEBUG"))
    later = next(steps.glob("04-*")) / "bar.c.edits"      # a later port step, learned as C-unit edits
    later.write_text(later.read_text().replace("bool coherent;", "bool coherent_walk;"))
    msg = next(steps.glob("03-*")) / "message"
    msg.write_text(msg.read_text().replace("Build bar\n", "Build bar\n\nBuilt only with CONFIG_BAR.\n", 1))
    resync(ws, "t1", "v2")
    code, doc = porter_json("review", cwd=ws)
    assert code == 0
    p = by_number(doc)
    assert p["0001"]["status"] == "same"
    assert [h["origin"] for h in p["0002"]["hunks"]] == ["learned:function bar_probe"]
    assert [h["origin"] for h in p["0003"]["hunks"]] == ["recipe:" + msg.parent.name]
    assert [h["origin"] for h in p["0004"]["hunks"]] == ["learned:struct bar_dev"]
    cover = (ws / "series/bar/v2/0000-cover-letter.patch").read_text()
    assert "Changes since v1:" in cover
    assert '  - Patch 2 "iommu/arm: bar: Add Xen changes": Update the Xen changes to function bar_probe' in cover
    assert '  - Patch 4 "iommu/arm: bar: Track coherency": Update the Xen changes to struct bar_dev' in cover
    assert '  - Patch 3 "iommu/arm: Build bar": Reword the commit message' in cover
    code, check = porter_json("check", cwd=ws)
    assert code == 0, check


def test_cover_changes_come_from_review(ws2):
    cover = (ws2 / "series/bar/v2/0000-cover-letter.patch").read_text()
    section = cover.split("Changes since v1:\n", 1)[1].split("\n\n", 1)[0]
    assert "  - Rebase on upstream t2 (v1 was on t1)" in section
    assert re.search(r'^  - Patch 2 "iommu/arm: bar: Add Xen changes": Update to upstream t2$', section, re.M)
    doc = porter_json("review", cwd=ws2)[1]
    for p in doc["patches"]:
        if p["status"] == "changed":
            assert f'  - Patch {int(p["file"][:4])} "{p["subject"]}": ' in section
            patch = (ws2 / "series/bar/v2" / p["file"]).read_text()
            assert "\n---\nChanges in v2:\n- " in patch
    assert porter_json("check", cwd=ws2)[0] == 0


def test_review_markdown(ws2):
    code, out = porter("review", "--markdown", cwd=ws2)
    assert code == 0
    assert out.startswith("### porter review: `bar` v1 → v2")
    assert "| 0002 | iommu/arm: bar: Add Xen changes | changed | `upstream:t2` |" in out
    assert "```diff" in out and "<details>" in out
    code, doc = porter_json("review", "--markdown", cwd=ws2)
    assert code == 0 and doc["markdown"] == out and doc["patches"]


def test_review_bad_input(tmp_path):
    ws = make_ws(tmp_path, resync_from=None)
    code, out = porter("review", cwd=ws)
    assert code == 2 and "no revision" in out and out.strip().count("\n") == 0
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    code, out = porter("review", cwd=ws)
    assert code == 2 and "only v1" in out
    code, doc = porter_json("review", "vx", "v1", cwd=ws)
    assert code == 2 and "invalid revision" in doc["error"]
    code, doc = porter_json("review", "v1", "v7", cwd=ws)
    assert code == 2 and "no revision v7" in doc["error"]


def _broken(ws2: Path, how: str) -> tuple[int, str]:
    rev = ws2 / "series/bar/v2"
    if how == "missing":
        next(rev.glob("0003-*.patch")).unlink()
    elif how == "extra":
        (rev / "notes.txt").write_text("hello\n")
    else:
        patch = next(rev.glob("0002-*.patch"))
        text = patch.read_text()
        patch.write_text(text.replace("\n \treturn 0;\n", "\n", 1))   # the hunk is now too short
    return porter("review", cwd=ws2)


@pytest.mark.parametrize("how,needle", [("missing", "patch 0003 of 4 is missing"),
                                        ("extra", "notes.txt: extra file"),
                                        ("corrupt", "0002-iommu-arm-bar-Add-Xen-changes.patch: corrupted patch")])
def test_review_broken_revision_is_one_line_exit_1(ws2, how, needle):
    code, out = _broken(ws2, how)
    assert code == 1, out
    assert out.strip().count("\n") == 0 and needle in out and "series/bar/v2" in out


def test_ci_templates():
    for kind in ("github", "gitlab"):
        code, out = porter("ci-template", kind)
        assert code == 0
        assert "pip install" in out and "porter check" in out and "porter review --markdown" in out
    assert porter("ci-template", "jenkins")[0] == 2
    code, out = porter("ci-template", "gitlab", "--install", "git+https://example.org/porter.git@v1")
    assert code == 0 and 'pip install "git+https://example.org/porter.git@v1"' in out
    assert porter("ci-template", "github", "--install", 'x"; rm -rf /')[0] == 2


# -- real inputs -----------------------------------------------------------------------------------
def test_review_real_ipmmu_v1_to_rcar_353(real, tmp_path):
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp", "--public-url", "https://github.com/renesas-rcar/linux-bsp.git",
                       "--xen", real / "xen", "--base", "base-v1")
    assert code == 0, out
    assert porter("learn", "ipmmu_v1", "--from", "rcar-3.5.2", cwd=ws)[0] == 0
    assert porter("resync", "--from", "rcar-3.5.2", cwd=ws)[0] == 0
    code, res = porter_json("resync", "--from", "rcar-3.5.3", cwd=ws)
    # the new Linux-only geometry lines are disabled (a note): no finding, no conflict, no drift
    assert code == 0 and res["conflicts"] == [] and res["drift"] == [] and res["findings"] == [], res
    assert res["revision"] == "v2" and res["changed"]
    code, doc = porter_json("review", cwd=ws)
    assert code == 0, doc
    changed = [p for p in doc["patches"] if p["status"] == "changed"]
    assert changed and all(p["hunks"] for p in changed)
    origins = [h["origin"] for p in changed for h in p["hunks"]]
    assert any(o.startswith("upstream:") for o in origins), origins
    assert "manual" not in origins, origins
    assert porter_json("check", cwd=ws)[0] == 0
    cover = (ws / "series/ipmmu-vmsa/v2/0000-cover-letter.patch").read_text()
    assert "Changes since v1:\n  - Rebase on upstream rcar-3.5.3 (v1 was on rcar-3.5.2)" in cover


def test_review_and_check_on_the_demo(tmp_path):
    code, out = porter("demo", tmp_path / "demo")
    if code != 0:
        pytest.skip(f"porter demo does not run here: {out.strip().splitlines()[-1:]}")
    ws = tmp_path / "demo" / "ws"
    assert porter_json("check", cwd=ws)[0] == 0
    code, doc = porter_json("review", cwd=ws)
    assert code == 0
    origins = [h["origin"] for p in doc["patches"] for h in p["hunks"]]
    assert origins and "manual" not in origins and any(o.startswith("upstream:") for o in origins)


def test_review_names_the_port_step_rule_that_wrote_a_hunk(tmp_path):
    ws = make_ws(tmp_path)
    recipe = ws / "series/bar/recipe.toml"
    step = next((ws / "series/bar/steps").glob("02-*"))
    recipe.write_text(recipe.read_text().replace('kind = "port"\n', 'kind = "port"\nrules = ["bar.toml"]\n', 1))
    (step / "bar.toml").write_text(
        '[pack]\nname = "bar-local"\nxen = "4.9"\n\n[[rule]]\nid = "bar.no-read"\nop = "disable"\n'
        'anchor = { kind = "function", name = "bar_read" }\nreason = "reads go through the Xen helpers"\n'
        'expect = 1\n')
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert res["revision"] == "v2" and not res["conflicts"], res
    # bar_probe still calls the disabled bar_read: the later step merged onto the rule's output says so
    assert {f["symbol"] for f in res["findings"]} <= {"bar_read"}
    code, doc = porter_json("review", cwd=ws)
    assert code == 0, doc
    origins = {h["origin"] for p in doc["patches"] for h in p["hunks"]}
    assert "rule:bar.no-read" in origins and "manual" not in origins
