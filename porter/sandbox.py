"""Where porter runs code it did not write: the compile and the scenarios of `porter validate`, and
every make of `porter build` (a recipe's build glue is a Makefile, which can run commands).

process mode (always): RLIMIT_CPU, RLIMIT_AS, RLIMIT_FSIZE, no core files, a wall-clock limit,
    its own session whose process group is killed when it ends, and none of the caller's
    environment. The code still runs as the calling user: it can read what the user can read and
    write where the user can write (by an absolute path).
bwrap mode (auto when `bwrap` works, or PORTER_SANDBOX=bwrap / --sandbox bwrap): additionally a
    file system of its own: the system (/usr, /bin, /lib*, a few files of /etc) read-only, the
    interpreter and the folders the caller names read-only, the work folder writable, an empty
    private /tmp; nothing else (no $HOME, no workspace), no network, a PID namespace (no process
    outlives it), dies with porter.
"""
from __future__ import annotations

import ctypes
import os
import resource
import shutil
import signal
import subprocess
import sys
import time
from functools import lru_cache
from pathlib import Path

from .errors import BadInput

MODES = ("auto", "bwrap", "process")
CPU_SECONDS = 60
MEMORY = 4 << 30
FILE_SIZE = 256 << 20
PR_SET_CHILD_SUBREAPER = 36


_requested: list[str] = []


def request(sandbox: str | None) -> None:
    """The mode `porter validate --sandbox` asks for (None: $PORTER_SANDBOX, else auto)."""
    _requested[:] = [sandbox] if sandbox else []
    mode()


def mode() -> str:
    """'bwrap' or 'process': the requested mode (request(), else $PORTER_SANDBOX, else auto)."""
    want = (_requested or [None])[0] or os.environ.get("PORTER_SANDBOX") or "auto"
    if want not in MODES:
        raise BadInput(f"sandbox {want!r} is not one of {', '.join(MODES)}")
    if want == "process":
        return want
    if bwrap_works():
        return "bwrap"
    if want == "bwrap":
        raise BadInput("sandbox bwrap requested but bubblewrap does not work here "
                       "(install the 'bubblewrap' package, or allow user namespaces)")
    return "process"


SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# what the dynamic loader, compilers chosen through alternatives and the shell look up in /etc
ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "alternatives", "passwd", "group", "nsswitch.conf",
       "localtime")


@lru_cache(maxsize=1)
def bwrap_works() -> bool:
    path = shutil.which("bwrap")
    if not path:
        return False
    try:
        return subprocess.run([path, *_bwrap_args("/", _own_paths()), sys.executable, "-I", "-S", "-c", "pass"],
                              capture_output=True, timeout=20, env=clean_env("/tmp")).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _own_paths() -> tuple[str, ...]:
    """The interpreter, porter and the packages it imports: readable in the sandbox wherever they live
    (not the other folders on sys.path: the current one may be the workspace)."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             str(Path(sys.executable).parent), str(Path(__file__).resolve().parents[1])}
    paths.update(p for p in sys.path if os.path.basename(p) in ("site-packages", "dist-packages"))
    return tuple(sorted(paths))


def system_under(path: str) -> bool:
    """Whether path is part of the system view every sandbox sees anyway."""
    real = os.path.realpath(path)
    return any(real == s or real.startswith(s + "/") for s in map(os.path.realpath, SYSTEM))


def _bwrap_args(workdir: str, readable: tuple[str, ...] = (), cwd: str | None = None) -> list[str]:
    args = ["--tmpfs", "/"]
    for path in SYSTEM:
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for name in ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    args += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    shown: list[str] = []
    for path in sorted(set(readable)):
        if not system_under(path) and not any(path.startswith(s.rstrip("/") + "/") for s in shown):
            shown.append(path)
            args += ["--ro-bind-try", path, path]
    if workdir != "/":
        args += ["--bind", workdir, workdir, "--chdir", cwd or workdir]
    return args + ["--remount-ro", "/", "--unshare-all", "--die-with-parent", "--new-session"]


def wrap(argv: list[str], workdir: str, readable: tuple[str, ...] = (), sandbox: str = "process",
         cwd: str | None = None) -> list[str]:
    """argv as run in the sandbox (bwrap prefixes it; process mode runs it as is), in cwd (a folder
    of workdir; default workdir)."""
    if sandbox != "bwrap":
        return argv
    return [shutil.which("bwrap"), *_bwrap_args(workdir, (*_own_paths(), *readable), cwd), *argv]


SYSTEM_PATH = "/usr/local/bin:/usr/bin:/bin"


def clean_env(workdir: str) -> dict[str, str]:
    """Nothing of the caller's environment but a plain PATH."""
    return {"PATH": SYSTEM_PATH,
            "HOME": workdir, "TMPDIR": workdir, "LC_ALL": "C", "LANG": "C"}


