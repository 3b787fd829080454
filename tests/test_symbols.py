"""symbols.py on its own: which code the preprocessor drops, and what a file defines and uses.

The C below is written for these tests (a made-up `gizmo` driver), in the shapes Linux drivers use."""
import re
from pathlib import Path

import hypothesis
import pytest

from porter import cparse
from porter.linux_to_xen import structs, symbols

FIXTURES = Path(__file__).parent / "fixtures"


def no_config(name):
    """Xen has no CONFIG_ option of Linux's; any other macro: cannot tell."""
    return False if name.startswith("CONFIG_") else None


def dead_text(src, known=no_config):
    return [src[a:b] for a, b in symbols.dead_ranges(src, known)]


@pytest.mark.parametrize("expr,value", [
    ("0", False), ("1", True), ("1UL", True), ("0x10 > 5", True), ("2 >= 2 && !0", True), ("1 != 2", True),
    ("CONFIG_GONE", False),                       # an unknown CONFIG_ option is 0 in Xen
    ("defined(CONFIG_GONE)", False), ("defined CONFIG_GONE", False), ("!defined(CONFIG_GONE)", True),
    ("IS_ENABLED(CONFIG_GONE) || 1", True),
    ("0 && FOO", False), ("FOO && 0", False), ("(0) && FOO", False),   # false whatever FOO is
    ("1 || FOO", None), ("FOO", None), ("defined(FOO)", None),
    ("1 /* a comment */", True), ("1 // a comment", True),
    ("1/0", None), ("'a'", None),                 # cannot evaluate: cannot tell
])
def test_conditions(expr, value):
    assert symbols._eval_condition(expr, no_config) is value


def test_if_1_else_and_elif_chains():
    src = (b"A\n#if 1\nB\n#else\nC\n#endif\n"
           b"#if 0\nD\n#elif 1\nE\n#elif 1\nF\n#else\nG\n#endif\n"
           b"#if FOO\nH\n#elif 0\nI\n#else\nJ\n#endif\nK\n")
    # the first true branch is live and every later one dead; after an unknown one nothing is known
    assert dead_text(src) == [b"C\n", b"D\n", b"F\n#else\nG\n", b"I\n"]


def test_a_true_elif_after_an_unknown_branch_leaves_the_later_ones_dead():
    src = b"#ifdef FOO\nA\n#elif 1\nB\n#elif BAR\nC\n#else\nD\n#endif\nE\n"
    # either FOO's branch or the #elif 1 is taken: B may be dropped (unknown), C and D are
    assert dead_text(src) == [b"C\n#else\nD\n"]


def test_ifdef_ifndef_nesting_and_an_unterminated_if():
    src = (b"#if 0\nA\n#if 1\nB\n#endif\nC\n#endif\nD\n"      # a live #if inside a dead one stays dead
           b"#ifndef CONFIG_GONE\nE\n#else\nF\n#endif\n"
           b"#ifdef CONFIG_GONE\nG\n#endif\n"
           b"#ifdef SOMETHING\nH\n#else\nI\n#endif\n"
           b"#endif\n#elif 1\nL\n#else\nM\n"                  # stray: no open #if
           b"#if 0 /* to the end */\nN\n")
    assert dead_text(src) == [b"A\n#if 1\nB\n#endif\nC\n", b"F\n", b"G\n", b"N\n"]
    assert dead_text(b"#ifndef CONFIG_GONE\nA\n#endif\n", lambda n: True) == [b"A\n"]


def test_continued_directives_comments_and_indented_hashes():
    src = (b"/* #if 0 */\nA\n// #if 0\nB\n"
           b"  #  if 0\nC\n  #  endif\n"
           b"#if defined(CONFIG_GONE) && \\\n    defined(CONFIG_ALSO_GONE)\nD\n#endif\n"
           b"#if 1 \\\n && 0\nE\n#endif\nF\n")
    # the dead range starts after the continuation line, not inside the condition
    assert dead_text(src) == [b"C\n", b"D\n", b"E\n"]
    assert symbols.dead_ranges(b"#if 0\nX\n#endif\n") == [(6, 8)]


