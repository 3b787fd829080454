"""maintainers.py: F:/X: patterns as get_maintainer.pl reads them, sections, recipients."""
import pytest

from porter.maintainers import Section, parse, pattern_matches, recipients, unique


@pytest.mark.parametrize("pattern,path,hit", [
    ("xen/drivers/", "xen/drivers/a.c", True),
    ("xen/drivers/", "xen/drivers/passthrough/arm/x.c", True),     # a directory covers every depth
    ("xen/drivers/", "xen/drivers", False),                          # ...but not itself as a file
    ("xen/drivers/", "xen/driversx/a.c", False),
    ("xen/drivers/", "xen/a.c", False),
    ("xen/drivers/*", "xen/drivers/a.c", True),
    ("xen/drivers/*", "xen/drivers/arm/a.c", False),                 # '*' does not cross '/'
    ("xen/*/arm/", "xen/drivers/arm/x.c", True),
    ("xen/*/arm/", "xen/drivers/passthrough/arm/x.c", False),        # nor in a directory pattern
    ("xen/arch/*/livepatch*", "xen/arch/arm/livepatch.c", True),
    ("xen/arch/*/livepatch*", "xen/arch/x86/hvm/livepatch.c", False),
    ("xen/arch/*/*/livepatch*", "xen/arch/x86/hvm/livepatch.c", True),
    ("xen/include/asm-?86/", "xen/include/asm-x86/io.h", True),
    ("xen/include/asm-?86/", "xen/include/asm-arm86/io.h", False),   # '?' is one character
    ("xen/common/sched.c", "xen/common/sched.c", True),
    ("xen/common/sched.c", "xen/common/sched.h", False),
    ("xen/common/sched.c", "xen/common/sched.c/x", False),
    ("*", "Makefile", True),
    ("*", "xen/Makefile", False),
    ("*/", "xen/Makefile", True),
    ("*/", "Makefile", False),
    ("*.ac", "configure.ac", True),
    ("*/*.ac", "tools/configure.ac", True),
    ("*/*.ac", "tools/x/configure.ac", False),
])
def test_pattern_matches(pattern, path, hit):
    assert pattern_matches(pattern, path) is hit


MAINTAINERS = """
\tThe header is not a section
\t===========================

Descriptions of section entries:
\tM: Mail patches to: FullName <address@domain>

ARM
M:\tAlice Arm <alice@example.org>
M:\tAnna Arm <anna@example.org>
\t(an indented line inside a section is not a new section)
L:\tdevel@lists.example.org (moderated for non-subscribers)
S:\tSupported
F:\txen/arch/arm/
F:\txen/drivers/passthrough/arm/
X:\txen/drivers/passthrough/arm/smmu*

NO FILES
M:\tNobody <nobody@example.org>
S:\tOrphan

IOMMU
M:\tIvan Iommu <ivan@example.org>
M:\tALICE ARM <Alice@Example.org>
L:
L:\tiommu@lists.example.org
F:\txen/drivers/passthrough/

TOP-LEVEL FILES
M:\tTom Top <tom@example.org>
F:\t*

THE REST
M:\tRita Rest <rita@example.org>
L:\tdevel@lists.example.org
F:\t*
F:\t*/
"""


def test_parse_sections():
    sections = parse(MAINTAINERS)
    assert [s.title for s in sections] == ["ARM", "IOMMU", "TOP-LEVEL FILES", "THE REST"]   # no F:, no section
    arm, iommu, top, rest = sections
    assert arm == Section("ARM", ["Alice Arm <alice@example.org>", "Anna Arm <anna@example.org>"],
                          ["devel@lists.example.org"], ["xen/arch/arm/", "xen/drivers/passthrough/arm/"],
                          ["xen/drivers/passthrough/arm/smmu*"])
    assert iommu.lists == ["iommu@lists.example.org"] and iommu.excludes == []
    assert [s.catch_all for s in sections] == [False, False, True, True]
    assert Section("x", files=["*/"]).catch_all and not Section("x", files=["*.c"]).catch_all


def test_excludes_win_over_files():
    arm = parse(MAINTAINERS)[0]
    assert arm.covers("xen/drivers/passthrough/arm/ipmmu.c")
    assert not arm.covers("xen/drivers/passthrough/arm/smmu-v3.c")
    assert not arm.covers("xen/common/x.c")


def test_recipients_in_file_order_catch_all_only_when_nothing_else():
    sections = parse(MAINTAINERS)
    # the IOMMU file comes first in paths, but ARM comes first in MAINTAINERS
    lists, people = recipients(sections, ["xen/drivers/passthrough/iommu.c", "xen/arch/arm/setup.c"])
    assert lists == ["devel@lists.example.org", "iommu@lists.example.org"]
    assert people == ["Alice Arm <alice@example.org>", "Anna Arm <anna@example.org>",
                      "Ivan Iommu <ivan@example.org>"]                          # ALICE ARM: a repeat
    assert recipients(sections, ["docs/README"]) == (["devel@lists.example.org"], ["Rita Rest <rita@example.org>"])
    assert recipients(sections, ["Makefile", "xen/arch/arm/setup.c"])[1] == [
        "Alice Arm <alice@example.org>", "Anna Arm <anna@example.org>", "Tom Top <tom@example.org>",
        "Rita Rest <rita@example.org>"]
    # an excluded file falls to the next specific section, never to THE REST
    assert recipients(sections, ["xen/drivers/passthrough/arm/smmu.c"]) == (
        ["iommu@lists.example.org"], ["Ivan Iommu <ivan@example.org>", "ALICE ARM <Alice@Example.org>"])
    assert recipients(sections, []) == ([], [])


def test_unique_is_case_insensitive_and_keeps_first():
    assert unique(["A@x", "", "b@x", "a@X", "B@x", "c"]) == ["A@x", "b@x", "c"]
