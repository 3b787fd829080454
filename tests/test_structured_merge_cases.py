"""merge.py case by case: small self-written C units, the port and two upstream versions."""
import pytest

from porter.structured import FileEdits, apply_file, learn_file
from porter.structured.merge import conflict_blocks, merge3, resolve_markers

PATH = "xen/drivers/char/fan.c"


def merged(old, port, new, check_new=None, edits=None):
    return apply_file(edits or learn_file(old, port, PATH), old, new, PATH, check_new=check_new)


def messages(res, unit=None):
    return [n["message"] for n in res.notes if unit is None or n["unit"] == unit]


def line_of(res, needle: bytes) -> int:
    return next(i for i, line in enumerate(res.output.splitlines(), 1) if needle in line)


# ---- stage 1: which old upstream unit a segment stands for ------------------------------------
STUB_A = b"#ifdef CONFIG_FAN_A\nstatic inline int fan_stub(void)\n{\n\treturn 0;\n}\n#endif\n"
STUB_B = STUB_A.replace(b"CONFIG_FAN_A", b"CONFIG_FAN_B")


def test_two_upstream_units_with_identical_text_each_follow_their_own_upstream_change():
    old = STUB_A + b"\n" + STUB_B
    port = STUB_B + b"\n/* Xen: B first */\n" + STUB_A          # the port swapped the blocks
    edits = learn_file(old, port, PATH)
    stubs = [s for s in edits.segments if s.name == "fan_stub"]
    assert [s.occ for s in stubs] == [1, 0] and stubs[0].digest == stubs[1].digest
    new = old.replace(b"CONFIG_FAN_B\nstatic inline int fan_stub(void)\n{\n\treturn 0;",
                      b"CONFIG_FAN_B\nstatic inline int fan_stub(void)\n{\n\treturn 2;")
    res = merged(old, port, new)
    assert res.conflicts == []
    assert res.output == port.replace(b"CONFIG_FAN_B\nstatic inline int fan_stub(void)\n{\n\treturn 0;",
                                      b"CONFIG_FAN_B\nstatic inline int fan_stub(void)\n{\n\treturn 2;")


def test_an_old_upstream_whose_units_moved_is_matched_by_text():
    """Applied against an old upstream whose block names changed (not the one learned): units
    with identical text are each used once."""
    old = STUB_A + b"\n" + STUB_B + b"\nint fan_level;\n"
    port = old.replace(b"int fan_level;", b"int fan_level; /* Xen */")
    edits = learn_file(old, port, PATH)
    other = old.replace(b"CONFIG_FAN_A", b"CONFIG_FAN_X").replace(b"CONFIG_FAN_B", b"CONFIG_FAN_Y")
    res = merged(other, None, other, edits=edits)
    assert res.output.count(b"static inline int fan_stub(void)") == 2
    assert res.output.count(b"#endif\n") == 2             # each `#endif` found by its text, once
    assert res.output.endswith(b"int fan_level; /* Xen */\n")
    # only the renamed `#ifdef` lines are not found (and the new names not mentioned)
    lost = sorted(c["unit"] for c in res.conflicts if "not in the old upstream file" in c["reason"])
    assert lost == ["directive #ifdef CONFIG_FAN_A", "directive #ifdef CONFIG_FAN_B"]
    [c] = [c for c in res.conflicts if "do not mention" in c["reason"]]
    assert "2 upstream unit(s) (directive #ifdef CONFIG_FAN_X, directive #ifdef CONFIG_FAN_Y)" in c["reason"]
    # each `#endif` stands for its own: upstream's change to the second lands on the second
    i = other.rindex(b"#endif\n")
    res = merged(other, None, other[:i] + b"#endif /* CONFIG_FAN_Y */\n" + other[i + 7:], edits=edits)
    assert res.output.count(b"#endif\n") == 1
    assert res.output.index(b"return 0;\n}\n#endif\n") < res.output.index(b"return 0;\n}\n#endif /* CONFIG_FAN_Y")


def test_a_learned_unit_missing_from_old_upstream_is_a_conflict():
    old = b"int fan_level;\n\nint fan_speed;\n"
    edits = learn_file(old, old.replace(b"int fan_speed;", b"long fan_speed; /* Xen */"), PATH)
    other = b"int fan_level;\n"
    res = merged(other, None, other, edits=edits)
    [c] = res.conflicts
    assert c["unit"] == "declaration fan_speed" and "not in the old upstream file" in c["reason"]
    assert b"long fan_speed; /* Xen */\n" in res.output


