"""New Linux-only statements in a function the port already has: disabled when nothing depends on them."""
from porter.linux_to_xen.statements import disable_new_statements

OLD = b"""static int setup_ctx(struct my_dom *d)
{
\tint ret;

\td->cfg.bits = 32;
\tret = my_hw_init(d);
\treturn ret;
}
"""

PORT = OLD.replace(b"\tret = my_hw_init(d);\n", b"\tret = my_hw_init(d);\n\tmy_xen_sync(d);\n")


def finding(text: bytes, symbol: str) -> dict:
    line = next(i for i, l in enumerate(text.split(b"\n"), 1) if symbol.encode() in l)
    return {"symbol": symbol, "line": line, "kind": "call", "message": f"call '{symbol}' ..."}


def test_new_statements_are_disabled_together_and_noted():
    new = PORT.replace(b"\td->cfg.bits = 32;\n",
                       b"\td->cfg.bits = 32;\n\td->geo.end = LINUX_MASK(32);\n\td->geo.force = linux_flag();\n")
    out, notes, left = disable_new_statements(new, [finding(new, "LINUX_MASK"), finding(new, "linux_flag")],
                                              [OLD, PORT])
    assert not left
    assert out == new.replace(b"\td->geo.end", b"#if 0 /* Xen: uses Linux-only LINUX_MASK, linux_flag "
                                               b"(new upstream code) */\n\td->geo.end").replace(
        b"linux_flag();\n", b"linux_flag();\n#endif\n")
    assert notes == [{"line": 6, "disabled": True, "symbol": "LINUX_MASK, linux_flag",
                      "message": "uses Linux-only LINUX_MASK, linux_flag (new upstream code)"}]


def test_a_declaration_used_later_stays_a_finding():
    new = PORT.replace(b"\tint ret;\n", b"\tint ret;\n\tint mask = LINUX_MASK(32);\n").replace(
        b"\treturn ret;", b"\td->cfg.mask = mask;\n\treturn ret;")
    f = finding(new, "LINUX_MASK")
    out, notes, left = disable_new_statements(new, [f], [OLD, PORT])
    assert out == new and not notes and left == [f]


def test_a_changed_old_statement_and_the_ports_own_lines_stay_findings():
    changed = PORT.replace(b"\tret = my_hw_init(d);", b"\tret = my_hw_init(d, LINUX_MASK(8));")
    f = finding(changed, "LINUX_MASK")
    assert disable_new_statements(changed, [f], [OLD, PORT]) == (changed, [], [f])
    g = finding(PORT, "my_xen_sync")   # the port's own line: not new upstream code
    assert disable_new_statements(PORT, [g], [OLD, PORT]) == (PORT, [], [g])


def test_a_final_return_stays_a_finding_and_later_lines_shift():
    old = b"static int f(struct my_dom *d)\n{\n\td->a = 1;\n}\n"
    new = old.replace(b"\td->a = 1;\n", b"\td->a = 1;\n\td->x = linux_a();\n\treturn linux_b(d);\n")
    fa, fb = finding(new, "linux_a"), finding(new, "linux_b")
    out, notes, left = disable_new_statements(new, [fa, fb], [old, old])
    assert [n["symbol"] for n in notes] == ["linux_a"]
    assert left == [dict(fb, line=fb["line"] + 2)]
    assert out.split(b"\n")[left[0]["line"] - 1].strip() == b"return linux_b(d);"


def test_resync_check_disables_new_statements_in_a_known_function(tmp_path, monkeypatch):
    """make_check_new (what resync runs on every changed unit) against a self-written Xen tree."""
    import sys
    from pathlib import Path

    from porter.linux_to_xen import xenindex
    from porter.newcode import make_check_new
    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "linux_to_xen"))
    from fakexen import make_xen
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xenindex._MEMO.clear()
    xen = make_xen(tmp_path / "xen")
    old_up = b"#include <linux/slab.h>\n" + OLD
    old_fn = OLD.replace(b"\tret = my_hw_init(d);\n", b"\tret = my_hw_init(d);\n\tprintk(\"x\");\n")
    decls = b"struct my_dom { struct { int bits; } cfg; };\nint my_hw_init(struct my_dom *d);\n"
    learned = b"#include <xen/lib.h>\n" + decls + old_fn
    new = old_fn.replace(b"\td->cfg.bits = 32;\n", b"\td->cfg.bits = 32;\n\td->geo.end = LINUX_MASK(32);\n")
    (tmp_path / "cache" / "names-0000000000000000").mkdir(parents=True)     # another porter's reading
    check = make_check_new(xen, "base", [new, learned], [old_up, learned], tmp_path / "cache" / "xen-index")
    out, notes = check(new, "function setup_ctx")
    assert b"#if 0 /* Xen: uses Linux-only LINUX_MASK, end, geo (new upstream code) */\n\td->geo.end" in out
    assert [n.get("disabled") for n in notes] == [True], notes
    assert "function setup_ctx" in notes[0]["message"]
    # names are kept by text and by the code that read them: a porter update never reads stale ones
    assert [p.name for p in (tmp_path / "cache").glob("names*")] == [f"names-{xenindex.code_digest()}"]
    # Linux-only code the port already had live is still a finding
    worse = new.replace(b"\tret = my_hw_init(d);", b"\tret = linux_init(d);")
    out, notes = check(worse, "function setup_ctx")
    assert any(n["symbol"] == "linux_init" and not n.get("disabled") for n in notes)


def test_a_name_the_port_uses_live_is_not_linux_only_in_new_code(tmp_path, monkeypatch):
    """The learned port built with legacy_sync() live, so new upstream code calling it is no finding;
    a field of the same name as a live call is still checked against its struct."""
    import sys
    from pathlib import Path

    from porter.linux_to_xen import xenindex
    from porter.newcode import make_check_new
    sys.path.insert(0, str(Path(__file__).parent / "fixtures" / "linux_to_xen"))
    from fakexen import make_xen
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xenindex._MEMO.clear()
    xen = make_xen(tmp_path / "xen")
    decls = b"struct my_dom { struct { int bits; } cfg; };\nint my_hw_init(struct my_dom *d);\n"
    learned = b"#include <xen/lib.h>\n" + decls + PORT.replace(b"\tmy_xen_sync(d);\n", b"\tlegacy_sync(d);\n")
    old_up = b"#include <linux/slab.h>\n" + OLD
    new = learned.split(decls)[1].replace(b"\td->cfg.bits = 32;\n", b"\td->cfg.bits = 32;\n\tlegacy_sync(d);\n")
    check = make_check_new(xen, "base", [new, learned], [old_up, learned], tmp_path / "cache" / "xen-index")
    assert check(new, "function setup_ctx") == (new, [])
    fielded = new.replace(b"\tlegacy_sync(d);\n\tret", b"\td->legacy_sync = 1;\n\tret")
    out, notes = check(fielded, "function setup_ctx")
    assert [n["symbol"] for n in notes] == ["legacy_sync"], notes
