"""Templates kept compiled in the user's cache (jinja2's bytecode cache): same bytes as a fresh
compile, a changed template is compiled again, and nothing is kept for a workspace."""
import os
import subprocess
import sys
from pathlib import Path

from porter import templating
from porter.linux_to_xen import engine
from porter.linux_to_xen.rules import TEMPLATE_DIR, Anchor, Rule

CONTEXT = {"upstream_path": "drivers/x/a.c", "tree": "https://example.org/linux.git", "tag": "v1",
           "commit": "0123abcd", "subject": "a: */ fix", "packs": ["logging", "io"], "xen": "4.19"}


def _render(folder: Path | None, dirs, name: str, **ctx) -> str:
    env = templating.confined(dirs, keep_trailing_newline=False, compiled=folder)
    return templating.render(lambda: env.get_template(name), ctx, name)


def _entries(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.cache")) if folder.exists() else []


def test_a_cached_render_equals_a_fresh_one(tmp_path):
    cache = tmp_path / "compiled"
    fresh = _render(None, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT)
    first = _render(cache, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT)
    assert len(_entries(cache)) == 1
    stamp = _entries(cache)[0].stat().st_mtime_ns
    again = _render(cache, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT)      # loaded, not compiled
    assert fresh == first == again and "a: * / fix" in again
    assert _entries(cache)[0].stat().st_mtime_ns == stamp


def test_the_cache_is_what_is_loaded_and_a_changed_template_misses(tmp_path):
    cache, dirs = tmp_path / "compiled", tmp_path / "t"
    dirs.mkdir()
    (dirs / "x.j2").write_text("one {{ v }}\n")
    assert _render(cache, [dirs], "x.j2", v=1) == "one 1"
    (entry,) = _entries(cache)
    os.utime(entry, ns=(1, 1))
    (dirs / "x.j2").write_text("two {{ v }}\n")
    assert _render(cache, [dirs], "x.j2", v=2) == "two 2"          # source changed: compiled again
    (entry,) = _entries(cache)
    assert entry.stat().st_mtime_ns != 1
    before = entry.read_bytes()
    assert _render(cache, [dirs], "x.j2", v=3) == "two 3" and entry.read_bytes() == before


def test_environments_that_compile_differently_do_not_share_entries(tmp_path):
    cache, dirs = tmp_path / "compiled", tmp_path / "t"
    dirs.mkdir()
    (dirs / "x.j2").write_text("{{ v }}\n")
    keep = templating.confined([dirs], keep_trailing_newline=True, compiled=cache)
    strip = templating.confined([dirs], keep_trailing_newline=False, compiled=cache)
    assert keep.get_template("x.j2").render(v=1) == "1\n"
    assert strip.get_template("x.j2").render(v=1) == "1"
    assert len(_entries(cache)) == 2


def test_an_unwritable_cache_only_costs_time(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    assert _render(blocker / "sub", [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT) == \
        _render(None, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT)


def test_an_unreadable_entry_is_compiled_again(tmp_path):
    cache = tmp_path / "compiled"
    fresh = _render(None, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT)
    _render(cache, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT)
    (entry,) = _entries(cache)
    whole = entry.read_bytes()
    for broken in (whole[:len(whole) // 2], whole[:12], b"", b"\x00" * 40):
        entry.write_bytes(broken)
        assert _render(cache, [TEMPLATE_DIR], "provenance.c.j2", **CONTEXT) == fresh
        assert entry.read_bytes() == whole


def test_templates_are_kept_compiled_only_outside_a_workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "porter.toml").write_text("[series]\nname='x'\n")
    rule = Rule("porter.provenance", "insert_template", Anchor("file", where="start"),
                template="provenance.c.j2", vars=CONTEXT)
    plain = engine.apply_rules(b"int x;\n", [rule], filename="a.c").output
    with engine.templates_compiled_for(ws):
        assert engine.apply_rules(b"int x;\n", [rule], filename="a.c").output == plain
    assert not (tmp_path / "xdg").exists()
    with engine.templates_compiled_for(tmp_path):
        assert engine.apply_rules(b"int x;\n", [rule], filename="a.c").output == plain
    assert len(_entries(tmp_path / "xdg" / "porter" / "templates")) == 1
    assert engine._compiled["in"] is None


def test_port_from_the_command_line_is_the_same_with_a_warm_cache(tmp_path):
    src = tmp_path / "drv.c"
    src.write_text("#include <linux/io.h>\nstatic int f(void)\n{\n\treturn readl(0);\n}\n")
    xen = tmp_path / "xen"
    subprocess.run(["git", "init", "-q", str(xen)], check=True)
    (xen / "xen" / "include" / "xen").mkdir(parents=True)
    (xen / "xen" / "include" / "xen" / "lib.h").write_text("int printk(const char *fmt, ...);\n")
    subprocess.run(["git", "-C", str(xen), "add", "."], check=True)
    subprocess.run(["git", "-C", str(xen), "-c", "user.name=t", "-c", "user.email=t@example.org",
                    "commit", "-q", "-m", "x"], check=True)
    env = dict(os.environ, XDG_CACHE_HOME=str(tmp_path / "xdg"))
    porter = str(Path(sys.executable).parent / "porter")
    outs = []
    for n in range(2):
        subprocess.run([porter, "port", str(src), "-o", f"out{n}.c", "--xen", str(xen), "--ref", "HEAD"],
                       cwd=tmp_path, env=env, check=True, capture_output=True)
        outs.append((tmp_path / f"out{n}.c").read_bytes())
        assert len(_entries(tmp_path / "xdg" / "porter" / "templates")) >= 1
    assert outs[0] == outs[1] and outs[0].startswith(b"/*\n * Xen port of Linux drv.c\n")
