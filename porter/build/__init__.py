"""`porter build`: compile what a revision touches in the Xen tree, at every patch, with Xen's flags.

The revision is applied on its base in a scratch worktree (.porter/build/tree) whose Xen build is
configured once per base, target and compiler; each object is compiled by Xen's own Rules.mk in its
directory, so the flags (including -Werror) are Xen's; each error is traced to the patch file, the
line in it and the C unit it sits in.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import PurePosixPath

from .. import gitutil
from ..errors import BadInput, Findings
from ..workspace import Workspace, inside
from . import config as config_mod
from .config import BuildConfig, NoCompiler
from .diagnostics import Origins, errors, render
from .plan import Planner
from .proc import end_all, interruptible
from .tree import Tree, locked, prepare

_DIFF_GIT = re.compile(rb"^diff --git a/\S+ b/(\S+)$", re.M)

__all__ = ["BuildConfig", "NoCompiler", "compiler", "optional_compiler", "build_revision", "build_commits", "series_files", "render", "summary", "distinct_errors"]


def series_files(repo, base: str, tip: str) -> list[str]:
    """Every file any commit of base..tip touches."""
    out = gitutil.git_text(repo, "log", "--no-renames", "--name-only", "--format=", f"{base}..{tip}")
    return sorted({p for p in out.splitlines() if p})


def patch_paths(patches) -> list[str]:
    """The files patches touch (their `diff --git a/X b/X` lines)."""
    found = set()
    for data in patches:
        found.update(m.decode("utf-8", "surrogateescape") for m in _DIFF_GIT.findall(data))
    return sorted(found)


def compiler(ws: Workspace, touched: list[str]) -> BuildConfig:
    """The build configuration for the paths a series touches; NoCompiler names what to install or set."""
    return config_mod.resolve(ws.config, touched)


def has_build(ws: Workspace, base: str) -> bool:
    """Whether the Xen tree at base has a hypervisor build (xen/Makefile and xen/Rules.mk)."""
    return all(gitutil.run(ws.xen_git, "cat-file", "-e", f"{base}:xen/{f}").returncode == 0
               for f in ("Makefile", "Rules.mk"))


def optional_compiler(ws: Workspace, touched: list[str]) -> tuple[BuildConfig | None, str]:
    """(configuration, "") or (None, why the build is skipped) for resync and check."""
    base = ws.resolve("xen", ws.base, "base")
    if not has_build(ws, base):
        return None, f"the Xen tree at {ws.base} has no hypervisor build (xen/Makefile, xen/Rules.mk)"
    try:
        return compiler(ws, touched), ""
    except NoCompiler as exc:
        if config_mod.configured(ws.config):
            raise
        return None, str(exc)


def build_revision(ws: Workspace, version: int | None = None, progress=lambda text: None,
                   cfg: BuildConfig | None = None) -> dict:
    """Build series/NAME/vN/ (default: the newest) applied with git am on the base."""
    version = ws.newest_revision() if version is None else version
    files = ws.revision_files(version)
    patches = {n: d for n, d in sorted(files.items()) if n.endswith(".patch") and not n.startswith("0000-")}
    if not patches:
        raise BadInput(f"series/{ws.name}/v{version} holds no patch files")
    base = ws.resolve("xen", ws.base, "base")
    if not has_build(ws, base):
        raise BadInput(f"the Xen tree at {ws.base} ({base[:12]}) cannot be configured: it has no hypervisor "
                       f"build (xen/Makefile, xen/Rules.mk)")
    if cfg is None:
        cfg = compiler(ws, patch_paths(patches.values()))

    def apply(tree: Tree) -> list[str]:
        paths = [str(ws.revision_dir(version) / n) for n in patches]
        proc = tree.run_git("-c", "user.name=porter", "-c", "user.email=porter@localhost",
                            "am", "--quiet", "--keep-cr", *paths)
        if proc.returncode != 0:
            done = len(tree.git("rev-list", f"{base}..HEAD").split())
            tree.git("am", "--abort", check=False)
            raise Findings(f"series/{ws.name}/v{version}/{list(patches)[done]} does not apply on the base "
                           f"{ws.base} ({base[:12]})")
        return tree.git("rev-list", "--reverse", f"{base}..HEAD").split()

    result = _run(ws, base, patches, apply, progress, cfg)
    result["revision"] = f"v{version}"
    return result


def build_commits(ws: Workspace, base: str, commits: list[str], patches: dict[str, bytes],
                  cfg: BuildConfig, progress=lambda text: None) -> dict:
    """Build commits already in the Xen cache (a resync's), reported against their patch files."""
    if len(commits) != len(patches):
        raise BadInput(f"{len(commits)} commits but {len(patches)} patch files to report them against")
    return _run(ws, base, patches, lambda tree: list(commits), progress, cfg)


def _run(ws: Workspace, base: str, patches: dict[str, bytes], apply, progress, cfg) -> dict:
    names = list(patches)
    with interruptible(), locked(ws.cache) as build_dir:
        tree = prepare(ws.xen_git, build_dir, cfg, base, progress)
        commits = apply(tree)
        touched = series_files(ws.xen_git, base, commits[-1]) if commits else []
        planner = Planner(ws.xen_git, [p for p in touched if p.startswith("xen/")])
        origins = Origins(ws.xen_git, base, commits, patches)
        if planner.kconfig_changed(base, commits[-1] if commits else base):
            tree.reconfigure(base)
        reports, previous, last = [], base, {}
        for n, (commit, name) in enumerate(zip(commits, names), 1):
            progress(f"{n}/{len(commits)} {name}")
            tree.checkout(commit)
            if planner.kconfig_changed(previous, commit):
                tree.reconfigure(base)
            todo, same, waiting = planner.at(commit, last=n == len(commits))
            compiled = _compile_all(tree, todo, name)
            objects = []
            for obj, (code, errs) in zip(todo, compiled):
                mapped = [origins.locate(e, commit, set(touched)) for e in errs] if code else []
                objects.append({"object": obj, "status": "OK" if code == 0 else "FAIL", "errors": mapped})
                last[obj] = {"object": obj, "status": objects[-1]["status"], "as_at": name}
            unchanged = [last[obj] for obj in same]
            reports.append({"patch": name, "ok": all(o["status"] == "OK" for o in objects + unchanged),
                            "objects": objects, "unchanged": unchanged, "not_in_makefile": waiting})
            previous = commit
        tree.checkout(base)
        tree.restore()
    failed = [(r["patch"], o) for r in reports for o in r["objects"] if o["status"] == "FAIL"]
    return {"ok": not failed, "arch": cfg.arch.name, "compiler": cfg.describe(), "sandbox": tree.box.mode,
            "patches": reports,
            "failed": [{"patch": p, "object": o["object"]} for p, o in failed],
            "errors": [dict(e, object=o["object"], at=p) for p, o in failed for e in o["errors"]]}


def _compile_all(tree: Tree, objects: list[str], patch: str) -> list[tuple[int, list[dict]]]:
    """Compile objects, one make per directory (its objects in parallel, output kept per object)."""
    if not objects:
        return []
    by_dir: dict[str, list[str]] = {}
    for obj in objects:
        by_dir.setdefault(str(PurePosixPath(obj).parent), []).append(obj)
    pool = ThreadPoolExecutor(max_workers=len(by_dir))
    try:
        results: dict[str, tuple[int, list[dict]]] = {}
        for done in pool.map(lambda d: _compile_dir(tree, d, by_dir[d], patch), by_dir):
            results.update(done)
        return [results[obj] for obj in objects]
    except BaseException:       # a timeout or ^C: no make outlives porter
        pool.shutdown(wait=False, cancel_futures=True)
        end_all()
        raise
    finally:
        pool.shutdown(wait=True)


def _compile_dir(tree: Tree, directory: str, objects: list[str], patch: str) -> dict[str, tuple[int, list[dict]]]:
    """Compile the objects of one directory through Xen's Rules.mk there: {object: (status, errors)}."""
    cwd = inside(tree.root, tree.root / directory, "build tree folder")
    names = [PurePosixPath(obj).name for obj in objects]
    for name in names:
        for stale in (cwd / name, cwd / f".{name}.d"):
            if stale.exists():
                stale.unlink()
    jobs = min(len(names), os.cpu_count() or 1)
    flags = ["-k", f"-j{jobs}", "--output-sync=target"] if len(names) > 1 else []
    code, out = tree.rules(names, directory[len("xen/"):], flags, what=f"compiling {', '.join(objects)} at {patch}")
    parts = output_by_object(out, names)
    results = {}
    for obj, name in zip(objects, names):
        if (cwd / name).is_file():
            results[obj] = (0, [])
        else:
            text = parts.get(name) or (out if len(names) == 1 else f"{obj} was not produced by make")
            results[obj] = (code or 1, errors(text, cwd, tree.root))
    return results


def output_by_object(output: str, names: list[str]) -> dict[str, str]:
    """A make's output cut into each object's part: from the line that names the object (the
    compile command make echoes, or its error line) to the next such line of another object."""
    parts: dict[str, list[str]] = {}
    words = {name: re.compile(rf"(?<![\w.-]){re.escape(name)}(?![\w.-])") for name in names}
    current = None
    for line in output.splitlines():
        if not line.startswith((" ", "\t", "In file included")) and ": error:" not in line:
            named = next((n for n, w in words.items() if w.search(line)), None)
            current = named or current
        if current:
            parts.setdefault(current, []).append(line)
    return {name: "\n".join(lines) for name, lines in parts.items()}


def distinct_errors(result: dict) -> list[dict]:
    """Each error once: the same line of the same patch fails again at every later patch."""
    seen, out = set(), []
    for err in result["errors"]:
        key = (err.get("patch"), err.get("patch_line"), err["message"]) if err.get("patch") else \
            (err["file"], err["line"], err["message"])
        if key not in seen:
            seen.add(key)
            out.append(err)
    return out


def summary(result: dict) -> str:
    """One line naming what failed to build, and where first."""
    at: dict[str, list[str]] = {}
    for f in result["failed"]:
        at.setdefault(PurePosixPath(f["object"]).name, []).append(f["patch"][:4])
    objs = "; ".join(f"{obj} at {', '.join(patches)}" for obj, patches in at.items())
    first = result["errors"][0] if result["errors"] else None
    return f"build failed ({objs})" + (f"; first: {render(first)}" if first else "")