# ---- stage 2: keep / edit / delete against upstream's change ----------------------------------
def test_upstream_changed_only_comments_in_lines_the_port_changed():
    old = b"int f(void)\n{\n\t/* start */\n\ta();\n\treturn 0;\n}\n"
    port = old.replace(b"\ta();", b"\txen_a();")
    new = old.replace(b"/* start */", b"/* begin the work */")
    res = merged(old, port, new)
    assert res.conflicts == [] and res.output == port
    [note] = [n for n in res.notes if "only comments" in n["message"]]
    assert note["line"] == 3


def test_lines_the_port_disabled_changed_upstream_stay_disabled_with_the_new_text():
    old = b"int f(void)\n{\n\ta();\n\tb();\n\tc();\n\treturn 0;\n}\n"
    port = old.replace(b"\tb();\n\tc();\n", b"#if 0 /* Xen */\n\tb();\n\tc();\n#endif\n")
    new = old.replace(b"\tb();\n\tc();\n", b"\tb2();\n\tb3();\n\tb4();\n\n")
    res = merged(old, port, new)
    assert res.conflicts == []
    # the blank line upstream added after them stays outside the region
    assert res.output == b"int f(void)\n{\n\ta();\n#if 0 /* Xen */\n\tb2();\n\tb3();\n\tb4();\n#endif\n\n\treturn 0;\n}\n"
    [note] = [n for n in res.notes if "kept disabled" in n["message"]]
    assert note["line"] == 4


def test_added_lines_are_woven_among_the_other_sides_changed_lines():
    old = b"int f(void)\n{\n\ta(1);\n\tb(1);\n\treturn 0;\n}\n"
    port = old.replace(b"\tb(1);\n", b"\txen_sync();\n\tb(1);\n")
    new = old.replace(b"a(1)", b"a(2)").replace(b"b(1)", b"b(2)")
    res = merged(old, port, new)
    assert res.conflicts == []
    assert res.output == b"int f(void)\n{\n\ta(2);\n\txen_sync();\n\tb(2);\n\treturn 0;\n}\n"
    assert any("port's added lines kept in place" in m for m in messages(res))
    # and the other way round: upstream added, the port changed
    res = merged(old, new, port)
    assert res.output == b"int f(void)\n{\n\ta(2);\n\txen_sync();\n\tb(2);\n\treturn 0;\n}\n"
    assert any("upstream's added lines kept in place among the port's" in m for m in messages(res))


def test_a_trimmed_function_removed_upstream_goes_with_a_note():
    old = b"int a;\n\nint f(void)\n{\n\tsetup();\n\tquirk();\n\treturn 0;\n}\n"
    port = old.replace(b"\tquirk();\n", b"")
    res = merged(old, port, b"int a;\n")
    assert res.output == b"int a;\n" and res.conflicts == []
    assert messages(res, "function f") == ["unit the port disabled or trimmed was removed upstream: removed"]


def test_an_edited_function_removed_upstream_but_still_called_is_restored():
    old = b"static int helper(void)\n{\n\treturn 1;\n}\n\nint f(void)\n{\n\treturn helper();\n}\n"
    port = old.replace(b"return 1;", b"return 1; /* Xen */").replace(b"helper();", b"helper() + 1;")
    new = b"int f(void)\n{\n\treturn helper();\n}\n"     # helper now comes from a header
    res = merged(old, port, new)
    assert b"return 1; /* Xen */" in res.output and b"<<<<<<<" not in res.output
    [f] = res.findings
    assert f["unit"] == "function helper" and f["kind"] == "removed"
    # the port's own code does not call it: a conflict with markers around the port's version
    res = merged(old, port.replace(b"helper() + 1;", b"helper();"), new)
    [c] = res.conflicts
    assert c["reason"] == "upstream removed a unit the port changed" and c["line"] == 1
    assert c["base"] == "static int helper(void)\n{\n\treturn 1;\n}"
    assert res.output.startswith(b"<<<<<<< port\nstatic int helper(void)\n")


