"""The .edits text form (dump/load) and the `#if 0` regions of a learned port (edits.py)."""
import pytest

from porter.errors import BadInput
from porter.structured import FileEdits, apply_file, learn_file, segment
from porter.structured.edits import HEADER, mark_disabled, region_events

PATH = "xen/drivers/char/fan.c"
EDITS = "series/fan/steps/02-port/fan.c.edits"


def _fields(edits: FileEdits) -> list[tuple]:
    return [(s.op, s.kind, s.name, s.occ, s.digest, s.text, s.port_name, s.lead) for s in edits.segments]


def _states(src: bytes) -> list[tuple[str, str, bool]]:
    """(kind, name, disabled) of every unit of a port learned against itself."""
    edits = learn_file(src, src, PATH)
    return [(s.kind, s.name, s.disabled) for s in edits.segments]


def _regions(src: bytes):
    edits = learn_file(src, src, PATH)
    text = {u.key: u.text for u in segment(src)}
    return mark_disabled(edits.segments, lambda s: text[s.key]), edits.segments


def _load(text: str) -> FileEdits:
    return FileEdits.load(text.encode(), EDITS)


def _bad(text, match):
    with pytest.raises(BadInput, match=match):
        FileEdits.load(text if isinstance(text, bytes) else text.encode(), EDITS)


# ---- the text form is lossless ----------------------------------------------------------------
FAN_OLD = b"""#include <linux/io.h>

#define FAN_SPEED 0x10

static int fan_level;

static int fan_read(void)
{
\treturn fan_level;
}
"""


def test_loaded_edits_equal_the_learned_ones_field_for_field():
    port = (b"#include <xen/io.h>\n\n\n#define FAN_SPEED 0x10\n\nstatic int fan_level;\n"
            b"static int xen_fan_ready;\n\nstatic int fan_read(void)\n{\n\treturn fan_level; \n}\n")
    learned = learn_file(FAN_OLD, port, PATH)
    loaded = FileEdits.load(learned.dump(), EDITS)
    assert _fields(loaded) == _fields(learned)
    assert [s.op for s in learned.segments] == ["delete", "insert", "keep", "keep", "insert", "edit"]
    assert learned.segments[2].lead == b"\n\n"           # the port's own spacing before the define
    assert [s.occ for s in learned.segments if s.op == "insert"] == [0, 0]


def test_a_keep_the_port_wrote_without_the_blank_line_before_it():
    port = FAN_OLD.replace(b"\n\n#define", b"\n#define")
    edits = learn_file(FAN_OLD, port, PATH)
    text = edits.dump().decode()
    assert "keep define FAN_SPEED @" in text
    head = text.splitlines().index(next(x for x in text.splitlines() if x.startswith("keep define FAN_SPEED")))
    assert text.splitlines()[head + 1] == "! "           # a lone '! ': no lines before the unit
    again = FileEdits.load(edits.dump(), EDITS)
    assert again.segments[1].lead == b""
    assert apply_file(again, FAN_OLD, FAN_OLD, PATH).output == port


def test_blank_lead_lines_are_written_as_bare_bars():
    port = FAN_OLD.replace(b"\n\n#define", b"\n\n\n#define")
    text = learn_file(FAN_OLD, port, PATH).dump().decode().splitlines()
    head = next(i for i, x in enumerate(text) if x.startswith("keep define FAN_SPEED"))
    assert text[head + 1:head + 3] == ["|", "|"]
    assert not text[head + 3].startswith(("|", "!"))


@pytest.mark.parametrize("line", [
    "\tx = 1;  \n",                     # trailing blanks
    "x = \u00e9t\u00e9;\t \n",           # UTF-8 text with trailing blanks
    "x = '\uff46';  \n",                 # a printable character above the surrogate range
    "y = '\x7f'; \n",                    # DEL
    "z = 1;\r\n",
    "back\\slash\t\n",
])
def test_escaped_lines_come_back_byte_for_byte(line):
    old = b"int f(void)\n{\n\treturn 0;\n}\n"
    port = old.replace(b"\treturn 0;\n", line.encode("utf-8") + b"\treturn 0;\n")
    edits = learn_file(old, port, PATH)
    text = edits.dump()
    assert b"\n! " in text
    assert apply_file(FileEdits.load(text, EDITS), old, old, PATH).output == port


