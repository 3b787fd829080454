"""Issue 11: the README's conflict loop, run command by command on a self-written port whose BSP
update gives three unit conflicts: one in the first port step and one in each later driver commit
(learned as C-unit edits too since issue 13)."""
import os
import re
import subprocess

import pytest

from tests import minirepos
from tests.helpers import git, porter, porter_json

DRIVER_T1 = b"""// SPDX-License-Identifier: GPL-2.0
#include <linux/io.h>

#define BAR_CTRL\t0x00
#define BAR_STAT\t0x04
#define BAR_IRQ\t\t0x08

struct bar_dev {
\tvoid __iomem *base;
\tunsigned int irq;
};

static u32 bar_read(struct bar_dev *bar, unsigned int reg)
{
\treturn readl(bar->base + reg);
}

static void bar_write(struct bar_dev *bar, unsigned int reg, u32 val)
{
\twritel(val, bar->base + reg);
}

static int bar_reset(struct bar_dev *bar)
{
\tbar_write(bar, BAR_CTRL, 1);
\tbar_write(bar, BAR_CTRL, 0);
\treturn 0;
}

static void bar_ack(struct bar_dev *bar)
{
\tu32 stat = bar_read(bar, BAR_STAT);

\tbar_write(bar, BAR_STAT, stat);
}

static int bar_init(struct bar_dev *bar)
{
\tbar->irq = 0;
\tbar_write(bar, BAR_IRQ, 0);
\treturn bar_reset(bar);
}
"""
DRIVER_T2 = (DRIVER_T1.replace(b"bar_write(bar, BAR_IRQ, 0);", b"bar_write(bar, BAR_IRQ, 0xff);")
             .replace(b"bar_write(bar, BAR_CTRL, 1);", b"bar_write(bar, BAR_CTRL, 0x81);")
             .replace(b"bar_write(bar, BAR_STAT, stat);", b"bar_write(bar, BAR_STAT, stat | 1);"))
PORT = (DRIVER_T1.replace(b"#include <linux/io.h>", b"#include <asm/io.h>")
        .replace(b"bar_write(bar, BAR_IRQ, 0);", b"bar_write(bar, BAR_IRQ, 1); /* Xen: unmask the summary irq */"))
CARRY1 = PORT.replace(b"bar_write(bar, BAR_CTRL, 1);", b"bar_write(bar, BAR_CTRL, 3); /* Xen: full reset */")
CARRY2 = CARRY1.replace(b"bar_write(bar, BAR_STAT, stat);", b"bar_write(bar, BAR_STAT, stat & 0xf);")
DRV = "xen/drivers/passthrough/arm/bar.c"
T = ["-c", "user.name=t", "-c", "user.email=t@example.org"]


def _repos(root):
    up, xen = root / "upstream", root / "xen"
    root.mkdir(parents=True)
    for repo in (up, xen):
        git(root, "init", "-q", "-b", "master", str(repo))
    minirepos.write(up, "drivers/iommu/bar.c", DRIVER_T1)
    minirepos.commit(up, "bar: first release", 1)
    git(up, "tag", "t1")
    minirepos.write(up, "drivers/iommu/bar.c", DRIVER_T2)
    minirepos.commit(up, "bar: new register values", 2)
    git(up, "tag", "t2")
    minirepos.write(xen, "MAINTAINERS", minirepos.MAINTAINERS)
    minirepos.write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\n")
    minirepos.write(xen, "xen/include/asm/io.h", b"typedef unsigned int u32;\nu32 readl(const volatile void *a);\n"
                    b"void writel(u32 v, volatile void *a);\n")
    minirepos.commit(xen, "Xen release", 3)
    git(xen, "branch", "base")
    git(xen, "checkout", "-q", "-b", "port")
    sob = "\n\nSigned-off-by: Tess Tester <tess@example.org>"
    for n, (data, subject) in enumerate([(DRIVER_T1, "bar: Import bar from Linux"),
                                         (PORT, "bar: Add Xen changes"), (None, "bar: Build it"),
                                         (CARRY1, "bar: Full reset"), (CARRY2, "bar: Ack only the low bits")], 4):
        if data is None:
            minirepos.write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\nobj-y += bar.o\n")
        else:
            minirepos.write(xen, DRV, data)
        minirepos.commit(xen, subject + sob, n)
    git(xen, "checkout", "-q", "base")
    return up, xen