def test_dead_ranges_with_an_unhashable_known():
    class Known(dict):          # a dict: unhashable, so never memoised
        def __call__(self, name):
            return self.get(name)
    known = Known(CONFIG_ON=True, CONFIG_OFF=False)
    src = b"#ifdef CONFIG_ON\nA\n#endif\n#ifdef CONFIG_OFF\nB\n#endif\n#if defined(CONFIG_OFF)\nC\n#endif\n"
    assert dead_text(src, known) == [b"B\n", b"C\n"]
    assert dead_text(src, known) == [b"B\n", b"C\n"]


def test_dead_ranges_memo_answers_each_known_on_its_own():
    src = b"#ifdef CONFIG_X\nA\n#else\nB\n#endif\n"
    on, off = (lambda n: True), (lambda n: False)
    for _ in range(2):
        assert dead_text(src, on) == [b"B\n"] and dead_text(src, off) == [b"A\n"]
    others = [b"#if 0\n%d\n#endif\n" % i for i in range(12)]    # more files than the memo keeps
    for text in others:
        assert dead_text(text, on) == [text[6:-7]]
    assert dead_text(src, on) == [b"B\n"]
    ranges = symbols.dead_ranges(src, on)
    ranges.append((0, 1))                       # a caller's list is its own
    assert symbols.dead_ranges(src, on) == [(src.index(b"B"), src.index(b"B") + 2)]


def test_directive_lines_leave_out_defines():
    src = (b"#define X 0\n  #  if 0\nC\n  #  endif\n#if 1 \\\n && 0\nE\n#endif\n#include <a.h>\n"
           b"#pragma once\n#define LONG(a) \\\n  a\n#error last")
    assert [src[a:b] for a, b in symbols.directive_lines(src)] == [
        b"  #  if 0", b"  #  endif", b"#if 1 \\\n && 0", b"#endif", b"#include <a.h>", b"#pragma once",
        b"#error last"]


def test_blanking_keeps_offsets_and_newlines():
    src = b'a /* x\ny */ "s\\"t" \'c\' // z\nb'
    assert symbols.blank_comments_strings(src) == b"a     \n" + b" " * 20 + b"\nb"
    assert symbols.blank_comments(src) == b"a     \n     \"s\\\"t\" 'c'     \nb"


_LAZY_BLOCK = re.compile(rb"//[^\n]*|/\*.*?\*/|\"(?:\\.|[^\"\\\n])*\"|'(?:\\.|[^'\\\n])*'", re.S)


@hypothesis.settings(max_examples=500, deadline=None)
@hypothesis.given(hypothesis.strategies.lists(hypothesis.strategies.sampled_from(
    [b"/", b"*", b"**", b"/*", b"*/", b"//", b"\n", b"\\", b'"', b"'", b"a", b" "]), max_size=30))
def test_comments_and_strings_are_the_spans_a_lazy_block_comment_pattern_finds(pieces):
    text = b"".join(pieces)
    assert [m.span() for m in symbols._COMMENT_OR_STRING.finditer(text)] == \
        [m.span() for m in _LAZY_BLOCK.finditer(text)]


def test_ranges_membership_is_half_open():
    r = symbols.Ranges([(10, 20), (0, 5)])
    assert [i for i in range(25) if i in r] == [0, 1, 2, 3, 4] + list(range(10, 20))
    assert -1 not in r and 0 not in symbols.Ranges([])


def test_builtins_and_ignored_arguments():
    assert all(symbols.is_builtin(n) for n in ("__builtin_expect", "__sync_fetch_and_add",
                                               "__atomic_load_n", "sizeof", "uint32_t"))
    assert not symbols.is_builtin("kmalloc") and not symbols.is_builtin("builtin_x")
    variadic_ignored = [1, -1]          # argument 0 is used, the variadic ones (1 and up) are not
    assert [symbols.ignores_arg(variadic_ignored, i) for i in range(4)] == [False, True, True, True]
    assert [symbols.ignores_arg([0, 2], i) for i in range(4)] == [True, False, True, False]
    assert not symbols.ignores_arg([], 0)