def test_a_conflict_on_a_long_unit_is_shown_cut_to_40_lines():
    body = b"".join(b"\tw(%d);\n" % i for i in range(50))
    old = b"int f(void)\n{\n" + body + b"}\n\nint a;\n"
    port = old.replace(b"\tw(", b"\txw(")
    res = merged(old, port, b"int a;\n")
    [c] = res.conflicts
    shown = c["ours"].splitlines()
    assert len(shown) == 41 and shown[-1] == "... (13 more lines)" and shown[-2] == "\txw(37);"


def test_conflict_sides_of_several_lines_are_read_whole():
    old = b"int f(void)\n{\n\ta();\n\tb();\n\treturn 0;\n}\n"
    port = old.replace(b"\ta();\n\tb();\n", b"\txa();\n\txb();\n")
    new = old.replace(b"\ta();\n\tb();\n", b"\tya();\n\tyb();\n\tyc();\n")
    res = merged(old, port, new)
    [c] = res.conflicts
    assert (c["ours"], c["base"], c["theirs"]) == ("\txa();\n\txb();", "\ta();\n\tb();", "\tya();\n\tyb();\n\tyc();")
    assert res.output.splitlines()[c["line"] - 1:c["line"] + 10] == [
        b"<<<<<<< port", b"\txa();", b"\txb();", b"||||||| upstream OLD", b"\ta();", b"\tb();", b"=======",
        b"\tya();", b"\tyb();", b"\tyc();", b">>>>>>> upstream NEW"]
    assert res.output.endswith(b">>>>>>> upstream NEW\n\treturn 0;\n}\n")


def test_the_findings_in_a_conflicted_unit_point_at_its_first_line():
    old = b"int a;\n\nint f(void)\n{\n\ta();\n\treturn both();\n}\n"
    port = old.replace(b"\ta();", b"\txen_a();")
    new = old.replace(b"\ta();", b"\tdevm_a();")
    seen = []

    def check_new(text, unit):
        seen.append(text)
        hits = [{"line": 3, "symbol": s, "message": f"{s} is Linux-only"} for s in ("devm_a", "xen_a", "both")
                if s.encode() in text]
        return text, hits

    res = merged(old, port, new, check_new)
    assert len(res.conflicts) == 1
    assert sorted(seen) == sorted([port[len(b"int a;\n\n"):], new[len(b"int a;\n\n"):]])   # each side, whole
    # each symbol once, though both sides use `both`
    assert [(f["symbol"], f["line"]) for f in res.findings] == [("xen_a", 3), ("both", 3), ("devm_a", 3)]
    assert res.output.splitlines()[2] == b"int f(void)"


def test_a_note_and_a_conflict_get_the_line_of_their_unit_in_the_output():
    old = b"int a;\n\nint b;\n\nint f(void)\n{\n\ta();\n\treturn 0;\n}\n"
    port = old.replace(b"int b;", b"long b; /* Xen */").replace(b"\ta();", b"\txa();")
    new = old.replace(b"\ta();", b"\tya();").replace(b"int a;\n", b"int a;\n\nint a2;\n")
    res = merged(old, port, new)
    [c] = res.conflicts
    assert c["line"] == line_of(res, b"<<<<<<< port")
    [n] = [n for n in res.notes if n["unit"] == "declaration a2"]
    assert n["line"] == line_of(res, b"int a2;") - 1          # the unit starts at its blank line


# ---- line 3-way merge helpers ------------------------------------------------------------------
def test_merge3_and_the_marker_readers():
    ours, base, theirs = b"a\nX\nc\n", b"a\nb\nc\n", b"a\nY\nZ\nc\n"
    text, blocks = merge3(ours, base, theirs)
    assert blocks == [(1, b"X\n", b"b\n", b"Y\nZ\n")]
    assert conflict_blocks(text) == blocks
    assert resolve_markers(text, "ours") == ours and resolve_markers(text, "theirs") == theirs
    assert merge3(b"a\nX\nc\nd\n", b"a\nb\nc\nd\n", b"a\nb\nc\nZ\n") == (b"a\nX\nc\nZ\n", [])


def test_a_keep_with_the_ports_own_spacing_follows_upstream():
    old = b"int a;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    port = old.replace(b"\n\nint f", b"\n\n\n\nint f")
    new = old.replace(b"return 0;", b"return 1;")
    res = merged(old, port, new)
    assert res.output == port.replace(b"return 0;", b"return 1;")
    new = old.replace(b"\n\nint f", b"\nint f")                 # only upstream's spacing changed
    assert merged(old, port, new).output == port


