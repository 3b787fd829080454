"""Text from a hand port or an upstream tree never becomes template syntax, mail headers or live C."""
from __future__ import annotations

import re

from tests import minirepos
from tests.helpers import git, porter

EVIL_GLUE = "obj-$(CONFIG_FOO) += foo.o # {% endraw %}{{ 7*7 }}{% raw %} {{ cycler }} {# c #} ${X}\n"


def test_learned_build_glue_is_reproduced_literally(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    git(xen, "checkout", "-q", "port")
    git(xen, "checkout", "-q", "-b", "evil")
    mk = xen / "xen/drivers/passthrough/arm/Makefile"
    mk.write_text(mk.read_text() + EVIL_GLUE)
    minirepos.commit(xen, "iommu/arm: more glue\n\nSigned-off-by: Tess Tester <tess@example.org>", 9)
    git(xen, "checkout", "-q", "base")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base", "--public-url", "https://example.org/foo.git")[0] == 0
    code, out = porter("learn", "evil", "--from", "t1", "--paths", "xen/drivers/passthrough/arm/Makefile", cwd=ws)
    assert code == 0, out
    code, out = porter("resync", "--from", "t1", cwd=ws)
    assert code == 0, out
    patch = next((ws / "series/foo/v1").glob("*more-glue.patch")).read_text()
    assert "+" + EVIL_GLUE in patch
    assert "# 49" not in patch


def test_an_upstream_subject_with_a_comment_terminator_stays_in_the_comment(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    git(up, "checkout", "-q", "t2")
    (up / "drivers/iommu/foo.c").write_bytes(minirepos.DRIVER_T2 + b"\n")
    minirepos.commit(up, "foo: tidy */ int pwned = 1; /* more", 10)
    out = tmp_path / "out.c"
    code, text = porter("port", up / "drivers/iommu/foo.c", "-o", out, "--xen", xen, "--ref", "base",
                        "--tree", "https://x.org/a */ int pwned2 = 2; /*")
    assert code in (0, 1), text
    ported = out.read_text()
    header = ported[:ported.index("*/") + 2]
    assert "int pwned = 1" in header and "int pwned2 = 2" in header     # kept, as comment text
    assert "*/ int pwned" not in ported and "/* more" not in header[2:]


def test_a_cover_title_with_control_characters_makes_one_subject_header(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base", "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    cover = ws / "series/foo/cover.txt"
    cover.write_text("Add foo\x1b[2J\x0bBcc: evil@example.org\n\nPurpose.\n")
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    letter = (ws / "series/foo/v1/0000-cover-letter.patch").read_text()
    headers = letter.split("\n\n", 1)[0]
    assert not re.search(r"^Bcc:", headers, re.M)
    assert "Subject: [PATCH 0/4] Add foo [2J Bcc: evil@example.org" in headers
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", headers)
