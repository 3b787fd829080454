"""The rule engine: anchors, operations, counts (drift), idempotence, parse safety."""
import re
from pathlib import Path

import hypothesis
import pytest

from porter import cparse
from porter.errors import BadInput
from porter.linux_to_xen import apply_rules, engine, load_rules
from porter.linux_to_xen.rules import pack_names

FIX = Path(__file__).parent / "fixtures" / "linux_to_xen"
SRC = (FIX / "engine_input.c").read_bytes()


def rules_from(tmp_path, text, name="r.toml"):
    p = tmp_path / name
    p.write_text(text)
    return load_rules(files=[p])


def once_and_twice(rules, src=SRC):
    first = apply_rules(src, rules, filename="engine_input.c")
    second = apply_rules(first.output, rules, filename="engine_input.c")
    assert second.output == first.output, "applying the rules twice changed the output"
    assert second.drift == [], second.drift
    assert len(cparse.parse(first.output).errors) <= len(cparse.parse(src).errors)
    return first


def test_disable_function_keeps_linux_code_under_if0(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.remove"
op = "disable"
anchor = { kind = "function", name = "widget_remove" }
expect = 1
reason = "no runtime PM in Xen"
""")
    res = once_and_twice(rules)
    out = res.output.decode()
    start = out.index("#if 0 /* Xen: no runtime PM in Xen */\nstatic void widget_remove")
    assert out.index("#endif", start) > out.index("pm_runtime_disable(w);", start)
    assert res.disabled[0]["unit"] == "function widget_remove"
    assert res.drift == []


def test_replace_keeps_linux_under_if0_and_xen_under_else(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.struct"
op = "replace"
anchor = { kind = "struct", name = "widget" }
expect = 1
reason = "no clocks in Xen"
text = "struct widget {\\n\\tint id;\\n\\tunsigned long flags;\\n};"
""")
    out = once_and_twice(rules).output.decode()
    i = out.index("#if 0 /* Xen: no clocks in Xen */\nstruct widget {")
    j = out.index("#else\nstruct widget {\n\tint id;\n\tunsigned long flags;\n};\n#endif", i)
    assert "struct clk *clk;" in out[i:j]


def test_field_statement_and_macro_anchors(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.field"
op = "disable"
anchor = { kind = "field", name = "widget.clk" }
expect = 1
reason = "no clocks"

[[rule]]
id = "t.stmt"
op = "disable"
anchor = { kind = "statement", calls = "pm_runtime_*", in = "widget_*" }
expect = 2
reason = "no runtime PM"

[[rule]]
id = "t.lic"
op = "disable"
anchor = { kind = "macro", name = "MODULE_LICENSE" }
expect = 1
reason = "not a module"
""")
    out = once_and_twice(rules).output.decode()
    assert "#if 0 /* Xen: no clocks */\n\tstruct clk *clk;\n#endif" in out
    assert out.count("#if 0 /* Xen: no runtime PM */\n\tpm_runtime_") == 2
    assert '#if 0 /* Xen: not a module */\nMODULE_LICENSE("GPL");\n#endif' in out


def test_rewrite_call_type_string_and_rename(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.pr_err"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err" }
expect = 2
to = "printk"
args = "XENLOG_ERR {0}{,1*}"

[[rule]]
id = "t.type"
op = "rewrite_type"
anchor = { kind = "type", name = "struct clk" }
expect = 1
to = "void"

[[rule]]
id = "t.string"
op = "rewrite_string"
anchor = { kind = "string", in = "widget_*" }
pattern = "probed"
to = "ready"
expect = 1

[[rule]]
id = "t.rename"
op = "rename"
anchor = { kind = "identifier", name = "widget_probe" }
to = "widget_xen_probe"
expect = 1
""")
    res = once_and_twice(rules)
    out = res.output.decode()
    assert 'printk(XENLOG_ERR "widget %d: %s\\n", w->id, "ready");' in out
    assert 'printk(XENLOG_ERR "widget gone\\n");' in out
    assert "\tvoid *clk;" in out
    assert "static int widget_xen_probe(struct widget *w)" in out and "widget_probe" not in out


def test_includes_and_inserts_and_template(tmp_path):
    (tmp_path / "banner.c.j2").write_text("/* {{ who }} for {{ filename }} */")
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.inc"
op = "replace_includes"
anchor = { kind = "includes" }
expect = 1
keep = ["xen/lib.h"]
[rule.map]
"linux/slab.h" = ["xen/xmalloc.h"]
"linux/io.h" = ["asm/io.h"]

[[rule]]
id = "t.tpl"
op = "insert_template"
anchor = { kind = "includes", where = "after" }
template = "banner.c.j2"
vars = { who = "compat" }
expect = 1

