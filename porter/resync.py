"""`porter resync --from TAG`: regenerate the series and write a new revision when it differs."""
from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

from . import gitutil, mail as mail_mod, memo
from .built import Built
from .errors import BadInput, Findings
from .workspace import Workspace, atomic_dir

if TYPE_CHECKING:
    from .changelog import Changelog

_CHANGES = re.compile(r"\nChanges since v\d+:\n(?:  - .*\n)+", re.M)
_PREFIX = re.compile(r"^Subject: \[[^\]]*?(\d+/\d+)\]", re.M)
_THREAD = re.compile(r"^(?:Message-Id|In-Reply-To|References): .*\n", re.M)
_COVER = re.compile(r"^Subject: \[[^\]]*?0/\d+\]", re.M)
_SENT = re.compile(r"^(?:From|Date): .*\n(?:[ \t].*\n)*", re.M)


def normalized(data: bytes) -> bytes:
    """A patch without what only says which revision it belongs to or who sends it when: the commit
    id, [PATCH vN], the thread's ids, the changelogs, and the cover letter's From and Date."""
    text = data.decode("utf-8", "surrogateescape").split("\n", 1)[-1]
    text = _PREFIX.sub(r"Subject: [\1]", text, count=1)
    text = _THREAD.sub("", text)
    if _COVER.search(text):
        text = _SENT.sub("", text)
    text = _CHANGES.sub("", text)
    from . import changelog
    text = changelog.strip(text)
    text = re.sub(r"^index [0-9a-f]+\.\.[0-9a-f]+.*$", "index", text, flags=re.M)
    return text.encode("utf-8", "surrogateescape")


def patch_subject(data: bytes) -> str:
    m = re.search(rb"^Subject: \[[^\]]*\] (.*(?:\n .*)*)", data, re.M)
    return m.group(1).decode("utf-8", "replace").replace("\n ", " ") if m else ""


def compare(old: dict[str, bytes], new: dict[str, bytes]) -> list[dict]:
    """Per patch (matched by subject): same, changed, new or removed."""
    old_by = {patch_subject(d): (n, d) for n, d in old.items() if not n.startswith("0000-")}
    new_by = {patch_subject(d): (n, d) for n, d in new.items() if not n.startswith("0000-")}
    out = []
    for subject, (name, data) in new_by.items():
        if subject not in old_by:
            out.append({"file": name, "subject": subject, "status": "new"})
        else:
            same = normalized(old_by[subject][1]) == normalized(data)
            out.append({"file": name, "subject": subject, "status": "same" if same else "changed"})
    out += [{"file": n, "subject": s, "status": "removed"} for s, (n, _) in old_by.items() if s not in new_by]
    return out


def change_lines(old: dict[str, bytes], new: dict[str, bytes], built: Built) -> list[str]:
    lines = []
    old_tag = revision_tag(old)
    if old_tag and old_tag != built.tag:
        lines.append(f"Rebase on upstream {built.tag} (was {old_tag})")
    for entry in compare(old, new):
        if entry["status"] != "same":
            lines.append(f"{entry['status'].capitalize()}: \"{entry['subject']}\"")
    return lines


def revision_changes(ws: Workspace, rec, built: Built, old: dict[str, bytes], version: int,
                     probe: dict[str, bytes] | None = None,
                     mail: mail_mod.Mail | None = None) -> tuple[Changelog, list[dict]]:
    """(the changelog: cover "Changes since v<version-1>" and per-patch "Changes in v<version>",
    per-patch {file, subject, status}) of revision `version` built as `built`, against the previous
    revision's files `old` ({} for the first one). resync and check both call this, so check
    regenerates the exact revision resync wrote."""
    from . import changelog, revision
    from .changelog import Changelog
    if probe is None:
        probe = revision.format_series(ws, rec, built, version, [], mail)
    if not old:
        return Changelog(), compare(old, probe)
    try:
        reviewed = _reviewed_patches(ws, rec, built, old, probe)
    except Findings:     # the previous revision is not readable as patches: say less, still say it
        return Changelog(cover=change_lines(old, probe, built)), compare(old, probe)
    log = changelog.build(rec, version, reviewed, old, revision_tag(old), built.tag, built.units_changed,
                          str(ws.upstream_git))
    return log, [{k: p[k] for k in ("file", "subject", "status")} for p in reviewed]


_DATE = re.compile(rb"^Date: .*\n", re.M)


