"""Kernel-C parsing with same-length stand-ins."""
from pathlib import Path

import pytest

from porter import cparse


def identities(src: bytes):
    parsed = cparse.parse(src)
    return [cparse.item_identity(n, src) for n, _ in cparse.top_level_items(parsed.tree.root_node)], parsed


def test_stand_ins_keep_offsets_and_parse_kernel_macros():
    src = (b"struct dev {\n\tvoid __iomem *base;\n\tDECLARE_BITMAP(ctx, 8);\n};\n"
           b"static struct dev *to_dev(struct thing *t)\n{\n\treturn container_of(t, struct dev, thing);\n}\n"
           b"static void walk(struct dev *d)\n{\n\tlist_for_each_entry(p, &d->list, node) {\n\t\tuse(p);\n\t}\n}\n")
    assert len(cparse.standin_source(src)) == len(src)
    items, parsed = identities(src)
    assert parsed.errors == []
    assert items == [("struct", "dev"), ("function", "to_dev"), ("function", "walk")]


def test_names_that_directives_define_are_not_replaced():
    src = (b"#define __iomem\n"
           b"void __iomem *ioremap_nocache(unsigned long start, unsigned long len);\n"
           b"#define list_for_each_entry(pos, head, member) \\\n\tfor (;;)\n"
           b"#ifdef __iomem\n#endif\n")
    items, parsed = identities(src)
    assert ("define", "__iomem") in items and ("declaration", "ioremap_nocache") in items
    assert ("define", "list_for_each_entry") in items
    assert [src[a:b] for a, b in parsed.standins] == [b"__iomem"]      # only the use in the declaration


def _all_nodes(node):
    stack = [node]
    while stack:
        n = stack.pop()
        yield n
        stack.extend(n.children)


def test_a_node_is_a_top_level_item_when_top_level_items_yields_it():
    fixtures = Path(__file__).parent / "fixtures" / "linux_to_xen"
    texts = [p.read_bytes() for p in sorted(fixtures.rglob("*.[ch]"))] + [
        b"#ifdef A\nmake(x, y);\n#elif defined(B)\nint b;\n#else\nstatic void f(void) { g(z); }\n#endif\n",
        b"#if X\n#ifndef Y\nZ(q);\n#endif\n#endif\nvoid h(void)\n{\n#ifdef W\n\tk(w);\n#endif\n}\n",
        # macro lines without `;` under an unclosed #if: the root itself is an ERROR
        b"#if defined(HAVE_VEC)\n\tJUMP(\tjnz,\t2, back)\n\tOP2(\tadd\tv5, v2)\n\tOPS(\tswap\tv2, v0, 1, 0, 3, 2)\n"
        b"\tOPS(\tswap\tv3, v1, 1, 0, 3, 2)\n"]
    assert any(cparse.parse(t).tree.root_node.type == "ERROR" for t in texts)
    for text in texts:
        root = cparse.parse(text).tree.root_node
        yielded = {n.id for n, _ in cparse.top_level_items(root)}
        for n in _all_nodes(root):
            assert cparse.is_top_level_item(n, root) == (n.id in yielded), (n.type, n.start_point)


def test_paren_group_ends_at_the_matching_paren_and_lists_only_its_own_commas():
    text = b"f(a, g(b, c), (d, e)) x"
    assert cparse.paren_group(text, 1) == (20, [3, 12])
    assert cparse.paren_group(text, 0) == (20, [3, 12])       # what comes before the group is skipped
    assert cparse.paren_group(b"f(a, b", 1) == (6, [3])         # never closed: the end of the text


def test_errors_are_where_the_parse_failed_or_missed_a_token_in_order():
    parsed = cparse.parse(b"int a = ;\nint ok;\nint b = @;\nint c = (1;\n")
    assert parsed.errors == [(1, 7), (3, 8), (4, 10)]
    assert cparse.parse(b"int ok;\n").errors == []


def test_stand_ins_are_tried_only_where_a_word_holds_their_needle_with_re_sub_s_result():
    """_sub_at_words gives what pattern.sub gives: on the fixtures, and on words that hold the needle
    more than once, inside another word, at the start of the file, next to a match, or unmatched."""
    tricky = (b"list_for_each_entry(a) {x;} xfor_each (b) for_eachfor_each(c) a_for_each_b\n(d) for_each\n"
              b"for_each_x for_each( 9for_each( \xc3\xa9for_each( ____iomem __iomem a__iomem __iomem__x __user*p "
              b"DECLARE_BITMAP(a, 3); xDECLARE_BITMAP(b, 2); container_of(p, struct x, y) "
              b"xzalloc(struct a) xzalloc_array( struct b, 3) xxmalloc(struct c) "
              b"DT_DEVICE_START(a, \"b\", c) DT_DEVICE_END ACPI_DEVICE_END x_DEVICE_END "
              + b"for_each" * 50)
    fixtures = [p.read_bytes() for p in (Path(__file__).parent / "fixtures").rglob("*.[ch]")]
    mark = lambda m: b"<" + m.group(0) + b">"     # noqa: E731
    for needle, pattern, _ in cparse._STANDINS:
        for src in [tricky, tricky[7:], *fixtures]:
            assert cparse._sub_at_words(needle, pattern, mark, src) == pattern.sub(mark, src)