def test_a_loaded_edits_file_merges_like_the_learned_one():
    old = b"int a;\n\nint f(void)\n{\n\ta();\n\tb();\n\treturn 0;\n}\n"
    port = old.replace(b"\ta();", b"\txen_a();")
    new = old.replace(b"return 0;", b"return 1;")
    edits = FileEdits.load(learn_file(old, port, PATH).dump(), "fan.c.edits")
    assert merged(old, port, new, edits=edits).output == port.replace(b"return 0;", b"return 1;")


def test_lines_after_an_empty_if0_region_are_live_so_upstreams_change_to_them_conflicts():
    old = b"int f(void)\n{\n\tinit();\n\ta();\n\tb();\n\treturn 0;\n}\n"
    port = old.replace(b"\ta();\n", b"#if 0\n\t/* Xen: no reset */\n#endif\n\ta();\n")
    new = old.replace(b"\ta();\n\tb();\n", b"\ta2();\n\tb2();\n\tc2();\n")
    res = merged(old, port, new)
    [c] = res.conflicts
    assert c["ours"] == "#if 0\n\t/* Xen: no reset */\n#endif\n\ta();\n\tb();"
    assert c["suggestion"].startswith("keep the port's Xen version")
    # the same lines inside the region are disabled: upstream's new text is kept disabled
    port = old.replace(b"\ta();\n\tb();\n", b"#if 0\n\t/* Xen: no reset */\n\ta();\n\tb();\n#endif\n")
    res = merged(old, port, new)
    assert res.conflicts == []
    assert b"#if 0\n\t/* Xen: no reset */\n\ta2();\n\tb2();\n\tc2();\n#endif\n" in res.output


HEAD, TAIL = b"int f(void)\n{\n\tinit();\n", b"\treturn 0;\n}\n"
REWRITE = b"\tp();\n\ta2();\n\tb2();\n\tc2();\n\tq();\n"          # upstream rewrote a(); b();


@pytest.mark.parametrize("port,suggestion", [
    # the port only added a comment: it may explain Xen, the user places it
    (b"\tp();\n\t/* Xen: keep order */\n\ta();\n\tb();\n\tq();\n", "keep the port's Xen version"),
    # disabled lines in the middle of the block: not a wrapping of the whole block
    (b"\tp();\n\ta();\n#if 0\n\tb();\n#endif\n\tq();\n", "keep the port's Xen version"),
    # the port re-enabled these lines between two regions of its own: they are live
    (b"#if 0\n\tp();\n#endif\n\ta();\n\tb();\n#if 0\n\tq();\n#endif\n", "keep the port's Xen version"),
    # plain code changes on both sides
    (b"\tp();\n\ta(1);\n\tb(1);\n\tq();\n", "take upstream NEW and re-apply the port's change"),
])
def test_blocks_both_sides_changed_stay_conflicts(port, suggestion):
    old = HEAD + b"\tp();\n\ta();\n\tb();\n\tq();\n" + TAIL
    res = merged(old, HEAD + port + TAIL, HEAD + REWRITE + TAIL)
    [c] = res.conflicts
    assert c["base"] == "\ta();\n\tb();" and c["theirs"] == "\ta2();\n\tb2();\n\tc2();"
    assert c["suggestion"].startswith(suggestion)
    assert res.output.count(b"<<<<<<< port\n") == 1 and not any("merged into" in m for m in messages(res))


@pytest.mark.parametrize("port,new,suggestion", [
    (b"\t/* one, Xen too */\n", b"\tx();\n", "keep the port's Xen version"),   # no code on the port's side
    (b"", b"\tb2();\n", "the port deleted these lines, upstream changed them"),
    (b"\tb(1);\n", b"", "upstream deleted these lines, the port changed them"),
])
def test_what_the_conflict_suggests(port, new, suggestion):
    base = b"\t/* one */\n" if port.startswith(b"\t/*") else b"\tb();\n"
    res = merged(HEAD + base + TAIL, HEAD + port + TAIL, HEAD + new + TAIL)
    [c] = res.conflicts
    assert c["suggestion"].startswith(suggestion)
    assert res.output.splitlines()[c["line"] - 1] == b"<<<<<<< port"


