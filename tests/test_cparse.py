"""Kernel-C parsing with same-length stand-ins."""
from pathlib import Path

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
