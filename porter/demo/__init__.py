"""`porter demo DIR`: the whole job on a small self-written IPMMU driver, offline, in seconds.

From the package data it builds DIR/upstream (a Linux-style tree with releases demo-1.0, demo-1.1,
demo-1.2), DIR/xen (a Xen-like tree: release, one prerequisite patch, and a hand-made port of
demo-1.0 on branch `ipmmu`), then runs init, learn, resync (demo-1.0, then the newest release)
and validate in DIR/ws. The demo Xen tree has a small hypervisor build of its own in Xen's shape
(Config.mk, xen/Makefile, xen/Rules.mk), in portable C, so the host `cc` builds every revision.
"""
from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

from .. import gitutil
from ..errors import BadInput

DATA = files(__package__) / "data"
RELEASES = ("demo-1.0", "demo-1.1", "demo-1.2")
XEN_DIR = "xen/drivers/passthrough/arm"
PORTED = ("ipmmu-vmsa.c", "io-pgtable-arm.c", "io-pgtable.h")
AUTHOR = ("Dana Porter", "dana.porter@example.org")
EPOCH = 1_500_000_000
_clock = [EPOCH]


def _ident(name=AUTHOR[0], email=AUTHOR[1]) -> dict:
    _clock[0] += 3600
    date = f"{_clock[0]} +0000"
    return {"GIT_AUTHOR_NAME": name, "GIT_AUTHOR_EMAIL": email, "GIT_AUTHOR_DATE": date,
            "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": email, "GIT_COMMITTER_DATE": date}


def _copy_tree(src, dest: Path) -> None:
    for item in src.iterdir():
        target = dest / item.name
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
            _copy_tree(item, target)
        else:
            target.write_bytes(item.read_bytes())


def _commit(repo: Path, message: str, **ident) -> None:
    gitutil.git(repo, "add", "-A")
    gitutil.git(repo, "commit", "-q", "-m", message, env=_ident(**ident))


def _apply(repo: Path, patch) -> None:
    """git apply a patch shipped in the package data to the files below repo."""
    gitutil.git(repo, "apply", "-", input=patch.read_bytes(), env={"GIT_CEILING_DIRECTORIES": str(repo.parent)})


def build_upstream(root: Path) -> Path:
    """The demo BSP tree: demo-1.0 as shipped, each later release a patch on the one before."""
    repo = root / "upstream"
    gitutil.git(root, "init", "-q", "-b", "master", str(repo))
    for tag in RELEASES:
        if tag == RELEASES[0]:
            _copy_tree(DATA / "upstream" / tag, repo)
        else:
            _apply(repo, DATA / "upstream" / f"{tag}.patch")
        _commit(repo, f"iommu/ipmmu-vmsa: sources of BSP release {tag}", name="BSP Maintainer",
                email="bsp@example.org")
        gitutil.git(repo, "tag", "-a", "-m", tag, tag, env=_ident())
    return repo


def build_xen(root: Path, upstream: Path) -> Path:
    repo = root / "xen"
    gitutil.git(root, "init", "-q", "-b", "master", str(repo))
    _copy_tree(DATA / "xen", repo)
    _commit(repo, "Xen 4.9.0 release", name="Release Manager", email="release@example.org")
    header = repo / "xen/include/xen/device_tree.h"
    with open(header, "a") as f:
        f.write("\n/* Count the phandles of a property (prerequisite for IOMMU drivers). */\n"
                "int dt_count_phandle_with_args(const struct dt_device_node *np,\n"
                "                               const char *list_name, const char *cells_name);\n")
    _commit(repo, "xen/device-tree: Add dt_count_phandle_with_args helper\n\n"
            "Signed-off-by: Dana Porter <dana.porter@example.org>")
    gitutil.git(repo, "branch", "base")
    gitutil.git(repo, "checkout", "-q", "-b", "ipmmu")
    _hand_port(repo, upstream)
    gitutil.git(repo, "checkout", "-q", "base")
    return repo


def _import(repo: Path, upstream: Path, names: list[str], subject: str, body: str) -> None:
    for name in names:
        data = gitutil.show_blob(upstream, RELEASES[0], f"drivers/iommu/{name}")
        (repo / XEN_DIR / name).write_bytes(data)
    _commit(repo, f"{subject}\n\n{body}\n\nSigned-off-by: {AUTHOR[0]} <{AUTHOR[1]}>")


def _port(repo: Path, names: list[str], subject: str, body: str) -> None:
    for name in names:
        _apply(repo, DATA / "port" / f"{name}.patch")
    _commit(repo, f"{subject}\n\n{body}\n\nSigned-off-by: {AUTHOR[0]} <{AUTHOR[1]}>")


