"""Reading commits of the Xen cache: raw messages, idents, changed files."""
from __future__ import annotations

from dataclasses import dataclass

from . import gitutil
from .errors import BadInput


@dataclass
class Change:
    status: str          # A, M, D, T
    path: str
    old_blob: str
    new_blob: str


@dataclass
class Commit:
    sha: str
    parent: str
    author: str          # "Name <email>"
    date: str            # "<epoch> <tz>"
    message: str         # raw, surrogateescape-decoded
    changes: list[Change]    # against the first parent
    merge: bool = False

    @property
    def subject(self) -> str:
        return self.message.split("\n", 1)[0]


def read_commit(repo, sha: str) -> Commit:
    raw = gitutil.git(repo, "cat-file", "commit", sha)
    header, _, body = raw.partition(b"\n\n")
    parents, author, date = [], "", ""
    for line in header.split(b"\n"):
        key, _, value = line.partition(b" ")
        if key == b"parent":
            parents.append(value.decode())
        elif key == b"author":
            ident = value.decode("utf-8", "surrogateescape")
            name_email, _, rest = ident.rpartition("> ")
            author, date = name_email + ">", rest
    if not parents:
        raise BadInput(f"commit {sha[:12]} has no parent: porter reads changes on top of a base")
    out = gitutil.git(repo, "diff-tree", "-r", "-z", "--no-renames", "--no-commit-id", parents[0], sha)
    fields = out.split(b"\0")
    changes = []
    for i in range(0, len(fields) - 1, 2):
        meta = fields[i].decode().lstrip(":").split()
        if len(meta) < 5:
            break
        changes.append(Change(meta[4][0], fields[i + 1].decode("utf-8", "surrogateescape"), meta[2], meta[3]))
    return Commit(sha, parents[0], author, date, body.decode("utf-8", "surrogateescape"), changes,
                  merge=len(parents) > 1)


def commit_range(repo, base: str, tip: str) -> list[str]:
    """The commits base..tip along first parents, oldest first (a merge counts as one commit)."""
    if not gitutil.succeeds(repo, "merge-base", "--is-ancestor", base, tip):
        raise BadInput(f"{tip[:12]} does not contain the base {base[:12]}")
    return gitutil.git_text(repo, "rev-list", "--reverse", "--first-parent", f"{base}..{tip}").split()


def last_commits_touching(repo, ref: str, paths: list[str]) -> dict[str, tuple[str, str]]:
    """{path: (commit id, subject)} of the last commit at ref that changed each path, in one walk."""
    out = gitutil.git_text(repo, "log", "--no-renames", "--format=%x01%H%x00%s", "--name-only", ref, "--", *paths)
    found: dict[str, tuple[str, str]] = {}
    for record in out.split("\x01")[1:]:
        head, _, names = record.partition("\n")
        sha, _, subject = head.partition("\0")
        for name in names.split("\n"):
            if name in paths and name not in found:
                found[name] = (sha, subject)
        if len(found) == len(paths):
            break
    return found
