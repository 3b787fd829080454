"""How the Xen index reads headers: what one header gives, the same on every core as on one, and
headers read for one ref kept for the next."""
import os
import re
import subprocess
import sys
from pathlib import Path

import hypothesis
import orjson
import pytest

from porter import cparse
from porter.linux_to_xen import symbols, xen_index, xenindex

FIX = Path(__file__).parent / "fixtures" / "linux_to_xen"
sys.path.insert(0, str(FIX))
from fakexen import ENV, make_xen  # noqa: E402

HEADER = b"""\
#ifndef MADE_H
#define MADE_H
/* make_reader(in_comment, "c"); */
make_reader(read_top, "b", uint8_t);
#ifdef CONFIG_SOMETHING
make_reader(read_in_ifdef, "h", uint16_t);
#else
make_writer(write_in_else, "h");
#endif
#if 0
make_reader(read_in_if_zero, "w");
#endif
static inline int helper(int v)
{
    make_reader(not_at_top, "x");
    v = compute(not_a_statement_call);
    return v;
}
#define SLOT(n) slot_##n
struct holder { struct inner *in; int count; };
typedef struct holder holder_t;
#include <xen/lib.h>
#include "local.h"
#endif
"""


def test_a_header_gives_what_top_level_macro_invocations_name_and_no_more():
    names, fields, nonname, incs, table = xenindex._read_header(HEADER)
    # the identifiers a top-level invocation is given (even under #if 0: the index reads every
    # branch) are names; arguments of calls in a function, or in a comment, are not
    assert names == {"MADE_H", "SLOT", "n", "helper", "v", "holder", "holder_t", "read_top", "uint8_t",
                     "read_in_ifdef", "uint16_t", "write_in_else", "read_in_if_zero"}
    assert fields == {"in", "count"}
    assert nonname == {"SLOT": [0]}
    assert incs == [("<", "xen/lib.h"), ('"', "local.h")]
    assert table.members == {"holder": {"struct", "inner", "in", "int", "count"}}
    assert table.member_types["holder"] == {"in": "inner"}
    assert table.typedefs == {"holder_t": "holder"}



def test_top_level_of_a_header_whose_whole_parse_is_an_error_is_its_root_s_children():
    # macro lines without `;` under an unclosed #if: tree-sitter makes the root itself an ERROR
    src = b"#if defined(HAVE_VEC)\n\tJUMP(\tjnz,\t2, back)\n\tOP2(\tadd\tv5, v2)\n" \
          b"\tOPS(\tswap\tv2, v0, 1, 0, 3, 2)\n\tOPS(\tswap\tv3, v1, 1, 0, 3, 2)\n"
    assert cparse.parse(src).tree.root_node.type == "ERROR"
    assert {"jnz", "back"} <= xenindex._read_header(src)[0]

def _sources() -> list[bytes]:
    """Enough headers for the index to read them on every core: the fixture's, each with a twist."""
    base = sorted((FIX / "xen" / "xen" / "include").rglob("*.h"))
    return [p.read_bytes() + b"\n#define TWIST_%d %d\nmake_reader(made_%d, \"b\");\n" % (i, i, i)
            for i in range(3) for p in base] + [HEADER] * 60


@pytest.mark.parametrize("cores", [2, 3])
def test_headers_read_on_every_core_read_as_on_one(monkeypatch, cores):
    sources = _sources()
    assert len(sources) >= 64
    monkeypatch.setattr(xenindex.os, "cpu_count", lambda: cores)
    forked = []
    fork = xenindex.os.fork
    monkeypatch.setattr(xenindex.os, "fork", lambda: forked.append(1) or fork())
    parallel = xenindex._readings(sources)
    assert len(forked) == cores - 1
    assert parallel == [xenindex._reading(s) for s in sources]
    assert [xenindex._from_reading(orjson.loads(d)) for d in parallel[-2:]] == \
        [xenindex._read_header(HEADER)] * 2