def _reviewed_patches(ws: Workspace, rec, built: Built, old: dict[str, bytes], new: dict[str, bytes]) -> list[dict]:
    """review.reviewed_patches, kept in .porter/memo/ (with built.memo) by the two revisions (the
    new cover letter without its Date, which the review does not read), the recipe and the
    upstream commits of both tags."""
    from . import review
    key = None
    if built.memo:
        old_tag = revision_tag(old)
        got = gitutil.read_object(ws.upstream_git, f"{old_tag}^{{commit}}") if old_tag else None
        key = memo.Key("review").add(built.tag, built.tag_sha, old_tag, got[0] if got else None)
        _add_recipe(key, ws)
        for side in (old, new):
            key.add(b"\0side")
            for name, data in sorted(side.items()):
                key.add(name, _DATE.sub(b"", data, count=1) if side is new and name.startswith("0000-") else data)
        kept = memo.load(ws, key)
        if isinstance(kept, list):
            return kept
    reviewed = review.reviewed_patches(ws, rec, built, old, new)
    if key:
        memo.store(ws, key, reviewed)
    return reviewed


def scratch_branch(ws: Workspace) -> str:
    return f"porter/{ws.name}/conflicts"


def scratch_base(ws: Workspace) -> str:
    """The branch at the base the scratch series is built on (`git rebase -i` onto it)."""
    return f"porter/{ws.name}/base"


def scratch_worktree(ws: Workspace, built: Built) -> Path:
    """Check the conflicted series out in .porter/scratch (branch porter/NAME/conflicts) for a human.

    Every conflicted step's commit holds its own conflict markers, so the work tree is clean and
    `git rebase -i porter/NAME/base` can stop at each of them.  A scratch worktree left from an
    earlier resync is replaced, unless it holds work not committed yet."""
    path = ws.cache / "scratch"
    if path.exists():
        if (path / ".git").exists():
            _refuse_if_busy(path)
            gitutil.git(ws.xen_git, "worktree", "remove", "--force", str(path))
        else:
            raise BadInput(f"{path} exists and is not porter's scratch worktree: move it away")
    gitutil.git(ws.xen_git, "worktree", "prune")
    gitutil.git(ws.xen_git, "branch", "-f", scratch_base(ws), built.base)
    gitutil.git(ws.xen_git, "branch", "-f", scratch_branch(ws), built.tip)
    gitutil.git(ws.xen_git, "worktree", "add", "-q", "--force", str(path), scratch_branch(ws))
    return path


def _refuse_if_busy(path: Path) -> None:
    status = gitutil.git(path, "status", "--porcelain", "--untracked-files=no", check=False)
    gitdir = Path(gitutil.git_text(path, "rev-parse", "--absolute-git-dir").strip())
    busy = [what for d, what in (("rebase-merge", "rebase"), ("rebase-apply", "rebase"),
                                 ("CHERRY_PICK_HEAD", "cherry-pick"), ("MERGE_HEAD", "merge"))
            if (gitdir / d).exists()]
    if status.strip() or busy:
        what = f"a {busy[0]} in progress" if busy else "uncommitted changes"
        raise BadInput(f"{path} has {what}: finish or abort it (or commit the work to a branch) "
                       f"before resyncing, which replaces the scratch worktree")


def revision_tag(files: dict[str, bytes]) -> str | None:
    """The upstream tag of a previous revision, or None when its cover letter does not say."""
    from . import revision
    try:
        return revision.cover_tag(files, "previous revision")
    except Findings:
        return None


def _same(old: dict[str, bytes], new: dict[str, bytes]) -> bool:
    return {n: normalized(d) for n, d in new.items()} == {n: normalized(d) for n, d in old.items()}


def build_gate(ws: Workspace, built: Built, files: dict[str, bytes], progress=lambda text: None) -> dict:
    """Compile what resync generated, when a compiler is there: the build report, or {"skipped": why}."""
    from . import build
    touched = build.series_files(ws.xen_git, built.base, built.tip)
    cfg, why = build.optional_compiler(ws, touched)
    if cfg is None:
        return {"skipped": why}
    patches = {n: d for n, d in sorted(files.items()) if not n.startswith("0000-")}
    return build.build_commits(ws, built.base, built.commits, patches, cfg, progress)