[[rule]]
id = "t.before"
op = "insert_before"
anchor = { kind = "function", name = "widget_remove" }
text = "/* Xen: remove path */"
expect = 1

[[rule]]
id = "t.start"
op = "insert_start"
anchor = { kind = "function", name = "widget_probe" }
text = "\\tprintk(XENLOG_INFO \\"probe\\\\n\\");"
expect = 1

[[rule]]
id = "t.end"
op = "insert_end"
anchor = { kind = "struct", name = "widget" }
text = "\\tstruct domain *d;"
expect = 1
""")
    out = once_and_twice(rules).output.decode()
    assert ("#if 0 /* Xen: Linux includes */\n#include <linux/slab.h>\n#include <linux/io.h>\n"
            "#include \"local.h\"\n#else\n#include <xen/lib.h>\n#include <xen/xmalloc.h>\n"
            "#include <asm/io.h>\n\n#include \"local.h\"\n#endif\n/* compat for engine_input.c */") in out
    assert "/* Xen: remove path */\nstatic void widget_remove" in out
    assert "{\n\tprintk(XENLOG_INFO \"probe\\n\");\n\tint ret;" in out
    assert "\tunsigned long flags;\n\tstruct domain *d;\n};" in out


def test_template_undefined_variable_is_bad_input(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.tpl"
op = "insert_template"
anchor = { kind = "file", where = "end" }
template = "/* {{ nobody_set_this }} */"
""")
    with pytest.raises(BadInput, match="t.tpl.*nobody_set_this"):
        apply_rules(SRC, rules, filename="x.c")


def test_drift_reports_rule_file_line_and_found(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.calls"
op = "disable"
anchor = { kind = "statement", calls = "pr_err" }
expect = 1
reason = "x"

[[rule]]
id = "t.gone"
op = "disable"
anchor = { kind = "function", name = "widget_vanished" }
expect = 1
reason = "x"

[[rule]]
id = "t.atleast"
op = "disable"
anchor = { kind = "function", name = "widget_*" }
expect = "4+"
reason = "x"
""")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    drift = {d["rule"]: d for d in res.drift}
    assert set(drift) == {"t.calls", "t.gone", "t.atleast"}
    assert drift["t.calls"]["found"] == 2 and drift["t.calls"]["expected"] == "1"
    assert drift["t.calls"]["file"] == "engine_input.c"
    assert SRC.decode().splitlines()[drift["t.calls"]["line"] - 1].strip().startswith("pr_err")
    assert drift["t.gone"]["found"] == 0
    # CONFIG_PM code is live as far as the engine knows: widget_suspend counts, so 3 match
    assert drift["t.atleast"]["found"] == 3
    assert res.output == SRC, "drifting rules are not applied"


def test_rules_never_break_the_parse(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.broken"
op = "insert_start"
anchor = { kind = "function", name = "widget_probe" }
text = "\\tint x = ;"
expect = 1

[[rule]]
id = "t.fine"
op = "disable"
anchor = { kind = "function", name = "widget_remove" }
expect = 1
reason = "ok"
""")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    # the inserted line would be line 16, right after widget_probe's `{`
    assert SRC.splitlines()[14:16] == [b"{", b"\tint ret;"]
    assert res.drift == [{"rule": "t.broken", "file": "engine_input.c", "line": 16, "expected": "1",
                          "found": None, "message": "not applied: the result would not parse (line 16)"}]
    assert "int x = ;" not in res.output.decode()
    assert "#if 0 /* Xen: ok */\nstatic void widget_remove" in res.output.decode()
    assert cparse.parse(res.output).errors == []


def test_anchor_in_unparsable_code_reports_line(tmp_path):
    src = b"static int good(void)\n{\n\treturn 0;\n}\n\nstatic int bad(void)\n{\n\tint x = (1 + ;\n\treturn x;\n}\n"
    assert cparse.parse(src).errors
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.bad"
op = "disable"
anchor = { kind = "function", name = "bad" }
expect = 1
reason = "x"