def test_a_unit_git_cannot_merge_is_one_whole_unit_conflict():
    old = b"int f(void)\n{\n\ta();\n\tb(\"\x00\");\n\treturn 0;\n}\n"        # a NUL byte: git says binary
    port, new = old.replace(b"\ta();", b"\txa();"), old.replace(b"return 0;", b"return 1;")
    res = merged(old, port, new)
    [c] = res.conflicts
    assert c["line"] == 1
    assert res.output == b"<<<<<<< port\n" + port + b"||||||| upstream OLD\n" + old + b"=======\n" + new + \
        b">>>>>>> upstream NEW\n"
    assert not res.clean and merged(old, port, old).clean


@pytest.mark.parametrize("regions, merged_regions", [
    (b"#if 0\n\tp();\n#endif\n#if 0 /* Xen */\n\ta();\n\tb();\n#endif\n",                  # two adjacent
     b"#if 0\n\tp();\n#endif\n#if 0 /* Xen */\n\ta2();\n\tb2();\n\tc2();\n#endif\n"),
    (b"#if 0 /* Xen */\n#if 0\n\tp();\n#endif\n\ta();\n\tb();\n#endif\n",                  # one in the other
     b"#if 0 /* Xen */\n#if 0\n\tp();\n#endif\n\ta2();\n\tb2();\n\tc2();\n#endif\n"),
], ids=["second of two adjacent", "between the ends of two nested"])
def test_lines_after_the_end_of_another_region_stay_disabled(regions, merged_regions):
    old = HEAD + b"\tp();\n\ta();\n\tb();\n\tq();\n" + TAIL
    res = merged(old, HEAD + regions + b"\tq();\n" + TAIL, HEAD + REWRITE + TAIL)
    assert res.conflicts == []
    assert res.output == HEAD + merged_regions + b"\tq();\n" + TAIL


def test_a_new_upstream_unit_named_like_one_the_port_kept_is_added():
    old = b"#ifdef CONFIG_FAST\nstatic int fan_rate(void)\n{\n\treturn 2;\n}\n#endif\n\nint fan_level;\n"
    port = old.replace(b"int fan_level;", b"int fan_level; /* Xen */")
    slow = b"#else\nstatic int fan_rate(void)\n{\n\treturn 1;\n}\n#endif\n"
    res = merged(old, port, old.replace(b"#endif\n", slow))
    assert res.output == port.replace(b"#endif\n", slow) and res.conflicts == []
    assert messages(res, "function fan_rate") == ["new upstream unit added"]


def test_a_region_whose_unit_is_missing_from_old_upstream_is_kept_and_reported():
    old = b"int a;\n\nint b;\n"
    edits = learn_file(old, b"#if 0\nint a;\n#endif\n\nint b;\n", PATH)
    res = merged(b"int b;\n", None, b"int b;\n", edits=edits)
    assert res.output == b"#if 0\n#endif\nint b;\n"
    assert [c["unit"] for c in res.conflicts] == ["declaration a"]
    assert not any("empty region" in m for m in messages(res))


def test_an_empty_region_of_the_port_stays():
    old = b"int a;\n\nint b;\n"
    port = b"int a;\n#if 0 /* Xen: placeholder */\n#endif\n\nint b;\n"
    res = merged(old, port, old.replace(b"int b;", b"long b;"))
    assert res.output == port.replace(b"int b;", b"long b;") and res.notes == [] and res.conflicts == []


def test_units_changed_lists_each_unit_upstream_changed_added_or_removed_once():
    old = (b"int a;\n\nint b;\n\nint c;\n\nint f(void)\n{\n\treturn 0;\n}\n\nint g(void)\n{\n\tx();\n\ty();\n"
           b"\treturn 0;\n}\n")
    port = old.replace(b"return 0;\n}\n\nint g", b"return 7;\n}\n\nint g").replace(b"\tx();", b"\txen_x();") \
        .replace(b"int c;\n", b"int c;\n\n#define BIT(n) (1 << (n))\n")      # the port changed f and g, added BIT
    new = (b"long a;\n\nint b;\n\n#define BIT(n) (1U << (n))\n\nint d;\n\nint g(void)\n{\n\tx();\n\ty();\n"
           b"\treturn 1;\n}\n")         # a changed, c and f removed, BIT and d added, g changed
    res = merged(old, port, new)
    assert res.units_changed == ["declaration a", "declaration c", "function f", "function g", "define BIT",
                                 "declaration d"]


