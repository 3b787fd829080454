"""A tiny upstream tree (tags t1, t2) and a Xen-like tree with a hand port, written for the tests."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers import git, porter

DRIVER_T1 = b"""// SPDX-License-Identifier: GPL-2.0
#include <linux/io.h>
#include <linux/slab.h>

#define FOO_CTRL\t0x10

struct foo_dev {
\tvoid __iomem *base;
\tint irq;
};

static u32 foo_read(struct foo_dev *foo, unsigned int reg)
{
\treturn ioread32(foo->base + reg);
}

static int foo_probe(struct platform_device *pdev)
{
\tstruct foo_dev *foo = devm_kzalloc(&pdev->dev, sizeof(*foo), GFP_KERNEL);

\tif (!foo)
\t\treturn -ENOMEM;
\tdev_info(&pdev->dev, "foo ctrl %x\\n", foo_read(foo, FOO_CTRL));
\treturn 0;
}

MODULE_LICENSE("GPL v2");
"""

DRIVER_T2 = DRIVER_T1.replace(b"static int foo_probe", b"""static void foo_reset(struct foo_dev *foo)
{
\tiowrite32(0, foo->base + FOO_CTRL);
}

static int foo_probe""").replace(b"\treturn ioread32(foo->base + reg);", b"\treturn readl_relaxed(foo->base + reg);")

PORT = DRIVER_T1.replace(b"#include <linux/io.h>\n#include <linux/slab.h>\n",
                         b"#include <xen/lib.h>\n#include <asm/io.h>\n").replace(
    b"MODULE_LICENSE(\"GPL v2\");\n", b"#if 0 /* Xen: no modules */\nMODULE_LICENSE(\"GPL v2\");\n#endif\n").replace(
    b"\tdev_info(&pdev->dev, ", b"\tprintk(XENLOG_INFO ")

# What the tiny Xen tree defines: what the port's live code uses (a resync brings no finding of its own)
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
\tMaintainers of the mini tree
\t============================

ARM ARCHITECTURE
M:\tAlice Arm <alice@example.org>
L:\tdevel@lists.example.org
S:\tSupported
F:\txen/arch/arm/
F:\txen/drivers/passthrough/arm/

IOMMU
M:\tIvan Iommu <ivan@example.org>
S:\tSupported
F:\txen/drivers/passthrough/
X:\txen/drivers/passthrough/arm/

THE REST
M:\tRita Rest <rita@example.org>
L:\tdevel@lists.example.org
S:\tSupported
F:\t*
F:\t*/
"""

def commit(repo: Path, message: str, n: int, who: tuple[str, str] = ("Tess Tester", "tess@example.org"),
           epoch: int = 1600000000, tz: str = "+0100") -> None:
    """Commit everything in repo as `who`, at a date fixed by n, so that commit ids are stable."""
    date = f"{epoch + n * 60} {tz}"
    env = dict(os.environ, GIT_AUTHOR_NAME=who[0], GIT_AUTHOR_EMAIL=who[1], GIT_COMMITTER_NAME=who[0],
               GIT_COMMITTER_EMAIL=who[1], GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(repo), "commit", "-q", "-m", message], check=True, env=env)


def write(repo: Path, path: str, data: bytes) -> None:
    target = repo / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def build(root: Path) -> tuple[Path, Path]:
    up, xen = root / "upstream", root / "xen"
    root.mkdir(parents=True, exist_ok=True)
    for repo in (up, xen):
        git(root, "init", "-q", "-b", "master", str(repo))
    write(up, "drivers/iommu/foo.c", DRIVER_T1)
    commit(up, "foo: first release", 1)
    git(up, "tag", "t1")
    write(up, "drivers/iommu/foo.c", DRIVER_T2)
    commit(up, "foo: add foo_reset", 2)
    git(up, "tag", "t2")

    write(xen, "MAINTAINERS", MAINTAINERS)
    write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\n")
    write(xen, "xen/include/xen/lib.h", XEN_LIB)
    write(xen, "xen/include/asm-arm/io.h", b"unsigned int ioread32(const volatile void *addr);\n"
                                           b"unsigned int readl_relaxed(const volatile void *addr);\n")
    commit(xen, "Xen 4.9.0 release", 3)
    write(xen, "xen/include/xen/lib.h", XEN_LIB + b"void *xzalloc_bytes(unsigned long n);\n")
    commit(xen, "xen: add xzalloc_bytes\n\nSigned-off-by: Tess Tester <tess@example.org>", 4)
    git(xen, "branch", "base")
    git(xen, "checkout", "-q", "-b", "port")
    drv = "xen/drivers/passthrough/arm/foo.c"
    write(xen, drv, DRIVER_T1)
    commit(xen, "iommu/arm: foo: Add foo support\n\nCopied from Linux as is.\n\nSigned-off-by: Tess Tester <tess@example.org>", 5)
    write(xen, drv, PORT)
    commit(xen, "iommu/arm: foo: Add Xen changes\n\nSigned-off-by: Tess Tester <tess@example.org>", 6)
    write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\nobj-$(CONFIG_FOO) += foo.o\n")
    commit(xen, "iommu/arm: Build foo\n\nSigned-off-by: Tess Tester <tess@example.org>", 7)
    write(xen, drv, PORT.replace(b"\tint irq;\n", b"\tint irq;\n\tbool coherent;\n"))
    commit(xen, "iommu/arm: foo: Track coherency\n\nSigned-off-by: Tess Tester <tess@example.org>", 8)
    git(xen, "checkout", "-q", "base")
    return up, xen