def unfinished(built: Built, report: dict | None) -> list[str]:
    """What keeps a regenerated series from being a revision: findings, a failed build."""
    reasons = []
    if built.findings:
        reasons.append(f"{len(built.findings)} open finding(s)")
    if report and not report.get("skipped") and not report["ok"]:
        from .build import summary
        reasons.append(summary(report))
    return reasons


def resync(ws: Workspace, tag: str, progress=lambda text: None, *, version: int | None = None,
           prefix: str | None = None, rfc: bool = False, sender: str | None = None,
           build: bool = True) -> dict:
    """Regenerate the series from tag; write series/NAME/v<N>/ when it differs from the newest
    revision (N: the next one, or `version`, shown in the subjects as `git format-patch -v` does).
    An unchanged newest revision whose changelog or mail options are out of date (new notes in the
    recipe, --rfc...) is rewritten in place.
    Nothing is written when the series has conflicts, drift or open findings, or (with a compiler
    for the target, unless `build` is off) does not build at every patch: it is checked out in the
    scratch worktree instead."""
    key = None if build else _resync_key(ws, tag, version, prefix, rfc, sender)
    if key is not None:
        done = _replayed(ws, key)
        if done is not None:
            return done
    from . import recipe as recipe_mod, revision
    rec = recipe_mod.load(ws.series_dir)
    built, kept_by = build_series(ws, rec, tag, progress)
    result = {"revision": None, "changed": False, "conflicts": built.conflicts, "drift": built.drift,
              "findings": built.findings, "notes": built.notes, "patches": [], "warnings": []}
    warning = revision.release_warning(ws)
    if warning:
        result["warnings"].append(warning)
    if built.conflicts or built.drift:
        result.update(ok=False, scratch=str(scratch_worktree(ws, built)), branch=scratch_branch(ws),
                      base_branch=scratch_base(ws))
        return result
    revs = ws.revisions()
    if version is not None and revs and version < revs[-1]:
        raise BadInput(f"-v {version}: series/{ws.name}/ already has v{revs[-1]}; a new revision "
                       f"must be numbered after it")
    if build:      # patch file names and line numbers do not depend on the version
        files = revision.format_series(ws, rec, built, version or (revs[-1] if revs else 0) + 1, [])
        result["build"] = build_gate(ws, built, files, progress)
    reasons = unfinished(built, result.get("build"))
    if reasons:
        result.update(ok=False, not_written=reasons, scratch=str(scratch_worktree(ws, built)),
                      branch=scratch_branch(ws), base_branch=scratch_base(ws))
        return result
    explicit_version = version is not None
    if revs and (version is None or version == revs[-1]):
        newest = revs[-1]
        old = ws.revision_files(newest)
        if revision_tag(old) == tag:      # from another tag, the cover letter differs anyway
            mail = written_mail(ws, rec, old, newest, prefix, rfc, sender, version is not None)
            again = revision.format_series(ws, rec, built, newest, [], mail)
            if _same(old, again):
                files = written_revision(ws, rec, built, newest, mail)
                refreshed = files != old
                if refreshed:
                    _write(ws.series_dir / f"v{newest}", files)
                result.update(revision=f"v{newest}", patches=compare(old, again), refreshed=refreshed,
                              changed=refreshed, ok=True)
                if key is not None and kept_by and not refreshed:       # nothing to write next time
                    memo.store(ws, key, {"result": result, "tip": built.tip, "ref": kept_by, "version": newest,
                                         "files": None})
                return result
    version = version if version is not None else (revs[-1] if revs else 0) + 1
    if version in revs:
        raise BadInput(f"-v {version}: series/{ws.name}/v{version} exists and differs from what the "
                       f"recipe makes now; leave -v out to write v{revs[-1] + 1}")
    old = ws.revision_files(revs[-1]) if revs else {}
    mail = revision.default_mail(ws, rec, prefix, rfc, show_version=explicit_version,
                                 sender=sender)
    log, patches = revision_changes(ws, rec, built, old, version, mail=mail)
    files = revision.format_series(ws, rec, built, version, log, mail)     # as written_revision makes it
    target = ws.series_dir / f"v{version}"
    if target.exists():
        raise BadInput(f"{target} exists but is not a revision porter can read")
    _write(target, files)
    result.update(revision=f"v{version}", changed=True, patches=patches,
                  changes=changelog_lines(files), ok=True,
                  linux_changes=linux_changes_of(ws, files, [s.kind for s in rec.steps], built.commits))
    if key is not None and kept_by:
        memo.store(ws, key, {"result": result, "tip": built.tip, "ref": kept_by, "version": version,
                             "files": {n: memo.text(d) for n, d in files.items()}})
    return result


