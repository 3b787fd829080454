"""Getting a revision out: mail it with git send-email, or apply it as a git branch."""
from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from . import gitutil, mail as mail_mod
from .errors import BadInput, Findings
from .workspace import Workspace

_ADDRESSES = re.compile(r"^(To|Cc): ?(.*(?:\n[ \t].*)*)", re.M)


def revision_patches(ws: Workspace, version: int | None) -> tuple[int, list[Path]]:
    """(N, files of series/NAME/vN/ in order, cover letter first); the newest revision by default."""
    n = ws.newest_revision() if version is None else version
    files = sorted(p for p in ws.revision_dir(n).glob("*.patch"))
    if not files or not files[0].name.startswith("0000-"):
        raise BadInput(f"{ws.revision_dir(n)}: no cover letter 0000-cover-letter.patch")
    return n, files


def recipients(cover: bytes) -> tuple[list[str], list[str]]:
    """(To, Cc) the cover letter names: porter's MAINTAINERS lookup plus the recipe's own lists."""
    head = cover.decode("utf-8", "replace").split("\n\n", 1)[0]
    found = {"To": [], "Cc": []}
    for kind, value in _ADDRESSES.findall(head):
        found[kind] += [a.strip() for a in re.sub(r"\n[ \t]+", " ", value).split(",") if a.strip()]
    return found["To"], found["Cc"]


def send_command(ws: Workspace, version: int | None, dry_run: bool, to=(),
                 cc=()) -> tuple[list[str], list[Path], int]:
    """The git send-email options for revision vN (never a shell), its files, and N."""
    n, files = revision_patches(ws, version)
    cover = files[0].read_bytes()
    sent = mail_mod.from_cover(cover, n)
    if sent is None or not mail_mod.IDENT.match(sent.sender):
        raise BadInput(f"{files[0]}: no 'From: Name <mail>' sender in the cover letter")
    dest_to, dest_cc = recipients(cover)
    dest_to += [mail_mod.checked_address(a) for a in to]
    dest_cc += [mail_mod.checked_address(a) for a in cc]
    if not dest_to:
        raise BadInput(f"{files[0]}: names no To: recipient; add one with --to or [series] to in recipe.toml")
    args = ["send-email", "--confirm=never" if dry_run else "--confirm=auto", "--no-thread",
            "--no-format-patch", "--8bit-encoding=UTF-8", f"--from={sent.sender}"]
    args += [f"--to={a}" for a in dict.fromkeys(dest_to)] + [f"--cc={a}" for a in dict.fromkeys(dest_cc)]
    if dry_run:
        args.append("--dry-run")
    return args, [f.resolve() for f in files], n       # absolute paths: never taken as options


def reply_cover(cover: bytes, parent: str) -> bytes:
    """The cover letter as a reply to `parent` (the patches stay replies to the cover letter, which
    git send-email --in-reply-to would flatten)."""
    first, _, rest = cover.partition(b"\n")
    head = f"In-Reply-To: {parent}\nReferences: {parent}\n".encode()
    ident, sep, after = rest.partition(b"\n")
    return first + b"\n" + (ident + sep + head + after if ident.startswith(b"Message-Id:") else head + rest)


def send(ws: Workspace, version: int | None, dry_run: bool, to=(), cc=(), in_reply_to=None) -> dict:
    parent = mail_mod.checked_message_id(in_reply_to) if in_reply_to else None
    args, files, n = send_command(ws, version, dry_run, to, cc)
    with tempfile.TemporaryDirectory(prefix="porter-send-") as tmp:
        if parent:
            copy = Path(tmp) / files[0].name
            copy.write_bytes(reply_cover(files[0].read_bytes(), parent))
            files = [copy, *files[1:]]
        return _run_send(ws, args + list(map(str, files)), n, dry_run)


def _run_send(ws: Workspace, args: list[str], n: int, dry_run: bool) -> dict:
    exec_path = gitutil.run(ws.root, "--exec-path").stdout.decode().strip()
    if not (Path(exec_path) / "git-send-email").exists():
        raise BadInput("git send-email is not installed (Debian/Ubuntu: apt-get install git-email)")
    if dry_run:
        proc = gitutil.run(ws.root, *args)
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
    else:      # a real send may ask for a password or a confirmation: keep the terminal
        proc = subprocess.run(["git", "-C", str(ws.root), *args])
        output = ""
    if proc.returncode:
        last = output.strip().splitlines()[-1] if output.strip() else f"exit {proc.returncode}"
        raise Findings(f"git send-email failed: {last}")
    return {"revision": f"v{n}", "dry_run": dry_run, "command": ["git", *args], "output": output}


def export(ws: Workspace, version: int | None, branch: str | None, repo: str | None, force: bool) -> dict:
    """Apply revision vN on the base with git am and keep it as a branch: in the workspace's Xen
    cache (default porter/NAME/vN), or pushed to `repo`. Commit ids depend only on the revision."""
    n, files = revision_patches(ws, version)
    branch = branch or f"porter/{ws.name}/v{n}"
    gitutil.check_ref_syntax(branch, "branch")
    if gitutil.run(ws.root, "check-ref-format", "--branch", branch).returncode:
        raise BadInput(f"invalid branch name {branch!r}")
    target = ws.xen_git
    if repo is not None:
        target = Path(repo).resolve()
        if not gitutil.is_git_repo(target):
            raise BadInput(f"--repo {repo!r} is not a git repository")
    sender = mail_mod.from_cover(files[0].read_bytes(), n)
    name, email = (sender.sender_name, sender.sender_email) if sender and sender.sender else ("porter", "porter@localhost")
    if not force and gitutil.run(target, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}").returncode == 0:
        raise BadInput(f"branch {branch!r} exists in {target}: pass --force to replace it")
    base = ws.resolve("xen", ws.base, "base")
    tmp = Path(tempfile.mkdtemp(prefix="porter-export-"))
    try:
        tree = tmp / "xen"
        gitutil.git(tmp, "clone", "--quiet", "--shared", "--no-checkout", "--", str(ws.xen_git), str(tree))
        gitutil.git(tree, "checkout", "--quiet", "--detach", base)
        proc = gitutil.run(tree, "-c", f"user.name={name}", "-c", f"user.email={email}", "am", "--quiet",
                           "--keep-cr", "--committer-date-is-author-date", *map(str, files[1:]))
        if proc.returncode:
            err = proc.stdout.decode("utf-8", "replace").strip().splitlines()
            raise Findings(f"series/{ws.name}/v{n} does not apply on {ws.base} with git am: "
                           f"{err[0] if err else 'exit %d' % proc.returncode}")
        tip = gitutil.git_text(tree, "rev-parse", "HEAD").strip()
        gitutil.git(tree, "push", "--quiet", "--force", "--", str(target), f"HEAD:refs/heads/{branch}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {"revision": f"v{n}", "branch": branch, "repo": str(target), "commit": tip,
            "patches": len(files) - 1}
