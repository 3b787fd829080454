"""The one way porter reaches git: argument lists, never a shell."""
from __future__ import annotations

import atexit
import os
import re
import subprocess
from collections import OrderedDict
from functools import lru_cache
from pathlib import Path

from .errors import BadInput

_GIT_ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "LC_ALL": "C",
    "TZ": "UTC",
    # settings no repository config may override (a cache committed by a pull request is input):
    # no hooks, no fsmonitor command
    "GIT_CONFIG_COUNT": "2",
    "GIT_CONFIG_KEY_0": "core.hooksPath", "GIT_CONFIG_VALUE_0": "/dev/null",
    "GIT_CONFIG_KEY_1": "core.fsmonitor", "GIT_CONFIG_VALUE_1": "false",
}

# settings of a cache's git config that run a command, load more config or redirect a transport:
# porter never writes them (a human working in the scratch worktree has no need to), and a cache
# committed by a pull request must not bring them (compiled when first needed: it is large)
CACHE_REFUSED = (
    r"^(include\.|includeif\.|credential\.|filter\.|diff\..*\.(command|textconv)=|merge\..*\.driver=|"
    r"uploadpack\.|uploadarchive\.|receive\.|protocol\.|url\..*insteadof=|"
    r"remote\..*\.(uploadpack|receivepack|vcs|proxy)=|core\.(sshcommand|gitproxy|fsmonitor|hookspath|askpass|"
    r"editor|pager|worktree|alternaterefscommand|attributesfile)=|gpg\.|sequence\.editor=|pager\.|sendemail\.|"
    r"alias\.|http\.|transfer\.|submodule\.|extensions\.(?!objectformat=|worktreeconfig=))")


@lru_cache(maxsize=1)
def cache_refused() -> re.Pattern:
    return re.compile(CACHE_REFUSED, re.I)


_checked: set[tuple[str, int]] = set()

# a config of only these lines sets nothing CACHE_REFUSED names, so git need not parse it: what
# `git clone --bare/--mirror` writes.  Anything else (quotes, escapes, comments after a value,
# other sections or keys) goes to `git config --list`.
_PLAIN_SECTION = re.compile(r'[ \t]*\[[ \t]*(core|remote[ \t]+"[^"\\\x00-\x1f]*")[ \t]*\][ \t]*', re.I)
_PLAIN_KEY = re.compile(r'[ \t]*([A-Za-z][A-Za-z0-9-]*)[ \t]*=[^"\\;#\x00-\x08\x0a-\x1f\x7f]*')
_PLAIN_KEYS = {"core": {"repositoryformatversion", "filemode", "bare", "logallrefupdates", "ignorecase",
                        "precomposeunicode", "symlinks"},
               "remote": {"url", "fetch", "mirror", "tagopt", "prune"}}


def _plainly_safe(text: str) -> bool:
    section = None
    for line in text.split("\n"):
        if not line.strip(" \t") or line.lstrip(" \t")[0] in "#;" and line.isprintable():
            continue
        m = _PLAIN_SECTION.fullmatch(line)
        if m:
            section = m.group(1).split()[0].lower()
            continue
        m = _PLAIN_KEY.fullmatch(line)
        if not (m and section and m.group(1).lower() in _PLAIN_KEYS[section]):
            return False
    return True


def check_cache_config(repo: str | os.PathLike) -> None:
    """Refuse a cache whose git config would run commands (a cache committed by a pull request)."""
    config = Path(repo) / "config"
    try:
        key = (str(config), config.stat().st_mtime_ns)
        text = config.read_text("utf-8", "replace")
    except OSError:
        return
    if key in _checked:
        return
    if _plainly_safe(text):
        _checked.add(key)
        return
    out = run(repo, "config", "--file", str(config), "--list")
    lines = out.stdout.decode("utf-8", "replace").splitlines() if out.returncode == 0 else [text[:60]]
    bad = [line.split("=", 1)[0] for line in lines if cache_refused().match(line)]
    if bad:
        raise BadInput(f"{config}: setting {bad[0]!r} would let the cache run commands or redirect git; "
                       f"porter never writes it: delete the cache folder (porter fetch rebuilds it)")
    _checked.add(key)


