"""Run a platform's scenarios in a forked child, so a crash in the C code
(a mutant's wild pointer, a driver bug) is a finding, not the end of porter."""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

from .. import sandbox
from .scenarios import GROUPS, PLATFORMS, PlatformSpec, iter_platform, scenario_names


def serve(lib_path: str, spec: PlatformSpec, group: str, stop_early: bool, out_fd: int) -> int:
    """In the child: run the scenarios, one JSON line per result on out_fd; the exit status."""
    import faulthandler
    faulthandler.disable()                     # a driver crash is a finding, not a dump
    sandbox.become_subreaper()
    code = 0
    try:
        with os.fdopen(out_fd, "w") as out:
            for result in iter_platform(lib_path, spec, group, stop_early):
                out.write(json.dumps(result) + "\n")
                out.flush()
    except BaseException as exc:               # noqa: BLE001 - report, never propagate
        try:
            os.write(out_fd, (json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
        except OSError:
            pass
        code = 3
    sandbox.kill_descendants()                 # nothing the driver started outlives it
    return code


class Child:
    """One platform's scenario group, run in a sandboxed child (see sandbox.py): forked in process
    mode, `python -m porter.validate.child` under bwrap in bwrap mode."""

    def __init__(self, lib_path: str, spec: PlatformSpec, group: str, stop_early: bool, mode: str, workdir: str):
        self.spec, self.group = spec, group
        self.proc = None
        if mode == "bwrap":
            lib_dir = os.path.dirname(os.path.abspath(lib_path))
            argv = [sys.executable, "-m", "porter.validate.child", lib_path, spec.name, group,
                    "1" if stop_early else "0"]
            env = sandbox.clean_env(workdir)
            env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
            self.proc = subprocess.Popen(sandbox.wrap(sandbox.limited(argv), workdir, (lib_dir,), mode),
                                         cwd=workdir, env=env, stdin=subprocess.DEVNULL,
                                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
            self.pid, self.fd = self.proc.pid, self.proc.stdout.fileno()
        else:
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:                                   # the child: limits, run, report, exit
                code = 3
                try:
                    os.close(r)
                    _quiet()
                    os.setsid()
                    os.chdir(workdir)
                    os.environ.clear()
                    os.environ.update(sandbox.clean_env(workdir))
                    sandbox.set_limits()
                    code = serve(lib_path, spec, group, stop_early, w)
                finally:
                    os._exit(code)
            os.close(w)
            self.pid, self.fd = pid, r
        self.buf = b""
        self.results: list[dict] = []
        self.error = None
        self.done = False

    def feed(self) -> None:
        data = os.read(self.fd, 65536)
        if not data:
            self.finish()
            return
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            try:
                doc = json.loads(line)
            except ValueError:
                continue                       # not a result line (the driver wrote to our pipe)
            if not isinstance(doc, dict):
                continue
            if "error" in doc:
                self.error = doc["error"]
            else:
                self.results.append(doc)

    def finish(self, reason: str | None = None) -> None:
        if self.done:
            return
        self.done = True
        if reason:
            sandbox.kill_group(self.pid)
        if self.proc is not None:
            self.proc.stdout.close()
            returncode = self.proc.wait()
            if returncode > 128 and returncode - 128 in signal.valid_signals():
                returncode = 128 - returncode        # bwrap reports its child's death by signal N as 128+N
        else:
            os.close(self.fd)
            _, status = os.waitpid(self.pid, 0)
            returncode = -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)
        sandbox.kill_group(self.pid)               # whatever is left in its process group
        if reason is None and returncode < 0:
            sig = signal.Signals(-returncode).name
            reason = f"the driver crashed ({sig})"
        if reason is None and self.error:
            reason = f"harness error: {self.error}"
        names = scenario_names(self.spec, self.group)
        seen = {r["name"] for r in self.results}
        rest = [n for n in names if n not in seen]
        if rest and (reason or not self.results or self.results[-1]["passed"]):
            crashed, *after = rest
            self.results.append({"name": crashed, "passed": False,
                                 "detail": f"{reason or 'no result'} during this scenario"})
            self.results += [{"name": n, "passed": False, "detail": f"not run: {crashed} failed"} for n in after]


def run_platforms(lib_path: str, specs, stop_early: bool = False, timeout: float = 30.0) -> list[dict]:
    """All platforms' scenarios, each platform in its own sandboxed child, in parallel."""
    mode = sandbox.mode()
    with tempfile.TemporaryDirectory(prefix="porter-run-") as workdir:
        children = [Child(str(lib_path), spec, group, stop_early, mode, workdir)
                    for spec in specs for group in GROUPS]
        try:
            deadline = time.monotonic() + timeout
            while any(not c.done for c in children):
                live = {c.fd: c for c in children if not c.done}
                left = deadline - time.monotonic()
                if left <= 0:
                    for c in live.values():
                        c.finish(f"timed out after {timeout:.0f}s")
                    break
                ready, _, _ = select.select(list(live), [], [], left)
                for fd in ready:
                    live[fd].feed()
        finally:
            for c in children:
                c.finish("stopped")
    out = []
    for c in children:
        out += c.results
    return out


def _quiet() -> None:
    """stdin, stdout and stderr of a child to /dev/null: what the driver prints is not porter's output."""
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    os.close(null)


def child_main(argv: list[str]) -> int:
    lib_path, platform, group, stop_early = argv
    spec = next(p for p in PLATFORMS if p.name == platform)
    out = os.dup(1)
    _quiet()
    return serve(lib_path, spec, group, stop_early == "1", out)
