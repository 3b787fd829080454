"""Git objects written in-process (GitPython's object database): blobs, trees, commits.

Building a step's commit this way costs no subprocess per file, which is what keeps a resync
within a few times `git am` of the same series.
"""
from __future__ import annotations

import hashlib
from io import BytesIO

import git
from gitdb import IStream

TREE_MODE = b"40000"


class ObjectStore:
    def __init__(self, path):
        self.repo = git.Repo(path)

    def close(self) -> None:
        self.repo.close()

    def exists(self, sha: str) -> bool:
        try:
            self.repo.git.get_object_header(sha)
        except ValueError:
            return False
        return True

    def read(self, sha: str) -> bytes:
        return self.repo.odb.stream(bytes.fromhex(sha)).read()

    def write(self, kind: bytes, data: bytes) -> str:
        sha = hashlib.sha1(kind + b" %d\0" % len(data) + data).hexdigest()
        if self.exists(sha):
            return sha
        return self.repo.odb.store(IStream(kind, len(data), BytesIO(data))).hexsha.decode()

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
