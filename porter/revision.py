"""A revision: the built series in git format-patch form, with its cover letter, in series/NAME/vN/."""
from __future__ import annotations

import json
import re
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from . import __version__, changelog, gitutil, memo
from . import mail as mail_mod
from .changelog import Changelog
from .errors import Findings
from .recipe import Recipe
from .built import Built
from .workspace import Workspace, atomic_write

UPSTREAM_LINE = re.compile(r"^Upstream: .* tag (\S+)$", re.M)
RELEASE_SUBJECT = re.compile(r"\b\d+\.\d+\.\d+ release\b")


@lru_cache(maxsize=1)
def _templates():
    import jinja2
    from . import templating
    return templating.environment(jinja2.PackageLoader("porter", "templates"))


@dataclass(frozen=True)
class Release:
    sha: str
    name: str
    found: bool = True      # False: no release below the base, the base stands in for it


def find_release(ws: Workspace, base: str) -> Release:
    """The Xen release the base builds on: porter.toml's xen.release, or the newest first-parent
    ancestor whose subject names a release ("Merge ... into 4.9.0 release"); else the base itself."""
    ref = ws.config["xen"].get("release")
    if ref:
        return _find_release(str(ws.xen_git), base, ref)
    base_sha = gitutil.resolve(ws.xen_git, base, "base")
    cached = ws.cache / "releases" / base_sha     # a base commit's history never changes
    try:
        sha, name, found = cached.read_text().split("\0")
        return Release(sha, name, found == "1")
    except (OSError, ValueError):
        pass
    rel = _find_release(str(ws.xen_git), base_sha, None)
    atomic_write(cached, f"{rel.sha}\0{rel.name}\0{int(rel.found)}".encode())
    return rel


@lru_cache(maxsize=8)
def _find_release(repo: str, base: str, ref: str | None) -> Release:
    if ref:
        return Release(gitutil.resolve(repo, ref, "release"), ref)
    log = gitutil.git_text(repo, "log", "--first-parent", "--format=%H%x00%s", "-n", "1000", base)
    for line in log.splitlines():
        sha, _, subject = line.partition("\0")
        m = RELEASE_SUBJECT.search(subject)
        if m:
            return Release(sha, "Xen " + m.group(0).replace(" release", ""))
    return Release(gitutil.resolve(repo, base, "base"), "the base", found=False)


def release_warning(ws: Workspace) -> str | None:
    """A warning when no Xen release was found below the base (no prerequisites, private base-commit)."""
    if find_release(ws, ws.base).found:
        return None
    return (f"no Xen release found in the first-parent history of base {ws.base!r}: the cover letter "
            f"lists no prerequisite patches and its base-commit: is the base itself, which reviewers "
            f"cannot fetch; name the release with 'porter init --release REF' or [xen] release in porter.toml")


@lru_cache(maxsize=8)
def prerequisites(repo: str, release: str, base: str) -> tuple[dict, ...]:
    """The commits between the Xen release and the base, oldest first."""
    out = gitutil.git_text(repo, "log", "--reverse", "--no-merges", "--format=%H%x00%s", f"{release}..{base}")
    return tuple(dict(zip(("sha", "subject"), line.split("\0", 1))) for line in out.splitlines() if line)


@lru_cache(maxsize=8)
def recipients(repo: str, base: str, paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(lists, maintainers) of MAINTAINERS at base for the touched paths."""
    from . import maintainers
    text = gitutil.show_blob(repo, base, "MAINTAINERS") or b""
    return maintainers.recipients(maintainers.parse(text.decode("utf-8", "replace")), list(paths))


@lru_cache(maxsize=8)
def subject_of(repo: str, commit: str) -> str:
    return gitutil.git_text(repo, "log", "-1", "--format=%s", commit).strip()


def cover_tag(files: dict[str, bytes], where: str) -> str:
    """The upstream tag a revision was made from: its cover letter's `Upstream: <tree> tag <TAG>`."""
    cover = next((d for n, d in files.items() if n.startswith("0000-")), None)
    if cover is None:
        raise Findings(f"{where}: the cover letter 0000-cover-letter.patch is missing")
    m = UPSTREAM_LINE.search(cover.decode("utf-8", "replace"))
    if not m:
        raise Findings(f"{where}/0000-cover-letter.patch: no 'Upstream: <tree> tag <TAG>' line")
    return m.group(1)


def default_mail(ws: Workspace, rec: Recipe, prefix: str | None = None, rfc: bool = False,
                 show_version: bool = False, sender: str | None = None) -> mail_mod.Mail:
    """The mail options of a new revision: the recipe's subject prefix (or --subject-prefix, --rfc),
    the sender (--sender, else git's sendemail.from or user.name/user.email) and now."""
    prefix = mail_mod.with_rfc(mail_mod.checked_prefix(prefix or rec.subject_prefix), rfc)
    who = mail_mod.checked_sender(sender) if sender else mail_mod.default_sender(ws.root, rec.steps[0].author)
    return mail_mod.Mail(prefix=prefix, show_version=show_version, sender=who, date=mail_mod.now_rfc2822())


def format_series(ws: Workspace, rec: Recipe, built: Built, version: int,
                  changes: Changelog | list[str], mail: mail_mod.Mail | None = None) -> dict[str, bytes]:
    """{file name: bytes} of the revision: 0000-cover-letter.patch and one file per commit, threaded."""
    if not isinstance(changes, Changelog):
        changes = Changelog(cover=list(changes))
    mail = mail or default_mail(ws, rec)
    xen = ws.xen_git
    release = find_release(ws, built.base)
    touched = tuple(sorted({p for s in rec.steps for p in s.files}))
    lists, people = recipients(str(xen), built.base, touched)
    from .maintainers import unique
    to = unique(rec.to + lists)
    cc = unique(rec.cc + [p for p in people if p not in to])
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_COMMITTER_NAME": mail.sender_name,
           "GIT_COMMITTER_EMAIL": mail.sender_email}
    args = ["format-patch", "--cover-letter", "--numbered", "--no-color", "--no-renames", "--no-binary",
            "--stat=80", f"--base={release.sha}", f"--subject-prefix={mail.subject_prefix(version)}",
            f"--signature=porter {__version__}", "--encode-email-headers"]
    args += [f"--to={a}" for a in to] + [f"--cc={a}" for a in cc]
    key = (*args, mail.sender)
    if key not in built.formatted:
        built.formatted[key] = _format_patch(ws, args, f"{built.base}..{built.tip}", env, release.sha, built.base,
                                             built.memo)
    files = dict(built.formatted[key])
    for name in files:
        number = int(name[:4]) if name[:4].isdigit() else 0
        files[name] = changelog.insert(files[name], changes.patches.get(number, ""))
    cover_name = next(n for n in files if n.startswith("0000-"))
    files[cover_name] = fill_cover(ws, rec, built, release, files[cover_name], changes.cover, version, mail)
    ids = mail_mod.message_ids(ws.name, version, mail, built.tip, len(files) - 1)
    return mail_mod.thread(files, ids)


