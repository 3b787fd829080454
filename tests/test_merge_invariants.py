"""Issue 11: one self-written fixture per defect of the structured merge on driver rewrites.

(7 and 8, carried patches and the conflict loop, are in test_conflict_loop.py.)"""
import pytest

from porter import cparse
from porter.errors import BadInput
from porter.linux_to_xen import symbols
from porter.structured import FileEdits, apply_file, learn_file
from porter.structured.match import match_units
from porter.structured.states import balance, line_states, silent_changes
from porter.structured.units import segment

PATH = "xen/drivers/passthrough/arm/wdg.c"

START = b"""static int wdg_start(struct wdg *w)
{
\twdg_write(w, WDG_CTRL, 1);
\twdg_write(w, WDG_MODE, 2);
\twdg_write(w, WDG_IRQ, 3);
\twdg_write(w, WDG_STAT, 4);
\treturn 0;
}
"""
START_PORT = START.replace(b"\twdg_write(w, WDG_MODE, 2);\n",
                           b"#if 0 /* Xen: no modes */\n\twdg_write(w, WDG_MODE, 2);\n").replace(
    b"\twdg_write(w, WDG_IRQ, 3);\n", b"\twdg_write(w, WDG_IRQ, 3);\n#endif\n")


def merged(old, port, new, check_new=None):
    return apply_file(learn_file(old, port, PATH), old, new, PATH, check_new=check_new)


def state_of(text: bytes, needle: bytes) -> bool:
    lines = text.splitlines()
    return line_states(text)[next(i for i, line in enumerate(lines) if needle in line)]


@pytest.mark.parametrize("change", [(b"WDG_MODE, 2", b"WDG_MODE, 5"), (b"WDG_IRQ, 3", b"WDG_IRQ, 6")])
def test_1_block_holding_only_one_end_of_the_ports_if0_keeps_it_balanced_and_disabled(change):
    new = START.replace(*change)
    res = merged(START, START_PORT, new)
    assert balance(res.output) is None and res.output.count(b"#endif") == 1
    assert res.output.count(b"#if 0") == 1
    assert state_of(res.output, change[1]) is True          # still disabled
    assert state_of(res.output, b"WDG_STAT") is False
    assert not res.conflicts
    assert any("kept disabled" in n["message"] for n in res.notes)
    assert silent_changes(START, START_PORT, new, res.output) == []


def test_1_upstream_removed_the_disabled_lines_keeps_the_unpaired_endif():
    new = START.replace(b"\twdg_write(w, WDG_IRQ, 3);\n", b"")
    res = merged(START, START_PORT, new)
    assert balance(res.output) is None and not res.conflicts
    assert state_of(res.output, b"WDG_MODE") is True and state_of(res.output, b"WDG_STAT") is False


ENABLE = b"""static int bar_enable(struct bar *b)
{
\tint ret;

\tret = clk_on(b->clk);
\tif (ret)
\t\treturn ret;

\treturn 0;
}
"""
POWER = b"""static int bar_power(struct bar *b)
{
\tint ret;

\tret = regulator_up(b->supply);
\tif (ret)
\t\treturn ret;

\treturn 0;
}
"""
START2 = b"""
static int bar_start(struct bar *b)
{
\tint ret;

\tret = %s(b);
\tif (ret)
\t\treturn ret;

\treturn 0;
}
"""
XEN_SETUP = b"""
/* Xen: called from the IOMMU setup */
static int xen_bar_setup(struct bar *b)
{
\treturn bar_enable(b);
}
"""