[[rule]]
id = "t.good"
op = "disable"
anchor = { kind = "function", name = "good" }
expect = 1
reason = "y"
""")
    res = apply_rules(src, rules, filename="bad.c")
    assert [d["rule"] for d in res.drift] == ["t.bad"]
    assert res.drift[0]["line"] in (8, 9)
    assert b"#if 0 /* Xen: y */\nstatic int good" in res.output


@pytest.mark.parametrize("text,field", [
    ("[[rule]]\nop = 'disable'\nanchor = { kind = 'function' }\nreason = 'x'\n", "id"),
    ("[[rule]]\nid = 'a'\nop = 'explode'\nanchor = { kind = 'function' }\n", "a.op"),
    ("[[rule]]\nid = 'a'\nop = 'disable'\nanchor = { kind = 'galaxy' }\nreason = 'x'\n", "a.anchor.kind"),
    ("[[rule]]\nid = 'a'\nop = 'disable'\nanchor = { kind = 'function' }\n", "a.reason"),
    ("[[rule]]\nid = 'a'\nop = 'disable'\nanchor = { kind = 'function' }\nreason = 'x'\nexpect = 'lots'\n",
     "a.expect"),
    ("[[rule]]\nid = 'a'\nop = 'rewrite_call'\nanchor = { kind = 'function' }\nto = 'x'\n", "a.anchor.kind"),
    ("[[rule]]\nid = 'a'\nop = 'disable'\nanchor = { kind = 'statement' }\nreason = 'x'\n", "a.anchor"),
    ("[[rule]]\nid = 'a'\nop = 'disable'\nanchor = { kind = 'function' }\nreason = 'x'\ncolour = 1\n",
     "a.colour"),
    ("this is = = not toml", "malformed TOML"),
])
def test_malformed_rule_file_names_file_and_field(tmp_path, text, field):
    p = tmp_path / "bad.toml"
    p.write_text(text)
    with pytest.raises(BadInput, match=rf"^{re.escape(str(p))}: .*{re.escape(field)}") as exc:
        load_rules(files=[p])
    assert "\n" not in str(exc.value)


def test_unknown_pack_and_known_packs():
    with pytest.raises(BadInput, match="unknown rule pack 'nope'"):
        load_rules(packs=["nope"])
    with pytest.raises(BadInput, match=r"unknown rule pack '\.\./etc' \(known: alloc, "):
        load_rules(packs=["../etc"])
    names = pack_names()
    for p in ("includes", "alloc", "logging", "devicetree", "platform", "irq", "locking", "module",
              "bits", "export", "sizes"):
        assert p in names
    rules = load_rules(packs=names)
    assert len({r.id for r in rules}) == len(rules)


def test_every_pack_targets_xen_49():
    from porter.linux_to_xen.rules import load_pack
    for name in pack_names():
        pack = load_pack(name)
        assert pack.xen == "4.9", name
        assert pack.rules or pack.compat, name


def test_unknown_rule_id():
    from porter.linux_to_xen.rules import select
    rules = load_rules(packs=["module"])
    assert [r.id for r in select(rules, ["module.metadata"])] == ["module.metadata"]
    with pytest.raises(BadInput, match="unknown rule id 'module.nothing'"):
        select(rules, ["module.nothing"])


OVERLAPPING = """
[[rule]]
id = "t.args"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err" }
expect = 2
to = "printk"
args = "XENLOG_ERR {0}{,1*}"

[[rule]]
id = "t.gone"
op = "rewrite_string"
anchor = { kind = "string", name = "gone" }
pattern = "gone"
to = "removed"
expect = 1
"""


def test_overlapping_rules_take_two_rounds(tmp_path):
    # t.gone's string sits inside the argument list t.args rewrites: t.gone waits for round two,
    # then applies to the rewritten call
    res = once_and_twice(rules_from(tmp_path, OVERLAPPING))
    out = res.output.decode()
    assert 'printk(XENLOG_ERR "widget removed\\n");' in out
    assert 'printk(XENLOG_ERR "widget %d: %s\\n", w->id, "probed");' in out
    assert res.drift == []
    assert res.applied == [{"rule": "t.args", "found": 2}, {"rule": "t.gone", "found": 1}]


def test_edits_that_keep_overlapping_are_drift(tmp_path):
    res = apply_rules(SRC, rules_from(tmp_path, OVERLAPPING), filename="engine_input.c", max_rounds=1)
    assert res.drift == [{"rule": "t.gone", "file": "engine_input.c", "line": 0, "expected": "1", "found": 0,
                          "message": "edits keep overlapping other rules' edits"}]
    assert res.applied == [{"rule": "t.args", "found": 2}]
    out = res.output.decode()
    assert 'printk(XENLOG_ERR "widget gone\\n");' in out and "removed" not in out


def test_a_statement_anchor_by_a_name_it_mentions(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.clk"
op = "disable"
anchor = { kind = "statement", mentions = "clk_*", in = "widget_probe" }
expect = 1
reason = "no clocks"
""")
    out = once_and_twice(rules).output.decode()
    assert "#if 0 /* Xen: no clocks */\n\tret = clk_prepare_enable(w->clk);\n#endif" in out
    assert out.count("#if 0") == 1


