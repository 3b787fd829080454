"""Untrusted code cannot leave its box: a malicious template renders nothing dangerous, and a
malicious ported source that porter validate builds and runs cannot write outside a temp dir,
keep a process alive, or compile forever."""
import os
import shutil
import time
from pathlib import Path

import pytest

from porter.errors import BadInput
from porter.series import render_template
from porter import sandbox
from porter.validate import validate_sources
from porter.demo import port_sources

EVIL_TEMPLATES = [
    "{{ cycler.__init__.__globals__.os.system('touch MARK') }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ joiner.__init__.__globals__['os'].open('MARK', 65) }}",
    "{% include '/etc/passwd' %}",
    "{% include '../../outside.txt' %}",
    "{% import 'MARK' as x %}",
    "{{ 1/0 }}",
    "{{ 'x' * 100000000 }}",
    "{{ 9 ** 999999 }}",
    "{% for i in range(10**9) %}{% endfor %}",
    "{{ undefined_name }}",
    "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}",
    "{{ lipsum.__globals__ }}",
]


@pytest.mark.parametrize("text", EVIL_TEMPLATES)
def test_a_malicious_template_is_one_line_of_bad_input_and_creates_nothing(tmp_path, text, monkeypatch):
    folder = tmp_path / "step"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("secret\n")
    os.symlink(tmp_path / "outside.txt", folder / "link.txt")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput) as err:
        render_template(text, {"name": "x"}, "steps/01/Makefile.j2", folder)
    assert "\n" not in str(err.value) and str(err.value).startswith("steps/01/Makefile.j2")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["outside.txt", "step"]


def test_a_template_cannot_include_through_a_symlink_leaving_its_folder(tmp_path):
    folder = tmp_path / "step"
    folder.mkdir()
    (tmp_path / "outside.txt").write_text("secret\n")
    os.symlink(tmp_path / "outside.txt", folder / "link.txt")
    (folder / "inner.txt").write_text("inner\n")
    assert render_template("{% include 'inner.txt' %}", {}, "w", folder) == "inner\n"
    with pytest.raises(BadInput, match="outside"):
        render_template("{% include 'link.txt' %}", {}, "w", folder)


EVIL_C = r"""
#include <stdlib.h>
#include <unistd.h>
#include <stdio.h>
__attribute__((constructor)) static void porter_evil(void)
{
    system("touch @OUT@/by-system");
    FILE *f = fopen("@OUT@/by-fopen", "w");
    if (f) { fputs("x", f); fclose(f); }
    f = fopen("relative-file", "w");
    if (f) { fputs("x", f); fclose(f); }
    if (fork() == 0) {
        setsid();
        if (fork() == 0) {
            FILE *p = fopen("@OUT@/pid", "w");
            if (p) { fprintf(p, "%d\n", getpid()); fclose(p); }
            sleep(600);
        }
        _exit(0);
    }
}
"""


@pytest.fixture(scope="module")
def demo_port(tmp_path_factory) -> Path:
    return port_sources(tmp_path_factory.mktemp("demo"))


def _evil_port(demo_port: Path, dest: Path, outside: Path) -> Path:
    shutil.copytree(demo_port, dest)
    f = next(dest.rglob("io-pgtable-arm.c"))
    f.write_text(f.read_text() + EVIL_C.replace("@OUT@", str(outside)))
    return dest


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def test_bwrap_a_malicious_source_writes_nothing_outside_and_leaves_no_process(demo_port, tmp_path, have_cc,
                                                                               monkeypatch):
    if not sandbox.bwrap_works():
        pytest.skip("bubblewrap not available")
    monkeypatch.setenv("PORTER_SANDBOX", "bwrap")
    outside = tmp_path / "outside"
    outside.mkdir()
    src = _evil_port(demo_port, tmp_path / "port", outside)
    monkeypatch.chdir(tmp_path)
    doc = validate_sources(src, cache=tmp_path / "cache")
    assert doc["scenarios"]
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "relative-file").exists()


def test_process_sandbox_runs_in_an_empty_dir_and_kills_what_the_driver_started(demo_port, tmp_path, have_cc,
                                                                                monkeypatch):
    monkeypatch.setenv("PORTER_SANDBOX", "process")
    monkeypatch.setenv("PORTER_SECRET", "do-not-leak")
    outside = tmp_path / "outside"
    outside.mkdir()
    src = _evil_port(demo_port, tmp_path / "port", outside)
    monkeypatch.chdir(tmp_path)
    doc = validate_sources(src, cache=tmp_path / "cache")
    assert doc["scenarios"]
    assert not (tmp_path / "relative-file").exists()        # its working directory was a temp dir
    deadline = time.monotonic() + 5
    pids = []
    while time.monotonic() < deadline:
        pids = [int(line) for p in [outside / "pid"] if p.exists() for line in p.read_text().split()]
        if pids and not any(_alive(pid) for pid in pids):
            break
        time.sleep(0.1)
    assert pids, "the grandchild never ran"
    assert not any(_alive(pid) for pid in pids), "a process the driver started outlived validate"