def test_2_units_sharing_only_boilerplate_are_not_paired_and_3_the_used_one_stays():
    old = ENABLE + START2 % b"bar_enable"
    new = POWER + START2 % b"bar_power"
    assert 0 not in match_units(segment(old), segment(new))
    port = ENABLE.replace(b"clk_on(b->clk);", b"clk_on(b->clk); /* Xen: always on */") + START2 % b"bar_enable" \
        + XEN_SETUP
    res = merged(old, port, new)
    assert b"clk_on(b->clk); /* Xen: always on */" in res.output      # the port's, as it had it
    assert POWER in res.output and b"xen_bar_setup" in res.output
    assert b"<<<<<<<" not in res.output and not res.conflicts
    [f] = [f for f in res.findings if f["unit"] == "function bar_enable"]
    assert "removed upstream" in f["message"] and "bar_enable" in f["symbol"]


def test_2_renamed_function_with_its_own_lines_is_still_paired():
    old = ENABLE + START2 % b"bar_enable"
    new = ENABLE.replace(b"bar_enable", b"bar_clk_enable") + START2 % b"bar_clk_enable"
    assert match_units(segment(old), segment(new))[0] == 0


DATA_OLD = b"""#include <linux/list.h>

struct foo_master {
\tstruct foo_dev *foo;
\tint utlb;
};

static LIST_HEAD(foo_devices);

static struct foo_master *foo_lookup(struct device *dev)
{
\treturn dev->priv;
}

static int foo_attach(struct device *dev)
{
\tstruct foo_master *m = foo_lookup(dev);

\treturn m->utlb;
}
"""
DATA_NEW = b"""#include <linux/list.h>

static int foo_attach(struct device *dev)
{
\tstruct iommu_fwspec *fwspec = dev_iommu_fwspec_get(dev);

\treturn fwspec->ids[0];
}
"""
DATA_PORT_OWN = b"""
/* Xen: the devices the hypervisor knows */
static int foo_add_device(struct device *dev)
{
\tstruct foo_master *m = foo_lookup(dev);

\tlist_add(&m->foo->list, &foo_devices);
\treturn 0;
}
"""


def test_3_removed_units_the_ports_live_code_uses_stay_and_are_reported():
    port = DATA_OLD + DATA_PORT_OWN
    res = merged(DATA_OLD, port, DATA_NEW)
    for kept in (b"struct foo_master {", b"static LIST_HEAD(foo_devices);", b"foo_lookup(struct device *dev)\n{"):
        assert kept in res.output
    assert b"dev_iommu_fwspec_get" in res.output        # the rewritten user follows upstream
    reported = {f["unit"] for f in res.findings if "removed upstream" in f["message"]}
    assert reported == {"struct foo_master", "declaration foo_devices", "function foo_lookup"}
    assert not res.conflicts


def test_3_removed_unit_nobody_uses_goes_with_a_note():
    res = merged(DATA_OLD, DATA_OLD, DATA_NEW)
    assert b"foo_lookup" not in res.output and not res.findings


class Flags:
    """A check_new stand-in: devm_* is Linux-only."""

    def __init__(self):
        self.seen = []

    def __call__(self, text, unit):
        self.seen.append((unit, text))
        if b"devm_" in text:
            return text, [{"line": 1 + text[:text.index(b"devm_")].count(b"\n"), "symbol": "devm_kzalloc",
                           "message": "devm_kzalloc is Linux-only"}]
        return text, []


def test_4_conflicted_units_are_linted_on_both_sides():
    old = START
    port = START.replace(b"WDG_MODE, 2", b"WDG_MODE, 7 /* Xen */")
    new = START.replace(b"\twdg_write(w, WDG_MODE, 2);\n", b"\tw->buf = devm_kzalloc(w->dev, 8, 0);\n")
    flags = Flags()
    res = merged(old, port, new, flags)
    assert res.conflicts
    [f] = [f for f in res.findings if f["symbol"] == "devm_kzalloc"]
    assert f["unit"] == "function wdg_start" and "conflicted" in f["message"]
    assert res.output.count(b"<<<<<<<") == 1          # linting never rewrites conflicted text


CLK = b"""static int foo_clk_get(struct foo *f)
{
\treturn clk_get_rate(f->clk);
}

static int foo_probe(struct foo *f)
{
\tf->ready = 1;
\treturn 0;
}
"""


