"""Large inputs of the shapes that made the rule engine and lint quadratic: one function of tens of
thousands of statements, the same on a few long lines, one macro continued over tens of thousands
of lines, and a driver's worth of structs and member accesses repeated.  Each must complete with
every rewrite and finding counted (a quadratic pass would not finish in the suite's time; speed
itself is measured by benchmarks/large_input.py, not asserted here)."""
import sys
from pathlib import Path

import pytest

from porter.linux_to_xen import apply_rules, load_rules, xen_index, xenindex
from porter.linux_to_xen.lint import lint_sources

FIX = Path(__file__).parent / "fixtures" / "linux_to_xen"
sys.path.insert(0, str(FIX))
from fakexen import make_xen  # noqa: E402

N = 10000      # statements: about 0.6 MB of C per shape


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    root = tmp_path_factory.mktemp("large")
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
    xenindex._MEMO.clear()
    yield xen_index(make_xen(root / "xen"), "base")
    mp.undo()


def statements(n: int, sep: str) -> str:
    return "".join(f"\tv{i} = readl(base + {i}); pr_err(\"v %d\", v{i}); w->f{i % 7} = v{i};{sep}"
                   for i in range(n))


def function(sep: str) -> bytes:
    return ("#include <asm/io.h>\nstruct wdev { int f0, f1, f2, f3, f4, f5; };\n"
            "static void big(struct wdev *w, void *base)\n{\n" + statements(N, sep) + "}\n").encode()


@pytest.mark.parametrize("sep", ["\n", " "], ids=["lines", "one-line"])
def test_a_huge_function_is_rewritten_and_linted_whole(index, sep):
    src = function(sep)
    out = apply_rules(src, load_rules(["logging"], []), filename="big.c", known=index.macro_known)
    assert out.drift == []
    assert out.output.count(b"printk(XENLOG_ERR \"v %d\"") == N and b"pr_err" not in out.output
    found = {f["symbol"]: f for f in lint_sources({"big.c": src}, index)}
    # v0..v{N-1} are undeclared, pr_err is Linux's, f6 is no member of struct wdev; readl is Xen's
    assert "pr_err" in found and "readl" not in found
    assert found["f6"]["kind"] == "field" and "struct wdev" in found["f6"]["message"]
    assert all(f"v{i}" in found for i in range(0, N, 997))
    assert found[f"v{N - 1}"]["line"] == (4 + N if sep == "\n" else 5)


def test_a_huge_macro_body_is_linted_whole(index):
    body = "".join(f"\tv{i} = readl(base + {i}); w->f{i % 7} = v{i}; \\\n" for i in range(N))
    src = ("#include <asm/io.h>\n#define BIG(w, base) do { \\\n" + body + "} while (0)\n").encode()
    found = {f["symbol"] for f in lint_sources({"big.h": src}, index)}
    assert {f"v{i}" for i in range(N)} <= found and "readl" not in found and "base" not in found


def test_many_copies_of_a_driver_are_linted_whole(index):
    one = ("#include <asm/io.h>\n#include <linux/io.h>\n"
           "struct d{n} {{ int a; }};\n"
           "static int d{n}_get(struct d{n} *d) {{ return d->a + d->b + readl(0); }}\n")
    src = "".join(one.format(n=n) for n in range(N // 2)).encode()
    found = lint_sources({"many.c": src}, index, every_use=True)
    inc = [f for f in found if f["kind"] == "include"]
    assert len(inc) == 1 and len(inc[0]["uses"]) == N // 2      # each copy of the include is a use
    missing = [f for f in found if f["symbol"] == "b"]
    assert len(missing) == 1 and missing[0]["kind"] == "field" and len(missing[0]["uses"]) == N // 2