GIZMO = b'''#include <linux/io.h>
#define REG(base, off) readl((base) + (off))
#define FIELD_OF(p) ((p)->member_x)
#define PASTE(a, b) a##_##b
#define STR(x) #x
#define LOCAL(v) ({ u32 tmp_local = (v); tmp_local + helper_k(v); })
#define IGNORE_VA(a, ...) do_a(a)
#define ALL_VA(...) do_b(__VA_ARGS__)

struct gizmo {
	int count;
	struct list_head link_m;
};

enum gmode { GMODE_OFF, GMODE_ON };

typedef unsigned int gtype_t;

static DEFINE_SPINLOCK(gizmo_lock);

#if 0
static int dead_fn(void) { return dead_call(); }
#endif

#ifdef CONFIG_GONE
static int gone_fn(void) { return gone_call(); }
#endif

static int gizmo_read(struct gizmo *g, gtype_t t)
{
	typeof(g->count) snap = g->count;
	/* comment_name(x) */
	const char *msg = "string_name()";
label_here:
	snap += REG(g, 4) + linux_fn(t, GMODE_ON);
	return snap;
}
'''


def uses_of(syms, name):
    return [(u.kind, u.arg_of) for u in syms.uses if u.name == name]


def test_collect_definitions():
    syms = symbols.collect(GIZMO, known=no_config)
    for name in ("REG", "PASTE", "gizmo", "gmode", "GMODE_OFF", "GMODE_ON", "gtype_t", "gizmo_lock",
                 "gizmo_read", "g", "t", "snap", "msg", "label_here", "base", "off", "dead_fn", "gone_fn"):
        assert name in syms.defines, name
    assert syms.fields == {"count", "link_m"}
    assert "count" not in syms.defines and "linux_fn" not in syms.defines
    assert syms.nonname_params == {"PASTE": [0, 1], "STR": [0], "IGNORE_VA": [1, -1]}
    live = symbols.collect(GIZMO, known=no_config, live_defs=True)
    assert syms.defines - live.defines == {"dead_fn", "gone_fn"}


SHAPES = b"""
int arr[4], *ptrs[2];
struct holder { int f_plain; int f_arr[3]; int *f_ptr; void (*f_fn)(int); } h = { 0 };
typedef struct tagged { int in_tag; } tagged_t, *tagged_p;
typedef int (*fn_t)(int param_in_type);
union un { long ul; };
enum en { E_ONE, E_TWO = 2 };
static DEFINE_LOCK(lock_by_macro);
#define PLAIN 1
#define FN(a, b, ...) ((a) + #b)
static int fn(int p1, char *p2) { int local = 1; again: return local + p1; }
"""


@pytest.mark.parametrize("src", [GIZMO, SHAPES])
def test_definitions_found_by_the_query_are_those_the_walk_finds(src):
    parsed = cparse.parse(src)
    walk = symbols._Collector(src, parsed, uses=False).run()
    query = symbols._definitions_by_query(src, parsed)
    assert sorted(query.defs) == sorted(walk.defs) and query.nonname_params == walk.nonname_params
    names = {(name, is_field) for _, name, is_field in query.defs}
    if src is SHAPES:
        assert {(n, False) for n in ("arr", "ptrs", "h", "tagged", "tagged_t", "tagged_p", "fn_t", "un", "en",
                                     "E_ONE", "E_TWO", "lock_by_macro", "PLAIN", "FN", "a", "b", "fn", "p1",
                                     "p2", "local", "again", "holder")} <= names
        assert {(n, True) for n in ("f_plain", "f_arr", "f_ptr", "f_fn", "in_tag", "ul")} <= names