def test_a_rule_template_in_its_own_folder_wins_over_a_shipped_one(tmp_path):
    (tmp_path / "compat.c.j2").write_text("/* the rule's own compat for {{ filename }} */")
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.own"
op = "insert_template"
anchor = { kind = "file", where = "end" }
template = "compat.c.j2"
expect = 1
""")
    out = once_and_twice(rules).output.decode()
    assert out.endswith('MODULE_LICENSE("GPL");\n/* the rule\'s own compat for engine_input.c */\n')


def test_disable_ranges_wraps_the_outermost_range_only():
    from porter.linux_to_xen.engine import disable_ranges
    remove = SRC.index(b"static void widget_remove")
    body_end = SRC.index(b"}\n", remove) + 2
    inner = SRC.index(b"\tpm_runtime_disable(w);")
    out = disable_ranges(SRC, [(inner, SRC.index(b"\n", inner) + 1, "inner"), (remove, body_end, "outer")])
    assert out.count(b"#if 0") == 1 and out.count(b"#endif") == SRC.count(b"#endif") + 1
    assert b"#if 0 /* Xen: outer */\nstatic void widget_remove(struct widget *w)\n{\n" in out
    assert b'\tpr_err("widget gone\\n");\n}\n#endif\n' in out


DECLS = b"static int gz_count, gz_limit;\ntypedef unsigned long gz_word;\nstatic DEFINE_MUTEX(gz_lock);\nint other;\n"


@pytest.mark.parametrize("name,units", [
    ("gz_limit", ["declaration gz_count,gz_limit"]),        # any name a declaration declares
    ("gz_*", ["declaration gz_count,gz_limit", "typedef gz_word", "declaration gz_lock"]),
    ("other", ["declaration other"]),
])
def test_declaration_anchors(tmp_path, name, units):
    rules = rules_from(tmp_path, f"""
[[rule]]
id = "t.decl"
op = "disable"
anchor = {{ kind = "declaration", name = "{name}" }}
reason = "x"
""")
    res = once_and_twice(rules, DECLS)
    assert [d["unit"] for d in res.disabled] == units
    assert res.output.count(b"#if 0 /* Xen: x */\n") == len(units)


def test_an_include_inserted_after_a_replaced_include_list_stays_out_of_it(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.inc"
op = "replace_includes"
anchor = { kind = "includes" }
expect = 1
keep = ["xen/lib.h"]
[rule.map]
"linux/io.h" = ["asm/io.h"]

[[rule]]
id = "t.after"
op = "insert_after"
anchor = { kind = "includes" }
text = "#include \\"compat.h\\""
expect = 1
""")
    src = b"/* gizmo */\n#include <linux/io.h>\n#include <linux/slab.h>\n\n\n\nstatic int x;\n"
    res = once_and_twice(rules, src)
    assert res.output == (b"/* gizmo */\n#if 0 /* Xen: Linux includes */\n#include <linux/io.h>\n"
                          b"#include <linux/slab.h>\n#else\n#include <xen/lib.h>\n#include <asm/io.h>\n#endif\n"
                          b"#include \"compat.h\"\n\n\n\nstatic int x;\n")


def test_call_arguments_by_position_rest_and_name():
    from porter.linux_to_xen.engine import _format_args
    assert _format_args("{name}, {0}{,1*}", ["a", "b", "c"], "f") == "f, a, b, c"
    assert _format_args("{name}, {0}{,1*}", ["a"], "f") == "f, a"
    assert _format_args("{1}{,0}", ["a", "b"], "f") == "b, a"
    assert _format_args("{2*}", ["a", "b"], "f") == ""
    with pytest.raises(IndexError, match="^2$"):
        _format_args("{0}{,2}", ["a", "b"], "f")


def test_an_insertion_inside_another_rules_rewritten_range_waits_a_round(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.log"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err" }
to = "printk"
args = "XENLOG_ERR {0}{,1*}"
expect = 1

