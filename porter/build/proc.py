"""Run make in the sandbox (porter/sandbox.py: bwrap showing only the system, the toolchain and the
build tree, else resource limits and a clean environment), with a time limit; on timeout or
interrupt its whole process group is ended."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import sandbox
from ..errors import BadInput

_ENV = {"LC_ALL": "C", "LANG": "C", "MAKEFLAGS": "", "MAKELEVEL": "", "MFLAGS": ""}


_running: set[subprocess.Popen] = set()
_lock = threading.Lock()


class TimedOut(Exception):
    pass


@contextmanager
def interruptible():
    """SIGTERM (a cancelled CI job) unwinds like ^C, so the makes are ended and the tree left usable."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def end_all() -> None:
    """End every make still running (another thread's, when this one is interrupted)."""
    with _lock:
        procs = list(_running)
    for proc in procs:
        sandbox.end(proc)


@dataclass(frozen=True)
class Box:
    """Where a build's makes run: the sandbox mode, the build tree (the only writable folder), the
    toolchain folders (readable, their bin folders on PATH)."""
    mode: str
    root: Path
    tool_dirs: tuple[str, ...] = ()
    tool_roots: tuple[str, ...] = ()

    def argv(self, argv: list[str], cwd: Path, cpu: int) -> list[str]:
        return sandbox.wrap(sandbox.limited(argv, cpu=cpu), str(self.root), self.tool_roots, self.mode, str(cwd))

    def env(self) -> dict[str, str]:
        env = sandbox.clean_env(str(self.root))
        env["PATH"] = os.pathsep.join(dict.fromkeys([*self.tool_dirs, *env["PATH"].split(os.pathsep)]))
        env.update(_ENV)
        return env


def run_make(args: list[str], cwd: Path, timeout: float, box: Box) -> tuple[int, str]:
    """(exit status, stdout and stderr interleaved) of `make -rR args...` in cwd (never a shell)."""
    env = box.env()
    make = shutil.which("make", path=env["PATH"])
    if make is None:
        raise BadInput(f"porter build needs make on {env['PATH']} (apt-get install make)")
    argv = box.argv([make, "-rR", "--no-print-directory", *args], cwd, cpu=int(timeout) + 1)
    proc = subprocess.Popen(argv, cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    with _lock:
        _running.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        sandbox.end(proc)
        raise TimedOut() from None
    except BaseException:
        sandbox.end(proc)
        raise
    finally:
        with _lock:
            _running.discard(proc)
    return proc.returncode, out.decode("utf-8", "replace")