def test_5_live_callers_of_units_the_port_disabled_are_reported():
    port = CLK.replace(b"static int foo_clk_get", b"#if 0 /* Xen: no clocks */\nstatic int foo_clk_get").replace(
        b"}\n\nstatic int foo_probe", b"}\n#endif\n\nstatic int foo_probe")
    new = CLK.replace(b"\tf->ready = 1;\n", b"\tf->ready = 1;\n\tf->rate = foo_clk_get(f);\n")
    res = merged(CLK, port, new)
    [f] = [f for f in res.findings if f["symbol"] == "foo_clk_get"]
    assert f["unit"] == "function foo_probe" and "disabled" in f["message"]
    assert res.output.splitlines()[f["line"] - 1].strip() == b"f->rate = foo_clk_get(f);"


def test_6_for_each_call_inside_an_expression_is_a_call():
    src = (b"static int f(struct drv *d)\n{\n\tint ret;\n\tstruct foo *pos;\n\n"
           b"\tret = driver_for_each_device(&d->drv, NULL, d, g);\n"
           b"\tlist_for_each_entry(pos, &d->list, node) {\n\t\th(pos);\n\t}\n\treturn ret;\n}\n")
    assert cparse.parse(src).errors == []
    uses = {(u.name, u.kind) for u in symbols.collect(src).uses}
    assert ("driver_for_each_device", "call") in uses and ("list_for_each_entry", "macro") in uses
    assert not any(name in ("drive", "while") for name, _ in uses)


def test_9_empty_edits_file_is_bad_input():
    with pytest.raises(BadInput, match="empty or damaged"):
        FileEdits.load(b"", "series/x/steps/02-port/wdg.c.edits")


def test_9_truncated_edits_keep_every_upstream_unit_and_say_so():
    old = DATA_OLD
    port = DATA_OLD.replace(b"\treturn m->utlb;", b"\treturn m->utlb; /* Xen */")
    text = learn_file(old, port, PATH).dump()
    lines = text.splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if line.startswith(b"keep declaration"))
    edits = FileEdits.load(b"".join(lines[:cut]), PATH)
    new = DATA_OLD.replace(b"int utlb;", b"unsigned int utlb;")
    res = apply_file(edits, old, new, PATH)
    for unit in segment(new):
        if unit.kind in ("function", "struct", "declaration"):
            assert unit.body.strip() in res.output or unit.name == "foo_attach"
    assert b"foo_attach" in res.output
    [c] = [c for c in res.conflicts if "damaged or truncated" in c["reason"]]
    assert "foo_devices" in c["reason"]


def test_merged_result_that_parses_worse_is_a_conflict(monkeypatch):
    from porter.structured import merge as merge_mod
    port = START.replace(b"WDG_CTRL, 1);", b"WDG_CTRL, 1); /* Xen */")
    new = START.replace(b"WDG_STAT, 4", b"WDG_STAT, 8")
    good = merged(START, port, new)
    assert not good.conflicts and b"WDG_CTRL, 1); /* Xen */" in good.output and b"WDG_STAT, 8" in good.output
    # a line merge that loses a closing brace must not go through silently
    monkeypatch.setattr(merge_mod, "merge3", lambda ours, base, theirs: (ours.replace(b"}\n", b""), []))
    res = merged(START, port, new)
    assert any("parses worse" in c["reason"] for c in res.conflicts)