def test_the_share_of_a_core_that_fails_is_read_by_the_others(monkeypatch):
    sources = _sources()
    parent, real = os.getpid(), xenindex._reading
    here: list[bytes] = []

    def reading(src):
        if os.getpid() != parent:
            raise RuntimeError("a child that fails")
        here.append(src)
        return real(src)
    monkeypatch.setattr(xenindex.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(xenindex, "_reading", reading)
    assert xenindex._readings(sources) == [real(s) for s in sources]
    assert len(here) == len(sources)      # the child sent nothing: all of it was read here


def test_headers_are_read_here_when_no_process_can_be_made(monkeypatch):
    sources = _sources()

    def fork():
        raise OSError("no more processes")
    monkeypatch.setattr(xenindex.os, "cpu_count", lambda: 4)
    monkeypatch.setattr(xenindex.os, "fork", fork)
    assert xenindex._readings(sources) == [xenindex._reading(s) for s in sources]


@pytest.fixture()
def xen_two_refs(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    xenindex._MEMO.clear()
    repo = make_xen(tmp_path / "xen")
    lib = repo / "xen" / "include" / "xen" / "lib.h"
    lib.write_bytes(lib.read_bytes() + b"\n#define ADDED_IN_NEXT 1\n")
    for args in (["checkout", "-q", "-b", "next"], ["commit", "-q", "-am", "next"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=ENV)
    return repo


def test_a_new_ref_reads_only_the_headers_no_earlier_build_kept(xen_two_refs, tmp_path, monkeypatch):
    fresh = xen_index(xen_two_refs, "next", tmp_path / "fresh")
    xenindex._MEMO.clear()
    xen_index(xen_two_refs, "base", tmp_path / "kept")
    xenindex._MEMO.clear()
    read: list[bytes] = []
    real = xenindex._reading
    monkeypatch.setattr(xenindex, "_reading", lambda src: read.append(src) or real(src))
    again = xen_index(xen_two_refs, "next", tmp_path / "kept")
    assert len(read) == 1 and b"ADDED_IN_NEXT" in read[0]
    assert again.defines("ADDED_IN_NEXT") and not xen_index(xen_two_refs, "base", tmp_path / "kept").defines("ADDED_IN_NEXT")
    for key in ("names", "fields", "kconfig", "headers", "kconfig_off", "nonname_params", "header_names",
                "header_includes"):
        assert getattr(again, key) == getattr(fresh, key), key
    assert again.structs.to_json() == fresh.structs.to_json()
    # what is kept is read, not recomputed: a third build in the same cache reads no header
    for f in (tmp_path / "kept").glob("xen-*.json"):
        f.unlink()
    xenindex._MEMO.clear()
    read.clear()
    assert xen_index(xen_two_refs, "next", tmp_path / "kept").header_names == fresh.header_names
    assert read == []


_PIECES = [b"#", b" ", b"\t", b"\n", b"include", b"define", b"<", b">", b'"', b"a", b"X_1", b"/* c */", b"x = "]


@hypothesis.settings(max_examples=300, deadline=None)
@hypothesis.given(hypothesis.strategies.lists(hypothesis.strategies.sampled_from(_PIECES), max_size=40))
def test_directives_found_by_their_hash_are_those_found_at_every_line_start(pieces):
    text = b"".join(pieces)
    for pattern in (xenindex._INCLUDE, xenindex._DEFINE):
        at_line_start = re.compile(rb"^[ \t]*" + pattern.pattern, re.M)
        assert [(line, m.groups()) for line, m in symbols.line_directives(pattern, text)] == \
            [(m.start(), m.groups()) for m in at_line_start.finditer(text)]


def test_an_include_not_first_on_its_line_hides_no_include_after_it():
    text = b'x = 1; #include <a\n#include "b"\n  # include <c> #include <d>\n'
    assert [m.groups() for _, m in symbols.line_directives(xenindex._INCLUDE, text)] == [(b'"', b"b"), (b"<", b"c")]


@pytest.mark.parametrize("kept", [b"{not json", b'{"0000": {"names": []}}', b"[1, 2]"])
def test_a_broken_file_of_kept_readings_costs_a_reading_not_a_wrong_index(xen_two_refs, tmp_path, kept):
    fresh = xen_index(xen_two_refs, "base", tmp_path / "fresh")
    xenindex._MEMO.clear()
    [pack] = (tmp_path / "fresh").glob("headers-*/*.json")
    sha = next(iter(orjson.loads(pack.read_bytes())))
    pack.write_bytes(kept.replace(b"0000", sha.encode()))
    for f in (tmp_path / "fresh").glob("xen-*.json"):
        f.unlink()
    again = xen_index(xen_two_refs, "base", tmp_path / "fresh")
    assert again.header_names == fresh.header_names and again.names == fresh.names
    assert again.structs.to_json() == fresh.structs.to_json()


def test_a_broken_index_file_is_built_again(xen_two_refs, tmp_path):
    fresh = xen_index(xen_two_refs, "base", tmp_path / "c")
    xenindex._MEMO.clear()
    [path] = (tmp_path / "c").glob("xen-*.json")
    path.write_bytes(b"[1, 2]")
    assert xen_index(xen_two_refs, "base", tmp_path / "c").header_names == fresh.header_names
    assert orjson.loads(path.read_bytes())["header_names"] == fresh.header_names
