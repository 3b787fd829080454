"""series.py's parts on their own: where provenance lands in a message, retagging, carried patches."""
import subprocess

import pytest

from porter.objects import ObjectStore
from porter.series import WorkTree, _patch_paths, retag, with_provenance
from tests import minirepos
from tests.helpers import git

BLOCK = "Imported from https://example.org/u.git tag v2:\n  drivers/x.c: commit 0123456789ab (\"x: y\")"


@pytest.mark.parametrize("message,expected", [
    ("iommu: add x\n\nBody text.\n\nSigned-off-by: A <a@x>\n",
     f"iommu: add x\n\nBody text.\n\n{BLOCK}\n\nSigned-off-by: A <a@x>\n"),
    ("iommu: add x\n\nSigned-off-by: A <a@x>\nReviewed-by: B <b@x>\nLink: https://x/1\n\n\n",
     f"iommu: add x\n\n{BLOCK}\n\nSigned-off-by: A <a@x>\nReviewed-by: B <b@x>\nLink: https://x/1\n"),
    # the last paragraph is not all trailers: the block goes last
    ("iommu: add x\n\nSigned-off-by: A <a@x>\nand some words\n",
     f"iommu: add x\n\nSigned-off-by: A <a@x>\nand some words\n\n{BLOCK}\n"),
    ("iommu: add x\n\nThe fix: it works.\n",
     f"iommu: add x\n\nThe fix: it works.\n\n{BLOCK}\n"),
    # a subject alone is never taken for trailers, even when it reads like one
    ("iommu: add x\n", f"iommu: add x\n\n{BLOCK}\n"),
])
def test_provenance_lands_before_the_trailers(message, expected):
    assert with_provenance(message, BLOCK) == expected


def test_retag_replaces_the_tag_as_a_whole_token():
    msg = "Taken from tag demo-1.0. See demo-1.0.1, xdemo-1.0, demo-1.0-rc and (demo-1.0)."
    assert retag(msg, "demo-1.0", "demo-1.2") == \
        "Taken from tag demo-1.2. See demo-1.0.1, xdemo-1.0, demo-1.0-rc and (demo-1.2)."
    assert retag(msg, "demo-1.0", "demo-1.0") is msg
    assert retag("tag v1\\2", "v1\\2", "v3") == "tag v3"             # regex characters in a tag


TWO_FILES = b"""diff --git a/xen/d/a.c b/xen/d/a.c
--- a/xen/d/a.c
+++ b/xen/d/a.c
@@ -1 +1 @@
-int a;
+int a2;
diff --git a/xen/d/b.c b/xen/d/b.c
--- a/xen/d/b.c
+++ b/xen/d/b.c
@@ -1 +1,2 @@
 int b;
+int b2;
diff --git a/xen/d/c.c b/xen/d/c.c
new file mode 100644
--- /dev/null
+++ b/xen/d/c.c
@@ -0,0 +1 @@
+int c;
"""


@pytest.fixture
def repo(tmp_path):
    repo = tmp_path / "x"
    git(tmp_path, "init", "-q", "-b", "master", str(repo))
    minirepos.write(repo, "xen/d/a.c", b"int a;\n")
    minirepos.write(repo, "xen/d/b.c", b"int b;\n")
    minirepos.write(repo, "xen/e.c", b"int e;\n")
    minirepos.commit(repo, "base", 1, tz="-0700")
    return repo


def test_patch_paths_lists_each_file_once():
    assert _patch_paths(TWO_FILES) == ["xen/d/a.c", "xen/d/b.c", "xen/d/c.c"]


def test_a_carried_patch_touching_two_files_in_one_directory(repo):
    store = ObjectStore(repo)
    try:
        base = git(repo, "rev-parse", "HEAD")
        tree = WorkTree(store, repo, base)
        assert tree.apply(TWO_FILES) == []
        assert (tree.read("xen/d/a.c"), tree.read("xen/d/b.c"), tree.read("xen/d/c.c")) == \
            (b"int a2;\n", b"int b;\nint b2;\n", b"int c;\n")
        sha = tree.commit(base, "carry\n", "Tess Tester <tess@example.org>", "1600000000 -0700")
    finally:
        store.close()
    assert git(repo, "show", f"{sha}:xen/d/b.c") == "int b;\nint b2;"
    assert git(repo, "show", f"{sha}:xen/e.c") == "int e;"
    assert git(repo, "diff", "--name-only", base, sha).split() == ["xen/d/a.c", "xen/d/b.c", "xen/d/c.c"]
    assert git(repo, "log", "-1", "--format=%an <%ae>|%aD|%cD", sha) == \
        "Tess Tester <tess@example.org>|Sun, 13 Sep 2020 05:26:40 -0700|Sun, 13 Sep 2020 05:26:40 -0700"