def test_5_live_callers_of_new_units_porter_disabled_are_reported():
    new = CLK.replace(b"static int foo_probe", b"static int foo_irq_setup(struct foo *f)\n{\n"
                      b"\treturn devm_request_irq(f->dev, f->irq);\n}\n\nstatic int foo_probe").replace(
        b"\tf->ready = 1;\n", b"\tf->ready = foo_irq_setup(f);\n")

    def disable_devm(text, unit):
        if b"devm_" in text and unit.startswith("function "):
            return (b"#if 0 /* Xen: uses Linux-only devm_request_irq (new upstream code) */\n" + text + b"#endif\n",
                    [{"line": 1, "disabled": True, "symbol": "devm_request_irq", "message": "disabled"}])
        return text, []

    res = merged(CLK, CLK, new, disable_devm)
    assert state_of(res.output, b"devm_request_irq(f->dev") is True
    [f] = [f for f in res.findings if f["symbol"] == "foo_irq_setup"]
    assert f["unit"] == "function foo_probe"
    assert res.output.splitlines()[f["line"] - 1].strip() == b"f->ready = foo_irq_setup(f);"


@pytest.mark.parametrize("branch,tag", [("ipmmu_v1", "rcar-3.5.2"), ("ipmmu_ml", "ml-base")])
def test_real_updates_change_no_line_silently(real, branch, tag):
    """E2/E3: the learned hand ports onto rcar-3.5.3 keep every line's disabled/live state."""
    import subprocess

    def show(repo, rev, path):
        return subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True,
                              check=True).stdout

    xen, bsp = real / "xen", real / "renesas-bsp"
    for name in ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h"):
        xpath = "xen/drivers/passthrough/arm/" + name
        commits = subprocess.run(["git", "-C", str(xen), "rev-list", "--reverse", f"base-{branch[6:]}..{branch}",
                                  "--", xpath], capture_output=True, text=True, check=True).stdout.split()
        old, new = show(bsp, tag, "drivers/iommu/" + name), show(bsp, "rcar-3.5.3", "drivers/iommu/" + name)
        port = show(xen, commits[1], xpath)
        res = apply_file(learn_file(old, port, xpath), old, new, xpath)
        assert silent_changes(old, port, new, res.output) == [], xpath
        assert balance(res.output) is None
        assert not [c for c in res.conflicts if any(w in c["reason"] for w in ("compiled", "balance", "parses"))]


def test_4_what_lint_would_disable_in_a_conflicted_unit_is_a_finding():
    port = START.replace(b"WDG_MODE, 2", b"WDG_MODE, 7 /* Xen */")
    new = START.replace(b"\twdg_write(w, WDG_MODE, 2);\n", b"\tw->buf = devm_kzalloc(w->dev, 8, 0);\n")

    def disabling(text, unit):
        if b"devm_" in text:
            return b"#if 0\n" + text + b"#endif\n", [{"line": 1, "disabled": True, "symbol": "devm_kzalloc",
                                                     "message": "new upstream code disabled"}]
        return text, []

    res = merged(START, port, new, disabling)
    [f] = [f for f in res.findings if f["symbol"] == "devm_kzalloc"]
    assert not f.get("disabled") and "conflicted" in f["message"]
    assert b"#if 0\n" not in res.output


def test_a_directive_continued_onto_its_condition_is_read_as_one_line():
    text = b"int a;\n#if \\\n  0\nint b;\n#endif\nint c;\n#if 1 \\\n  && 1\nint d;\n#endif\n"
    assert line_states(text) == (False, True, True, True, True, False, False, False, False, False)
    assert balance(text) is None
    # a continued last line of the port side stops at the conflict marker
    assert line_states(b"<<<<<<< ours\n#if 0 \\\n=======\nx\n>>>>>>> theirs\n") == (False, True, False, True, False)


def _error_counts_read(monkeypatch):
    """The texts whose syntax errors the parse check counts (its cache emptied first)."""
    from porter.structured import invariants
    read = []
    count = invariants._error_count.__wrapped__
    monkeypatch.setattr(invariants, "_error_count", lambda text: read.append(text) or count(text))
    return read


