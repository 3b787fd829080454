"""`porter review [vA] [vB]`: what changed between two revisions, patch by patch, in the style of
`git range-diff`, with the origin of every changed hunk.

Stages, each its own data: read a revision (files, upstream tag, patches parsed with unidiff) ->
pair the patches (by subject, then by number) -> interdiff of their range-diff texts -> attribute each
interdiff hunk from what porter knows (recipe step kinds, upstream change between the two tags,
learned edits, carried patches, build templates).

Origins: upstream:<commit or tag>, learned:<unit>, carry:<step dir>, rule:<step dir>/<template>,
recipe:<step dir> (the recipe's commit message), manual (nothing in porter explains it).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import unidiff
from cydifflib import SequenceMatcher     # difflib's algorithm, compiled: the same opcodes

from . import gitutil, linux_changes, recipe as recipe_mod, revision
from .errors import BadInput, Findings
from .workspace import Workspace

_SUBJECT = re.compile(r"^Subject: \[([^\]]*?)(\d+)/(\d+)\] ?(.*(?:\n[ \t].*)*)", re.M)
_NEUTRAL = {"", "{", "}", "};", "*/", "/*", "*", "#endif", "#else", "---", "--"}
CONTEXT = 3


@dataclass
class Patch:
    name: str
    number: int
    subject: str
    message: list[str]
    files: list[tuple[str, list[tuple[str, list[str]]]]]   # (path, [(section header, lines)])

    def rd_lines(self) -> list[str]:
        """The patch as `git range-diff` compares it: message, then per file and hunk the diff lines,
        without line numbers, index lines or the diffstat."""
        out = list(self.message)
        for path, hunks in self.files:
            out.append(f"## {path} ##")
            for section, lines in hunks:
                out.append(f"@@ {path}: {section}".rstrip(": ").rstrip() if section else f"@@ {path}")
                out.extend(lines)
        return out


@dataclass
class Revision:
    version: int
    files: dict[str, bytes]
    tag: str
    patches: list[Patch]


@dataclass
class Hunk:
    origin: str
    header: str
    origins: list[str]
    lines: list[str]

    def to_json(self) -> dict:
        return {"origin": self.origin, "header": self.header, "origins": self.origins, "diff": "\n".join(self.lines)}


@dataclass
class PatchReview:
    file: str
    subject: str
    status: str                     # same | changed | new | removed
    old_file: str | None = None
    number: int = 0
    hunks: list[Hunk] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"file": self.file, "old_file": self.old_file, "subject": self.subject, "status": self.status,
                "hunks": [h.to_json() for h in self.hunks]}


# -- reading -------------------------------------------------------------------------------------
def parse_patch(name: str, data: bytes, where: str) -> Patch:
    text = data.decode("utf-8", "surrogateescape")
    m = _SUBJECT.search(text)
    if not m:
        raise Findings(f"{where}/{name}: corrupted patch: no 'Subject: [PATCH k/N]' line")
    subject = re.sub(r"\n[ \t]+", " ", m.group(4)).strip()
    head, _, rest = text.partition("\n\n")
    body, sep, _ = rest.partition("\n---\n")
    if not sep:
        raise Findings(f"{where}/{name}: corrupted patch: no '---' line after the commit message")
    try:
        ps = unidiff.PatchSet(text)
    except unidiff.UnidiffParseError as exc:
        raise Findings(f"{where}/{name}: corrupted patch: unidiff cannot parse it ({exc})") from None
    if not len(ps):
        raise Findings(f"{where}/{name}: corrupted patch: it holds no diff")
    files = []
    for pf in ps:
        hunks = []
        for h in pf:
            hunks.append((h.section_header.strip(), [str(line).rstrip("\n") for line in h]))
        files.append((pf.path, hunks))
    message = [subject, ""] + body.rstrip("\n").split("\n")
    return Patch(name, int(m.group(2)), subject, message, files)


def read(ws: Workspace, version: int) -> Revision:
    where = f"series/{ws.name}/v{version}"
    files = ws.revision_files(version)
    return Revision(version, files, revision.cover_tag(files, where), parse_revision(files, where))


def parse_revision(files: dict[str, bytes], where: str) -> list[Patch]:
    """The patches of a revision, in order; Findings (one line) for a missing, extra or corrupted file."""
    cover_name = next((n for n in files if n.startswith("0000-")), None)
    if cover_name is None:
        raise Findings(f"{where}: the cover letter 0000-cover-letter.patch is missing")
    m = _SUBJECT.search(files[cover_name].decode("utf-8", "replace"))
    if not m:
        raise Findings(f"{where}/{cover_name}: no 'Subject: [PATCH 0/N]' line")
    total = int(m.group(3))
    numbered: dict[int, str] = {}
    for name in files:
        if name == cover_name:
            continue
        k = name[:4]
        if not (k.isdigit() and name.endswith(".patch") and 1 <= int(k) <= total and int(k) not in numbered):
            raise Findings(f"{where}/{name}: extra file: the cover letter announces {total} patches")
        numbered[int(k)] = name
    missing = [k for k in range(1, total + 1) if k not in numbered]
    if missing:
        raise Findings(f"{where}: patch {missing[0]:04d} of {total} is missing (the cover letter announces "
                       f"{total} patches)")
    return [parse_patch(numbered[k], files[numbered[k]], where) for k in range(1, total + 1)]


# -- attribution ---------------------------------------------------------------------------------
@dataclass
class Knowledge:
    """What porter knows that explains a change, per recipe step (patch k = step k)."""
    old_tag: str
    new_tag: str
    rec: recipe_mod.Recipe | None
    upstream: dict[str, dict[str, list[str]]]       # upstream path -> stripped line -> [commit ids]
    learned: dict[str, dict[str, str]]              # xen path -> stripped line -> unit label
    names: set[str]                                 # tags and commit ids that may appear in messages
    rules: list = field(default_factory=list)       # every port step's rules

    def rule_for(self, text: str) -> str | None:
        return rule_writing(self.rules, text)

    def step(self, number: int):
        if self.rec and 1 <= number <= len(self.rec.steps):
            return self.rec.steps[number - 1]
        return None


def _key(line: str) -> str:
    return " ".join(line.split())


def upstream_lines(ws: Workspace, old_tag: str, new_tag: str, upath: str) -> dict[str, list[str]]:
    """stripped line -> ids of the upstream commits between the tags that added or removed it."""
    out: dict[str, list[str]] = {}
    if old_tag == new_tag:
        return out
    try:
        log = gitutil.git_text(ws.upstream_git, "log", "--reverse", "--format=%H", f"{old_tag}..{new_tag}",
                               "--", upath).split()
    except gitutil.GitError:
        return out
    for sha in log:
        diff = gitutil.git_text(ws.upstream_git, "show", "-U0", "--format=", sha, "--", upath)
        for line in diff.splitlines():
            if line[:1] in "+-" and not line.startswith(("+++", "---")):
                out.setdefault(_key(line[1:]), []).append(sha)
    return out


def learned_lines(ws: Workspace, rec, step) -> dict[str, str]:
    from .structured import FileEdits
    out: dict[str, str] = {}
    sdir = rec.step_dir(ws.series_dir, step)
    for xpath, name in step.edits.items():
        try:
            edits = FileEdits.load((sdir / name).read_bytes(), xpath)
        except (OSError, BadInput):
            continue
        for seg in edits.segments:
            if seg.op in ("edit", "insert"):
                for line in seg.text.decode("utf-8", "replace").splitlines():
                    out.setdefault(_key(line), seg.label())
    return out


def knowledge(ws: Workspace, old_tag: str, new_tag: str, rec=None) -> Knowledge:
    if rec is None:
        try:
            rec = recipe_mod.load(ws.series_dir)
        except BadInput:
            rec = None
    upstream, learned, names = {}, {}, {old_tag, new_tag}
    for upath in (rec.files if rec else {}):
        upstream[upath] = upstream_lines(ws, old_tag, new_tag, upath)
        for shas in upstream[upath].values():
            names.update(s[:12] for s in shas)
        for tag in (old_tag, new_tag):
            try:
                names.add(gitutil.git_text(ws.upstream_git, "log", "-1", "--format=%h", "--abbrev=12", tag,
                                           "--", upath).strip())
            except gitutil.GitError:
                pass
    for step in (rec.steps if rec else []):
        if step.edits:
            learned[step.dir] = learned_lines(ws, rec, step)
    names.discard("")
    return Knowledge(old_tag, new_tag, rec, upstream, learned, names, step_rules(ws, rec))


def step_rules(ws: Workspace, rec) -> list:
    """The rules every port step of the recipe runs (packs and step-local rule files), and the
    packs' compat helpers as rules that write their text (`<pack>.compat.<name>`)."""
    from .linux_to_xen.rules import Anchor, Rule, load_packs
    from .workspace import safe_join
    rules = []
    for step in (rec.steps if rec else []):
        if step.kind == "port" and step.rules:
            sdir = rec.step_dir(ws.series_dir, step)
            names = [r for r in step.rules if r.endswith(".toml")] + \
                [r for rs in step.file_rules.values() for r in rs]
            try:
                packs = load_packs([r for r in step.rules if not r.endswith(".toml")],
                                   [safe_join(sdir, r, "rules") for r in dict.fromkeys(names)])
            except BadInput:
                continue
            rules += [r for pack in packs for r in pack.rules]
            rules += [Rule(f"{pack.name}.compat.{h.name}", "insert_template", Anchor("file"), text=h.text)
                      for pack in packs for h in pack.compat]
    return rules