def test_a_carried_patch_that_does_not_apply_says_why(repo):
    store = ObjectStore(repo)
    try:
        tree = WorkTree(store, repo, git(repo, "rev-parse", "HEAD"))
        tree.write("xen/d/b.c", b"something else\n")
        [error] = tree.apply(TWO_FILES)
        untouched = tree.read("xen/d/a.c"), tree.read("xen/d/c.c")
    finally:
        store.close()
    # git's own reasons, not its first output line
    assert "patch failed: xen/d/b.c:1" in error["reason"] and "xen/d/b.c: patch does not apply" in error["reason"]
    assert untouched == (b"int a;\n", None)                       # nothing half-applied
    assert subprocess.run(["git", "-C", str(repo), "status", "--porcelain"], capture_output=True,
                          text=True).stdout == ""


def test_a_patch_creating_files_only(repo):
    patch = b"""diff --git a/xen/n/new.c b/xen/n/new.c
new file mode 100644
--- /dev/null
+++ b/xen/n/new.c
@@ -0,0 +1 @@
+int n;
"""
    store = ObjectStore(repo)
    try:
        tree = WorkTree(store, repo, git(repo, "rev-parse", "HEAD"))
        assert tree.apply(patch) == []
        assert tree.read("xen/n/new.c") == b"int n;\n"
    finally:
        store.close()


def test_a_carried_patch_that_conflicts_3way_is_marked_and_named_by_hunk(repo):
    lines = [f"int v{i};\n".encode() for i in range(12)]
    minirepos.write(repo, "xen/d/a.c", b"".join(lines))
    minirepos.commit(repo, "twelve", 2)
    minirepos.write(repo, "xen/d/a.c", b"".join(lines[:6] + [b"int carried;\n"] + lines[7:]))
    patch = subprocess.run(["git", "-C", str(repo), "diff", "--full-index"], capture_output=True, check=True).stdout
    git(repo, "checkout", "-q", "--", ".")
    store = ObjectStore(repo)
    try:
        tree = WorkTree(store, repo, git(repo, "rev-parse", "HEAD"))
        tree.write("xen/d/a.c", b"".join(lines[:6] + [b"int upstream;\n"] + lines[7:]))
        [fail] = tree.apply(patch, "04-carry")
        text = tree.read("xen/d/a.c").decode()
    finally:
        store.close()
    assert fail["file"] == "xen/d/a.c" and fail["hunk"] == "@@ -4,7 +4,7 @@ int v2;"
    assert "patch failed: xen/d/a.c:4" in fail["reason"] and "with conflicts" in fail["reason"]
    assert text.splitlines()[fail["line"] - 1:fail["line"] + 6] == [
        "<<<<<<< series before 04-carry", "int upstream;", "||||||| 04-carry base", "int v6;", "=======",
        "int carried;", ">>>>>>> 04-carry"]


def test_a_patch_whose_context_moved_goes_in_three_way(repo):
    lines = [f"int v{i};\n".encode() for i in range(12)]
    minirepos.write(repo, "xen/d/a.c", b"".join(lines))
    minirepos.commit(repo, "twelve", 2)
    minirepos.write(repo, "xen/d/a.c", b"".join(lines[:6] + [b"int changed;\n"] + lines[7:]))
    patch = subprocess.run(["git", "-C", str(repo), "diff", "--full-index"], capture_output=True, check=True).stdout
    git(repo, "checkout", "-q", "--", ".")
    store = ObjectStore(repo)
    try:
        base = git(repo, "rev-parse", "HEAD")
        tree = WorkTree(store, repo, base)
        ours = lines[:3] + [b"int moved;\n"] + lines[4:]           # inside the hunk's context: plain apply fails
        tree.write("xen/d/a.c", b"".join(ours))
        assert tree.apply(patch) == []
        assert tree.read("xen/d/a.c") == b"".join(ours[:6] + [b"int changed;\n"] + ours[7:])
        sha = tree.commit(base, "m\n", "Tess Tester <tess@example.org>", "1600000000 +0000")
    finally:
        store.close()
    assert git(repo, "show", f"{sha}:xen/d/a.c").splitlines()[3:7] == ["int moved;", "int v4;", "int v5;",
                                                                        "int changed;"]