@pytest.mark.parametrize("src, skipped", [
    (b'char *s = "ab\nc";\nint x;', True), (b'#line 1 "x\ny"\nint z;', True),
    (b'char *s = "abc\\q', False), (b"char c = 'ab", False), (b'int f() { printf("%d", ); }', False),
    (b'int ok;', False)])
def test_an_error_in_a_string_or_a_macro_call_leaves_definitions_to_the_walk(src, skipped):
    parsed = cparse.parse(src)
    in_skipped = [n for n in cparse.query_nodes(parsed.tree.root_node, "[(string_literal) (preproc_call)] @n")
                  if n.has_error]
    assert bool(in_skipped) == skipped
    assert symbols._error_in_skipped(parsed.tree.root_node) == skipped
    assert (symbols._definitions_by_query(src, parsed) is None) == skipped


def test_collect_uses_and_their_kinds():
    syms = symbols.collect(GIZMO, known=no_config)
    assert [u.offset for u in syms.uses] == sorted(u.offset for u in syms.uses)
    assert uses_of(syms, "readl") == [("macro", None)]            # in a macro body
    assert uses_of(syms, "member_x") == [("field", None)]
    assert uses_of(syms, "helper_k") == [("macro", None)] and not uses_of(syms, "tmp_local")
    assert uses_of(syms, "do_a") == [("macro", None)] and uses_of(syms, "do_b") == [("macro", None)]
    assert uses_of(syms, "list_head") == [("type", None)] and uses_of(syms, "gtype_t") == [("type", None)]
    assert uses_of(syms, "linux_fn") == [("call", None)]
    assert uses_of(syms, "GMODE_ON") == [("identifier", ("linux_fn", 1))]
    assert uses_of(syms, "t") == [("identifier", ("linux_fn", 0))]
    assert uses_of(syms, "g") == [("identifier", None), ("identifier", None), ("identifier", ("REG", 0))]
    assert ("field", None) in uses_of(syms, "count")
    for name in ("comment_name", "string_name", "label_here", "dead_call", "gone_call", "base", "off",
                 "__VA_ARGS__", "a", "b", "x"):
        assert not uses_of(syms, name), name
    every = symbols.collect(GIZMO, known=no_config, live_only=False)
    assert {u.name for u in every.uses} - {u.name for u in syms.uses} == {"dead_call", "gone_call"}
    quick = symbols.collect(GIZMO, known=no_config, uses=False)
    assert quick.uses == [] and quick.defines == syms.defines and quick.fields == syms.fields


def test_member_names_in_container_of_like_macros():
    src = (b"#define OWNER(p) container_of(p, struct gizmo, link_m)\n"
           b"#define NEXT(p) list_next_entry(p, (node_m))\n"
           b"#define CALL(p) helper(p, other_m)\n"
           b"#define WRAPPED(p) container_of((p), struct gizmo, wrap_m)\n"
           b"static void *f(void *q) { return list_entry(q, struct gizmo, link_m); }\n")
    syms = symbols.collect(src)
    body_kinds = {u.name: u.kind for u in syms.uses if u.offset < src.index(b"static")}
    assert body_kinds["link_m"] == "field" and body_kinds["node_m"] == "field" and body_kinds["wrap_m"] == "field"
    assert body_kinds["other_m"] == "macro"          # helper is not container_of-like
    in_code = [u for u in syms.uses if u.offset > src.index(b"static") and u.name == "link_m"]
    assert in_code and all(u.kind == "field" for u in in_code)


def test_a_typeof_declaration_counts_where_its_name_is():
    # typeof( in live code, the name it declares under #if 0: no live definition
    src = b"static void f(int a)\n{\n\ttypeof(a\n#if 0\n\t) dead_name = 0;\n#else\n\t) other = 0;\n#endif\n}\n"
    assert "dead_name" not in symbols.collect(src, live_defs=True).defines
    assert "dead_name" in symbols.collect(src).defines