def test_a_trimmed_unit_may_carry_the_ports_comments():
    old = b"int a;\n\nint f(void)\n{\n\tsetup();\n\tquirk();\n\treturn 0;\n}\n"
    port = old.replace(b"\tquirk();\n", b"\t/* Xen: no quirk */\n")
    res = merged(old, port, b"int a;\n")
    assert res.output == b"int a;\n" and res.conflicts == []
    port = old.replace(b"\tquirk();\n", b"#ifdef CONFIG_QUIRK\n\tquirk();\n#endif\n")
    assert merged(old, port, b"int a;\n").conflicts == []
    port = old.replace(b"\tquirk();\n", b"\txen_quirk();\n")
    assert [c["unit"] for c in merged(old, port, b"int a;\n").conflicts] == ["function f"]


def test_a_long_trimmed_unit_is_still_seen_as_trimmed():
    """Lines repeated all over a long function (braces, `break;`) must not hide what the port did."""
    body = b"".join(b"\tcase %d:\n\t\tw(%d);\n\t\tbreak;\n" % (i, i) for i in range(90))
    old = b"int a;\n\nint f(int x)\n{\n\tswitch (x) {\n" + body + b"\t}\n\treturn 0;\n}\n"
    port = old.replace(b"\tcase 7:\n\t\tw(7);\n\t\tbreak;\n", b"")
    res = merged(old, port, b"int a;\n")
    assert res.output == b"int a;\n" and res.conflicts == []
    assert messages(res, "function f") == ["unit the port disabled or trimmed was removed upstream: removed"]
    spin = b"\tcpu_relax();\n"
    old = b"int a;\n\nvoid spin(void)\n{\n\tprepare();\n" + spin * 240 + b"\tfinish();\n}\n"   # one line 240 times
    port = old.replace(b"\tprepare();\n" + spin * 240 + b"\tfinish();\n", spin * 220)
    res = merged(old, port, b"int a;\n")
    assert res.output == b"int a;\n" and res.conflicts == []


def test_the_damaged_edits_conflict_names_six_units_and_counts_the_rest():
    old = b"".join(b"int v%d;\n\n" % i for i in range(9)) + b"int last;\n"
    edits = learn_file(old, old, PATH)
    edits.segments = edits.segments[-1:]
    res = merged(old, None, old, edits=edits)
    [c] = res.conflicts
    assert "do not mention 9 upstream unit(s) (declaration v0, declaration v1, declaration v2, declaration v3, " \
           "declaration v4, declaration v5 and 3 more)" in c["reason"]
    assert res.output == old


def test_upstream_units_the_damaged_edits_do_not_mention_are_linted_like_new_code():
    old = b"int a;\n\nstatic void *g(struct device *d)\n{\n\treturn devm_kzalloc(d, 4, 0);\n}\n\nint last;\n"
    edits = learn_file(old, old, PATH)
    edits.segments = edits.segments[-1:]

    def check_new(text, unit):
        if b"devm_" not in text:
            return text, []
        return (b"#if 0 /* Xen: uses devm_ */\n" + text + b"#endif\n",
                [{"line": 1, "message": "devm_ is Linux-only", "symbol": "devm_kzalloc", "disabled": True}])

    res = merged(old, None, old, check_new, edits=edits)
    assert res.output == old.replace(b"static void", b"#if 0 /* Xen: uses devm_ */\nstatic void").replace(
        b"0);\n}\n", b"0);\n}\n#endif\n")
    [f] = res.findings
    assert f["unit"] == "function g" and f["line"] == 3
    [c] = res.conflicts
    assert "do not mention 2 upstream unit(s) (declaration a, function g)" in c["reason"] and c["line"] == 1


def test_a_port_that_does_not_balance_comes_back_as_it_was_when_upstream_did_not_move():
    old = b"int a;\n\nint b;\n"
    port = b"int a;\n#if 0 /* Xen: the rest */\n\nint b;\n"
    res = merged(old, port, old)
    assert res.output == port and res.conflicts == [] and res.notes == []