[[rule]]
id = "t.sync"
op = "disable"
anchor = { kind = "statement", calls = "gizmo_sync" }
reason = "no sync"
expect = 1
""")
    # the statement sits in a statement expression inside the arguments t.log rewrites
    src = (b"static void gizmo_report(struct gizmo *g)\n{\n\tpr_err(\"gizmo %d\\n\", ({\n"
           b"\t\tgizmo_sync(g);\n\t\tg->id;\n\t}));\n}\n")
    res = once_and_twice(rules, src)
    assert res.output == (b"static void gizmo_report(struct gizmo *g)\n{\n\tprintk(XENLOG_ERR \"gizmo %d\\n\", ({\n"
                          b"#if 0 /* Xen: no sync */\n\t\tgizmo_sync(g);\n#endif\n\t\tg->id;\n\t}));\n}\n")
    assert res.applied == [{"rule": "t.log", "found": 1}, {"rule": "t.sync", "found": 1}]


@pytest.mark.parametrize("src,listed", [
    # an include guard: its includes are the file's
    (b"#ifndef GZ_H\n#define GZ_H\n#include <linux/io.h>\n#include <linux/slab.h>\n#endif\n",
     b"#include <linux/io.h>\n#include <linux/slab.h>"),
    (b"#ifndef GZ_H\n/* guard */\n#define GZ_H\n#include <linux/io.h>\n#endif\n", b"#include <linux/io.h>"),
    # an #ifdef that defines its own name, or an #ifndef of another name, is no guard
    (b"#ifdef GZ_X\n#define GZ_X\n#include <linux/io.h>\n#endif\n#include <linux/slab.h>\n",
     b"#include <linux/slab.h>"),
    (b"#ifndef GZ_H\n#define GZ_OTHER\n#include <linux/io.h>\n#endif\n#include <linux/slab.h>\n",
     b"#include <linux/slab.h>"),
    (b"#ifndef GZ_H\n#include <linux/io.h>\n#endif\n#include <linux/slab.h>\n", b"#include <linux/slab.h>"),
    # the Xen side of an `#if 0` is live, its Linux side is not
    (b"#if 0\n#include <linux/io.h>\n#else\n#include <xen/lib.h>\n#endif\n", b"#include <xen/lib.h>"),
    (b"#if 1\n#include <linux/io.h>\n#else\n#include <xen/lib.h>\n#endif\n", None),
])
def test_the_include_list(src, listed):
    from porter.linux_to_xen.engine import _State, find
    from porter.linux_to_xen.rules import Anchor, Rule
    st = _State(src)
    found = [src[m.start:m.end].rstrip(b"\n") for m in find(st, Rule("t.inc", "replace_includes", Anchor("includes")))]
    assert found == ([listed] if listed else [])


def test_a_call_anchor_inside_one_function(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.log"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err", in = "widget_remove" }
to = "printk"
expect = 1
""")
    out = once_and_twice(rules).output.decode()
    assert 'printk("widget gone\\n");' in out and 'pr_err("widget %d: %s\\n"' in out


@pytest.mark.parametrize("rule", [
    'id = "t.str"\nop = "rewrite_string"\nanchor = { kind = "string", name = "vanished" }\npattern = "vanished"\n'
    'to = "gone for good"',                               # other strings are around it
    'id = "t.type"\nop = "rewrite_type"\nanchor = { kind = "type", name = "struct vanished" }\nto = "u64"',
    'id = "t.words"\nop = "rewrite_type"\nanchor = { kind = "type", name = "struct clk words" }\nto = "u64"',
])
def test_a_rule_that_finds_nothing_is_drift(tmp_path, rule):
    rules = rules_from(tmp_path, f"[[rule]]\n{rule}\nexpect = 1\n")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    rule_id = rule.split('"')[1]
    assert [(d["rule"], d["found"]) for d in res.drift] == [(rule_id, 0)] and res.output == SRC


def test_an_insertion_after_a_replaced_include_list_goes_after_its_endif(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.after"
op = "insert_after"
anchor = { kind = "includes" }
text = "#include \\"compat.h\\""
expect = 1
""")
    src = (b"#if 0 /* Xen: Linux includes */\n#include <linux/io.h>\n#else\n#include <xen/lib.h>\n\n#endif\n"
           b"static int x;\n")
    assert once_and_twice(rules, src).output == src.replace(b"#endif\n", b"#endif\n#include \"compat.h\"\n")


GIZMO = b"""#include <linux/io.h>
#include <linux/slab.h>
struct gizmo;
struct gizmo {
	int a;
};
struct other { int b; };
#ifdef CONFIG_GZ_PM
int pm;
#endif
#if defined(CONFIG_ARM) && !defined(CONFIG_GZ_DMA)
int arm;
#endif
#if GZ_LEVEL > 2
int lvl;
#endif
static void gz_run(int x)
{
	gz_a(gz_b(x));
	x = gz_c(x);
}
"""


@pytest.mark.parametrize("anchor,found", [
    (dict(kind="struct", name="gizmo"), ["struct gizmo {\n\tint a;\n};"]),      # not the forward declaration
    (dict(kind="struct"), ["struct gizmo {\n\tint a;\n};", "struct other { int b; };"]),
    (dict(kind="statement", calls="gz_*"), ["gz_a(gz_b(x));", "x = gz_c(x);"]),   # two calls, one statement
    (dict(kind="statement", calls="gz_b"), ["gz_a(gz_b(x));"]),
    (dict(kind="preproc", name="CONFIG_GZ_PM"), ["#ifdef CONFIG_GZ_PM\nint pm;\n#endif"]),
    (dict(kind="preproc", name="CONFIG_GZ_DMA"),                                    # a part of the condition
     ["#if defined(CONFIG_ARM) && !defined(CONFIG_GZ_DMA)\nint arm;\n#endif"]),
    (dict(kind="preproc", name="GZ_LEVEL*"), ["#if GZ_LEVEL > 2\nint lvl;\n#endif"]),   # a glob: the whole condition
    (dict(kind="preproc", name="CONFIG_*"), ["#ifdef CONFIG_GZ_PM\nint pm;\n#endif"]),
    (dict(kind="preproc", name="LEVEL"), ["#if GZ_LEVEL > 2\nint lvl;\n#endif"]),
    (dict(kind="include", name="linux/io.h"), ["#include <linux/io.h>\n"]),      # by its path
])
def test_struct_statement_and_preproc_anchors(anchor, found):
    from porter.linux_to_xen.engine import _State, find
    from porter.linux_to_xen.rules import Anchor, Rule
    st = _State(GIZMO)
    assert [GIZMO[m.start:m.end].decode() for m in find(st, Rule("t", "disable", Anchor(**anchor)))] == found


def test_every_preproc_block(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.pp"
op = "disable"
anchor = { kind = "preproc" }
reason = "x"
expect = 3
""")
    res = once_and_twice(rules, GIZMO)
    assert [d["unit"] for d in res.disabled] == ["#if CONFIG_GZ_PM", "#if defined(CONFIG_ARM) && !defined(CONFIG_GZ_DMA)",
                                                "#if GZ_LEVEL > 2"]


