"""apply_file: unit-by-unit re-application of a learned port onto a new upstream."""
import subprocess
import tempfile
from pathlib import Path

import pytest

from porter.structured import apply_file, learn_file

FIX = Path(__file__).parent / "fixtures" / "structured"
PATH = "xen/drivers/wdg.c"


def _fx(name):
    return (FIX / name).read_bytes()


class Recorder:
    """A check_new stand-in: records what it is given, disables units that use devm_*."""

    def __init__(self):
        self.seen = []

    def __call__(self, text: bytes, name: str):
        self.seen.append(name)
        if b"devm_" in text:
            return (b"#if 0 /* Xen: uses devm_ */\n" + text + b"#endif\n",
                    [{"line": 1, "message": "devm_ is Linux-only", "symbol": "devm_"}])
        return text, []


@pytest.fixture(scope="module")
def merged():
    rec = Recorder()
    res = apply_file(learn_file(_fx("old.c"), _fx("port.c"), PATH), _fx("old.c"), _fx("new.c"), PATH,
                     check_new=rec)
    return res, rec


def _unit_of(res, unit):
    return [c for c in res.conflicts if c["unit"] == unit]


def test_kept_unit_takes_new_upstream_text(merged):
    res, rec = merged
    assert b"\tint irq;\n\tu32 mode;\n};" in res.output
    assert "struct wdg_device" in rec.seen
    assert "struct wdg_device" in res.units_changed


def test_both_changed_overlapping_gives_markers(merged):
    res, _ = merged
    [c] = _unit_of(res, "function wdg_setup")
    assert c["file"] == PATH and c["reason"] and c["suggestion"]
    assert "Xen: the status register" in c["ours"] and "0xff" in c["theirs"]
    lines = res.output.splitlines()
    assert lines[c["line"] - 1] == b"<<<<<<< port"
    block = lines[c["line"] - 1:c["line"] + 6]
    assert block == [b"<<<<<<< port", b"\t/* Xen: the status register is cleared by firmware */",
                     b"||||||| upstream OLD", b"\twdg_write(wdg, WDG_STAT, 0);", b"=======",
                     b"\twdg_write(wdg, WDG_STAT, 0xff);", b">>>>>>> upstream NEW"]
    # the non-overlapping upstream change in the same function merged in
    assert b"\twdg_set_mode(wdg, 1);\n\twdg_write(wdg, WDG_CTRL, 2);\n<<<<<<< port" in res.output
    assert len(res.conflicts) == 1


def test_disabled_unit_changed_upstream_stays_disabled(merged):
    res, rec = merged
    out = res.output
    start = out.index(b"#if 0 /* Xen: no power management */")
    end = out.index(b"#endif", start)
    assert b"dev_get_drvdata" in out[start:end]             # new upstream text, still under #if 0
    assert any(n["unit"] == "function wdg_resume" and "kept disabled" in n["message"] for n in res.notes)
    assert "function wdg_resume" not in rec.seen            # not live: not checked


def test_unit_deleted_upstream_that_port_disabled_is_resolved(merged):
    res, _ = merged
    assert b"wdg_suspend" not in res.output
    assert not _unit_of(res, "function wdg_suspend")
    assert any(n["unit"] == "function wdg_suspend" and "removed" in n["message"] for n in res.notes)


def test_new_upstream_units_come_in_through_check_new(merged):
    res, rec = merged
    out = res.output
    assert out.index(b"#define WDG_STAT") < out.index(b"#define WDG_MODE") < out.index(b"/* Xen: compat */")
    assert out.index(b"wdg_reset(struct") < out.index(b"wdg_set_mode(struct") < out.index(b"wdg_setup(struct")
    assert {"define WDG_MODE", "function wdg_set_mode"} <= set(rec.seen)
    assert any(n["unit"] == "function wdg_set_mode" and "new upstream" in n["message"] for n in res.notes)


def test_port_deletions_stay_deleted(merged):
    res, _ = merged
    assert b"linux/" not in res.output and b"MODULE_LICENSE" not in res.output


def test_check_new_text_and_findings_are_used():
    old = b"static int a;\n\nstatic int f(void)\n{\n\treturn 0;\n}\n"
    port = b"static int a;\n\nstatic int f(void)\n{\n\treturn 1; /* Xen */\n}\n"
    new = old + b"\nstatic void *g(struct device *d)\n{\n\treturn devm_kzalloc(d, 4, 0);\n}\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH, check_new=Recorder())
    assert res.output == port + b"\n#if 0 /* Xen: uses devm_ */\n" + new[len(old) + 1:] + b"#endif\n"
    [f] = res.findings
    assert f["file"] == PATH and f["unit"] == "function g" and f["message"] == "devm_ is Linux-only"
    assert res.output.splitlines()[f["line"] - 1].startswith(b"#if 0 /* Xen: uses devm_")