def _format_patch(ws: Workspace, args: list[str], revs: str, env: dict, release: str, base: str,
                  use_memo: bool = False) -> dict[str, bytes]:
    """git format-patch's files (kept in .porter/memo/ by the commit ids, arguments and the Xen
    cache's git config), as _run_format_patch makes them."""
    key = None
    if use_memo:
        key = memo.Key("format-patch").add(*args, revs, b"\0", *(f"{k}={v}" for k, v in sorted(env.items())))
        key.add_file(ws.xen_git / "config")
        kept = memo.load(ws, key)
        if isinstance(kept, dict) and all(isinstance(v, str) for v in kept.values()):
            return {name: memo.raw(data) for name, data in kept.items()}
    files = _run_format_patch(ws, args, revs, env, release, base)
    if key:
        memo.store(ws, key, {name: memo.text(data) for name, data in files.items()})
    return files


def _run_format_patch(ws: Workspace, args: list[str], revs: str, env: dict, release: str, base: str) -> dict[str, bytes]:
    """git format-patch's files.  The cover letter's base-commit/prerequisite-patch-id block costs
    git a patch-id per commit between release and base: it is kept per (release, base) in .porter/
    and put back in the place git prints it."""
    cached = ws.cache / "base-info" / f"{release}-{base}"
    block = cached.read_bytes() if cached.is_file() else None
    if block is not None:
        args = ["--no-base" if a.startswith("--base=") else a for a in args]
    with tempfile.TemporaryDirectory(prefix="porter-fp-") as tmp:
        gitutil.git(ws.xen_git, *args, "-o", tmp, revs, env=env)
        files = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}
    cover_name = next(n for n in files if n.startswith("0000-"))
    cover = files[cover_name]
    sig = cover.rfind(b"\n-- \n") + 1
    if block is None:
        start = cover.rfind(b"\nbase-commit: ", 0, sig)     # with the blank line git puts before it
        if start >= 0:
            atomic_write(cached, cover[start:sig])
    else:
        files[cover_name] = cover[:sig] + block + cover[sig:]
    return files


def _base_facts(ws: Workspace, release: str, base: str) -> dict:
    """The base's subject and the prerequisites between release and base: facts of two commit ids,
    kept in .porter/ once git has told them."""
    cached = ws.cache / "base-info" / f"{release}-{base}.json"
    try:
        doc = json.loads(cached.read_text("utf-8"))
        return {"base_subject": doc["base_subject"], "prerequisites": tuple(doc["prerequisites"])}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    doc = {"base_subject": subject_of(str(ws.xen_git), base),
           "prerequisites": prerequisites(str(ws.xen_git), release, base)}
    atomic_write(cached, json.dumps({**doc, "prerequisites": list(doc["prerequisites"])}).encode())
    return doc


def _blurb(ws: Workspace, use_memo: bool, **context) -> str:
    """The cover letter's text from its template (kept in .porter/memo/ by its context)."""
    key = memo.Key("cover").add(json.dumps(context, sort_keys=True)) if use_memo else None
    kept = memo.load(ws, key) if key else None
    if isinstance(kept, str):
        return kept
    blurb = _templates().get_template("cover.txt.j2").render(**context)
    if key:
        memo.store(ws, key, blurb)
    return blurb


def fill_cover(ws: Workspace, rec: Recipe, built: Built, release: Release, cover: bytes,
               changes: list[str], version: int, mail: mail_mod.Mail) -> bytes:
    title, _, purpose = rec.cover.partition("\n")
    title = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", title).split())     # it becomes the Subject: header
    blurb = _blurb(ws, built.memo, purpose=purpose.strip("\n") + "\n" if purpose.strip() else "",
                   tree=ws.public_url("upstream"),
                   tag=built.tag,
                   provenance=[{"path": p, "sha": s, "subject": subj} for p, (s, subj) in sorted(built.provenance.items())],
                   base=built.base, **_base_facts(ws, release.sha, built.base), release=release.sha,
                   release_name=release.name, release_found=release.found,
                   changes=changes, previous=version - 1)
    text = cover.decode("utf-8", "surrogateescape")
    text = re.sub(r"^Date: .*$", lambda _: "Date: " + mail.date, text, count=1, flags=re.M)
    text = text.replace("*** SUBJECT HERE ***", title.strip() or ws.name, 1)
    text = text.replace("*** BLURB HERE ***", blurb.strip("\n"), 1)
    return text.encode("utf-8", "surrogateescape")
