"""Issue 7: `porter check`, the CI gate, on a tiny self-made port (and the real one with PORTER_REAL)."""
from __future__ import annotations

from functools import partial
from pathlib import Path


from tests.helpers import git, porter, porter_json
from tests.minirepos import DRIVER_T1, commit as _commit, write

commit = partial(_commit, who=("Cid Checker", "cid@example.org"), epoch=1700000000, tz="+0200")

DRV = "drivers/iommu/bar.c"
XDRV = "xen/drivers/passthrough/arm/bar.c"

# the tiny driver of minirepos, named bar, with a status register
BAR_T1 = DRIVER_T1.replace(b"foo", b"bar").replace(b"FOO", b"BAR") \
    .replace(b"#define BAR_CTRL\t0x10\n", b"#define BAR_CTRL\t0x10\n#define BAR_STAT\t0x14\n")

# t2: the vendor changes bar_probe next to the line the port rewrites, and adds a helper
BAR_T2 = BAR_T1.replace(b"\tif (!bar)\n", b"\tif (!bar || !pdev)\n") \
    .replace(b"static int bar_probe", b"static unsigned int bar_status(struct bar_dev *bar)\n{\n"
             b"\treturn bar_read(bar, BAR_STAT);\n}\n\nstatic int bar_probe")

PORT = BAR_T1.replace(b"#include <linux/io.h>\n#include <linux/slab.h>\n",
                      b"#include <xen/lib.h>\n#include <asm/io.h>\n") \
    .replace(b"\tdev_info(&pdev->dev, \"bar ctrl %x\\n\", bar_read(bar, BAR_CTRL));\n",
             b"\tprintk(XENLOG_INFO \"bar ctrl %x\\n\", bar_read(bar, BAR_CTRL));\n") \
    .replace(b"MODULE_LICENSE(\"GPL v2\");\n", b"#if 0 /* Xen: no modules */\nMODULE_LICENSE(\"GPL v2\");\n#endif\n")

# What the tiny Xen tree defines: what the port's live code uses, so resyncs have no open findings
XEN_LIB = b"""typedef unsigned int u32;
int printk(const char *fmt, ...);
#define XENLOG_INFO "<2>"
#define ENOMEM 12
#define GFP_KERNEL 0
struct device { int id; };
struct platform_device { struct device dev; };
void *devm_kzalloc(struct device *dev, unsigned long size, int flags);
"""

MAINTAINERS = b"""
ARM ARCHITECTURE
M:\tAlice Arm <alice@example.org>
L:\tdevel@lists.example.org
S:\tSupported
F:\txen/drivers/passthrough/arm/

THE REST
M:\tRita Rest <rita@example.org>
S:\tSupported
F:\t*
"""


def build_repos(root: Path) -> tuple[Path, Path]:
    """An upstream with tags t1, t2 of bar.c and a Xen tree with branch `port` (4 commits) on `base`."""
    up, xen = root / "upstream", root / "xen"
    root.mkdir(parents=True, exist_ok=True)
    for repo in (up, xen):
        git(root, "init", "-q", "-b", "master", str(repo))
    write(up, DRV, BAR_T1)
    commit(up, "bar: first release", 1)
    git(up, "tag", "t1")
    write(up, DRV, BAR_T2.replace(b"\tif (!bar || !pdev)\n", b"\tif (!bar)\n"))
    commit(up, "bar: add bar_status", 2)
    write(up, DRV, BAR_T2)
    commit(up, "bar: check pdev in probe", 3)
    git(up, "tag", "t2")

    write(xen, "MAINTAINERS", MAINTAINERS)
    write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\n")
    write(xen, "xen/include/xen/lib.h", XEN_LIB)
    write(xen, "xen/include/asm-arm/io.h", b"unsigned int ioread32(const volatile void *addr);\n")
    commit(xen, "Xen 4.9.0 release", 4)
    git(xen, "branch", "base")
    git(xen, "checkout", "-q", "-b", "port")
    sob = "\n\nSigned-off-by: Cid Checker <cid@example.org>"
    write(xen, XDRV, BAR_T1)
    commit(xen, "iommu/arm: bar: Add bar support\n\nCopied from Linux as is." + sob, 5)
    write(xen, XDRV, PORT)
    commit(xen, "iommu/arm: bar: Add Xen changes" + sob, 6)
    write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\nobj-$(CONFIG_BAR) += bar.o\n")
    commit(xen, "iommu/arm: Build bar" + sob, 7)
    write(xen, XDRV, PORT.replace(b"\tint irq;\n", b"\tint irq;\n\tbool coherent;\n"))
    commit(xen, "iommu/arm: bar: Track coherency" + sob, 8)
    git(xen, "checkout", "-q", "base")
    return up, xen


def make_ws(tmp_path: Path, resync_from: str | None = "t1") -> Path:
    up, xen = build_repos(tmp_path / "src")
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--name", "bar", "--upstream", up, "--xen", xen, "--base", "base",
                       "--public-url", "https://example.org/bar.git")
    assert code == 0, out
    code, out = porter("learn", "port", "--from", "t1", cwd=ws)
    assert code == 0, out
    if resync_from:
        code, out = porter("resync", "--from", resync_from, cwd=ws)
        assert code == 0, out
    return ws