def rule_writing(rules: list, text: str) -> str | None:
    """The id of the rule that writes this line: its `/* Xen: reason */`, or a line of its text."""
    for rule in rules:
        if rule.reason and f"/* Xen: {rule.reason} */" in text:
            return rule.id
        written = [rule.text, rule.to] + list(rule.map.values())
        if any(w and text in {_key(x) for x in str(w).splitlines()} for w in written):
            return rule.id
    return None


def _template_line(line: str) -> re.Pattern:
    """A template line as a pattern: jinja expressions and blocks match anything."""
    parts = re.split(r"(\{\{.*?\}\}|\{%.*?%\})", _key(line))
    return re.compile("".join(".*" if x.startswith("{") and x[1:2] in "{%" else re.escape(x) for x in parts))


def _line_origin(kb: Knowledge, ws: Workspace, step, rd_line: str, in_message: bool,
                 weak: bool = False) -> tuple[str, str] | None:
    """(origin, commit-or-"") of one changed range-diff line; None when the line says nothing (blank,
    a lone brace...) unless `weak`: then such lines count too (a hunk made of them only)."""
    if rd_line.startswith(("## ", "@@ ")):
        return None
    if in_message:
        text = _key(rd_line)
        if text in _NEUTRAL and not weak:
            return None
        if any(n in rd_line for n in kb.names):
            return ("upstream", "")
        if step is not None and text in {_key(x) for x in step.message.splitlines()}:
            return (f"recipe:{step.dir}", "")
        return ("manual", "")
    text = _key(rd_line[1:])
    if (text in _NEUTRAL or rd_line[:1] == " ") and not weak:
        return None     # inner context: the patch's own hunk bounds moved, the change is elsewhere
    if step is None:
        return ("manual", "")
    x2u = kb.rec.xen_to_upstream
    if step.kind == "import":
        ups = [x2u[x] for x in step.files if x in x2u]
    elif step.kind == "port":
        ups = [x2u[x] for x in (step.edits or step.files) if x in x2u]
    else:
        ups = list(kb.rec.files)
    for upath in ups:
        shas = kb.upstream.get(upath, {}).get(text)
        if shas:
            return ("upstream", shas[-1] if step.kind == "import" else "")
    if any(n in rd_line for n in kb.names) and kb.old_tag != kb.new_tag:
        return ("upstream", "")
    if re.match(r"#if 0 /\* Xen: .*\(new upstream code\) \*/$", text):
        return ("rule:new-code", "")      # resync's lint disabled Linux-only new upstream code
                                          # (in a port step, or seen as context by a later patch)
    if step.kind == "port" and not step.edits and \
            re.match(r"#if 0 /\* Xen: (uses Linux-only |nothing live uses it)", text):
        return ("rule:porter.disable", "")   # a rules-only port step disabled what is still Linux-only
    rule = kb.rule_for(text)
    if rule:
        return (f"rule:{rule}", "")
    if step.edits:
        unit = kb.learned.get(step.dir, {}).get(text)
        if unit:
            return (f"learned:{unit}", "")
    sdir = kb.rec.step_dir(ws.series_dir, step)
    carried = []
    for name in list(step.patches.values()) + ([step.patch] if step.patch else []):
        try:
            carried += (sdir / name).read_text("utf-8", "replace").splitlines()
        except OSError:
            pass
    if text in {_key(x[1:]) for x in carried if x[:1] in " +-"}:
        return (f"carry:{step.dir}", "")
    if step.templates:
        for t in step.templates:
            try:
                lines = (sdir / t["template"]).read_text("utf-8", "replace").splitlines()
            except OSError:
                continue
            if any(_template_line(x).fullmatch(text) for x in lines):
                return (f"rule:{step.dir}/{t['template']}", "")
    return ("manual", "")


