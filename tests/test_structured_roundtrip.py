"""apply_file(learn_file(U, P), U, U).output == P, byte for byte, whatever U and P are."""
import random
import re
import subprocess
from pathlib import Path

import pytest

from porter.errors import BadInput
from porter.structured import FileEdits, apply_file, learn_file, segment

FIX = Path(__file__).parent / "fixtures" / "structured"


def _fixture(name: str) -> bytes:
    return (FIX / name).read_bytes()


def roundtrip(u: bytes, p: bytes, path: str = "xen/x.c") -> FileEdits:
    edits = learn_file(u, p, path)
    assert apply_file(edits, u, u, path).output == p
    data = edits.dump()
    again = FileEdits.load(data, path)
    assert again.dump() == data
    assert apply_file(again, u, u, path).output == p
    return edits


def test_units_cover_the_file():
    for name in ("old.c", "new.c", "port.c"):
        src = _fixture(name)
        units = segment(src)
        assert b"".join(u.text for u in units) == src
    kinds = {(u.kind, u.name) for u in segment(_fixture("old.c"))}
    assert ("function", "wdg_setup") in kinds and ("struct", "wdg_device") in kinds
    assert ("include", "<linux/io.h>") in kinds and ("define", "WDG_CTRL") in kinds


def test_fixture_roundtrip():
    roundtrip(_fixture("old.c"), _fixture("port.c"))
    roundtrip(_fixture("old.c"), _fixture("new.c"))
    roundtrip(_fixture("port.c"), _fixture("old.c"))


@pytest.mark.parametrize("u,p", [
    (b"", b""),
    (b"", b"int x;\n"),
    (b"int x;\n", b""),
    (b"int x;", b"int x;"),                                  # no trailing newline
    (b"int x;\n", b"int x;"),
    (b"int x;\r\nint y;\r\n", b"int x;\r\nlong y;\r\n"),    # CRLF
    (b"int \xff\xfe x;\n", b"int \xff x; \n"),              # not UTF-8, trailing blank
    (b"static int f(void) {\n\treturn )(;\n}\n", b"static int f(void) {\n\treturn )(; \n}\n"),
    (b"}}}\n#endif\n#if\n", b"#if 0\n}}}\n"),                 # nonsense for tree-sitter
    (b"a\x00b\n", b"a\x00c\n"),                              # NUL bytes
    (b"\n\n\n", b"\n\n"),
])
def test_edge_roundtrip(u, p):
    roundtrip(u, p)


def _mutate(rng: random.Random, src: bytes) -> bytes:
    units = [u.text for u in segment(src)]
    for _ in range(rng.randint(1, 6)):
        if not units:
            units.append(b"int added;\n")
            continue
        i = rng.randrange(len(units))
        op = rng.choice(["del", "dup", "swap", "wrap", "edit", "add", "crlf", "trunc"])
        if op == "del":
            units.pop(i)
        elif op == "dup":
            units.insert(i, units[i])
        elif op == "swap":
            j = rng.randrange(len(units))
            units[i], units[j] = units[j], units[i]
        elif op == "wrap":
            units[i] = b"#if 0 /* Xen: not used */\n" + units[i] + b"#endif\n"
        elif op == "edit":
            lines = units[i].splitlines(keepends=True)
            k = rng.randrange(len(lines))
            lines[k] = b"\t/* Xen: changed */ " + lines[k]
            units[i] = b"".join(lines)
        elif op == "add":
            units.insert(i, b"\nstatic int xen_%d;\n" % rng.randrange(1000))
        elif op == "crlf":
            units[i] = units[i].replace(b"\n", b"\r\n")
        elif op == "trunc":
            units[i] = units[i][: rng.randrange(len(units[i]) + 1)]
    return b"".join(units)


def test_randomized_roundtrip():
    rng = random.Random(6)
    bases = [_fixture("old.c"), _fixture("new.c"), _fixture("port.c")]
    for _ in range(60):
        u = rng.choice(bases)
        if rng.random() < 0.3:
            u = _mutate(rng, u)
        p = _mutate(rng, u)
        roundtrip(u, p)


def test_load_rejects_malformed():
    edits = learn_file(_fixture("old.c"), _fixture("port.c"), "xen/wdg.c")
    good = edits.dump().decode()
    for bad, where in [
        (good.replace("keep function wdg_read", "keep function wdg_read extra"), "line"),
        (good.replace("\n| ", "\n|x", 1), "line"),
        (good + "edit function nothing @0123456789\n", "no text"),
        (good.replace("# porter structured edits v1", "# porter structured edits v9"), "line 1"),
        ("| text first\n", "line 1"),
        (good + "keep function f\n", "@hash"),
        (good + "insert function f\n! bad \\q escape\n", "escape"),
    ]:
        with pytest.raises(BadInput, match=rf"^series/demo/wdg\.c\.edits: .*{re.escape(where)}"):
            FileEdits.load(bad.encode(), "series/demo/wdg.c.edits")
    with pytest.raises(BadInput, match="^x.edits: line 1: structured edits are not UTF-8$"):
        FileEdits.load(b"\xff\xfe", "x.edits")


def test_dump_is_readable():
    edits = learn_file(_fixture("old.c"), _fixture("port.c"), "xen/wdg.c")
    text = edits.dump().decode()
    assert "keep function wdg_read @" in text
    assert "edit function wdg_setup @" in text
    assert "| \t/* Xen: the status register is cleared by firmware */" in text
    assert "disable function wdg_resume @" in text
    assert 'delete include "<linux/module.h>" @' in text
    assert text == learn_file(_fixture("old.c"), _fixture("port.c"), "xen/wdg.c").dump().decode()


REAL_FILES = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.c", "io-pgtable.h")


def _git_show(repo, rev, path):
    r = subprocess.run(["git", "-C", str(repo), "show", f"{rev}:{path}"], capture_output=True)
    return r.stdout if r.returncode == 0 else None


@pytest.mark.parametrize("branch", ["ipmmu_ml", "ipmmu_v1", "ipmmu_v2"])
def test_real_roundtrip(real, branch):
    xen = real / "xen"
    base = "base-" + branch.split("_")[1]
    commits = subprocess.run(["git", "-C", str(xen), "rev-list", "--reverse", f"{base}..{branch}"],
                             capture_output=True, text=True, check=True).stdout.split()
    for f in REAL_FILES:
        imported = commits[0] if f == "ipmmu-vmsa.c" else commits[2]
        path = "xen/drivers/passthrough/arm/" + f
        u = _git_show(xen, imported, path)
        assert u is not None
        for c in commits[1:]:
            p = _git_show(xen, c, path)
            if p is not None:
                roundtrip(u, p, path)