def snapshot(ws: Path) -> dict[str, bytes]:
    return {str(p.relative_to(ws)): p.read_bytes() for p in sorted((ws / "series").rglob("*")) if p.is_file()}


def test_check_passes_on_a_fresh_revision_and_touches_nothing(tmp_path):
    ws = make_ws(tmp_path)
    before = snapshot(ws)
    code, doc = porter_json("check", cwd=ws)
    assert code == 0, doc
    assert doc["command"] == "check" and doc["ok"] is True and doc["differs"] == []
    assert snapshot(ws) == before
    code, out = porter("check", cwd=ws)
    assert code == 0 and "ok: series/bar/v1" in out


def test_check_names_a_hand_edited_patch_with_a_short_diff(tmp_path):
    ws = make_ws(tmp_path)
    patch = next((ws / "series/bar/v1").glob("0002-*.patch"))
    text = patch.read_text()
    patch.write_text(text.replace("XENLOG_INFO", "XENLOG_WARNING", 1))
    before = snapshot(ws)
    code, doc = porter_json("check", cwd=ws)
    assert code == 1 and doc["ok"] is False
    assert [d["file"] for d in doc["differs"]] == [patch.name]
    diff = doc["differs"][0]["diff"]
    assert "-+\tprintk(XENLOG_WARNING" in diff and "++\tprintk(XENLOG_INFO" in diff
    assert len(diff.splitlines()) <= 41
    assert snapshot(ws) == before
    code, out = porter("check", cwd=ws)
    assert code == 1 and f"differs: series/bar/v1/{patch.name}" in out


def test_check_second_revision_reproduces_the_changes_section(tmp_path):
    ws = make_ws(tmp_path)
    code, res = porter_json("resync", "--from", "t2", cwd=ws)
    # the tiny Xen tree lacks printk & co: the new-code lint reports findings (exit 1), no conflicts
    assert code in (0, 1) and not res["conflicts"] and not res["drift"], res
    assert res["revision"] == "v2" and res["changed"]
    cover = (ws / "series/bar/v2/0000-cover-letter.patch").read_text()
    assert "Changes since v1:" in cover
    code, doc = porter_json("check", cwd=ws)
    assert code == 0, doc
    assert doc["revision"] == "v2" and doc["tag"] == "t2"


def test_check_stale_recipe_names_the_patch(tmp_path):
    ws = make_ws(tmp_path)
    msg = next((ws / "series/bar/steps").glob("03-*")) / "message"
    msg.write_text(msg.read_text().replace("Build bar", "Build the bar driver"))
    code, doc = porter_json("check", cwd=ws)
    assert code == 1
    files = [d["file"] for d in doc["differs"]]
    # the subject is in the patch file name too: the committed file is stale, a new one is made
    assert any(f.startswith("0003-") for f in files) and "0000-cover-letter.patch" in files


def test_check_missing_and_extra_patch_files(tmp_path):
    ws = make_ws(tmp_path)
    rev = ws / "series/bar/v1"
    gone = next(rev.glob("0004-*.patch"))
    gone.unlink()
    (rev / "0005-extra.patch").write_text("not a patch\n")
    code, doc = porter_json("check", cwd=ws)
    assert code == 1
    by = {d["file"]: d["diff"] for d in doc["differs"]}
    assert "missing from the committed revision" in by[gone.name]
    assert "not produced by the recipe" in by["0005-extra.patch"]


def test_check_without_a_revision_is_bad_input(tmp_path):
    ws = make_ws(tmp_path, resync_from=None)
    code, out = porter("check", cwd=ws)
    assert code == 2
    assert out.strip().count("\n") == 0 and "no revision" in out
    code, doc = porter_json("check", cwd=ws)
    assert code == 2 and "no revision" in doc["error"]


def test_check_outside_a_workspace_is_bad_input(tmp_path):
    code, out = porter("check", cwd=tmp_path)
    assert code == 2 and "not a porter workspace" in out


# -- real inputs -----------------------------------------------------------------------------------
def test_check_real_ipmmu_v1(real, tmp_path):
    ws = tmp_path / "ws"
    code, out = porter("init", ws, "--name", "ipmmu-vmsa", "--upstream", real / "renesas-bsp", "--public-url", "https://github.com/renesas-rcar/linux-bsp.git",
                       "--xen", real / "xen", "--base", "base-v1")
    assert code == 0, out
    code, out = porter("learn", "ipmmu_v1", "--from", "rcar-3.5.2", cwd=ws)
    assert code == 0, out
    code, out = porter("resync", "--from", "rcar-3.5.2", cwd=ws)
    assert code == 0, out
    code, doc = porter_json("check", cwd=ws)
    assert code == 0 and doc["ok"] and doc["differs"] == [], doc
    patch = next((ws / "series/ipmmu-vmsa/v1").glob("0002-*.patch"))
    lines = patch.read_text().split("\n")
    i = next(n for n, line in enumerate(lines) if line.startswith("+") and not line.startswith("+++")
             and "Xen" in line)
    lines[i] = lines[i] + " /* hand edit */"
    patch.write_text("\n".join(lines))
    code, doc = porter_json("check", cwd=ws)
    assert code == 1 and [d["file"] for d in doc["differs"]] == [patch.name]
    assert "hand edit" in doc["differs"][0]["diff"]