def test_merged_result_with_upstreams_syntax_errors_does_not_parse_the_port_again(monkeypatch):
    port = START.replace(b"WDG_CTRL, 1);", b"WDG_CTRL, 1); /* Xen */")
    new = START.replace(b"WDG_STAT, 4);", b"WDG_STAT, 8) +;") + b"\n" + START.replace(b"wdg_start", b"wdg_again")
    edits = learn_file(START, port, PATH)
    read = _error_counts_read(monkeypatch)
    res = apply_file(edits, START, new, PATH)
    assert cparse.parse(res.output).errors and b"WDG_CTRL, 1); /* Xen */" in res.output
    assert not any("parses worse" in c["reason"] for c in res.conflicts)
    assert read == [new]          # no worse than upstream: the port is not parsed for its count


def test_merged_result_with_the_ports_syntax_errors_is_no_worse_than_its_inputs(monkeypatch):
    port = START.replace(b"WDG_CTRL, 1);", b"WDG_CTRL, 1) +; /* Xen */") + b"\n" + \
        START.replace(b"wdg_start", b"wdg_again")
    old = START + b"\n" + START.replace(b"wdg_start", b"wdg_again")
    new = old.replace(b"WDG_STAT, 4", b"WDG_STAT, 8")
    edits = learn_file(old, port, PATH)
    read = _error_counts_read(monkeypatch)
    res = apply_file(edits, old, new, PATH)
    assert cparse.parse(res.output).errors and b"WDG_STAT, 8" in res.output
    assert not any("parses worse" in c["reason"] for c in res.conflicts)
    assert port in read           # more errors than upstream: the port's count decides


def test_the_next_steps_silent_change_check_aligns_the_merged_file_and_port_once(monkeypatch):
    from porter.structured import states
    old, port = START, START_PORT
    new = START.replace(b"WDG_STAT, 4", b"WDG_STAT, 8")
    merged_text = merged(old, port, new).output
    aligned = []
    real = states.matches
    monkeypatch.setattr(states, "matches", lambda a, b: aligned.append((a, b)) or real(a, b))
    states._matched.cache_clear()
    first = silent_changes(old, port, new, merged_text)
    port2 = merged_text.replace(b"WDG_CTRL, 1);", b"WDG_CTRL, 1); /* Xen */")
    output2 = port2.replace(b"WDG_IRQ, 3", b"WDG_IRQ, 9")
    second = silent_changes(port, port2, merged_text, output2)    # the next step: port and merge are its inputs
    assert len(aligned) == 9 and first == [] and second == []
    keys = (states._keys(merged_text), states._keys(port))
    assert states._matched(*keys) == states.align(*keys)[0]       # what is kept is what align gives


def test_uses_finds_the_first_line_using_a_name_as_a_whole_word_not_a_member():
    from porter.structured.invariants import _Uses
    lines = [b"p->foo_bar = foo_barx;", None, b"s.foo_bar = 1; xfoo_bar();", b"foo_bar(1);",
             b"\tret = foo_bar (x) + foo;", b"foo"]
    uses = _Uses(lines)
    assert uses.first("foo_bar") == 3 and uses.first("foo") == 4 and uses.first("foo_barx") == 0
    assert uses.first("ret") == 4 and uses.first("bar") is None and uses.first("p") == 0
    assert _Uses([None, b"x"]).first("x") == 1 and _Uses([]).first("x") is None


@pytest.mark.parametrize("eol", [b"\r\n", b"\r"])
def test_line_states_balance_and_markers_read_any_line_ending_alike(eol):
    text = (b"int a;\n#if 0 /* Xen */\nint b;\n#ifdef X \\\n  && Y\nint c;\n#endif\n<<<<<<< ours\n#else\n"
            b"||||||| base\n#if 0\n=======\n#endif\n>>>>>>> theirs\n  # endif\nint d;\n#if 0\n")
    from porter.structured.states import marker_lines
    unix = (line_states(text), balance(text), marker_lines(text))
    assert unix[0] == (False, True, True, True, True, True, True, False, True, False, False, False, False,
                       False, False, False, True)
    assert unix[1] == 16 and unix[2] == set(range(7, 14))
    other = text.replace(b"\n", eol)
    assert (line_states(other), balance(other), marker_lines(other)) == unix