def hunk_origin(kb: Knowledge, origins: list[tuple[str, str]], step) -> tuple[str, list[str]]:
    """The hunk's origin: manual if any line is unexplained, else upstream, learned, carry, rule, recipe."""
    labels = []
    for origin, sha in origins:
        if origin == "upstream":
            label = f"upstream:{sha[:12]}" if sha else f"upstream:{kb.new_tag}"
        else:
            label = origin
        if label not in labels:
            labels.append(label)
    if not labels:
        return ("manual", ["manual"])
    for prefix in ("manual", "upstream:", "learned:", "carry:", "rule:", "recipe:"):
        hits = [x for x in labels if x.startswith(prefix)]
        if hits:
            if prefix == "upstream:" and len(hits) > 1:
                return (f"upstream:{kb.new_tag}", labels)
            return (hits[0], labels)
    return (labels[0], labels)


def interdiff(ws: Workspace, kb: Knowledge, old: Patch, new: Patch) -> list[Hunk]:
    a, b = old.rd_lines(), new.rd_lines()
    step = kb.step(new.number)
    msg_end_a = next((i for i, x in enumerate(a) if x.startswith("## ")), len(a))
    msg_end_b = next((i for i, x in enumerate(b) if x.startswith("## ")), len(b))
    hunks = []
    for group in SequenceMatcher(None, a, b, autojunk=False).get_grouped_opcodes(CONTEXT):
        i1, j1 = group[0][1], group[0][3]
        i2, j2 = group[-1][2], group[-1][4]
        lines = [f"@@ -{i1 + 1},{i2 - i1} +{j1 + 1},{j2 - j1} @@"]
        found = []
        first_change = None
        for tag, ai, aj, bi, bj in group:
            if tag == "equal":
                lines += [" " + x for x in a[ai:aj]]
                continue
            if first_change is None:
                first_change = bi
            for k in range(ai, aj):
                lines.append("-" + a[k])
                o = _line_origin(kb, ws, step, a[k], k < msg_end_a)
                if o and o[0] != "manual":   # an old line the recipe no longer makes: what replaced it says why
                    found.append(o)
            for k in range(bi, bj):
                lines.append("+" + b[k])
                o = _line_origin(kb, ws, step, b[k], k < msg_end_b)
                if o:
                    found.append(o)
        if not found:       # only blank lines or braces changed: attribute those
            for tag, ai, aj, bi, bj in group:
                if tag != "equal":
                    found += [o for k in range(ai, aj) if (o := _line_origin(kb, ws, step, a[k], k < msg_end_a, True))
                              and o[0] != "manual"]
                    found += [o for k in range(bi, bj) if (o := _line_origin(kb, ws, step, b[k], k < msg_end_b, True))]
        origin, labels = hunk_origin(kb, found, step)
        hunks.append(Hunk(origin, _header(b, first_change if first_change is not None else j1, msg_end_b),
                          labels, lines))
    return hunks