class GitError(BadInput):
    pass


def run(repo: str | os.PathLike, *args: str, input: bytes | None = None,
        env: dict | None = None) -> subprocess.CompletedProcess:
    """Run `git -C repo args...` (never through a shell) and return the completed process."""
    full_env = dict(os.environ)
    full_env.update(_GIT_ENV)
    if env:
        full_env.update(env)
    return subprocess.run(["git", "-C", str(repo), *args], input=input,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env)


def git(repo: str | os.PathLike, *args: str, input: bytes | None = None,
        env: dict | None = None, check: bool = True) -> bytes:
    """Run `git -C repo args...` and return stdout; raise GitError with git's first line."""
    proc = run(repo, *args, input=input, env=env)
    if check and proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        first = next((line for line in err if line.startswith(("fatal", "error"))), err[0] if err else "")
        raise GitError(f"git {args[0]} failed in {repo}: {first or 'exit %d' % proc.returncode}")
    return proc.stdout


def git_text(repo, *args, **kw) -> str:
    return git(repo, *args, **kw).decode("utf-8", "surrogateescape")


def check_ref_syntax(ref: str, what: str = "ref") -> str:
    """Refuse refs that git could take as options or that are not refs at all."""
    if not ref or ref.startswith("-") or any(c in ref for c in "\0\n\r ") or ".." in ref.replace("...", ""):
        raise BadInput(f"invalid {what} {ref!r}")
    return ref


_AHEAD = 4096      # bytes of names written before reading answers: POSIX pipes hold at least this


