"""Git objects read and written in-process: blobs, trees, commits.

Reads go through one persistent `git cat-file --batch`; new objects are written as loose
objects, exactly as `git hash-object -w` does.  Building a step's commit costs no subprocess
per file, which keeps a resync within a few times `git am` of the same series.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import time
import zlib
from pathlib import Path

from . import gitutil

TREE_MODE = b"40000"


STALE_SECONDS = 3600


def remove_stale_temp_objects(objects: Path) -> None:
    """Delete `.tmp-obj-*` files an object write killed mid-way left (older than an hour, so that
    no write in progress is touched): git fsck reports them as garbage."""
    now = time.time()
    for tmp in objects.glob("??/.tmp-obj-*"):
        try:
            if now - tmp.lstat().st_mtime > STALE_SECONDS:
                tmp.unlink()
        except OSError:
            pass


class ObjectStore:
    def __init__(self, repo):
        self.repo = Path(repo)
        self.objects = self.repo / "objects"       # a bare repository's; else git says where
        if os.environ.get("GIT_OBJECT_DIRECTORY") or not (self.repo / "HEAD").is_file() or not self.objects.is_dir():
            self.objects = Path(gitutil.git_text(repo, "rev-parse", "--path-format=absolute",
                                                 "--git-path", "objects").strip())
        self._known: set[str] = set()
        remove_stale_temp_objects(self.objects)

    def close(self) -> None:
        """Nothing to release: reads share gitutil's open `cat-file --batch` of the repository."""

    def _get(self, sha: str) -> tuple[str, bytes] | None:
        got = gitutil.read_object(self.repo, sha)
        return (got[1], got[2]) if got else None

    def exists(self, sha: str) -> bool:
        if sha not in self._known and self._get(sha) is not None:
            self._known.add(sha)
        return sha in self._known

    def read(self, sha: str) -> bytes:
        got = self._get(sha)
        if got is None:
            raise gitutil.GitError(f"object {sha} missing in {self.repo}")
        return got[1]

    def write(self, kind: bytes, data: bytes) -> str:
        raw = kind + b" %d\0" % len(data) + data
        sha = hashlib.sha1(raw).hexdigest()
        if self.exists(sha):
            return sha
        target = self.objects / sha[:2] / sha[2:]
        target.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-obj-")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(zlib.compress(raw, 1))
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException as exc:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            if isinstance(exc, OSError) and not exc.filename:   # say where: the git object store
                raise OSError(exc.errno, exc.strerror, str(self.objects)) from None
            raise
        self._known.add(sha)
        return sha

    def tree_of(self, commit: str) -> str:
        return self.read(commit).split(b"\n", 1)[0].split()[1].decode()

    def entries(self, tree: str) -> dict[bytes, tuple[bytes, bytes]]:
        """{name: (mode, 20-byte sha)} of a tree object."""
        data, out, i = self.read(tree), {}, 0
        while i < len(data):
            sp = data.index(b" ", i)
            nul = data.index(b"\0", sp)
            out[data[sp + 1:nul]] = (data[i:sp], data[nul + 1:nul + 21])
            i = nul + 21
        return out

    def lookup(self, tree: str, path: str) -> str | None:
        """Blob id at path inside tree, or None."""
        for part in path.encode("utf-8", "surrogateescape").split(b"/"):
            entry = self.entries(tree).get(part)
            if entry is None:
                return None
            tree = entry[1].hex()
        return tree

    def tree_with(self, tree: str | None, changes: dict[str, str | None]) -> str:
        """A new tree: tree with each path set to a blob id (None removes it)."""
        entries = self.entries(tree) if tree else {}
        subdirs: dict[bytes, dict[str, str | None]] = {}
        for path, blob in changes.items():
            head, _, rest = path.partition("/")
            name = head.encode("utf-8", "surrogateescape")
            if rest:
                subdirs.setdefault(name, {})[rest] = blob
            elif blob is None:
                entries.pop(name, None)
            else:
                mode = entries.get(name, (b"100644",))[0]
                entries[name] = (mode if mode != TREE_MODE else b"100644", bytes.fromhex(blob))
        for name, sub in subdirs.items():
            old = entries.get(name)
            new = self.tree_with(old[1].hex() if old and old[0] == TREE_MODE else None, sub)
            if self.entries(new):
                entries[name] = (TREE_MODE, bytes.fromhex(new))
            else:
                entries.pop(name, None)
        key = lambda n: n + b"/" if entries[n][0] == TREE_MODE else n   # noqa: E731 (git's order)
        body = b"".join(entries[n][0] + b" " + n + b"\0" + entries[n][1] for n in sorted(entries, key=key))
        return self.write(b"tree", body)

    def commit(self, tree: str, parent: str, author: str, date: str, message: str) -> str:
        ident = f"{author} {date}".encode("utf-8", "surrogateescape")
        body = (b"tree " + tree.encode() + b"\nparent " + parent.encode() + b"\nauthor " + ident
                + b"\ncommitter " + ident + b"\n\n" + message.encode("utf-8", "surrogateescape"))
        return self.write(b"commit", body)