def test_a_removed_region_and_a_merged_unit_are_said():
    old = b"int a;\n\nstatic void f(void)\n{\n}\n\nint g(void)\n{\n\tx();\n\ty();\n\treturn 0;\n}\n"
    port = old.replace(b"static void f(void)\n{\n}\n", b"#if 0 /* Xen */\nstatic void f(void)\n{\n}\n#endif\n") \
        .replace(b"\tx();", b"\txen_x();")
    new = b"int a;\n\nint g(void)\n{\n\tx();\n\ty();\n\treturn 1;\n}\n"
    res = merged(old, port, new)
    assert res.output == new.replace(b"\tx();", b"\txen_x();") and res.conflicts == []
    assert messages(res) == ["upstream removed every unit of the port's #if 0 region (function f): "
                             "the empty region removed",
                             "unit the port disabled was removed upstream: removed",
                             "upstream change merged into the port's version"]
    assert [n["line"] for n in res.notes] == [2, 2, 2]


def test_a_clean_merge_of_text_holding_old_markers_has_no_conflict():
    """A port committed with a conflict block in it (left unresolved): a clean merge reports none."""
    left = b"<<<<<<< port\nx = 1;\n||||||| upstream OLD\nx = 0;\n=======\nx = 2;\n>>>>>>> upstream NEW\n"
    ours, base, theirs = b"a\n" + left + b"X\nc\nd\n", b"a\n" + left + b"b\nc\nd\n", b"a\n" + left + b"b\nc\nZ\n"
    assert merge3(ours, base, theirs) == (b"a\n" + left + b"X\nc\nZ\n", [])


def test_disabled_lines_and_the_ports_comment_among_them_go_when_upstream_removes_them():
    old = b"int f(void)\n{\n\tsetup();\n\tquirk();\n\n\trun();\n\treturn 0;\n}\n"
    port = old.replace(b"\tquirk();\n", b"#if 0 /* Xen */\n\t/* no quirks on Xen */\n\tquirk();\n#endif\n")
    new = b"int f(void)\n{\n\tsetup();\n\n\trun();\n\treturn 1;\n}\n"
    res = merged(old, port, new)
    assert res.output == new and res.conflicts == []
    assert messages(res)[0] == "lines the port disabled were removed upstream: removed"


def test_units_upstream_left_alone_are_not_changed_units_and_not_linted():
    old = b"int a;\n\nint b;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    port = old.replace(b"int b;", b"long b; /* Xen */")
    new = old.replace(b"return 0;", b"return 1;")
    seen = []
    res = merged(old, port, new, lambda text, unit: (seen.append(unit), (text, []))[1])
    assert res.units_changed == ["function f"] and seen == ["function f"]
    assert messages(res) == []


def test_a_finding_without_a_line_points_at_the_units_first_line():
    old = b"int a;\n\nint f(void)\n{\n\treturn 0;\n}\n"
    new = old.replace(b"return 0;", b"return devm_x();")
    res = merged(old, old, new, lambda text, unit: (text, [{"symbol": "devm_x", "message": "Linux-only"}]))
    [f] = res.findings
    assert f["unit"] == "function f" and res.output.splitlines()[f["line"] - 1] == b"int f(void)"


def test_lines_the_port_wrapped_in_if0_take_upstreams_one_for_one_change():
    old = HEAD + b"\tp();\n\ta();\n\tb();\n\tq();\n" + TAIL
    port = old.replace(b"\ta();\n", b"#if 0 /* Xen */\n\ta();\n#endif\n")
    new = old.replace(b"\ta();\n\tb();\n", b"\ta(2);\n\tb(2);\n")
    res = merged(old, port, new)
    assert res.conflicts == []
    assert res.output == new.replace(b"\ta(2);\n", b"#if 0 /* Xen */\n\ta(2);\n#endif\n")
    assert messages(res)[0] == "lines the port disabled changed upstream: kept disabled with upstream's new text"


def test_lines_after_the_ports_if0_that_upstream_rewrote_stay_disabled_when_the_endif_is_further_down():
    old = HEAD + b"\tp();\n\ta();\n\tb();\n\tq();\n\tr();\n" + TAIL
    port = old.replace(b"\ta();\n\tb();\n\tq();\n", b"#if 0 /* Xen */\n\ta();\n\tb();\n\tq();\n#endif\n")
    new = old.replace(b"\ta();\n\tb();\n", b"\ta2();\n\tb2();\n\tc2();\n")
    res = merged(old, port, new)
    assert res.conflicts == []
    assert res.output == new.replace(b"\ta2();\n\tb2();\n\tc2();\n\tq();\n",
                                     b"#if 0 /* Xen */\n\ta2();\n\tb2();\n\tc2();\n\tq();\n#endif\n")
    assert messages(res)[0] == "lines the port disabled changed upstream: kept disabled with upstream's new text"