def test_escapes_are_readable():
    old = b"int f(void)\n{\n\treturn 0;\n}\n"
    port = old.replace(b"\treturn 0;\n", b"\ts = \"\xe9\x7f\\\";\t \r\n\treturn 0;\n")
    text = learn_file(old, port, PATH).dump().decode()
    assert '! \\ts = "\\xe9\\x7f\\\\";\\t \\r\\n' in text.splitlines()


def test_invalid_utf8_bytes_are_escaped_as_themselves():
    old = b"int f(void)\n{\n\treturn 0;\n}\n"
    port = old.replace(b"return 0;", b"return 0; /* \xff\xfe */")
    text = learn_file(old, port, PATH).dump().decode()
    assert "! \\treturn 0; /* \\xff\\xfe */\\n" in text.splitlines()


def test_text_without_a_final_newline():
    edits = _load(f"{HEADER}\ninsert declaration x\n! int x;\n")
    assert edits.segments[0].text == b"int x;"
    edits = _load(f"{HEADER}\ninsert declaration x\n| int x;\n|\n! \\tint y;\n")
    assert edits.segments[0].text == b"int x;\n\n\tint y;"


def test_a_file_without_a_final_newline_keeps_its_last_line():
    assert _load(f"{HEADER}\ninsert declaration x\n| int x;").segments[0].text == b"int x;\n"


def test_renamed_unit_and_occurrence_and_quoted_names():
    edits = _load(f'{HEADER}\n# a comment\n\nedit function old_name [2] @0123456789 as new_name\n'
                  f'| int new_name(void);\ndisable directive "#if defined(A)" @abcdef0123\n'
                  f'keep comment "a \\"quoted\\" comment" [1] @abcdef0123\n')
    e, d, k = edits.segments
    assert (e.op, e.kind, e.name, e.occ, e.digest, e.port_name) == ("edit", "function", "old_name", 2,
                                                                    "0123456789", "new_name")
    assert (d.op, d.disabled, d.name, d.occ) == ("keep", True, "#if defined(A)", 0)
    assert (k.op, k.disabled, k.name, k.occ) == ("keep", False, 'a "quoted" comment', 1)
    assert FileEdits.load(edits.dump(), EDITS).dump() == edits.dump()
    assert 'disable directive "#if defined(A)" @abcdef0123' in edits.dump().decode()


# ---- bad .edits files -------------------------------------------------------------------------
def test_bad_input_messages_name_the_file_line_and_fault():
    _bad(b"", f"^{EDITS}: line 1: not a porter structured edits file")
    _bad("keep function f @0123456789\n", f"^{EDITS}: line 1: not a porter structured edits file")
    _bad("# porter structured edits v2\n", f"^{EDITS}: line 1: unsupported format "
                                           r"'porter structured edits v2' \(want 'porter structured edits v1'\)$")
    _bad(f"{HEADER}\n! \\q\n", f"^{EDITS}: line 2: text line before any edit$")
    _bad(f"{HEADER}\n| int x;\n", f"^{EDITS}: line 2: text line before any edit$")
    _bad(f"{HEADER}\ninsert define A\n!x\n", f"^{EDITS}: line 3: escaped lines start with '! '$")
    _bad(f"{HEADER}\ninsert define A\n! ab\\qrs\n", f"^{EDITS}: line 3: bad escape '\\\\\\\\qrs'$")
    _bad(f"{HEADER}\ninsert define A\n! ab\\x4\n", f"^{EDITS}: line 3: bad escape '\\\\\\\\x4'$")
    _bad(f"{HEADER}\n\nkeep define A @0123456789\n| #define A 1\n",
         f"^{EDITS}: line 3: keep define A: only blank lines may follow a keep")
    _bad(f"{HEADER}\ndelete define A @0123456789\n|\n", f"^{EDITS}: line 2: delete define A takes no text$")
    _bad(f"{HEADER}\ninsert define A\nkeep define A @0123456789\n", f"^{EDITS}: line 2: insert define A has no text$")
    _bad(f"{HEADER}\ninsert define A @0123456789\n| x\n", f"^{EDITS}: line 2: insert takes no")
    _bad(f"{HEADER}\ninsert define A [1]\n| x\n", f"^{EDITS}: line 2: insert takes no")
    _bad(f"{HEADER}\nkeep define A @0123456789 as B\n", f"^{EDITS}: line 2: only edit takes 'as NAME'$")
    _bad(f'{HEADER}\ninsert define "A\\q"\n| x\n', f"^{EDITS}: line 2: bad quoted name")