def test_non_overlapping_changes_in_one_unit_merge_cleanly():
    old = b"int f(void)\n{\n\tint a = 1;\n\tint b = 2;\n\tint c = 3;\n\tint d = 4;\n\treturn a + b + c + d;\n}\n"
    port = old.replace(b"int a = 1;", b"int a = 10; /* Xen */")
    new = old.replace(b"int d = 4;", b"int d = 40;")
    seen = []
    res = apply_file(learn_file(old, port, PATH), old, new, PATH,
                     check_new=lambda t, n: (seen.append(n), (t, []))[1])
    assert res.conflicts == []
    assert res.output == old.replace(b"int a = 1;", b"int a = 10; /* Xen */").replace(b"int d = 4;", b"int d = 40;")
    assert seen == ["function f"] and res.units_changed == ["function f"]


def test_empty_disabled_region_goes_when_upstream_removes_its_units():
    old = b"int a;\n\nstatic void f(void)\n{\n}\n\nint b;\n"
    port = b"int a;\n\n#if 0 /* Xen: unused */\nstatic void f(void)\n{\n}\n#endif\n\nint b;\n"
    new = b"int a;\n\nint b;\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.conflicts == []
    assert b"#if 0" not in res.output and b"#endif" not in res.output
    assert b"int a;\n" in res.output and res.output.endswith(b"int b;\n")


def test_new_unit_after_disabled_unit_goes_after_the_region():
    old = b"static void f(void)\n{\n}\n\nint b;\n"
    port = b"#if 0 /* Xen: unused */\nstatic void f(void)\n{\n}\n#endif\n\nint b;\n"
    new = b"static void f(void)\n{\n}\n\nstatic void g(void)\n{\n}\n\nint b;\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.output.index(b"#endif") < res.output.index(b"static void g(void)")


def test_lines_the_port_disabled_inside_a_function_removed_upstream():
    old = b"int f(void)\n{\n\tsetup();\n\tquirk();\n\n\trun();\n\treturn 0;\n}\n"
    port = b"int f(void)\n{\n\tsetup();\n#if 0 /* Xen: not needed */\n\tquirk();\n#endif\n\n\trun();\n\treturn 0;\n}\n"
    new = b"int f(void)\n{\n\tsetup();\n\n\trun();\n\treturn 1;\n}\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.conflicts == []
    assert res.output == new
    assert any("disabled were removed upstream" in n["message"] for n in res.notes)


def test_port_already_has_upstream_change():
    old = b"int f(void)\n{\n\tx = 1;\n\treturn x;\n}\n"
    port = b"int f(void)\n{\n\t/* Xen: backport */\n\tx = 2;\n\treturn x;\n}\n"
    new = b"int f(void)\n{\n\tx = 2;\n\treturn x;\n}\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.conflicts == [] and res.output == port


def test_upstream_removed_a_unit_the_port_changed_is_a_conflict():
    old = b"int a;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    port = b"int a;\n\nint f(void)\n{\n\treturn xen_thing();\n}\n"
    new = b"int a;\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    [c] = res.conflicts
    assert c["unit"] == "function f" and "removed" in c["reason"]
    assert b"<<<<<<< port\n" in res.output and b">>>>>>> upstream NEW\n" in res.output
    assert res.output.splitlines()[c["line"] - 1] == b"<<<<<<< port"


def test_port_deleted_unit_changed_upstream_stays_deleted_with_a_note():
    old = b"int a;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    port = b"int a;\n"
    new = b"int a;\n\nint f(void)\n{\n\treturn 1;\n}\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.output == port and not res.conflicts
    assert any(n["unit"] == "function f" and "stays deleted" in n["message"] for n in res.notes)


def test_renamed_upstream_function_matched_by_content():
    body = b"\n{\n\tint i;\n\n\tfor (i = 0; i < 8; i++)\n\t\tpoke(i);\n\tdone();\n\treturn 0;\n}\n"
    old = b"int a;\n\nint old_name(void)" + body
    port = b"int a;\n\nint old_name(void)" + body.replace(b"done();", b"xen_done();")
    new = b"int a;\n\nint new_name(void)" + body
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.conflicts == []
    assert res.output == b"int a;\n\nint new_name(void)" + body.replace(b"done();", b"xen_done();")


# ---- real inputs: conflicts vs git merge-file -------------------------------------------------
FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h")


def _show(repo, rev, path):
    return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True,
                          check=True).stdout


def _git_merge_file(ours, base, theirs) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        names = []
        for n, data in (("ours", ours), ("base", base), ("theirs", theirs)):
            (Path(tmp) / n).write_bytes(data)
            names.append(str(Path(tmp) / n))
        return subprocess.run(["git", "merge-file", "-p", *names], capture_output=True).returncode


