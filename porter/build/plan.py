"""Which objects to compile at which patch.

At every patch, a C file the series touches is compiled when the Makefile of its directory at that
patch names its object (so the verbatim imports wait for the build-glue patch); at the last patch,
every touched C file is compiled, named or not. An object whose inputs did not change since it was
last compiled is not compiled again.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import PurePosixPath

from .. import gitutil

_OBJ_LINE = re.compile(r"^\s*obj-[^\s:+?=]*\s*[:+?]?=(.*)$", re.M)


def named_objects(makefile: bytes | None) -> set[str]:
    """Object names (`foo.o`) any obj-* assignment of a Makefile lists."""
    if not makefile:
        return set()
    text = makefile.decode("utf-8", "replace").replace("\\\n", " ")
    return {w for m in _OBJ_LINE.finditer(text) for w in m.group(1).split() if w.endswith(".o")}


def object_of(cfile: str) -> str:
    return str(PurePosixPath(cfile).with_suffix(".o"))


class Planner:
    def __init__(self, repo, touched: list[str]):
        self.repo = repo
        self.touched = touched
        self.c_files = [p for p in touched if p.endswith(".c")]
        self.others = [p for p in touched if not p.endswith(".c")]
        self.last_key: dict[str, str] = {}

    def blobs(self, commit: str) -> dict[str, str | None]:
        """{touched path: blob id at commit, or None where it does not exist}."""
        out = gitutil.git(self.repo, "ls-tree", "-r", "-z", "--full-tree", commit, "--", *self.touched)
        found = dict.fromkeys(self.touched)
        for rec in filter(None, out.split(b"\0")):
            meta, path = rec.split(b"\t", 1)
            found[path.decode("utf-8", "surrogateescape")] = meta.split()[2].decode()
        return found

    def at(self, commit: str, last: bool) -> tuple[list[str], list[str], list[str]]:
        """(objects to compile, objects unchanged since compiled, objects not in their Makefile yet)."""
        blobs = self.blobs(commit)
        shared = "".join(f"{p}={blobs[p]};" for p in self.others)
        compile_, same, waiting = [], [], []
        for cfile in self.c_files:
            if blobs[cfile] is None:
                continue
            obj = object_of(cfile)
            directory = str(PurePosixPath(cfile).parent)
            makefile = gitutil.show_blob(self.repo, commit, f"{directory}/Makefile")
            if not last and PurePosixPath(obj).name not in named_objects(makefile):
                waiting.append(obj)
                continue
            key = hashlib.sha1(f"{blobs[cfile]};{shared}".encode()).hexdigest()
            if self.last_key.get(obj) == key:
                same.append(obj)
            else:
                self.last_key[obj] = key
                compile_.append(obj)
        return compile_, same, waiting

    def kconfig_changed(self, before: str, after: str) -> bool:
        kconfigs = [p for p in self.others if PurePosixPath(p).name.startswith("Kconfig")]
        if not kconfigs:
            return False
        a, b = self.blobs(before), self.blobs(after)
        return any(a[p] != b[p] for p in kconfigs)