def test_stand_in_spans_give_their_names_but_keywords_and_the_bitmap_member():
    src = (b"struct gz_state {\n\tDECLARE_BITMAP(gz_map, GZ_BITS);\n};\n"
           b"static struct gizmo *gz_owner(struct list_head *l)\n{\n\treturn container_of(l, struct gizmo, link_m);\n}\n")
    names = [u.name for u in symbols.collect(src).uses]
    assert "DECLARE_BITMAP" in names and "GZ_BITS" in names and "container_of" in names
    assert "gz_map" not in names and "struct" not in names


def test_a_function_pointer_member_is_a_field():
    syms = symbols.collect(b"struct gz_ops {\n\tint (*gz_op)(int);\n\tint plain;\n};\n")
    assert syms.fields == {"gz_op", "plain"} and syms.defines == {"gz_ops"}


def test_a_last_directive_without_a_newline():
    # a backslash near the end of the file's last line is no continuation
    assert symbols.directive_lines(b"int x;\n#error a\\b") == [(7, 17)]
    assert symbols.dead_ranges(b"#if 0\nint x;\n#endif") == [(6, 13)]


def test_ranges_overlapping_with_and_without_overlaps_among_them():
    disjoint = symbols.Ranges([(20, 30), (0, 10), (40, 50)])
    assert disjoint.disjoint
    assert disjoint.overlapping(5, 25) == [(0, 10), (20, 30)] and disjoint.overlapping(10, 20) == []
    assert disjoint.overlapping(45, 99) == [(40, 50)] and disjoint.overlapping(0, 1) == [(0, 10)]
    nested = symbols.Ranges([(0, 10), (5, 6), (20, 30)])
    assert not nested.disjoint
    assert nested.overlapping(7, 8) == [(0, 10)] and nested.overlapping(5, 21) == [(0, 10), (5, 6), (20, 30)]
    # a span starting before the first range
    assert symbols.Ranges([(5, 10), (20, 30)]).overlapping(0, 25) == [(5, 10), (20, 30)]


def test_ranges_cover_a_span_when_one_range_holds_its_start_and_all_of_it():
    for r in (symbols.Ranges([(20, 30), (0, 10), (40, 50)]), symbols.Ranges([(0, 10), (3, 4), (20, 30), (40, 50)])):
        assert r.covers(0, 10) and r.covers(22, 25) and r.covers(40, 41)
        assert not r.covers(5, 11) and not r.covers(10, 20) and not r.covers(35, 45) and not r.covers(-1, 2)
        # an empty span is covered where its offset is in a range (as `in` tells), not at a range's end
        assert r.covers(20, 20) and r.covers(25, 25) and not r.covers(30, 30) and not r.covers(60, 60)


def test_a_parameter_stringized_with_spaces_after_the_hash_is_no_name():
    syms = symbols.collect(b"#define STR(x) # x\n#define CAT(a, b) a  ##  b\n#define USE(x) (x)\n")
    assert syms.nonname_params == {"STR": [0], "CAT": [0, 1]}


def test_dead_macro_bodies_and_stand_ins_are_never_uses():
    # live_only=False (with live_defs: the dead ranges known) keeps the parse's names in dead code,
    # not what macro bodies and stand-ins name
    src = (b"#if 0\n#define GZ_DEAD() dead_helper()\nstatic int gz_old(struct list_head *l)\n{\n"
           b"\treturn container_of(l, struct gizmo, link_m)->count + old_call();\n}\n#endif\n")
    every = {(u.name, u.kind) for u in symbols.collect(src, live_only=False, live_defs=True).uses}
    assert ("old_call", "call") in every and ("container_of", "call") in every
    assert not [use for use in every if use[1] == "macro"]        # dead_helper; container_of's stand-in
    assert {u.name for u in symbols.collect(src).uses} == set()


def test_a_nested_elif_chain_is_its_own():
    src = b"#ifdef FOO\n#if 0\nB\n#elif 1\nC\n#else\nE\n#endif\nF\n#else\nG\n#endif\n"
    assert dead_text(src) == [b"B\n", b"E\n"]