def test_blank_lines_after_a_keep_are_its_lead():
    edits = _load(f"{HEADER}\nkeep define A @0123456789\n|\n|\ndelete define B @0123456789\n")
    assert edits.segments[0].lead == b"\n\n" and edits.segments[1].lead is None


# ---- the two units of one kind and name -------------------------------------------------------
TWICE = b"""#ifdef CONFIG_FAN_FAST
static int fan_rate(void)
{
\treturn 2;
}
#else
static int fan_rate(void)
{
\treturn 1;
}
#endif
"""


def test_two_units_of_the_same_kind_and_name_are_told_apart_by_occurrence():
    port = TWICE.replace(b"return 1;", b"return 1; /* Xen: slow only */")
    edits = learn_file(TWICE, port, PATH)
    text = edits.dump().decode()
    assert "keep function fan_rate @" in text and "edit function fan_rate [1] @" in text
    loaded = FileEdits.load(edits.dump(), EDITS)
    new = TWICE.replace(b"return 2;", b"return 4;")
    res = apply_file(loaded, TWICE, new, PATH)
    assert res.conflicts == []
    assert res.output == port.replace(b"return 2;", b"return 4;")


def test_two_units_the_port_deleted_are_recorded_in_upstream_order():
    old = b"int a;\n\nint b;\n\nint c;\n\nint d;\n"
    port = b"int a;\n\nint d;\n"
    edits = learn_file(old, port, PATH)
    assert [(s.op, s.name) for s in edits.segments] == [("keep", "a"), ("delete", "b"), ("delete", "c"),
                                                        ("keep", "d")]
    first = b"int b;\n\nint c;\n\nint a;\n"
    assert [(s.op, s.name) for s in learn_file(first, b"int a;\n", PATH).segments] == [
        ("delete", "b"), ("delete", "c"), ("keep", "a")]


# ---- `#if 0` regions --------------------------------------------------------------------------
def test_if0_with_a_comment_after_it_opens_a_disabled_region():
    for head in (b"#if 0 // Xen: unused", b"#if 0 /* Xen */", b"# if 0", b"#if 0"):
        src = head + b"\nint a;\n#endif\nint b;\n"
        assert [d for _, _, d in _states(src)] == [False, True, True, False]    # (the #endif is inside)
    for head in (b"#if 01", b"#if 0x1", b"#if 0 || 1", b"#if 1", b"#ifdef ZERO", b"#if defined(X) // 0"):
        src = head + b"\nint a;\n#endif\n"
        assert [d for _, _, d in _states(src)] == [False, False, False], head


def test_region_events_read_every_conditional_directive():
    text = (b"#if 0 // off\n#  ifdef A\n#elif B\n#else\n#endif\n#ifndef C\n#elifdef D\n#elifndef E\n"
            b"#define F 0\n#endif /* C */\n")
    assert region_events(text) == [("if", True), ("ifdef", False), ("elif", False), ("else", False),
                                   ("endif", False), ("ifndef", False), ("elifdef", False),
                                   ("elifndef", False), ("endif", False)]


def test_if0_else_branch_is_live_and_recorded():
    src = b"#if 0\nint a;\n#else\nint b;\n#endif\nint c;\n"
    assert [d for _, _, d in _states(src)] == [False, True, True, False, False, False]
    regions, _ = _regions(src)
    assert regions == [(0, 4, 2)]


