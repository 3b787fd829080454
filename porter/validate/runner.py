"""Run a platform's scenarios in a forked child, so a crash in the C code
(a mutant's wild pointer, a driver bug) is a finding, not the end of porter."""
from __future__ import annotations

import json
import os
import select
import signal
import time

from .scenarios import GROUPS, PlatformSpec, iter_platform, scenario_names


class Child:
    def __init__(self, lib_path: str, spec: PlatformSpec, group: str, stop_early: bool):
        self.spec, self.group = spec, group
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:                                   # the child: run, report line by line, exit
            os.close(r)
            import faulthandler
            faulthandler.disable()                     # a driver crash is a finding, not a dump
            code = 0
            try:
                with os.fdopen(w, "w") as out:
                    for result in iter_platform(lib_path, spec, group, stop_early):
                        out.write(json.dumps(result) + "\n")
                        out.flush()
            except BaseException as exc:               # noqa: BLE001 - report, never propagate
                try:
                    os.write(w, (json.dumps({"error": f"{type(exc).__name__}: {exc}"}) + "\n").encode())
                except OSError:
                    pass
                code = 3
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
            doc = json.loads(line)
            if "error" in doc:
                self.error = doc["error"]
            else:
                self.results.append(doc)

    def finish(self, reason: str | None = None) -> None:
        if self.done:
            return
        self.done = True
        os.close(self.fd)
        if reason:
            os.kill(self.pid, signal.SIGKILL)
        _, status = os.waitpid(self.pid, 0)
        if reason is None and os.WIFSIGNALED(status):
            sig = signal.Signals(os.WTERMSIG(status)).name
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
    """All platforms' scenarios, each platform in its own child process, in parallel."""
    children = [Child(str(lib_path), spec, group, stop_early) for spec in specs for group in GROUPS]
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
    out = []
    for c in children:
        out += c.results
    return out
