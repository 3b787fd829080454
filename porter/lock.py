"""One lock per workspace (.porter/lock, an flock as filelock takes it on Unix): commands that write
hold it, a second one waits PORTER_LOCK_TIMEOUT seconds (default 10) and then fails with one line.
fcntl rather than the filelock package: importing filelock cost every write command ~40 ms."""
from __future__ import annotations

import fcntl
import os
import time
from contextlib import contextmanager
from pathlib import Path

from .errors import BadInput
from .workspace import check_cache, inside, root_for

POLL_SECONDS = 0.05


@contextmanager
def workspace_lock(start: Path):
    """Hold the lock of the workspace start lies in (nothing to lock outside a workspace)."""
    root = root_for(start)
    if root is None:
        yield
        return
    check_cache(root)
    cache = root / ".porter"
    cache.mkdir(exist_ok=True)
    ignore = cache / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")
    path = inside(root, cache / "lock", "workspace lock")
    timeout = float(os.environ.get("PORTER_LOCK_TIMEOUT", "10"))
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        _acquire(fd, timeout, root, path)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _acquire(fd: int, timeout: float, root: Path, path: Path) -> None:
    """flock fd, polling; a negative timeout waits for ever."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if 0 <= timeout and deadline <= time.monotonic():
                raise BadInput(f"workspace {root} is busy: another porter command holds {path} "
                               f"(waited {timeout:g}s); try again when it has finished") from None
            time.sleep(POLL_SECONDS)
