"""Run make with a time limit; on timeout or interrupt its whole process group is ended."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from contextlib import contextmanager
from pathlib import Path

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
        _end(proc)


def run_make(args: list[str], cwd: Path, timeout: float) -> tuple[int, str]:
    """(exit status, stdout and stderr interleaved) of `make -rR args...` in cwd (never a shell)."""
    env = dict(os.environ)
    env.update(_ENV)
    proc = subprocess.Popen(["make", "-rR", "--no-print-directory", *args], cwd=cwd, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)
    with _lock:
        _running.add(proc)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end(proc)
        raise TimedOut() from None
    except BaseException:
        _end(proc)
        raise
    finally:
        with _lock:
            _running.discard(proc)
    return proc.returncode, out.decode("utf-8", "replace")


def _end(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait()
    except ChildProcessError:
        pass