# -- a driver that upstream moves and splits (issue 13) -------------------------------------------
QUX_T1 = b"""// SPDX-License-Identifier: GPL-2.0
#include <linux/io.h>
#include <linux/slab.h>

#define QUX_CTRL\t0x10
#define QUX_STAT\t0x14

struct qux_dev {
\tvoid __iomem *base;
\tint irq;
};

static u32 qux_read(struct qux_dev *qux, unsigned int reg)
{
\treturn ioread32(qux->base + reg);
}

static int qux_init(struct qux_dev *qux)
{
\tif (qux_read(qux, QUX_STAT))
\t\treturn -EBUSY;
\treturn 0;
}

static int qux_probe(struct platform_device *pdev)
{
\tstruct qux_dev *qux = devm_kzalloc(&pdev->dev, sizeof(*qux), GFP_KERNEL);

\tif (!qux)
\t\treturn -ENOMEM;
\tdev_info(&pdev->dev, "qux ctrl %x\\n", qux_read(qux, QUX_CTRL));
\treturn qux_init(qux);
}

MODULE_LICENSE("GPL v2");
"""

QUX_DOC = b"qux: a made-up IOMMU\n\nIt has one control register.\nIt has one status register.\n"

# t2: the driver moved to drivers/iommu/qux/, its defines and struct split into qux-main.h (which
# also gains an inline helper that uses Linux-only API), qux_init changed, the doc reworded
QUX_T2_H = b"""/* SPDX-License-Identifier: GPL-2.0 */
#ifndef _QUX_MAIN_H
#define _QUX_MAIN_H

#define QUX_CTRL\t0x10
#define QUX_STAT\t0x14

struct qux_dev {
\tunsigned long flags;
\tvoid __iomem *base;
\tint irq;
};

static inline void qux_barrier(struct qux_dev *qux)
{
\tdma_wmb();
}

#endif /* _QUX_MAIN_H */
"""

QUX_T2_C = QUX_T1.replace(b"""#define QUX_CTRL\t0x10
#define QUX_STAT\t0x14

struct qux_dev {
\tvoid __iomem *base;
\tint irq;
};
""", b"""#include "qux-main.h"
""").replace(b"\t\treturn -EBUSY;\n", b"\t\treturn -EAGAIN;\n")

QUX_DOC_T2 = QUX_DOC.replace(b"It has one control register.\n", b"It has a single control register.\n")

QUX_PORT = QUX_T1.replace(b"#include <linux/io.h>\n#include <linux/slab.h>\n",
                          b"#include <xen/lib.h>\n#include <asm/io.h>\n").replace(
    b"MODULE_LICENSE(\"GPL v2\");\n", b"#if 0 /* Xen: no modules */\nMODULE_LICENSE(\"GPL v2\");\n#endif\n").replace(
    b"\tdev_info(&pdev->dev, ", b"\tprintk(XENLOG_INFO ")

QUX_DRV = "xen/drivers/passthrough/arm/qux.c"
QUX_XDOC = "docs/misc/qux.txt"