def test_a_call_without_the_argument_args_names_is_drift(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.log"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err" }
to = "printk"
args = "XENLOG_ERR {0}, {1}"
expect = 2
""")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    line = SRC[:SRC.index(b'pr_err("widget gone')].count(b"\n") + 1
    assert res.drift == [{"rule": "t.log", "file": "engine_input.c", "line": line, "expected": "2", "found": 2,
                          "message": "call pr_err at line %d: args 'XENLOG_ERR {0}, {1}' names an argument the call "
                                     "does not have; its arguments not rewritten" % line}]
    out = res.output.decode()
    assert 'printk(XENLOG_ERR "widget %d: %s\\n", w->id);' in out and 'printk("widget gone\\n");' in out


def test_rules_that_only_parse_together_are_applied_together(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.open"
op = "insert_start"
anchor = { kind = "function", name = "widget_remove" }
text = "\\tif (w) {"
expect = 1

[[rule]]
id = "t.close"
op = "insert_end"
anchor = { kind = "function", name = "widget_remove" }
text = "\\t}"
expect = 1
""")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    assert res.drift == []
    assert b'{\n\tif (w) {\n\tpm_runtime_disable(w);\n\tpr_err("widget gone\\n");\n\t}\n}\n' in res.output


def test_what_a_second_application_counts_as_done(tmp_path):
    from porter.linux_to_xen.engine import _State, _applied_probe
    from porter.linux_to_xen.rules import Anchor, Rule
    src = (b"#if 0 /* Xen: Linux includes */\n#include <linux/io.h>\n#else\n#include <xen/lib.h>\n#endif\n"
           b"static u64 a;\nstatic u64 b;\n#if 0\nstatic u64 c;\n#endif\n"
           b"static void f(void)\n{\n\tprintk(\"ready\");\n\tprintk(\"ready now\");\n\tg(\"ready\");\n}\n")
    st = _State(src)
    probe = lambda op, kind, **kw: _applied_probe(st, Rule("t", op, Anchor(kind, **kw.pop("anchor", {})), **kw))
    assert probe("replace_includes", "includes") == 1
    assert probe("replace_includes", "includes", reason="other reason") == 0
    assert probe("rewrite_type", "type", anchor={"name": "uint64_t"}, to="u64") == 2       # not the dead one
    assert probe("rewrite_string", "string", to="ready") == 3
    assert probe("rewrite_string", "string", to="now") == 1
    assert probe("rewrite_call", "call", anchor={"name": "pr_info"}, to="printk") == 2
    assert probe("rewrite_call", "call", anchor={"name": "pr_info", "inside": "other"}, to="printk") == 0
    assert probe("rename", "identifier", anchor={"name": "gg"}, to="g") == 1
    assert probe("disable", "function", anchor={"name": "f"}) == 0
    assert _applied_probe(_State(SRC), Rule("t", "replace_includes", Anchor("includes"))) == 0