def set_limits(cpu: int = CPU_SECONDS, memory: int = MEMORY, file_size: int = FILE_SIZE) -> None:
    """Resource limits of the calling process (run in the child, before the untrusted code)."""
    for which, value in ((resource.RLIMIT_CPU, cpu), (resource.RLIMIT_AS, memory),
                         (resource.RLIMIT_FSIZE, file_size), (resource.RLIMIT_CORE, 0)):
        _soft, hard = resource.getrlimit(which)
        limit = value if hard == resource.RLIM_INFINITY else min(value, hard)
        resource.setrlimit(which, (limit, limit))


def become_subreaper() -> None:
    """Orphaned descendants of the calling process are re-parented to it (Linux), not to init."""
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        except (OSError, AttributeError):
            pass


def kill_descendants() -> None:
    """SIGKILL every process whose parent is this one, again and again until none is left
    (a subreaper inherits the grandchildren of the ones it kills)."""
    me = str(os.getpid())
    for _ in range(100):
        children = []
        try:
            entries = os.listdir("/proc")
        except OSError:
            return
        for pid in entries:
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/stat", "rb") as f:
                    fields = f.read().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            if fields[1].decode() == me:
                children.append(int(pid))
        if not children:
            return
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


def kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _parents() -> dict[int, int]:
    """{pid: parent pid} of every process."""
    out = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as f:
                    out[int(entry)] = int(f.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    return out


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return False


def end(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Kill proc, its process group and every process it started (those in a session of their own, and
    bwrap's PID namespace, included), and wait until they are gone, at most `grace` seconds."""
    parents = _parents() if sys.platform.startswith("linux") else {}
    tree, todo = [], [proc.pid]
    while todo:
        pid = todo.pop()
        kids = [p for p, parent in parents.items() if parent == pid]
        tree += kids
        todo += kids
    kill_group(proc.pid)
    for pid in [proc.pid, *tree]:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        proc.wait()
    except ChildProcessError:
        pass
    deadline = time.monotonic() + grace
    while any(_running(pid) for pid in tree) and time.monotonic() < deadline:
        time.sleep(0.01)


_LIMITED = """import os, resource, sys
for name, value in zip(("RLIMIT_CPU", "RLIMIT_AS", "RLIMIT_FSIZE", "RLIMIT_CORE"), map(int, sys.argv[1:5])):
    which = getattr(resource, name)
    hard = resource.getrlimit(which)[1]
    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
    resource.setrlimit(which, (value, value))
os.execv(sys.argv[5], sys.argv[5:])
"""


def limited(argv: list[str], cpu: int = CPU_SECONDS, memory: int = MEMORY, file_size: int = FILE_SIZE) -> list[str]:
    """argv started through a tiny exec wrapper that sets the resource limits first (no preexec_fn:
    porter compiles from threads)."""
    return [sys.executable, "-I", "-S", "-c", _LIMITED, str(cpu), str(memory), str(file_size), "0",
            shutil.which(argv[0]) or argv[0], *argv[1:]]


def run(argv: list[str], workdir: str, timeout: float, sandbox: str = "process",
        readable: tuple[str, ...] = (), cpu: int = CPU_SECONDS) -> subprocess.CompletedProcess:
    """Run argv (a compiler, a linker) in the sandbox with resource limits and a wall-clock limit;
    its whole process group is killed when it ends or times out (returncode -9 and a message)."""
    proc = subprocess.Popen(wrap(limited(argv, cpu), workdir, readable, sandbox), cwd=workdir,
                            env=clean_env(workdir), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        end(proc)
        out, err = proc.communicate()
        return subprocess.CompletedProcess(proc.args, -signal.SIGKILL, out,
                                           err + f"\nerror: timed out after {timeout:g}s\n".encode())
    finally:
        kill_group(proc.pid)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
