"""Kernel-C parsing with same-length stand-ins."""
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
