"""What port and lint keep from one reading to the next gives the answers a fresh reading gives:
the static functions nothing calls, read before the provenance header went in; a local header's
definitions, kept across the rounds of the disable loop; the directive lines of a text, read once
for every `known` its liveness is asked under.  And the unit around an offset, found by bisection,
is the one a scan of every item finds."""
from pathlib import Path

import pytest

from porter import cparse
from porter.linux_to_xen import port_source, symbols, xen_index
from porter.linux_to_xen.lint import lint_sources
from porter.linux_to_xen.port import _Items, _statics_after_comment, unused_statics

FIX = Path(__file__).parent / "fixtures" / "linux_to_xen"


@pytest.fixture()
def index(fake_xen):
    return xen_index(fake_xen, "base")


def _uncalled(src: bytes, index) -> list[dict]:
    return [{"function": u["name"], "line": u["line"]} for u in unused_statics(src, index)
            if u["kind"] == "function"]


@pytest.mark.parametrize("opening", ["license comment", "code first"])
def test_uncalled_are_those_of_the_output_written(index, tmp_path, opening):
    src = (FIX / "widget.c").read_bytes()
    if opening == "code first":
        src = src[src.index(b"*/\n") + 3:]
    res = port_source(src, filename=str(tmp_path / "widget.c"), index=index)
    assert res.uncalled and res.uncalled == _uncalled(res.output, index)


OUT = b"""/*
static int z(void) { return 0; }
 */
static int a;
static int f(void)
{
\treturn 0;
}
"""


@pytest.mark.parametrize("final", [
    b"/* added */\n" + OUT,                                        # before everything
    OUT.replace(b" */\n", b" */\n// one\n/* two\n three */\n", 1),  # after the opening comment
    OUT.replace(b"/*\n", b"/*\n/* added */\n", 1),                # inside it: z becomes code
    OUT.replace(b"{\n", b"{\n/* added */\n", 1),                  # after code: f's line stays
    OUT.replace(b" */\n", b" */\n// continued \\\n", 1),          # hides the line after it
    OUT.replace(b" */\n", b" */\nint b;\n", 1),                   # code
], ids=["start", "after", "inside", "after code", "continued", "code"])
def test_statics_read_before_a_comment_went_in_are_those_read_after(final):
    assert _statics_after_comment(final, OUT, unused_statics(OUT), None) == unused_statics(final)


def test_a_local_header_changed_between_lints_is_read_again(index, tmp_path):
    src = b'#include "glue.h"\n\nint use(void)\n{\n\treturn glue_value();\n}\n'
    name = str(tmp_path / "use.c")
    with_it = {str(tmp_path / "glue.h"): b"int glue_value(void);\n"}
    without = {str(tmp_path / "glue.h"): b"int other_value(void);\n"}
    for headers, found in ((with_it, []), (without, ["glue_value"]), (with_it, [])):
        assert [f["symbol"] for f in lint_sources({name: src}, index, headers=headers)] == found


def test_liveness_of_one_text_under_two_knowns():
    src = b"#ifdef CONFIG_A\nint a;\n#else\nint b;\n#endif\n/*\n#if 0\n*/\nint c;\n"
    on, off = (lambda n: n == "CONFIG_A"), (lambda n: False if n == "CONFIG_A" else None)
    a, b = src.index(b"int a"), src.index(b"int b")
    for _ in range(2):
        assert symbols.dead_ranges(src, on) == [(b, src.index(b"#endif"))]
        assert symbols.dead_ranges(src, off) == [(a, src.index(b"#else"))]
    lines = [(src.index(d), src.index(b"\n", src.index(d))) for d in (b"#ifdef", b"#else", b"#endif")]
    assert symbols.directive_lines(src) == lines        # not the #if 0 inside the comment


def test_statics_are_read_again_where_the_comment_changes_how_an_error_is_recovered_from():
    # tree-sitter weighs the text it would skip to recover from an error: with 40 more lines of
    # comment before it, this parse recovers otherwise and f is no longer a function of its own
    out = b"/* lic */\n( { 1 { -> ;\nstatic int f(void)\n{\n\treturn 0;\n}\nfoo void ] ; \n\n"
    final = out.replace(b" */\n", b" */\n/*\n" + b" * a line\n" * 40 + b" */\n", 1)
    assert [u["name"] for u in unused_statics(out)] == ["f"]
    assert _statics_after_comment(final, out, unused_statics(out), None) == unused_statics(final)


@pytest.mark.parametrize("name", ["widget.c", "sample_driver.c"])
def test_the_item_found_by_offset_is_the_first_holding_it(name):
    src = (FIX / name).read_bytes()
    src = src + b"#if 0\n" + src + b"#endif\n" + b"int broken(;\n"      # nested items, an error
    parsed = cparse.parse(src)
    items = _Items(parsed)
    assert items.disjoint and len(items.items) > 20
    for off in range(0, len(src) + 2):
        first = next((i for i in items.items if i.start_byte <= off < i.end_byte), None)
        assert items.at(off) == first, off