def test_a_rewrite_over_an_earlier_rules_insertion_waits_a_round(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.sync"
op = "disable"
anchor = { kind = "statement", calls = "gizmo_sync" }
reason = "no sync"
expect = 1

[[rule]]
id = "t.log"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err" }
to = "printk"
args = "XENLOG_ERR {0}{,1*}"
expect = 1
""")
    src = (b"static void gizmo_report(struct gizmo *g)\n{\n\tpr_err(\"gizmo %d\\n\", ({\n"
           b"\t\tgizmo_sync(g);\n\t\tg->id;\n\t}));\n}\n")
    res = once_and_twice(rules, src)
    assert res.output == (b"static void gizmo_report(struct gizmo *g)\n{\n\tprintk(XENLOG_ERR \"gizmo %d\\n\", ({\n"
                          b"#if 0 /* Xen: no sync */\n\t\tgizmo_sync(g);\n#endif\n\t\tg->id;\n\t}));\n}\n")


def test_includes_mapped_twice_are_written_once(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.inc"
op = "replace_includes"
anchor = { kind = "includes" }
expect = 1
keep = ["xen/lib.h"]
[rule.map]
"linux/slab.h" = ["xen/xmalloc.h", "xen/lib.h"]
"linux/io.h" = ["xen/xmalloc.h"]
""")
    out = once_and_twice(rules).output.decode()
    assert "#else\n#include <xen/lib.h>\n#include <xen/xmalloc.h>\n\n#include \"local.h\"\n#endif\n" in out


def test_a_replacement_that_would_not_parse_disables_nothing(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.bad"
op = "replace"
anchor = { kind = "function", name = "widget_remove" }
reason = "x"
text = "static void widget_remove(struct widget *w) { int x = ; }"
expect = 1

[[rule]]
id = "t.good"
op = "disable"
anchor = { kind = "function", name = "widget_probe" }
reason = "y"
expect = 1
""")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    assert [d["rule"] for d in res.drift] == ["t.bad"] and "would not parse" in res.drift[0]["message"]
    assert [d["rule"] for d in res.disabled] == ["t.good"]
    assert b"#if 0 /* Xen: x */" not in res.output and b"#if 0 /* Xen: y */\nstatic int widget_probe" in res.output


def test_two_rules_disabling_the_same_function_wrap_it_once(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.one"
op = "disable"
anchor = { kind = "function", name = "widget_remove" }
reason = "one"
expect = 1

[[rule]]
id = "t.two"
op = "disable"
anchor = { kind = "function", name = "widget_*" }
reason = "two"
""")
    out = once_and_twice(rules).output
    assert out.count(b"#if 0") == 3          # widget_probe, widget_remove and widget_suspend
    assert b"#if 0 /* Xen: one */\nstatic void widget_remove" in out and b"Xen: two */\n#if 0" not in out
    assert b"#if 0 /* Xen: two */\nstatic int widget_probe" in out


def test_rules_whose_edits_do_not_overlap_share_one_round(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.type"
op = "rewrite_type"
anchor = { kind = "type", name = "struct clk" }
to = "void"
expect = 1

[[rule]]
id = "t.rename"
op = "rename"
anchor = { kind = "identifier", name = "widget_probe" }
to = "widget_xen_probe"
expect = 1

[[rule]]
id = "t.off"
op = "disable"
anchor = { kind = "function", name = "widget_remove" }
reason = "x"
expect = 1
""")
    res = apply_rules(SRC, rules, filename="engine_input.c", max_rounds=1)
    assert res.drift == [] and [a["rule"] for a in res.applied] == ["t.type", "t.rename", "t.off"]
    assert b"\tvoid *clk;" in res.output and b"widget_xen_probe" in res.output and b"#if 0 /* Xen: x */" in res.output


def test_named_types_and_types_inside_one_function(tmp_path):
    src = (b"typedef unsigned int gz_t;\nstruct gz { gz_t a; };\nstatic gz_t gz_get(gz_t v)\n{\n\tstruct gz *p = 0;\n"
           b"\tgz_t w = v;\n\treturn w;\n}\nstatic void gz_put(gz_t v)\n{\n}\n")
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.named"
op = "rewrite_type"
anchor = { kind = "type", name = "gz_t", in = "gz_get" }
to = "u32"
expect = 3
""")
    out = once_and_twice(rules, src).output
    assert out == src.replace(b"static gz_t gz_get(gz_t v)", b"static u32 gz_get(u32 v)").replace(b"\tgz_t w", b"\tu32 w")


def test_a_bad_replacement_in_a_string_rule_is_bad_input(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.str"
op = "rewrite_string"
anchor = { kind = "string" }
pattern = "probed"
to = "\\\\9"
""")
    with pytest.raises(BadInput, match=r"r\.toml: rule t\.str\.to: bad replacement \(invalid group reference 9"):
        apply_rules(SRC, rules, filename="engine_input.c")


def test_a_replaced_include_list_at_the_end_of_a_file(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.after"
op = "insert_after"
anchor = { kind = "includes" }
text = "#include \\"compat.h\\""
expect = 1
""")
    src = b"#if 0 /* Xen: Linux includes */\n#include <linux/io.h>\n#else\n#include <xen/lib.h>\n#endif"
    assert once_and_twice(rules, src).output == src + b"\n#include \"compat.h\"\n"


