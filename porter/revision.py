"""A revision: the built series in git format-patch form, with its cover letter, in series/NAME/vN/."""
from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import jinja2

from . import __version__, gitutil, maintainers, templating
from .errors import Findings
from .recipe import Recipe
from .series import Built
from .workspace import Workspace

UPSTREAM_LINE = re.compile(r"^Upstream: .* tag (\S+)$", re.M)
RELEASE_SUBJECT = re.compile(r"\b\d+\.\d+\.\d+ release\b")
_TEMPLATES = templating.environment(jinja2.PackageLoader("porter", "templates"))


@dataclass(frozen=True)
class Release:
    sha: str
    name: str


def find_release(ws: Workspace, base: str) -> Release:
    """The Xen release the base builds on: porter.toml's xen.release, or the newest first-parent
    ancestor whose subject names a release ("Merge ... into 4.9.0 release"); else the base itself."""
    return _find_release(str(ws.xen_git), base, ws.config["xen"].get("release"))


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
    return Release(base, "the base")


@lru_cache(maxsize=8)
def prerequisites(repo: str, release: str, base: str) -> tuple[dict, ...]:
    """The commits between the Xen release and the base, oldest first."""
    out = gitutil.git_text(repo, "log", "--reverse", "--no-merges", "--format=%H%x00%s", f"{release}..{base}")
    return tuple(dict(zip(("sha", "subject"), line.split("\0", 1))) for line in out.splitlines() if line)


@lru_cache(maxsize=8)
def recipients(repo: str, base: str, paths: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(lists, maintainers) of MAINTAINERS at base for the touched paths."""
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


def subject_prefix(rec: Recipe, version: int) -> str:
    return rec.subject_prefix if version == 1 else f"{rec.subject_prefix} v{version}"


def format_series(ws: Workspace, rec: Recipe, built: Built, version: int,
                  changes: list[str]) -> dict[str, bytes]:
    """{file name: bytes} of the revision: 0000-cover-letter.patch and one file per commit."""
    xen = ws.xen_git
    release = find_release(ws, built.base)
    touched = tuple(sorted({p for s in rec.steps for p in s.files}))
    lists, people = recipients(str(xen), built.base, touched)
    to = maintainers.unique(rec.to + lists)
    cc = maintainers.unique(rec.cc + [p for p in people if p not in to])
    name, _, mail = rec.steps[0].author.rpartition(" <")
    env = {"GIT_CONFIG_GLOBAL": "/dev/null", "GIT_COMMITTER_NAME": name, "GIT_COMMITTER_EMAIL": mail.rstrip(">")}
    args = ["format-patch", "--cover-letter", "--numbered", "--no-color", "--no-renames", "--no-binary",
            "--stat=80", f"--base={release.sha}", f"--subject-prefix={subject_prefix(rec, version)}",
            f"--signature=porter {__version__}", "--encode-email-headers"]
    args += [f"--to={a}" for a in to] + [f"--cc={a}" for a in cc]
    key = tuple(args)
    if key not in built.formatted:
        with tempfile.TemporaryDirectory(prefix="porter-fp-") as tmp:
            gitutil.git(xen, *args, "-o", tmp, f"{built.base}..{built.tip}", env=env)
            built.formatted[key] = {p.name: p.read_bytes() for p in sorted(Path(tmp).iterdir())}
    files = dict(built.formatted[key])
    cover_name = next(n for n in files if n.startswith("0000-"))
    files[cover_name] = fill_cover(ws, rec, built, release, files[cover_name], changes, version)
    return files


def fill_cover(ws: Workspace, rec: Recipe, built: Built, release: Release, cover: bytes,
               changes: list[str], version: int) -> bytes:
    title, _, purpose = rec.cover.partition("\n")
    title = " ".join(re.sub(r"[\x00-\x1f\x7f]", " ", title).split())     # it becomes the Subject: header
    date = rfc2822(rec.steps[-1].date)
    blurb = _TEMPLATES.get_template("cover.txt.j2").render(
        purpose=purpose.strip("\n") + "\n" if purpose.strip() else "",
        tree=ws.config["upstream"].get("public_url") or ws.config["upstream"]["url"],
        tag=built.tag,
        provenance=[{"path": p, "sha": s, "subject": subj} for p, (s, subj) in sorted(built.provenance.items())],
        base=built.base, base_subject=subject_of(str(ws.xen_git), built.base),
        prerequisites=prerequisites(str(ws.xen_git), release.sha, built.base), release=release.sha,
        release_name=release.name,
        changes=changes, previous=version - 1)
    text = cover.decode("utf-8", "surrogateescape")
    text = re.sub(r"^Date: .*$", "Date: " + date, text, count=1, flags=re.M)
    text = text.replace("*** SUBJECT HERE ***", title.strip() or ws.name, 1)
    text = text.replace("*** BLURB HERE ***", blurb.strip("\n"), 1)
    return text.encode("utf-8", "surrogateescape")


def rfc2822(raw: str) -> str:
    """git's raw date ("<epoch> +hhmm") as git prints it in a patch's Date: header."""
    epoch, tz = raw.split()
    offset = (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    when = datetime.fromtimestamp(int(epoch), timezone(timedelta(seconds=offset)))
    return f"{when:%a}, {when.day} {when:%b %Y %H:%M:%S} {tz}"

