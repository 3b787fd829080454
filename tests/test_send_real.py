"""Issue 15 on the real series: the cover letter's To/Cc is what Xen's own get_maintainer.pl says,
every prerequisite-patch-id is `git patch-id --stable` of the prerequisite, and b4/git am take it."""
import re
import shutil
import subprocess

import pytest

from tests.helpers import git, porter, porter_json

SENDER = "Porter Tester <porter.tester@example.org>"


@pytest.fixture(scope="module")
def real_ws(real, tmp_path_factory):
    ws = tmp_path_factory.mktemp("real") / "ws"
    code, out = porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp",
                       "--public-url", "https://github.com/renesas-rcar/linux-bsp.git",
                       "--xen", real / "xen", "--base", "base-v2")
    assert code == 0, out
    assert porter("learn", "ipmmu_v2", "--from", "rcar-3.5.3", cwd=ws)[0] == 0
    code, out = porter("resync", "--from", "rcar-3.5.3", "--rfc", "-v", "1", "--sender", SENDER, cwd=ws)
    assert code == 0, out
    return ws


def addresses(text: str) -> set[str]:
    return {a.lower() for a in re.findall(r"[\w.+-]+@[\w.-]+", text)}


def test_cover_recipients_match_get_maintainer(real, real_ws, tmp_path):
    if not shutil.which("perl"):
        pytest.skip("perl is not installed")
    tree = tmp_path / "xen"
    subprocess.run(["git", "clone", "-q", "--shared", "--no-checkout", str(real / "xen"), str(tree)], check=True)
    git(tree, "checkout", "-q", "--detach", "base-v2")
    patches = sorted((real_ws / "series/ipmmu-vmsa/v1").glob("00*.patch"))
    proc = subprocess.run(["perl", "scripts/get_maintainer.pl", "--no-git", "--no-rolestats",
                           *map(str, patches[1:])], cwd=tree, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    expected = addresses(proc.stdout)
    assert expected, proc.stdout
    head = patches[0].read_text().split("\n\n", 1)[0]
    to_cc = "\n".join(line for line in re.findall(r"^(?:To|Cc): .*(?:\n[ \t].*)*", head, re.M))
    assert addresses(to_cc) == expected


def test_prerequisite_ids_match_git_patch_id(real, real_ws):
    cover = (real_ws / "series/ipmmu-vmsa/v1/0000-cover-letter.patch").read_text()
    base = re.search(r"^base-commit: ([0-9a-f]{40})$", cover, re.M).group(1)
    ids = re.findall(r"^prerequisite-patch-id: ([0-9a-f]{40})$", cover, re.M)
    commits = git(real / "xen", "rev-list", "--reverse", "--no-merges", f"{base}..base-v2").split()
    assert ids and len(ids) == len(commits)
    for sha, pid in zip(commits, ids):
        diff = subprocess.run(["git", "-C", str(real / "xen"), "show", "--format=", sha], capture_output=True,
                              check=True).stdout
        out = subprocess.run(["git", "-C", str(real / "xen"), "patch-id", "--stable"], input=diff,
                             capture_output=True, check=True).stdout.decode().split()
        assert out[0] == pid, sha
    # the cover letter lists the same prerequisites by id
    for sha in commits:
        assert f"  {sha[:12]} " in cover


def test_real_series_goes_out_as_sent(real_ws):
    cover = (real_ws / "series/ipmmu-vmsa/v1/0000-cover-letter.patch").read_text()
    assert re.search(r"^Subject: \[RFC PATCH v1 0/7\] ", cover, re.M)
    assert f"From: {SENDER}" in cover
    assert "/work/" not in cover and "Upstream: https://github.com/renesas-rcar/linux-bsp.git tag rcar-3.5.3" in cover
    code, doc = porter_json("check", cwd=real_ws)
    assert code == 0, doc
    code, doc = porter_json("export", cwd=real_ws)
    assert code == 0 and doc["patches"] == 7, doc