def build_split(root: Path) -> tuple[Path, Path]:
    """Upstream t1/t2 (moved and split) and a Xen port branch `port` with: an import, a port step,
    an unrelated commit, a commit editing the driver, a Makefile and a doc, a merge commit, a Xen
    helper the driver then uses, and a port step after all that."""
    up, xen = root / "upstream", root / "xen"
    root.mkdir(parents=True, exist_ok=True)
    for repo in (up, xen):
        git(root, "init", "-q", "-b", "master", str(repo))
    write(up, "drivers/iommu/qux.c", QUX_T1)
    write(up, "Documentation/qux.txt", QUX_DOC)
    commit(up, "qux: first release", 1)
    git(up, "tag", "t1")
    git(up, "rm", "-q", "drivers/iommu/qux.c")
    write(up, "drivers/iommu/qux/qux-main.c", QUX_T2_C)
    write(up, "drivers/iommu/qux/qux-main.h", QUX_T2_H)
    write(up, "Documentation/qux.txt", QUX_DOC_T2)
    commit(up, "qux: move to its own folder, split out the header", 2)
    git(up, "tag", "t2")

    write(xen, "MAINTAINERS", MAINTAINERS)
    write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\n")
    write(xen, "xen/include/xen/lib.h", b"typedef unsigned int u32;\nint printk(const char *fmt, ...);\n")
    write(xen, "SUPPORT.md", b"# Support\n\n### IOMMU\n\n    Status: Supported\n")
    commit(xen, "Xen 4.9.0 release", 3)
    git(xen, "branch", "base")
    git(xen, "checkout", "-q", "-b", "port")
    sob = "\n\nSigned-off-by: Tess Tester <tess@example.org>"
    write(xen, QUX_DRV, QUX_T1)
    write(xen, QUX_XDOC, QUX_DOC)
    commit(xen, "iommu/arm: qux: Import the qux driver" + sob, 5)
    write(xen, QUX_DRV, QUX_PORT)
    commit(xen, "iommu/arm: qux: Add Xen changes" + sob, 6)
    write(xen, "xen/arch/x86/other.c", b"int other_thing(void)\n{\n\treturn 0;\n}\n")
    commit(xen, "x86: add other_thing" + sob, 7)
    port2 = QUX_PORT.replace(b"\tint irq;\n", b"\tint irq;\n\tbool coherent;\n")
    write(xen, QUX_DRV, port2)
    write(xen, "xen/drivers/passthrough/arm/Makefile", b"obj-y += iommu.o\nobj-$(CONFIG_QUX) += qux.o\n")
    write(xen, "SUPPORT.md", b"# Support\n\n### IOMMU\n\n    Status: Supported, not qux\n")
    write(xen, QUX_XDOC, QUX_DOC.replace(b"It has one control register.\n", b"It has one control register (Xen uses it).\n"))
    commit(xen, "iommu/arm: qux: Track coherency and build it" + sob, 8)
    git(xen, "checkout", "-q", "-b", "side")
    port3 = port2.replace(b"\treturn ioread32(qux->base + reg);\n", b"\treturn readl(qux->base + reg);\n")
    write(xen, QUX_DRV, port3)
    commit(xen, "iommu/arm: qux: read with readl" + sob, 9)
    git(xen, "checkout", "-q", "port")
    env_date = "1600000600 +0100"
    subprocess.run(["git", "-C", str(xen), "-c", "user.name=Tess Tester", "-c", "user.email=tess@example.org",
                    "merge", "-q", "--no-ff", "-m", "Merge branch 'side' into port", "side"], check=True,
                   env=dict(os.environ, GIT_AUTHOR_DATE=env_date, GIT_COMMITTER_DATE=env_date))
    write(xen, "xen/include/xen/lib.h", b"typedef unsigned int u32;\nint printk(const char *fmt, ...);\n"
                                        b"void xen_settle(void);\n")
    commit(xen, "xen: add xen_settle" + sob, 11)
    write(xen, QUX_DRV, port3.replace(b"\tif (!qux)\n", b"\txen_settle();\n\tif (!qux)\n"))
    commit(xen, "iommu/arm: qux: settle before use" + sob, 12)
    git(xen, "checkout", "-q", "base")
    return up, xen


def learned_workspace(tmp_path: Path, repos: tuple[Path, Path], name: str = "ws") -> Path:
    """A workspace over build()'s repositories with the port learned from t1."""
    up, xen = repos
    ws = tmp_path / name
    code, out = porter("init", ws, "--name", "foo", "--upstream", up, "--xen", xen, "--base", "base",
                       "--public-url", "https://example.org/foo.git")
    assert code == 0, out
    code, out = porter("learn", "port", "--from", "t1", cwd=ws)
    assert code == 0, out
    return ws