def _shape(parsed: cparse.Parsed) -> list:
    return [(n.type, n.start_byte, n.end_byte, n.start_point, n.end_point, n.is_missing, n.has_error)
            for n in _all_nodes(parsed.tree.root_node)] + [parsed.standins]


def _wrapped_rounds(src: bytes, rounds: int = 3):
    """(text, next text) of a disable loop's rounds: each wraps every other unit still live in #if 0."""
    from porter.linux_to_xen import engine
    from porter.linux_to_xen.port import _Items, _unit_for
    text = src
    for r in range(rounds):
        parsed = cparse.parse(text)
        items = _Items(parsed)
        units = {_unit_for(parsed, items, (it.start_byte + it.end_byte) // 2) for it in items.items[r % 2::2]
                 if it.type != "preproc_if"} - {None}
        if not units:
            return
        new = engine.disable_ranges(text, [(s, e, f"round {r}") for s, e, _ in units])
        yield text, new
        text = new


FIXTURES = sorted((Path(__file__).parent / "fixtures" / "linux_to_xen").glob("*.[ch]"))


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_a_text_wrapped_in_if_0_is_reparsed_incrementally_into_the_tree_a_fresh_parse_gives(path):
    broken = b"static SIMPLE_DEV_PM_OPS(pm_ops,\n\tsuspend, resume);\n"     # an error of the parse
    for src in (path.read_bytes(), path.read_bytes() + broken):
        kept = []
        for old, new in _wrapped_rounds(src):
            assert new != old
            reparse, fresh = cparse._PARSES.peek(new), cparse._parse(new)
            kept.append(reparse is not None)
            assert kept[-1] == (not fresh.errors)     # with an error, parsed afresh
            if reparse is not None:
                assert reparse.source == new and _shape(reparse) == _shape(fresh)
        assert kept and any(kept) == (src != path.read_bytes() + broken)
    assert cparse.parse(src).errors


def test_a_reparse_is_kept_only_when_the_edits_describe_the_new_text():
    old = b"struct dev {\n\tvoid __iomem *base;\n};\nint x;\nvoid f(void)\n{\n\tkfree(p);\n}\n"
    cparse.parse(old)
    at, call = old.index(b"int x"), old.index(b"kfree")
    wrapped = old[:at] + b"#if 0\n" + old[at:]
    for new, edits in [
            (wrapped, [(0, 0, b"#if 0\n")]),                      # not where it was inserted
            (old + b"int y;\n", [(at, at, b"int y;\n")]),
            (wrapped, [(at, at, b"#if 0\n"), (at, at, b"\n")]),     # not all of it
            (old.replace(b"kfree", b"xfree"), [(call, call + 6, b"xfree")]),    # more than was replaced
            (old + b"int y;", [(len(old), len(old), b"int y;\n")]),
            (old.replace(b"int x;", b"int*x;"), [(0, 0, b""), (len(old), len(old), b"")])]:    # one between them
        cparse.note_edits(old, new, edits)
        assert cparse._PARSES.peek(new) is None
    split = old.index(b"iomem")           # one inserted into a stand-in's word: its copy is not old's
    new = old[:split] + b"x" + old[split:]
    cparse.note_edits(old, new, [(split, split, b"x")])
    assert cparse._PARSES.peek(new) is None
    new = wrapped.replace(b"kfree", b"xfree_it") + b"#endif\n"
    edits = [(at, at, b"#if 0\n"), (call, call + 5, b"xfree_it"), (len(old), len(old), b"#endif\n")]
    cparse.note_edits(old + b"/* never parsed */", new, edits)
    assert cparse._PARSES.peek(new) is None
    cparse.note_edits(old, new, edits)
    assert cparse._PARSES.peek(new) is not None and _shape(cparse._PARSES.peek(new)) == _shape(cparse._parse(new))


def test_no_reparse_is_tried_after_an_old_parse_with_an_error_or_of_a_text_already_parsed(monkeypatch):
    parses = []
    real = cparse._parser()

    class Counting:
        def parse(self, *args):
            parses.append(args)
            return real.parse(*args)
    monkeypatch.setattr(cparse, "_parser", Counting)
    broken = b"static SIMPLE_DEV_PM_OPS(pm_ops,\n\tsuspend, resume);\nint x;\n"
    clean = b"int x;\nint y;\n"
    for old in (broken, clean):
        cparse._PARSES.kept.clear()
        cparse.parse(old)
        new = b"#if 0\n" + old
        if old == clean:
            cparse.parse(new)          # already parsed
        del parses[:]
        cparse.note_edits(old, new, [(0, 0, b"#if 0\n")])
        assert parses == []
    cparse.note_edits(clean, b"/* x */\n" + clean, [(0, 0, b"/* x */\n")])
    assert len(parses) == 1 and cparse._PARSES.peek(b"/* x */\n" + clean) is not None