def test_a_compile_that_takes_too_long_is_stopped(demo_port, tmp_path, have_cc, monkeypatch):
    monkeypatch.setenv("PORTER_COMPILE_TIMEOUT", "3")
    src = tmp_path / "port"
    shutil.copytree(demo_port, src)
    f = next(src.rglob("io-pgtable-arm.c"))
    bomb = "".join(f"#define X{i + 1} X{i} X{i} X{i} X{i}\n" for i in range(40))
    f.write_text(f.read_text() + "#define X0 1+\n" + bomb + "static int bomb = X40 0;\n")
    start = time.monotonic()
    doc = validate_sources(src, cache=tmp_path / "cache")
    assert time.monotonic() - start < 30
    assert not doc["ok"] and "timed out" in doc["error"]


def test_the_environment_is_scrubbed():
    env = sandbox.clean_env("/tmp/x")
    assert set(env) == {"PATH", "HOME", "TMPDIR", "LC_ALL", "LANG"}


@pytest.mark.parametrize("mode", ["process", "bwrap"])
def test_a_driver_crash_is_reported_as_a_crash_in_every_mode(demo_port, tmp_path, have_cc, monkeypatch, mode):
    if mode == "bwrap" and not sandbox.bwrap_works():
        pytest.skip("bubblewrap not available")
    monkeypatch.setenv("PORTER_SANDBOX", mode)
    src = tmp_path / "port"
    shutil.copytree(demo_port, src)
    f = next(src.rglob("io-pgtable-arm.c"))
    f.write_text(f.read_text() + "\n#include <signal.h>\n__attribute__((constructor)) static void boom(void) "
                                 "{ raise(SIGSEGV); }\n")
    doc = validate_sources(src, cache=tmp_path / "cache")
    assert not doc["ok"]
    assert any("crashed (SIGSEGV)" in s["detail"] for s in doc["scenarios"]), doc["scenarios"]


@pytest.mark.parametrize("mode", ["process", "bwrap"])
def test_what_the_driver_prints_does_not_reach_porters_output(demo_port, tmp_path, have_cc, mode):
    import json
    import subprocess
    import sys
    if mode == "bwrap" and not sandbox.bwrap_works():
        pytest.skip("bubblewrap not available")
    src = tmp_path / "port"
    shutil.copytree(demo_port, src)
    f = next(src.rglob("io-pgtable-arm.c"))
    f.write_text(f.read_text() + '\n#include <stdio.h>\n__attribute__((constructor)) static void noisy(void) '
                                 '{ printf("{ not json\\n"); fflush(stdout); fprintf(stderr, "noise\\n"); }\n')
    proc = subprocess.run([sys.executable, "-m", "porter.cli", "validate", "--source", str(src), "--sandbox", mode,
                           "--json"], capture_output=True, text=True, cwd=tmp_path,
                          env=dict(os.environ, PORTER_VALIDATE_CACHE=str(tmp_path / "cache")))
    doc = json.loads(proc.stdout)
    assert doc["ok"] and doc["sandbox"] == mode and "noise" not in proc.stderr


def test_bwrap_keeps_the_interpreter_and_porter_readable_over_its_private_tmp():
    """A venv or a clone under /tmp must stay visible: bwrap mounts an empty /tmp first."""
    import sys

    argv = sandbox.wrap(["x"], "/tmp/work", sandbox="bwrap")
    tmpfs = argv.index("/tmp") - 1
    assert argv[tmpfs] == "--tmpfs"
    binds = [argv[i + 1] for i in range(tmpfs, len(argv) - 1) if argv[i] in ("--ro-bind", "--ro-bind-try")]
    porter_root = str(Path(sandbox.__file__).resolve().parents[1])
    for path in (sys.prefix, sys.base_prefix, porter_root):
        assert sandbox.system_under(path) or any(path == b or path.startswith(b + "/") for b in binds), path


def test_bwrap_shows_the_system_and_the_work_folder_only(tmp_path, monkeypatch):
    """Under bwrap, the work folder is writable, the system readable, and $HOME, the caller's
    folders and the rest of the file system are not there at all."""
    import subprocess
    if not sandbox.bwrap_works():
        pytest.skip("bubblewrap not available")
    work, secret = tmp_path / "work", tmp_path / "secret.txt"
    work.mkdir()
    secret.write_text("secret\n")
    home = Path(os.path.expanduser("~"))
    shown = sandbox.wrap(["x"], "/", sandbox="bwrap")
    private = [p for p in sorted(home.iterdir()) if str(p) not in shown and not any(
        a.startswith(str(p) + "/") for a in shown)][:1] if home.is_dir() else []
    script = (f"cat {secret} || echo hidden; touch {tmp_path}/escaped; touch made-here; "
              + "".join(f"test -e {p} || echo no-home; " for p in private)
              + "touch /usr/x 2>/dev/null || echo usr-ro; cc --version >/dev/null && echo cc-ok")
    proc = subprocess.run(sandbox.wrap(["/bin/sh", "-c", script], str(work), sandbox="bwrap"),
                          capture_output=True, text=True, cwd=work, env=sandbox.clean_env(str(work)))
    out = proc.stdout.split()
    assert {"hidden", "usr-ro"} <= set(out) and out.count("no-home") == len(private), proc
    assert "secret" not in proc.stdout
    assert not (tmp_path / "escaped").exists() and (work / "made-here").exists()
    if shutil.which("cc"):
        assert "cc-ok" in out, proc