def test_a_port_step_file_outside_the_file_map(tmp_path):
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    from tests.helpers import porter, porter_json
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    recipe = ws / "series/foo/recipe.toml"
    recipe.write_text(recipe.read_text().replace(
        '"xen/drivers/passthrough/arm/foo.c" = "foo.c.edits"', '"xen/drivers/passthrough/arm/bar.c" = "foo.c.edits"'))
    # C edits may name any Xen file (a helper the port adds to Xen); learned against another file's
    # units, they cannot be placed: conflicts, no revision
    code, res = porter_json("resync", "--from", "t1", cwd=ws)
    assert code == 1 and res["revision"] is None
    assert {c["file"] for c in res["conflicts"]} == {"xen/drivers/passthrough/arm/bar.c"}
    assert all("not in the old upstream file" in c["reason"] for c in res["conflicts"])
    assert not (ws / "series/foo/v1").exists()


def test_map_line_follows_the_text():
    from porter.series import map_line
    before = b"a\nb\nc\nd\n"
    after = b"a\nx\nb\nd\ne\n"         # x inserted before b, c deleted, e added at the end
    assert [map_line(before, after, n) for n in range(1, 5)] == [1, 3, 4, 4]
    assert map_line(before, after, 0) == 0 and map_line(before, after, -2) == -2
    assert map_line(before, before, 7) == 7
    assert map_line(before, b"", 3) == 1


def test_insert_after_the_nth_anchor_line():
    from porter.errors import Findings
    from porter.series import insert_after
    assert insert_after(b"x\ny\nx\n", "x", 2, b"NEW\n", "w") == b"x\ny\nx\nNEW\n"
    assert insert_after(b"x\ny\nx\n", "x", 1, b"NEW\n", "w") == b"x\nNEW\ny\nx\n"
    assert insert_after(b"x\ny\nx", "x", 2, b"NEW\n", "w") == b"x\ny\nx\nNEW\n"     # no final newline
    assert insert_after(b"x\r\ny\r\n", "x", 1, b"NEW\n", "w") == b"x\r\nNEW\ny\r\n"
    assert insert_after(b"x\ny\n", "", 1, b"NEW\n", "w") == b"NEW\nx\ny\n"          # no anchor: at the top
    with pytest.raises(Findings, match=r"^steps/02/t\.j2: anchor line 'x' \(occurrence 2\) not found$"):
        insert_after(b"x\n xx\n", "x", 2, b"N\n", "steps/02/t.j2")


def test_split_patch_gives_each_file_its_own_patch():
    from porter.series import split_patch
    parts = split_patch(b"From: someone\nSubject: x\n\n---\n" + TWO_FILES)
    assert list(parts) == ["xen/d/a.c", "xen/d/b.c", "xen/d/c.c"]
    assert b"".join(parts.values()) == TWO_FILES
    assert parts["xen/d/c.c"].startswith(b"diff --git a/xen/d/c.c b/xen/d/c.c\nnew file mode")
    renamed = b"diff --git a/x/old.c b/x/new.c\n--- a/x/old.c\n+++ b/x/new.c\n@@ -1 +1 @@\n-a\n+b\n"
    assert list(split_patch(renamed)) == ["x/new.c"]
    assert split_patch(b"no diff here\n") == {}


def test_apply_to_bytes_creates_changes_deletes_or_leaves_alone():
    from porter.series import apply_to_bytes
    create = b"diff --git a/x/n.c b/x/n.c\nnew file mode 100644\n--- /dev/null\n+++ b/x/n.c\n@@ -0,0 +1 @@\n+int n;\n"
    change = b"diff --git a/x/n.c b/x/n.c\n--- a/x/n.c\n+++ b/x/n.c\n@@ -1 +1 @@\n-int n;\n+int m;\n"
    delete = b"diff --git a/x/n.c b/x/n.c\ndeleted file mode 100644\n--- a/x/n.c\n+++ /dev/null\n@@ -1 +0,0 @@\n-int n;\n"
    assert apply_to_bytes(None, "x/n.c", create) == b"int n;\n"
    assert apply_to_bytes(b"int n;\n", "x/n.c", change) == b"int m;\n"
    assert apply_to_bytes(b"int q;\n", "x/n.c", change) == b"int q;\n"       # does not apply: unchanged
    assert apply_to_bytes(b"int n;\n", "x/n.c", delete) is None


def test_git_messages_without_noise_and_duplicates_without_lines():
    from porter.series import _git_lines, _unique
    assert _git_lines(b"Checking patch a.c...\nerror: patch failed: a.c:3\nFalling back to three-way merge...\n"
                      b"U a.c\n\n  error: a.c: patch does not apply  \n") == \
        ["patch failed: a.c:3", "a.c: patch does not apply"]
    assert _unique([{"a": 1, "line": 2}, {"a": 1, "line": 3}, {"a": 2}, {"line": 1, "a": 1}, {"a": 2, "b": 0}]) == \
        [{"a": 1, "line": 2}, {"a": 2}, {"a": 2, "b": 0}]