def test_false_branches_before_the_true_one_leave_the_rest_dead():
    src = b"#if 0\nA\n#elif 0\nB\n#elif 1\nC\n#else\nD\n#endif\n"
    assert dead_text(src) == [b"A\n#elif 0\nB\n", b"D\n"]


def test_an_ifdef_asks_about_its_first_word_only():
    # gcc reads `#ifdef NAME junk` as `#ifdef NAME` (and warns about the junk)
    assert dead_text(b"#ifdef CONFIG_GONE STRAY\nA\n#endif\n") == [b"A\n"]
    assert dead_text(b"#ifndef CONFIG_GONE STRAY\nA\n#else\nB\n#endif\n") == [b"B\n"]


def test_a_bare_option_xen_has_is_not_taken_for_zero():
    def has_on(name):
        return True if name == "CONFIG_ON" else no_config(name)
    assert symbols._eval_condition("CONFIG_ON", has_on) is None      # defined: its value is not known
    assert symbols._eval_condition("CONFIG_ON || CONFIG_GONE", has_on) is None
    assert dead_text(b"#if CONFIG_ON\nA\n#endif\n", has_on) == []


def test_a_macro_that_stringizes_one_parameter_uses_the_other_as_a_name():
    assert symbols._nonname_params(b"(a) + sizeof(#b)", ["a", "b"]) == [1]
    assert symbols._nonname_params(b"a ## _suffix + b", ["a", "b"]) == [0]


def test_the_words_of_an_error_or_pragma_line_are_not_uses():
    src = b'#error gizmo_needs_config\n#pragma gizmo_pack(push)\nstatic int gizmo_count;\n'
    assert {u.name for u in symbols.collect(src, live_only=False).uses} == set()


DEAD_BRANCHES = b"""#include <linux/gizmo.h>
#define GZ_CAT(a, b) a ## b
#if 0
#define GZ_CAT(a, b) (a + #b)
#define GZ_NAME(x) #x
struct gz_old { int gz_legacy; };
static int gz_gone(struct gizmo *gz) { return gz->gz_legacy + kzalloc(1, 2); }
#else
static int gz_kept(struct gizmo *gz) { return gz->gz_count + GZ_CAT(gz_, kept); }
#endif
#ifdef CONFIG_GIZMO_OLD
static int gz_config(void) { return gz_probe_legacy(); }
#endif
void gz_probe(void)
{
#if 0
	gz_broken(container_of(p, struct gizmo, gz_list));
#endif
	gz_kept(NULL);
}
#if 0
int gz_err( = ;
#endif
"""


def _every(syms):
    return (syms.defines, syms.fields, list(syms.nonname_params.items()),
            [(u.name, u.offset, u.kind, u.arg_of) for u in syms.uses])


@pytest.mark.parametrize("options", [
    dict(), dict(known=no_config), dict(live_defs=True), dict(known=no_config, live_defs=True),
    dict(live_only=False), dict(known=no_config, live_only=False, live_defs=True), dict(uses=False),
    dict(live_only=False, uses=False)])
def test_the_remembered_walk_reads_dead_branches_for_definitions_only_with_the_same_answers(monkeypatch, options):
    """The walk collect() remembers leaves out the uses in `#if 0` branches (one with a parse error
    too): every answer is still the full walk's, and asking for the uses of dead code walks again."""
    symbols._RAWS.kept.clear()
    symbols.collect(DEAD_BRANCHES)
    raw = symbols._RAWS.peek(DEAD_BRANCHES)
    left_out = [DEAD_BRANCHES[s:e] for s, e in raw.skipped]
    assert any(b"gz_gone" in t for t in left_out) and any(b"gz_broken" in t for t in left_out)
    assert not any(b"gz_kept" in t or b"gz_config" in t for t in left_out)
    assert "gz_broken" not in {u[1].name for u in raw.uses}
    got = _every(symbols.collect(DEAD_BRANCHES, **options))
    monkeypatch.setattr(symbols, "_raw", lambda src, parsed: symbols._Collector(src, parsed or cparse.parse(src)).run())
    symbols._RAWS.kept.clear()
    assert got == _every(symbols.collect(DEAD_BRANCHES, **options))
    if options.get("live_only") is False and options.get("uses", True):
        assert "gz_broken" in {u.name for u in symbols.collect(DEAD_BRANCHES, **options).uses}