def _header(lines: list[str], at: int, msg_end: int) -> str:
    if at < msg_end:
        return "@@ Commit message"
    for k in range(min(at, len(lines) - 1), -1, -1):
        if lines[k].startswith(("@@ ", "## ")):
            return lines[k] if lines[k].startswith("@@ ") else "@@ " + lines[k][3:-3]
    return "@@"


# -- pairing ---------------------------------------------------------------------------------------
def review_patches(ws: Workspace, kb: Knowledge, old: list[Patch], new: list[Patch]) -> list[PatchReview]:
    old_by = {p.subject: p for p in old}
    pairs: dict[int, Patch] = {}
    for p in new:
        if p.subject in old_by:
            pairs[p.number] = old_by.pop(p.subject)
    left = {p.number: p for p in old_by.values()}
    for p in new:      # a retitled patch: same place, subject changed
        if p.number not in pairs and p.number in left:
            pairs[p.number] = left.pop(p.number)
    out = []
    for p in new:
        o = pairs.get(p.number)
        if o is None:
            out.append(PatchReview(p.name, p.subject, "new", None, p.number))
            continue
        same = o.rd_lines() == p.rd_lines()
        out.append(PatchReview(p.name, p.subject, "same" if same else "changed", o.name, p.number,
                               [] if same else interdiff(ws, kb, o, p)))
    out += [PatchReview(p.name, p.subject, "removed", p.name, p.number) for p in left.values()]
    return out