def test_the_failed_hunk_is_the_one_git_names():
    from porter.series import _failed_hunk
    patch = (b"diff --git a/x/a.c b/x/a.c\n--- a/x/a.c\n+++ b/x/a.c\n"
             b"@@ -1,2 +1,2 @@\n a\n-b\n+B\n@@ -10,2 +10,2 @@ int f(void)\n j\n-k\n+K\n")
    assert _failed_hunk(patch, "x/a.c", ["patch failed: x/a.c:10"]) == "@@ -10,2 +10,2 @@ int f(void)"
    assert _failed_hunk(patch, "x/a.c", ["patch failed: x/b.c:10"]) == "@@ -1,2 +1,2 @@"   # else the first
    assert _failed_hunk(patch, "x/a.c", []) == "@@ -1,2 +1,2 @@"
    assert _failed_hunk(patch, "x/other.c", ["patch failed: x/other.c:10"]) == ""
    renamed = b"diff --git a/x/old.c b/x/new.c\n--- a/x/old.c\n+++ b/x/new.c\n@@ -3 +3 @@ int g;\n-a\n+b\n"
    assert _failed_hunk(renamed, "x/old.c", []) == _failed_hunk(renamed, "x/new.c", []) == "@@ -3,1 +3,1 @@ int g;"
    assert _failed_hunk(b"diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1 @@\n", "x", []) == ""   # unreadable


@pytest.mark.parametrize("old,new,error", [
    ('"drivers/iommu/foo.c" = ', '"drivers/iommu/nothere.c" = ',
     "recipe file map names drivers/iommu/nothere.c, which is not in the upstream tree at t1: "
     "the recipe was learned from another upstream"),
    ('kind = "import"\nauthor = "Tess Tester <tess@example.org>"\ndate = "1600000300 +0100"\nfiles = [\n'
     '    "xen/drivers/passthrough/arm/foo.c",',
     'kind = "import"\nauthor = "Tess Tester <tess@example.org>"\ndate = "1600000300 +0100"\nfiles = [\n'
     '    "xen/drivers/passthrough/arm/other.c",',
     "recipe: imported file xen/drivers/passthrough/arm/other.c is not in the file map"),
])
def test_a_recipe_that_does_not_fit_its_upstream(tmp_path, old, new, error):
    from tests.helpers import porter
    up, xen = minirepos.build(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/foo.git")[0] == 0
    assert porter("learn", "port", "--from", "t1", cwd=ws)[0] == 0
    recipe = ws / "series/foo/recipe.toml"
    assert old in recipe.read_text()
    recipe.write_text(recipe.read_text().replace(old, new))
    code, out = porter("resync", "--from", "t1", cwd=ws)
    assert (code, out.strip()) == (2, f"porter resync: error: {error}")
    assert not (ws / "series/foo/v1").exists()


@pytest.mark.parametrize("ours,carried,reason", [
    # the series deleted the file the patch changes
    (None, b"int a;\nint kept;\n", "xen/d/a.c: No such file or directory; xen/d/a.c: does not exist in index"),
    # the patch deletes the file the series changed
    (b"int a;\nint changed;\n", None, "patch failed: xen/d/a.c:1; xen/d/a.c: patch does not apply"),
])
def test_a_carried_patch_and_the_series_disagree_on_a_files_existence(repo, ours, carried, reason):
    minirepos.write(repo, "xen/d/a.c", b"int a;\nint keep;\n")
    minirepos.commit(repo, "two lines", 2)
    if carried is None:
        (repo / "xen/d/a.c").unlink()
    else:
        minirepos.write(repo, "xen/d/a.c", carried)
    patch = subprocess.run(["git", "-C", str(repo), "diff", "--full-index"], capture_output=True, check=True).stdout
    git(repo, "checkout", "-q", "--", ".")
    store = ObjectStore(repo)
    try:
        tree = WorkTree(store, repo, git(repo, "rev-parse", "HEAD"))
        tree.write("xen/d/a.c", ours)
        failures = tree.apply(patch, "05-carry")
        after = tree.read("xen/d/a.c")
    finally:
        store.close()
    # no three-way merge without both sides: no markers, no line, the series' file as it was
    [fail] = failures
    assert (fail["file"], fail["hunk"], fail["line"]) == \
        ("xen/d/a.c", "@@ -1,2 +1,2 @@" if carried else "@@ -1,2 +0,0 @@", 0)
    # git's own words (their wording varies with git's version), each once
    parts = fail["reason"].split("; ")
    assert reason.split("; ")[-1].split(": ")[-1] in fail["reason"] and len(parts) == len(set(parts))
    assert after == ours