@pytest.fixture
def ws(tmp_path):
    up, xen = _repos(tmp_path / "src")
    ws = tmp_path / "ws"
    assert porter("init", ws, "--name", "bar", "--upstream", up, "--xen", xen, "--base", "base",
                  "--public-url", "https://example.org/bar.git")[0] == 0
    code, learned = porter_json("learn", "port", "--from", "t1", cwd=ws)
    assert code == 0 and [s["kind"] for s in learned["steps"]] == ["import", "port", "build", "port", "port"]
    assert porter("resync", "--from", "t1", cwd=ws)[0] == 0
    return ws


def _resolve(text: str) -> str:
    """Take the port's side of a unit conflict, the carried patch's side of a carry conflict."""
    pattern = re.compile(r"<<<<<<< ([^\n]*)\n(.*?)\|\|\|\|\|\|\| [^\n]*\n(.*?)=======\n(.*?)>>>>>>> [^\n]*\n", re.S)
    return pattern.sub(lambda m: m.group(2) if m.group(1) == "port" else m.group(4), text)


def _sh(cwd, *args, env=None):
    proc = subprocess.run(list(args), cwd=cwd, capture_output=True, text=True, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, (args, proc.stdout, proc.stderr)
    return proc


def test_readme_conflict_loop_end_to_end(ws):
    code, res = porter_json("resync", "--from", "t2", cwd=ws)
    assert code == 1 and res["revision"] is None
    by_unit = {c["unit"]: c for c in res["conflicts"]}
    assert len(res["conflicts"]) == 3, res["conflicts"]
    assert {u: c["step"][:3] for u, c in by_unit.items()} == {
        "function bar_init": "02-", "function bar_reset": "04-", "function bar_ack": "05-"}
    for c in res["conflicts"]:
        assert c["file"] == DRV and "changed the same lines" in c["reason"]
    scratch = ws / ".porter/scratch"
    assert res["scratch"] == str(scratch) and res["base_branch"] == "porter/bar/base"
    lines = (scratch / DRV).read_text().splitlines()
    for c in res["conflicts"]:      # every conflict's markers at the line the report names
        assert lines[c["line"] - 1] == "<<<<<<< port", (c, lines[c["line"] - 2:c["line"] + 1])
    assert git(scratch, "status", "--porcelain", "--untracked-files=no") == ""

    # resync again with the scratch worktree present
    code, again = porter_json("resync", "--from", "t2", cwd=ws)
    assert code == 1 and [c["line"] for c in again["conflicts"]] == [c["line"] for c in res["conflicts"]]

    # the README's loop, word for word (the editor is _resolve)
    marks = " ".join(f"-e 's/^pick {c['commit'][:7]}/edit {c['commit'][:7]}/'"
                     for c in res["conflicts"])
    _sh(scratch, "git", *T, "rebase", "-i", "porter/bar/base", env={"GIT_SEQUENCE_EDITOR": f"sed -i {marks}"})
    stops = 0
    while (scratch / ".git").read_text() and _rebasing(scratch):
        text = (scratch / DRV).read_text()
        assert "<<<<<<< " in text
        (scratch / DRV).write_text(_resolve(text))
        _sh(scratch, "git", *T, "commit", "-a", "--amend", "--no-edit")
        _sh(scratch, "git", *T, "rebase", "--continue", env={"GIT_EDITOR": "true"})
        stops += 1
    assert stops == 3
    _sh(scratch, "git", "branch", "-f", "fixed", "HEAD")
    code, learned = porter_json("learn", "fixed", "--from", "t2", cwd=ws)
    assert code == 0, learned
    code, done = porter_json("resync", "--from", "t2", cwd=ws)
    assert done["revision"] == "v2" and not done["conflicts"], done
    final = git(scratch, "show", f"fixed:{DRV}")
    assert "BAR_IRQ, 1); /* Xen" in final and "BAR_CTRL, 3); /* Xen" in final and "stat & 0xf" in final
    assert "<<<<<<<" not in final


def _rebasing(scratch) -> bool:
    gitdir = git(scratch, "rev-parse", "--absolute-git-dir")
    return any(os.path.exists(os.path.join(gitdir, d)) for d in ("rebase-merge", "rebase-apply"))


def test_resync_refuses_to_drop_uncommitted_scratch_work(ws):
    assert porter("resync", "--from", "t2", cwd=ws)[0] == 1
    scratch = ws / ".porter/scratch"
    (scratch / DRV).write_text("half resolved\n")
    code, out = porter("resync", "--from", "t2", cwd=ws)
    assert code == 2 and "uncommitted changes" in out and str(scratch) in out
    assert (scratch / DRV).read_text() == "half resolved\n"