def review(ws: Workspace, va: int | None = None, vb: int | None = None, progress=lambda text: None) -> dict:
    ws.newest_revision()                      # none yet: one line, exit 2
    revs = ws.revisions()
    if va is None and vb is None:
        if len(revs) < 2:
            raise BadInput(f"series/{ws.name}/ has only v{revs[0]}: review compares two revisions "
                           f"(name them: porter review vA vB)")
        va, vb = revs[-2], revs[-1]
    elif vb is None:
        vb = revs[-1]
    progress(f"reading v{va} and v{vb}")
    old, new = read(ws, va), read(ws, vb)
    progress(f"upstream {old.tag}..{new.tag}")
    kb = knowledge(ws, old.tag, new.tag)
    patches = review_patches(ws, kb, old.patches, new.patches)
    return {"ok": True, "from": f"v{va}", "to": f"v{vb}", "upstream": {"from": old.tag, "to": new.tag},
            "patches": [p.to_json() for p in patches],
            "linux_changes": linux_changes.for_revision(new.files, [s.kind for s in kb.rec.steps]
                                                        if kb.rec else [])}


def describe_linux_changes(result: dict) -> list[str]:
    """Lines saying how much of the imported Linux code the newer revision changes and disables."""
    report = result.get("linux_changes") or {"files": []}
    return [f"{result['to']}: {line}" for line in linux_changes.describe(report)]


# -- the cover letter's "Changes since" ------------------------------------------------------------
def reviewed_patches(ws: Workspace, rec, built, old: dict[str, bytes], new: dict[str, bytes]) -> list[dict]:
    """Per-patch reviews of a new revision `new` against the previous one `old` (what its changelog
    is made from); Findings when a revision cannot be read as patches."""
    old_tag = revision.cover_tag(old, "previous revision")
    kb = knowledge(ws, old_tag, built.tag, rec)
    patches = review_patches(ws, kb, parse_revision(old, "previous revision"),
                             parse_revision(new, "new revision"))
    return [p.to_json() for p in patches]


# -- markdown ----------------------------------------------------------------------------------------
def markdown(result: dict, name: str) -> str:
    up = result["upstream"]
    counts = {}
    for p in result["patches"]:
        counts[p["status"]] = counts.get(p["status"], 0) + 1
    out = [f"### porter review: `{name}` {result['from']} → {result['to']}", ""]
    if up["from"] != up["to"]:
        out.append(f"Upstream moved from `{up['from']}` to `{up['to']}`.")
    else:
        out.append(f"Upstream unchanged (`{up['to']}`).")
    out.append(", ".join(f"{n} {s}" for s, n in counts.items()) + ".")
    manual = [p for p in result["patches"] for h in p["hunks"] if h["origin"] == "manual"]
    if manual:
        out.append(f"\n**{len(manual)} hunk(s) with no explanation in porter (`manual`)**: check them by hand.")
    out += ["", "| # | patch | status | origins |", "|---|---|---|---|"]
    for p in result["patches"]:
        origins = sorted({h["origin"] for h in p["hunks"]})
        subject = p["subject"].replace("|", "\\|")
        out.append(f"| {p['file'][:4]} | {subject} | {p['status']} | "
                   f"{', '.join(f'`{o}`' for o in origins)} |")
    for p in result["patches"]:
        if not p["hunks"]:
            continue
        out += ["", f"<details><summary>{p['file']}: {len(p['hunks'])} changed hunk(s)</summary>", ""]
        for h in p["hunks"]:
            out += [f"`{h['origin']}` {h['header']}", "", "```diff", h["diff"], "```", ""]
        out.append("</details>")
    return "\n".join(out) + "\n"