def test_edits_that_only_touch_share_one_round(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.a"
op = "rewrite_string"
anchor = { kind = "string", name = "gz-a" }
pattern = "gz-a"
to = "xen-a"
expect = 1

[[rule]]
id = "t.b"
op = "rewrite_string"
anchor = { kind = "string", name = "gz-b" }
pattern = "gz-b"
to = "xen-b"
expect = 1
""")
    src = b'static const char *gz_name(void)\n{\n\treturn "gz-a""gz-b";\n}\n'      # two literals, no space
    res = apply_rules(src, rules, filename="gz.c", max_rounds=1)
    assert res.drift == [] and res.output == src.replace(b'"gz-a""gz-b"', b'"xen-a""xen-b"')


def test_only_a_disable_or_replace_counts_a_dead_match_as_done(tmp_path):
    src = b"#if 0 /* Xen: gone */\nstatic void gz_old(void)\n{\n}\n#endif\nstatic void gz_new(void)\n{\n}\n"
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.before"
op = "insert_before"
anchor = { kind = "function", name = "gz_old" }
text = "/* old */"
expect = 1

[[rule]]
id = "t.off"
op = "disable"
anchor = { kind = "function", name = "gz_old" }
reason = "gone"
expect = 1
""")
    res = apply_rules(src, rules, filename="gz.c")
    assert [(d["rule"], d["found"]) for d in res.drift] == [("t.before", 0)]
    assert res.applied == [{"rule": "t.off", "found": 1}] and res.output == src


def test_a_file_anchor_drifts_at_line_1(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.file"
op = "insert_end"
anchor = { kind = "file" }
text = "/* end */"
expect = 2
""")
    res = apply_rules(SRC, rules, filename="engine_input.c")
    assert [(d["rule"], d["line"], d["found"]) for d in res.drift] == [("t.file", 1, 1)]


def test_disabling_the_last_function_of_a_file_without_a_final_newline(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.off"
op = "disable"
anchor = { kind = "function", name = "gz_last" }
reason = "x"
expect = 1
""")
    src = b"static int gz_first(void)\n{\n\treturn 0;\n}\nstatic void gz_last(void)\n{\n}"
    assert once_and_twice(rules, src).output == \
        b"static int gz_first(void)\n{\n\treturn 0;\n}\n#if 0 /* Xen: x */\nstatic void gz_last(void)\n{\n}\n#endif"


def test_a_string_inside_a_nested_call_a_rule_rewrote_waits_a_round(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.log"
op = "rewrite_call"
anchor = { kind = "call", name = "pr_err" }
to = "printk"
args = "XENLOG_ERR {0}{,1*}"

[[rule]]
id = "t.tail"
op = "rewrite_string"
anchor = { kind = "string", name = "gz-tail" }
pattern = "gz-tail"
to = "xen-tail"
expect = 1
""")
    src = b'static void gz(void)\n{\n\tpr_err("a %s %s\\n", pr_err("b"), "gz-tail");\n}\n'
    out = apply_rules(src, rules, filename="gz.c").output
    assert out == b'static void gz(void)\n{\n\tprintk(XENLOG_ERR "a %s %s\\n", pr_err("b"), "xen-tail");\n}\n'


def test_an_insertion_where_another_rules_range_ends_shares_its_round(tmp_path):
    rules = rules_from(tmp_path, """
[[rule]]
id = "t.rename"
op = "rename"
anchor = { kind = "identifier", name = "gz_val" }
to = "xen_val"

[[rule]]
id = "t.after"
op = "insert_after"
anchor = { kind = "define", name = "GZ_X" }
text = "#define GZ_Y 1"
expect = 1
""")
    src = b"#define GZ_X gz_val\nint y;\n"
    res = apply_rules(src, rules, filename="gz.c", max_rounds=1)
    assert res.drift == [] and res.output == b"#define GZ_X xen_val\n#define GZ_Y 1\nint y;\n"


@hypothesis.given(text=hypothesis.strategies.binary(max_size=40) | hypothesis.strategies.text("ab_1 (.)é", max_size=30).map(str.encode),
                  word=hypothesis.strategies.sampled_from([b"a", b"ab", b"a_1", b"b(", b".a", b"(", b" ", b"", b"\xc3"]))
def test_word_at_is_the_word_boundary_search(text, word):
    m = re.search(rb"\b" + re.escape(word) + rb"\b", text)
    assert engine.word_at(text, word) == (m.start() if m else -1)


def test_word_on_line_past_the_last_line_and_on_a_line_without_the_word():
    src = b"int a;\nfoo(a, b);\n"
    starts = cparse.line_starts(src)
    assert engine.word_on_line(src, starts, 2, "b") == src.index(b"b);")
    assert engine.word_on_line(src, starts, 2, "zz") == starts[1]
    assert engine.word_on_line(src, starts, 4, "a") == len(src)