@pytest.mark.parametrize("branch,tag", [("ipmmu_v1", "rcar-3.5.2"), ("ipmmu_ml", "ml-base")])
def test_real_resync_fewer_conflicts_than_line_merge(real, branch, tag):
    xen, bsp = real / "xen", real / "renesas-bsp"
    commits = subprocess.run(["git", "-C", str(xen), "rev-list", "--reverse", f"base-{branch[6:]}..{branch}"],
                             capture_output=True, text=True, check=True).stdout.split()
    ours_total = git_total = 0
    for f in FILES:
        port_commit = commits[1] if f == "ipmmu-vmsa.c" else commits[3]
        u = _show(bsp, tag, "drivers/iommu/" + f)
        n = _show(bsp, "rcar-3.5.3", "drivers/iommu/" + f)
        p = _show(xen, port_commit, "xen/drivers/passthrough/arm/" + f)
        res = apply_file(learn_file(u, p, f), u, n, f)
        ours_total += len(res.conflicts)
        git_total += _git_merge_file(p, u, n)
        assert res.output.count(b"<<<<<<< port\n") == len(res.conflicts)
    assert ours_total <= git_total
    if git_total:
        assert ours_total < git_total


def test_new_upstream_unit_the_port_already_added_is_not_duplicated():
    old = b"int a;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    port = b"int a;\n\n#define BIT(n) (1UL << (n))\n\nint f(void)\n{\n\treturn BIT(0);\n}\n"
    new = b"int a;\n\n#define BIT(n) (1U << (n))\n\nint f(void)\n{\n\treturn 0;\n}\n"
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.output == port and not res.conflicts
    assert any(n["unit"] == "define BIT" and "kept the port's" in n["message"] for n in res.notes)


def test_verbatim_port_follows_upstream_exactly():
    """A port that changed nothing becomes the new upstream, whatever upstream did."""
    import random

    from tests.test_structured_roundtrip import _mutate

    rng = random.Random(3)
    for _ in range(40):
        u = rng.choice([_fx("old.c"), _fx("new.c")])
        n = _mutate(rng, u)
        res = apply_file(learn_file(u, u, PATH), u, n, PATH)
        if not any(x in n for x in (b"#if", b"#endif")):     # swaps can break #if nesting
            assert not res.conflicts
            assert sorted(res.output.splitlines()) == sorted(n.splitlines())
        else:   # the port order of moved `#if 0` / `#endif` units is reported, never silent
            assert all("are compiled" in c["reason"] for c in res.conflicts)
    for u, n in [(_fx("old.c"), _fx("new.c")), (_fx("new.c"), _fx("old.c"))]:
        assert apply_file(learn_file(u, u, PATH), u, n, PATH).output == n


def test_random_merges_never_lose_port_only_text():
    import random

    from tests.test_structured_roundtrip import _mutate

    rng = random.Random(11)
    for _ in range(40):
        u = _fx("old.c")
        p = _mutate(rng, u)
        n = _mutate(rng, u)
        res = apply_file(learn_file(u, p, PATH), u, n, PATH)
        edits = learn_file(u, p, PATH)
        for s in edits.segments:
            if s.op == "insert" and s.kind != "directive":    # empty #if 0 regions may go
                assert s.text in res.output


def test_moved_unit_changed_upstream_follows_the_port_order():
    f = b"static int f(void)\n{\n\treturn 1;\n}\n"
    g = b"static int g(void)\n{\n\treturn 2;\n}\n"
    old = f + b"\n" + g
    port = g + b"\n/* Xen: f after g */\n" + f
    new = f.replace(b"return 1;", b"return 11;") + b"\n" + g
    res = apply_file(learn_file(old, port, PATH), old, new, PATH)
    assert res.conflicts == []
    assert res.output == port.replace(b"return 1;", b"return 11;")


def test_old_upstream_not_the_learned_one_still_applies_with_a_note():
    old = b"int a;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    port = b"int a;\n\nint f(void)\n{\n\treturn 0; /* Xen */\n}\n"
    edits = learn_file(old, port, PATH)
    other_old = old.replace(b"int a;", b"long a;")
    res = apply_file(edits, other_old, other_old, PATH)
    assert res.output == port.replace(b"int a;", b"long a;")
    assert any("differs from the one learned" in n["message"] for n in res.notes)


def test_real_learn_finds_the_edited_function(real):
    xen = real / "xen"
    commits = subprocess.run(["git", "-C", str(xen), "rev-list", "--reverse", "base-v1..ipmmu_v1"],
                             capture_output=True, text=True, check=True).stdout.split()
    path = "xen/drivers/passthrough/arm/ipmmu-vmsa.c"
    u, p = _show(xen, commits[0], path), _show(xen, commits[-1], path)
    text = learn_file(u, p, path).dump()
    assert b"\nedit function ipmmu_domain_init_context @" in text
