"""Results kept in .porter/memo/ under the hash of everything they are computed from.

A key covers porter's own files, the installed libraries, Python and git, and then what the
caller names: file contents, commit ids, options.  The same key can only name the same result, so
an entry is never stale: a change to any input is a new key.  A value is stored only when it reads
back equal to what was computed, and an entry that cannot be read is computed again.
"""
from __future__ import annotations

import hashlib
import json
import os
import site
import sys
from functools import lru_cache
from pathlib import Path

from .workspace import Workspace, atomic_write

VERSION = b"porter-memo-1"
KEEP = 32           # entries of each kind kept: older ones are removed when a new one is stored


def _update_tree(h, root: str, skip=lambda rel: False, content: bool = True, rel: str = "") -> bool:
    """Hash every file under root in a fixed order: its relative path and its bytes (content), or
    its size, modification time and inode, the signature by which Python trusts its bytecode;
    False when a symlink makes what a reader sees differ from what a walk sees."""
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError:
        return False
    for e in entries:
        if e.is_symlink():
            return False
        path = f"{rel}/{e.name}" if rel else e.name
        if e.is_dir():
            if e.name != "__pycache__" and not skip(path) and \
                    not _update_tree(h, e.path, skip, content, path):
                return False
            continue
        if e.name.endswith(".pyc"):
            continue
        name = path.encode("utf-8", "surrogateescape")
        if content:
            with open(e.path, "rb") as f:
                data = f.read()
            h.update(b"%d\0%s\0%d\0" % (len(name), name, len(data)))
            h.update(data)
        else:
            st = e.stat()
            h.update(b"%d\0%s\0%d\0%d\0%d\0" % (len(name), name, st.st_size, st.st_mtime_ns, st.st_ino))
    return True


@lru_cache(maxsize=1)
def environment() -> bytes:
    """What every result depends on besides its own inputs: porter's files (code, rule packs,
    templates, by the signature Python checks its bytecode against), the installed distributions
    and their versions, Python, and the git binary."""
    h = hashlib.sha256(VERSION)
    _update_tree(h, os.path.dirname(os.path.abspath(__file__)), content=False)
    dirs = list(site.getsitepackages()) if hasattr(site, "getsitepackages") else []
    if site.ENABLE_USER_SITE:
        dirs.append(site.getusersitepackages())
    for d in dirs:
        try:
            names = sorted(n for n in os.listdir(d) if n.endswith((".dist-info", ".egg-info", ".egg-link")))
        except OSError:
            continue
        h.update(d.encode("utf-8", "surrogateescape") + b"\0" + "\0".join(names).encode("utf-8", "surrogateescape"))
    h.update(sys.version.encode())
    git = next((p for p in (os.path.join(d, "git") for d in os.get_exec_path()) if os.access(p, os.X_OK)), "")
    try:
        st = os.stat(git)
        h.update(f"\0{git}\0{st.st_size}\0{st.st_mtime_ns}".encode("utf-8", "surrogateescape"))
    except OSError:
        h.update(b"\0no git")
    return h.digest()


def _git_settings() -> bytes:
    """What can change how git works for porter besides its arguments: GIT_* variables and the
    user's global config (apply.whitespace, say); the system config is off (gitutil)."""
    env = sorted((k, v) for k, v in os.environ.items() if k.startswith("GIT_"))
    out = [f"{k}={v}".encode("utf-8", "surrogateescape") for k, v in env]
    home = os.environ.get("HOME", "")
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
    for path in (os.path.join(home, ".gitconfig"), os.path.join(xdg, "git", "config")):
        try:
            out.append(Path(path).read_bytes())
        except OSError:
            out.append(b"\xff")
    return b"\0".join(out)


class Key:
    """A key under construction: add inputs, then read .hex (None when an input cannot be hashed)."""

    def __init__(self, kind: str):
        self.kind = kind
        self.h = hashlib.sha256(environment() + kind.encode() + b"\0")
        self.ok = True
        self.add(_git_settings())

    def add(self, *parts: str | bytes | None) -> "Key":
        for p in parts:
            data = b"\xff" if p is None else p if isinstance(p, bytes) else p.encode("utf-8", "surrogateescape")
            self.h.update(b"%d\0" % len(data) + data)
        return self

    def add_file(self, path: Path) -> "Key":
        try:
            return self.add(path.read_bytes())
        except FileNotFoundError:
            return self.add(None)

    def add_tree(self, root: Path, skip=lambda rel: False) -> "Key":
        self.ok = self.ok and _update_tree(self.h, str(root), skip)
        return self

    @property
    def hex(self) -> str | None:
        return self.h.hexdigest() if self.ok else None


def _path(ws: Workspace, key: Key) -> Path | None:
    return ws.cache / "memo" / key.kind / f"{key.hex}.json" if key.hex else None


def load(ws: Workspace, key: Key):
    """The value stored under key, or None."""
    path = _path(ws, key)
    if path is None:
        return None
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
    if not (isinstance(doc, dict) and doc.get("key") == key.hex):
        return None
    try:
        os.utime(path)       # the least recently used entries are the ones dropped
    except OSError:
        pass
    return doc.get("value")


def store(ws: Workspace, key: Key, value) -> list[str] | None:
    """Keep value under key when its JSON reads back equal to it, and drop the oldest entries of
    its kind beyond KEEP: the keys dropped, or None when value was not kept."""
    path = _path(ws, key)
    if path is None:
        return None
    data = json.dumps({"key": key.hex, "value": value}, sort_keys=True).encode()
    if json.loads(data)["value"] != value:
        return None
    try:
        atomic_write(path, data)
    except OSError:
        return None     # a read-only cache only costs time
    return _prune(ws, key.kind, KEEP)


def _prune(ws: Workspace, kind: str, keep: int) -> list[str]:
    """Remove all but the `keep` newest entries of a kind; the keys removed."""
    folder = ws.cache / "memo" / kind
    try:
        entries = sorted(((e.stat().st_mtime_ns, e.name) for e in os.scandir(folder) if e.name.endswith(".json")),
                         reverse=True)
    except OSError:
        return []
    removed = []
    for _, name in entries[keep:]:
        try:
            os.unlink(folder / name)
            removed.append(name[:-len(".json")])
        except OSError:
            pass
    return removed


def text(data: bytes) -> str:
    """bytes as a JSON-safe string that `raw` turns back into the same bytes."""
    return data.decode("utf-8", "surrogateescape")


def raw(value: str) -> bytes:
    return value.encode("utf-8", "surrogateescape")