def _hand_port(repo: Path, upstream: Path) -> None:
    sob = f"Signed-off-by: {AUTHOR[0]} <{AUTHOR[1]}>"
    _import(repo, upstream, ["ipmmu-vmsa.c"], "iommu/arm: ipmmu-vmsa: Add IPMMU-VMSA support",
            f"Copy the Linux IPMMU-VMSA driver as is; the next patch makes it work in Xen.\n\n"
            f"Linux driver taken from the demo BSP tree, tag {RELEASES[0]}.")
    _port(repo, ["ipmmu-vmsa.c"], "iommu/arm: ipmmu-vmsa: Add Xen changes for main driver",
          "Make the Linux driver work inside Xen; wrap Linux-only parts in #if 0.")
    _import(repo, upstream, ["io-pgtable-arm.c", "io-pgtable.h"], "iommu/arm: ipmmu-vmsa: Add io-pgtables support",
            f"Copy the Linux LPAE page-table allocator as is.\n\nTaken from the demo BSP tree, tag {RELEASES[0]}.")
    _port(repo, ["io-pgtable-arm.c", "io-pgtable.h"], "iommu/arm: ipmmu-vmsa: Add Xen changes for io-pgtables",
          "Make the page-table allocator build and run inside Xen.")
    with open(repo / XEN_DIR / "Makefile", "a") as f:
        f.write("obj-$(CONFIG_IPMMU_VMSA) += ipmmu-vmsa.o\nobj-$(CONFIG_IPMMU_VMSA) += io-pgtable-arm.o\n")
    _commit(repo, f"iommu/arm: Build IPMMU-VMSA related stuff\n\n"
            f"Built only with CONFIG_IPMMU_VMSA, off by default until reviewed.\n\n{sob}")
    doc = repo / "docs/misc/arm/ipmmu-vmsa.txt"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text("Renesas IPMMU-VMSA in Xen\n=========================\n\n"
                   "Devices behind an IPMMU are assigned to a domain with the\n"
                   "\"iommus\" property of their device-tree node; all devices of one\n"
                   "domain share one translation context.\n")
    _commit(repo, f"docs/arm: Describe IPMMU-VMSA device assignment\n\n{sob}")


def port_sources(dest: Path) -> Path:
    """The hand-made Xen port of demo-1.0 as files (for validating it directly); returns their folder."""
    for name in PORTED:
        target = dest / XEN_DIR / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes((DATA / "upstream" / RELEASES[0] / "drivers/iommu" / name).read_bytes())
        _apply(dest, DATA / "port" / f"{name}.patch")
    return dest / XEN_DIR


def run(target: Path, progress=lambda text: None) -> dict:
    from .. import learn, resync, workspace
    target = Path(target).resolve()
    if target.exists() and any(target.iterdir()):
        raise BadInput(f"demo directory {target} is not empty")
    target.mkdir(parents=True, exist_ok=True)
    _clock[0] = EPOCH
    try:
        progress("building the upstream tree")
        upstream = build_upstream(target)
        progress("building the Xen tree and the hand-made port")
        xen = build_xen(target, upstream)
        ws = workspace.init(target / "ws", "ipmmu-vmsa", str(upstream), str(xen), "base",
                            public_url="https://example.org/demo/renesas-bsp.git",
                            xen_public_url="https://example.org/demo/xen.git")
        configure_build(ws)
        progress("learning the hand-made port")
        learn.learn(ws, "ipmmu", RELEASES[0])
        sender = f"{AUTHOR[0]} <{AUTHOR[1]}>"
        first = resync.resync(ws, RELEASES[0], progress, sender=sender)
        progress("validating v1 against the IPMMU model")
        checked = validate_tip(ws, target / "v1-sources")
        progress(f"resync onto {RELEASES[-1]}")
        update = resync.resync(ws, RELEASES[-1], progress, sender=sender)
        progress(f"validating {update['revision'] or 'the update'} against the IPMMU model")
        checked_update = validate_tip(ws, target / f"{update['revision'] or 'update'}-sources")
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return {"workspace": str(ws.root), "first": first, "validate": checked, "update": update,
            "validate_update": checked_update}


def configure_build(ws) -> None:
    """The demo Xen tree's build is portable C: the host compiler, for the host's architecture."""
    from ..build.config import host_arch
    arch = host_arch()
    if arch:
        ws.config["build"] = {"arch": arch, "cc": "cc"}
        ws.save()


def validate_tip(ws, dest: Path) -> dict:
    """Validate the ported files of the newest built series (refs/porter/NAME/last)."""
    from ..validate import validate_sources
    tip = f"refs/porter/{ws.name}/last"
    dest.mkdir(parents=True)
    for path in gitutil.ls_tree(ws.xen_git, tip, XEN_DIR):
        name = Path(path).name
        if name.endswith((".c", ".h")):
            (dest / name).write_bytes(gitutil.show_blob(ws.xen_git, tip, path))
    return validate_sources(dest)
