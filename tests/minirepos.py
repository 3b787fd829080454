"""A tiny upstream tree (tags t1, t2) and a Xen-like tree with a hand port, written for the tests."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.helpers import git

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
