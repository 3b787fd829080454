"""Issue 15's papercuts: provenance, a wrong --from, did-you-mean, file modes, release warning, validate."""
import os
import re
import stat
import subprocess

from tests.helpers import git, porter, porter_json


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_provenance_needs_a_public_url(tmp_path, repos):
    up, xen = repos
    code, out = porter("init", tmp_path / "w", "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base")
    assert code == 2 and len(out.strip().splitlines()) == 1 and "--public-url" in out and str(up) in out
    assert not (tmp_path / "w").exists()
    code, out = porter("init", tmp_path / "w", "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                       "--public-url", str(up))
    assert code == 2 and "not a URL" in out
    # a local clone whose origin is public: that URL is what patches name
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(up), str(clone)], check=True)
    git(clone, "remote", "set-url", "origin", "https://example.org/vendor/linux.git")
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--name", "foo", "--upstream", clone, "--xen", xen, "--base", "base")
    assert code == 0, out
    assert 'public_url = "https://example.org/vendor/linux.git"' in (ws / "porter.toml").read_text()
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    text = "".join(p.read_text() for p in (ws / "series/foo/v1").iterdir())
    assert "Imported from https://example.org/vendor/linux.git tag t1:" in text
    assert str(tmp_path) not in text
    # an old workspace naming a local path: one line saying what to set, nothing written
    toml = ws / "porter.toml"
    toml.write_text(re.sub(r"public_url = .*\n", "", toml.read_text(), count=1))
    code, out = porter("resync", "--from", "t2", cwd=ws)
    assert code == 2 and len(out.strip().splitlines()) == 1 and "[upstream] public_url" in out
    assert not (ws / "series/foo/v2").exists()


def test_learn_refuses_imports_of_another_tag(tmp_path, repos):
    up, xen = repos
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/foo.git")[0] == 0
    code, out = porter("learn", "port", "--from", "t2", cwd=ws)
    assert code == 2 and len(out.strip().splitlines()) == 1, out
    assert "imports the upstream files of t1, not of t2" in out and "--from t1" in out
    assert not (ws / "series/foo/recipe.toml").exists()
    code, out = porter("learn", "prot", "--from", "t1", cwd=ws)
    assert code == 2 and "unknown ref 'prot'" in out and "(did you mean port?)" in out
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    code, out = porter("resync", "--from", "tt1", cwd=ws / "series")
    assert code == 2 and "(did you mean t1?)" in out


def test_files_are_0644_and_dirs_0755(tmp_path, repos):
    up, xen = repos
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    want_file, want_dir = 0o666 & ~_umask(), 0o777 & ~_umask()
    files = [ws / "porter.toml", ws / "series/foo/recipe.toml", ws / "series/foo/cover.txt",
             *(ws / "series/foo/v1").iterdir()]
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == {oct(want_file)}
    for d in (ws / "series/foo/v1", ws / "series/foo/steps"):
        assert stat.S_IMODE(d.stat().st_mode) == want_dir


def test_no_release_below_the_base_warns(tmp_path, repos):
    up, xen = repos
    ws = tmp_path / "ws"      # the upstream tree as "Xen": no "x.y.z release" in its history
    code, doc = porter_json("init", ws, "--name", "foo", "--upstream", up, "--xen", up, "--base", "t1",
                            "--public-url", "https://example.org/foo.git")
    assert code == 0 and len(doc["warnings"]) == 1, doc
    assert "no Xen release found" in doc["warnings"][0] and "--release" in doc["warnings"][0]
    code, out = porter("status", cwd=ws)
    assert code == 0 and "warning: no Xen release found" in out
    ws2 = tmp_path / "ws2"     # with the release named, no warning
    code, doc = porter_json("init", ws2, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                            "--public-url", "https://example.org/foo.git")
    assert code == 0 and doc["warnings"] == []


def test_validate_keeps_the_applied_revision_on_failure(tmp_path, have_cc):
    code, doc = porter_json("demo", tmp_path / "demo")
    assert code == 0
    ws = tmp_path / "demo/ws"
    rev = ws / "series/ipmmu-vmsa/v1"
    broken = False
    for p in sorted(rev.glob("00*.patch")):
        text = p.read_text()
        for mark in "+ ":        # the line as added, and as context of later patches
            if f"\n{mark}\treg |= IMCTR_FLUSH;\n" in text:
                text = text.replace(f"\n{mark}\treg |= IMCTR_FLUSH;\n", f"\n{mark}\treg |= 0;\n")
                broken = True
        p.write_text(text)
    assert broken
    code, out = porter("validate", "v1", cwd=ws / "series")
    assert code == 1 and "FAIL" in out
    kept = re.search(r"kept the revision applied on the base in (\S+) for inspection", out)
    assert kept and os.path.isdir(kept.group(1)) and kept.group(1).startswith(str(ws / ".porter"))
    assert list(__import__("pathlib").Path(kept.group(1)).rglob("ipmmu-vmsa.c"))