def _resync_key(ws: Workspace, tag: str, version, prefix, rfc, sender) -> memo.Key | None:
    """The key of a whole resync (without its build gate): what series.build reads, the options,
    the revisions there are and the newest one's files, and who sends; None when the recipe cannot
    be read (the resync itself says why)."""
    import tomllib
    try:
        learned_tag = tomllib.loads((ws.series_dir / "recipe.toml").read_text("utf-8"))["series"]["upstream_tag"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(learned_tag, str):
        return None
    try:
        key = _source_key(memo.Key("resync"), ws, tag, learned_tag)
    except BadInput:
        return None
    key.add(repr((version, prefix, rfc, sender)))
    revs = ws.revisions()
    key.add(repr(revs))
    for name, data in (ws.revision_files(revs[-1]).items() if revs else ()):
        key.add(name, data)
    return key.add(sender if sender is not None else mail_mod.default_sender(ws.root, ""))


def _replayed(ws: Workspace, key: memo.Key) -> dict | None:
    """The result of a resync with these inputs, when the memo holds one and the Xen cache still
    has its commits: the revision it wrote written again (dated now), or nothing written when the
    newest revision was up to date; else None."""
    kept = memo.load(ws, key)
    try:
        result, tip, ref, version = kept["result"], kept["tip"], kept["ref"], kept["version"]
        files = None if kept["files"] is None else {n: memo.raw(text) for n, text in kept["files"].items()}
        cover = next(n for n in files if n.startswith("0000-")) if files is not None else None
    except (TypeError, KeyError, AttributeError, StopIteration):
        return None
    if not (isinstance(result, dict) and isinstance(ref, str) and isinstance(tip, str) and type(version) is int):
        return None
    target = ws.series_dir / f"v{version}"
    if _ref(ws, ref) != tip or (files is not None and target.exists()):
        return None
    date = mail_mod.now_rfc2822()       # a bad SOURCE_DATE_EPOCH is refused as when computing
    _point_last(ws, tip)
    if files is not None:
        files[cover] = re.sub(rb"^Date: .*$", lambda _: b"Date: " + date.encode(), files[cover], count=1, flags=re.M)
        _write(target, files)
    return result


def _point_last(ws: Workspace, tip: str) -> None:
    """refs/porter/NAME/last at tip, as series.build leaves it (no git write when it is there)."""
    last = f"refs/porter/{ws.name}/last"
    if _ref(ws, last) != tip:
        gitutil.git(ws.xen_git, "update-ref", last, tip)


def build_series(ws: Workspace, rec, tag: str, progress=lambda text: None) -> tuple[Built, str | None]:
    """(series.build, or what it gave for the same inputs, kept in .porter/memo/; the ref that
    keeps its commits in the Xen cache, None when it is not kept)."""
    key = _source_key(memo.Key("build"), ws, tag, rec.upstream_tag)
    kept = memo.load(ws, key)
    built = _built_from(kept) if isinstance(kept, dict) else None
    ref = f"refs/porter/{ws.name}/memo/{key.hex}"
    if built is not None and _ref(ws, ref) == built.tip:
        _point_last(ws, built.tip)
    else:
        from . import series
        built = series.build(ws, rec, tag, progress)
        value = _built_json(built)
        gone = memo.store(ws, key, value) if _built_from(value) == built else None
        if gone is None:
            ref = None
        else:
            refs = [f"update {ref} {built.tip}"] + [f"delete refs/porter/{ws.name}/memo/{k}" for k in gone]
            gitutil.git(ws.xen_git, "update-ref", "--stdin", input="".join(r + "\n" for r in refs).encode())
    built.memo = True
    return built, ref


def _source_key(key: memo.Key, ws: Workspace, tag: str, learned_tag: str) -> memo.Key:
    """Everything series.build reads: the commits it starts from, the workspace settings, the
    recipe's files (not the revisions beside them) and the caches' shallow boundaries."""
    base = ws.resolve("xen", ws.base, "base")
    tag_sha = ws.resolve("upstream", tag, "upstream tag")
    learned_sha = ws.resolve("upstream", learned_tag, "learned upstream tag")
    key.add(str(ws.root), ws.name, tag, base, tag_sha, learned_sha)
    for cache in (ws.upstream_git, ws.xen_git):
        key.add_file(cache / "shallow").add_file(cache / "config")
    return _add_recipe(key, ws)


def _add_recipe(key: memo.Key, ws: Workspace) -> memo.Key:
    """porter.toml and the recipe's files (not the revisions beside them)."""
    key.add_file(ws.root / "porter.toml")
    return key.add_tree(ws.series_dir, skip=lambda rel: re.fullmatch(r"v\d+", rel) is not None)


def _ref(ws: Workspace, ref: str) -> str | None:
    got = gitutil.read_object(ws.xen_git, ref)
    return got[0] if got else None


_BUILT_FIELDS = ("base", "tag", "tag_sha", "commits", "provenance", "conflicts", "findings", "drift",
                 "notes", "units_changed")


def _built_json(built: Built) -> dict:
    value = {f: getattr(built, f) for f in _BUILT_FIELDS}
    value["provenance"] = {p: list(v) for p, v in built.provenance.items()}
    return value


def _built_from(value: dict) -> Built | None:
    try:
        fields = {f: value[f] for f in _BUILT_FIELDS}
        fields["provenance"] = {p: tuple(v) for p, v in fields["provenance"].items()}
        return Built(**fields)
    except (KeyError, TypeError, AttributeError):
        return None


def linux_changes_of(ws: Workspace, files: dict[str, bytes], kinds: list[str], commits: list[str]) -> dict:
    """linux_changes.for_revision, kept in .porter/memo/ by the patches and step kinds; the files
    read from the commits the patches were made from (one per step), not applied again."""
    key = memo.Key("linux-changes").add(*kinds, b"\0")
    for name, data in sorted(files.items()):
        if not name.startswith("0000-"):
            key.add(name, data)
    kept = memo.load(ws, key)
    if isinstance(kept, dict):
        return kept
    from . import linux_changes
    report = linux_changes.for_revision(files, kinds, lambda i, path: _blob(ws, commits[i], path))
    memo.store(ws, key, report)
    return report


def _blob(ws: Workspace, commit: str, path: str) -> bytes:
    data = gitutil.show_blob(ws.xen_git, commit, path)
    if data is None:
        raise gitutil.GitError(f"git cat-file failed in {ws.xen_git}: no blob {commit}:{path}")
    return data


def written_mail(ws: Workspace, rec, files: dict[str, bytes], version: int, prefix=None, rfc=False,
                 sender=None, show_version=False) -> mail_mod.Mail:
    """The mail options revision `version` was written with (read from its cover letter), with
    what the command line changes."""
    cover = next((d for n, d in files.items() if n.startswith("0000-")), b"")
    from . import revision
    written = mail_mod.from_cover(cover, version)
    mail = revision.default_mail(ws, rec)
    if written is not None:      # what the cover letter shows wins; a hand-damaged header falls back
        mail = replace(written, sender=written.sender if mail_mod.IDENT.match(written.sender) else mail.sender,
                       date=written.date or mail.date)
    if prefix is not None or rfc:
        mail = replace(mail, prefix=mail_mod.with_rfc(mail_mod.checked_prefix(prefix or mail.prefix), rfc))
    if sender is not None:
        mail = replace(mail, sender=mail_mod.checked_sender(sender))
    if show_version:
        mail = replace(mail, show_version=True)
    return mail


def written_revision(ws: Workspace, rec, built: Built, version: int, mail: mail_mod.Mail,
                     previous: dict[str, bytes] | None = None) -> dict[str, bytes]:
    """Revision `version` as resync writes it: with its changelog against the revision before it
    (`previous`; by default the newest revision below `version`)."""
    if previous is None:
        older = [n for n in ws.revisions() if n < version]
        previous = ws.revision_files(older[-1]) if older else {}
    from . import revision
    log, _ = revision_changes(ws, rec, built, previous, version, mail=mail)
    return revision.format_series(ws, rec, built, version, log, mail)


def changelog_lines(files: dict[str, bytes]) -> list[str]:
    cover = next((d for n, d in files.items() if n.startswith("0000-")), b"").decode("utf-8", "replace")
    m = _CHANGES.search(cover)
    return [line[4:] for line in m.group(0).strip("\n").splitlines()[1:]] if m else []


def _write(target: Path, files: dict[str, bytes]) -> None:
    with atomic_dir(target) as tmp:
        for name, data in files.items():
            (tmp / name).write_bytes(data)