def test_the_walk_gives_structs_table_the_struct_parts_its_query_would_find():
    """Every struct, union, typedef and member declaration, in live and dead code alike; none (the
    query is run) when an ERROR sits inside a string or #pragma, where the walk does not go."""
    for src in [DEAD_BRANCHES, GIZMO, *(p.read_bytes() for p in FIXTURES.rglob("*.[ch]"))]:
        symbols._RAWS.kept.clear()
        parsed = cparse.parse(src)
        walked = structs.found_in(symbols.collect(src, parsed).struct_parts)
        found = cparse.query_captures(parsed.tree.root_node, structs.PARTS_PATTERN)
        assert {k: sorted(n.byte_range for n in v) for k, v in walked.items()} == \
            {k: sorted(n.byte_range for n in found.get(k, ())) for k in walked}
        dead = symbols.dead_ranges(src, no_config)
        assert structs.table(parsed, dead, walked).to_json() == structs.table(parsed, dead).to_json()
    broken = b'char *s = "abc;\nstruct gz_a { int gz_b; };\n'
    assert symbols.collect(broken).struct_parts is None
    assert symbols.collect(b"struct gz_a { int gz_b; };\n", uses=False, many=True).struct_parts is None


@pytest.mark.parametrize("anchored,pattern", [
    (rb"^[ \t]*#[ \t]*(\w+)", rb"#[ \t]*(\w+)"),
    (rb"^[ \t]*#[ \t]*include[ \t]*<([^>]+)>", rb"#[ \t]*include[ \t]*<([^>]+)>")])
def test_line_directives_finds_what_a_line_anchored_pattern_finds(anchored, pattern):
    """A match only after blanks on its line, one match possibly running over the next line, a
    `#` after code or after another `#` on its line, CR LF and form feeds, a file ending in `#`."""
    texts = [b"#include <a\n#include <b>\n", b"x #include <a\n#include <b>\n",
             b"  #  include <x>\n\t#include\t<q>\n# define A\n##x\n#\n", b"a # b # c\n #d\n#include <a # b> #include <c>\n",
             b"\r\n#include <a>\r\n\f#include <b>\n#", GIZMO, DEAD_BRANCHES,
             *(p.read_bytes() for p in FIXTURES.rglob("*.[ch]"))]
    for text in texts:
        want = [(m.start(), m.end(), m.groups()) for m in re.finditer(anchored, text, re.M)]
        assert [(line, m.end(), m.groups()) for line, m in symbols.line_directives(re.compile(pattern), text)] == want


def test_a_live_only_collect_reuses_the_walk_that_left_dead_code_out(monkeypatch):
    src = b"int gz_a;\n#if 0\nint gz_b = gz_gone;\n#endif\nint gz_c = gz_a;\n"
    symbols._RAWS.kept.clear()
    first = symbols.collect(src)
    runs = []
    real = symbols._Collector.run
    monkeypatch.setattr(symbols._Collector, "run", lambda self: runs.append(self) or real(self))
    again = symbols.collect(src)
    assert runs == [] and again.uses == first.uses and "gz_gone" not in {u.name for u in again.uses}
    everything = symbols.collect(src, live_only=False)      # dead code's uses asked for: walked again
    assert len(runs) == 1 and "gz_gone" in {u.name for u in everything.uses}


def test_a_name_pasted_on_either_side_of_hash_hash_is_no_use():
    src = b"#define GZ_GLUE(x) gz_left ## x ## gz_mid ## x\n#define GZ_TAIL(x) x ## gz_right\nint gz_plain = gz_used;\n"
    names = {u.name for u in symbols.collect(src, live_only=False).uses}
    assert "gz_used" in names and not names & {"gz_left", "gz_mid", "gz_right"}
