"""One lock per workspace (.porter/lock, fasteners' inter-process lock): commands that write hold it,
a second one waits PORTER_LOCK_TIMEOUT seconds (default 10) and then fails with one line.
fasteners rather than filelock: importing filelock 4 cost every write command ~40 ms of CPU."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

from .errors import BadInput
from .workspace import check_cache, inside, root_for


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
    import fasteners        # with its logging import: paid only where there is a lock to take
    lock = fasteners.InterProcessLock(str(path))
    if not lock.acquire(timeout=None if timeout < 0 else timeout, delay=0.01, max_delay=0.05):
        raise BadInput(f"workspace {root} is busy: another porter command holds {path} "
                       f"(waited {timeout:g}s); try again when it has finished")
    try:
        yield
    finally:
        lock.release()