class _Reader:
    """One `git cat-file --batch` kept open per repository: objects by name without a process each."""

    def __init__(self, repo: str, key):
        self.key, self.pid = key, os.getpid()
        env = dict(os.environ)
        env.update(_GIT_ENV)
        self.proc = subprocess.Popen(["git", "-C", repo, "cat-file", "--batch"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env)

    def get(self, name: str) -> tuple[str, str, bytes] | None:
        """(sha, type, data) of the object `name` (any `<rev>`, `<rev>:<path>`), or None."""
        got = self.get_many([name])
        return got[0] if got else None

    def get_many(self, names: list[str]) -> list[tuple[str, str, bytes] | None] | None:
        """get() of each name (none holding a newline), names written ahead of their answers a
        chunk at a time, a chunk no bigger than any pipe holds (or one name): git never waits for
        its answers to be read while this waits to write.  None when git has exited (not a
        repository)."""
        lines = [n.encode("utf-8", "surrogateescape") + b"\n" for n in names]
        out: list = []
        start = 0
        while start < len(lines):
            end, size = start + 1, len(lines[start])
            while end < len(lines) and size + len(lines[end]) <= _AHEAD:
                size += len(lines[end])
                end += 1
            try:
                self.proc.stdin.write(b"".join(lines[start:end]))
                self.proc.stdin.flush()
            except OSError:
                return None
            for _ in range(start, end):
                header = self.proc.stdout.readline().split()
                if not header:
                    return None
                if len(header) != 3:
                    out.append(None)
                    continue
                data = self.proc.stdout.read(int(header[2]))
                self.proc.stdout.read(1)
                out.append((header[0].decode(), header[1].decode(), data))
            start = end
        return out

    def close(self) -> None:
        if self.pid == os.getpid():
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.wait()


_readers: OrderedDict[str, _Reader] = OrderedDict()


def _reader(repo) -> _Reader | None:
    """The open reader of repo (a new one when the directory was replaced or after a fork)."""
    path = os.path.abspath(repo)
    try:
        st = os.stat(path)
    except OSError:
        return None
    key = (st.st_dev, st.st_ino)
    r = _readers.get(path)
    if r is not None and (r.key != key or r.pid != os.getpid() or r.proc.poll() is not None):
        _readers.pop(path).close()
        r = None
    if r is None:
        r = _readers[path] = _Reader(path, key)
        while len(_readers) > 4:
            _readers.popitem(last=False)[1].close()
    _readers.move_to_end(path)
    return r


@atexit.register
def _close_readers() -> None:
    while _readers:
        _readers.popitem()[1].close()


def _nameable(name: str) -> bool:
    """Whether name can be asked of `git cat-file --batch`, which reads one name a line."""
    return "\n" not in name and "\r" not in name


def read_object(repo, name: str) -> tuple[str, str, bytes] | None:
    """(sha, type, data) of object `name` in repo, or None when git cannot name one."""
    if not _nameable(name):
        return None
    r = _reader(repo)
    return r.get(name) if r else None


def read_objects(repo, names: list[str]) -> list[tuple[str, str, bytes] | None]:
    """read_object of each name, through the one reader, without a round trip each; GitError
    when git cannot read repo."""
    asked = [n for n in names if _nameable(n)]
    if not asked:
        return [None] * len(names)
    r = _reader(repo)
    got = r.get_many(asked) if r else None
    if got is None:
        raise GitError(f"git cat-file failed in {repo}")
    found = dict(zip(asked, got))
    return [found.get(n) for n in names]


def resolve(repo, ref: str, what: str = "ref") -> str:
    """Full commit id of `ref` in `repo`, or BadInput naming the ref."""
    check_ref_syntax(ref, what)
    got = read_object(repo, f"{ref}^{{commit}}")
    sha = got[0] if got and got[1] == "commit" else ""
    if not sha:
        raise BadInput(f"unknown {what} {ref!r} in {repo}{did_you_mean(repo, ref)}")
    return sha


def tree_of(repo, commit: str) -> str:
    """The tree id of commit (read through the open reader, no process of its own)."""
    got = read_object(repo, f"{commit}^{{tree}}")
    if not got or got[1] != "tree":
        raise GitError(f"git cat-file failed in {repo}: no tree for {commit}")
    return got[0]


def did_you_mean(repo, ref: str) -> str:
    """' (did you mean X?)' naming the tags or branches of repo closest to ref, or ''."""
    import difflib
    out = run(repo, "for-each-ref", "--format=%(refname:short)", "refs/tags", "refs/heads").stdout
    names = out.decode("utf-8", "replace").split()
    close = difflib.get_close_matches(ref, names, n=3, cutoff=0.6)
    return f" (did you mean {' or '.join(close)}?)" if close else ""


def is_git_repo(path: str | os.PathLike) -> bool:
    p = Path(path)
    if not p.is_dir():
        return False
    return run(p, "rev-parse", "--git-dir").returncode == 0


def show_blob(repo, commit: str, path: str) -> bytes | None:
    """File bytes at commit:path, or None when the path does not exist there."""
    got = read_object(repo, f"{commit}:{path}")
    return got[2] if got and got[1] == "blob" else None


def ls_tree(repo, commit: str, under: str | None = None) -> dict[str, str]:
    """{path: blob id} of every file in commit (optionally under a folder)."""
    args = ["ls-tree", "-r", "-z", "--full-tree", commit]
    if under:
        args += ["--", under]
    out = git(repo, *args)
    files = {}
    for rec in out.split(b"\0"):
        if not rec:
            continue
        meta, path = rec.split(b"\t", 1)
        mode, kind, sha = meta.decode().split()
        if kind == "blob":
            files[path.decode("utf-8", "surrogateescape")] = sha
    return files


def succeeds(repo, *args: str) -> bool:
    """Whether `git -C repo args...` exits 0 (for predicates like merge-base --is-ancestor)."""
    return run(repo, *args).returncode == 0
