"""The lazy command group: every verb is registered, start-up loads no verb and no heavy library."""
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import porter
from porter.cli.group import VERBS

CLI = Path(porter.__file__).parent / "cli"


def test_every_verb_module_is_in_the_lazy_group():
    declared = {}
    for path in CLI.glob("*.py"):
        for name in re.findall(r'@porter_command\("([^"]+)"', path.read_text()):
            declared[name] = path.stem
    assert declared == VERBS


def test_version_loads_no_verb_and_no_heavy_library():
    code = ("import sys\nfrom porter.cli import main\n"
            "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    assert lines[0] == f"porter, version {porter.__version__}"
    loaded = set(lines[-1].split())
    heavy = {"jinja2", "rich", "tree_sitter", "git", "unidiff", "porter.workspace"}
    assert not heavy & loaded
    assert not {f"porter.cli.{m}" for m in VERBS.values()} & loaded


def test_version_is_the_package_version():
    assert porter.__version__ == importlib.metadata.version("xen-porter")


def test_a_verb_loads_on_demand(tmp_path):
    out = subprocess.run([sys.executable, "-m", "porter.cli", "status", "--help"], capture_output=True,
                         text=True, cwd=tmp_path)
    assert out.returncode == 0 and "Usage: porter status" in out.stdout


def test_the_executable_answers_version_without_click_as_the_group_does():
    code = ("import sys\nsys.argv = ['porter', '--version']\nfrom porter.cli import run\nrun()\n"
            "print(' '.join(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    first, loaded = out.splitlines()[0], set(out.splitlines()[-1].split())
    group = subprocess.run([sys.executable, "-c", "from porter.cli import main\nmain(['--version'])"],
                           capture_output=True, text=True).stdout
    assert first + "\n" == group
    assert "click" not in loaded