def test_if0_elif_elif_chain():
    src = (b"#if 0 /* Xen */\nint a;\n#elif defined(B)\nint b;\n#elif defined(C)\nint c;\n#else\nint d;\n"
           b"#endif\nint e;\n")
    assert [(n, d) for _, n, d in _states(src) if not n.startswith("#")] == [
        ("a", True), ("b", False), ("c", False), ("d", False), ("e", False)]
    regions, _ = _regions(src)
    assert regions == [(0, 8, 6)]


def test_elif_chain_inside_an_if0_stays_disabled():
    src = (b"#if 0\n#if defined(A)\nint a;\n#elif defined(B)\nint b;\n#elif defined(C)\nint c;\n#else\n"
           b"int d;\n#endif\nint e;\n#else\nint f;\n#endif\n")
    assert [(n, d) for _, n, d in _states(src) if not n.startswith("#")] == [
        ("a", True), ("b", True), ("c", True), ("d", True), ("e", True), ("f", False)]
    regions, _ = _regions(src)
    assert regions == [(0, 13, 11)]


def test_nested_if0_regions_and_an_if1_dead_branch():
    src = (b"#if 1 /* Xen */\nint a;\n#else\nint b;\n#endif\n"
           b"#if 0\nint c;\n#if 0\nint d;\n#endif\nint e;\n#endif\nint f;\n")
    states = [(n, d) for _, n, d in _states(src) if not n.startswith("#")]
    # `#if 1 ... #else`: porter marks only the port's `#if 0` regions; the #else branch is read as
    # live code (the lint and the merge treat it like any other upstream text)
    assert states == [("a", False), ("b", False), ("c", True), ("d", True), ("e", True), ("f", False)]
    regions, _ = _regions(src)
    assert regions == [(7, 9, None), (5, 11, None)]


def test_backslash_continued_if0_directive():
    src = b"#if 0 /* Xen: a long \\\n   reason */\nint a;\n#endif\nint b;\n"
    assert [d for _, _, d in _states(src)] == [False, True, True, False]
    src = b"#if defined(A) && \\\n    defined(B)\nint a;\n#else\nint b;\n#endif\n"
    assert [d for _, _, d in _states(src)] == [False, False, False, False, False]
    src = b"#if 0 || \\\n    defined(B)\nint a;\n#endif\n"
    assert [d for _, _, d in _states(src)] == [False, False, False]
    # the condition itself on the next line: the preprocessor splices before it reads
    src = b"#if \\\n 0\nint a;\n#endif\nint b;\n"
    assert [d for _, _, d in _states(src)] == [False, True, True, False]
    assert region_events(b"#if \\\r\n0\n#endif\n") == [("if", True), ("endif", False)]


def test_directives_the_port_wrote_itself_are_read_from_its_text():
    old = b"#ifdef CONFIG_PM\nint a;\n#endif\nint b;\n"
    port = b"#if 0 /* Xen: no PM */\nint a;\n#endif\nint b;\n"
    edits = learn_file(old, port, PATH)
    assert [(s.op, s.name, s.disabled) for s in edits.segments] == [
        ("delete", "#ifdef CONFIG_PM", False), ("insert", "#if 0", False), ("keep", "a", True),
        ("delete", "#endif (#ifdef CONFIG_PM)", True), ("insert", "#endif (#if 0)", True), ("keep", "b", False)]
    assert "disable declaration a @" in edits.dump().decode()
    # an upstream `#if 0` the port edited (here: only its comment) is read from the port's text too
    old, port = b"#if 0\nint a;\n#endif\n", b"#if 0 /* Xen: as upstream */\nint a;\n#endif\n"
    assert [(s.op, s.disabled) for s in learn_file(old, port, PATH).segments][:2] == [("edit", False),
                                                                                     ("keep", True)]


def test_an_upstream_if0_the_port_removed_disables_nothing():
    old = b"#if 0\nint a;\n#endif\nint b;\n"
    edits = learn_file(old, b"int a;\nint b;\n", PATH)
    assert [(s.op, s.name, s.disabled) for s in edits.segments] == [
        ("delete", "#if 0", False), ("keep", "a", False), ("delete", "#endif (#if 0)", False), ("keep", "b", False)]
