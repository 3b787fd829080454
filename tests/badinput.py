"""The bad-input corpus: how an attacker or a careless user can break a workspace, and what porter
must say. Each case: (category, id, setup(ws, outside), argv, exit code, text the one line holds
[, environment]); a case with exit code 0 must succeed and say the text."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import tomli_w

R = "series/foo/recipe.toml"
BUILD = "series/foo/steps/03-iommu-arm-build-foo"
PORT = "series/foo/steps/02-iommu-arm-foo-add-xen-changes"
CARRY = "series/foo/steps/04-iommu-arm-foo-track-coherency"
IMPORT = "series/foo/steps/01-iommu-arm-foo-add-foo-support"


def recipe(change):
    """A setup that edits recipe.toml as data: change(doc) mutates it."""
    def setup(ws: Path, outside: Path) -> None:
        path = ws / R
        doc = tomllib.loads(path.read_text())
        change(doc)
        path.write_text(tomli_w.dumps(doc))
    return setup


def config(change):
    def setup(ws: Path, outside: Path) -> None:
        path = ws / "porter.toml"
        doc = tomllib.loads(path.read_text())
        change(doc)
        path.write_text(tomli_w.dumps(doc))
    return setup


def text(rel: str, data: str | bytes):
    def setup(ws: Path, outside: Path) -> None:
        p = ws / rel
        p.write_bytes(data if isinstance(data, bytes) else data.encode())
    return setup


def link(rel: str, target: str):
    """Replace ws/rel with a symlink to outside/target."""
    def setup(ws: Path, outside: Path) -> None:
        p = ws / rel
        if p.is_dir() and not p.is_symlink():
            import shutil
            shutil.copytree(p, outside / target, dirs_exist_ok=True)
            shutil.rmtree(p)
        elif p.exists():
            if not (outside / target).exists():
                (outside / target).write_bytes(p.read_bytes())
            p.unlink()
        os.symlink(outside / target, p)
    return setup


def step(i: int, **kv):
    def change(doc):
        doc["steps"][i].update(kv)
    return recipe(change)


def series(**kv):
    def change(doc):
        doc["series"].update(kv)
    return recipe(change)


def both(*setups):
    def setup(ws, outside):
        for s in setups:
            s(ws, outside)
    return setup


def rule_file(body: str):
    """A rule file in the port step, named by the step's rules."""
    return both(text(f"{PORT}/my-rules.toml", body), step(1, rules=["my-rules.toml"]))


def nothing(ws, outside):
    pass


def fifo(name):
    def setup(ws, outside):
        os.mkfifo(ws / name)
    return setup


def sparse(name, size):
    def setup(ws, outside):
        with open(ws / name, "wb") as f:
            f.truncate(size)
            f.seek(0)
            f.write(b"int x;\n")
    return setup


def nested_ifdefs(name, depth):
    def setup(ws, outside):
        (ws / name).write_bytes(b"".join(b"#ifdef A%d\n" % i for i in range(depth)) + b"int x;\n"
                                + b"#endif\n" * depth)
    return setup


EVIL = "{{ cycler.__init__.__globals__.os.system('touch %s') }}"
RS = ("resync", "--from", "t1")
CK = ("check",)
STRING_RULE = ('[[rule]]\nid = "r"\nop = "rewrite_string"\nanchor = { kind = "string", name = "*" }\n'
               'pattern = "foo"\nto = "\\\\9"\n')
TEMPLATE_RULE = ('[[rule]]\nid = "t"\nop = "insert_template"\nanchor = { kind = "file", where = "start" }\n'
                 'template = "{{ cycler.__init__.__globals__.os.system(\'touch /tmp/porter-pwned\') }}"\n')

CASES = [
    # code execution through templates
    ("code execution", "glue-os-system-resync", lambda ws, o: text(f"{BUILD}/Makefile.j2", EVIL % (o / "pwned"))(ws, o), RS, 2, "sandbox"),
    ("code execution", "glue-os-system-check", lambda ws, o: text(f"{BUILD}/Makefile.j2", EVIL % (o / "pwned"))(ws, o), CK, 2, "sandbox"),
    ("code execution", "glue-subclasses", text(f"{BUILD}/Makefile.j2", "{{ ''.__class__.__mro__[1].__subclasses__() }}"), RS, 2, "Makefile.j2"),
    ("code execution", "glue-include-etc-passwd", text(f"{BUILD}/Makefile.j2", "{% include '/etc/passwd' %}"), RS, 2, "/etc/passwd"),
    ("code execution", "glue-include-dotdot", text(f"{BUILD}/Makefile.j2", "{% include '../../../porter.toml' %}"), RS, 2, "Makefile.j2"),
    ("code execution", "glue-div-zero", text(f"{BUILD}/Makefile.j2", "{{ 1/0 }}"), RS, 2, "ZeroDivisionError"),
    ("code execution", "glue-undefined", text(f"{BUILD}/Makefile.j2", "{{ nope }}"), RS, 2, "nope"),
    ("code execution", "glue-syntax", text(f"{BUILD}/Makefile.j2", "{% if %}"), RS, 2, "line 1"),
    ("code execution", "glue-memory-bomb", text(f"{BUILD}/Makefile.j2", "{{ 'x' * 10**10 }}"), RS, 2, "too large"),
    ("code execution", "glue-recursion", text(f"{BUILD}/Makefile.j2", "{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}"), RS, 2, "Makefile.j2"),
    ("code execution", "glue-not-utf8", text(f"{BUILD}/Makefile.j2", b"{{ \xff }}"), RS, 2, "Makefile.j2"),
    ("code execution", "rule-template-os-system", rule_file(TEMPLATE_RULE), RS, 2, "sandbox"),
    ("code execution", "rule-bad-group-reference", rule_file(STRING_RULE), RS, 2, "rule r.to"),
    # paths that leave the workspace
    ("outside the workspace", "template-symlink-resync", link(f"{BUILD}/Makefile.j2", "secret.txt"), RS, 2, "outside"),
    ("outside the workspace", "template-symlink-check", link(f"{BUILD}/Makefile.j2", "secret.txt"), CK, 2, "outside"),
    ("outside the workspace", "series-symlink", link("series", "series"), RS, 2, "outside"),
    ("outside the workspace", "series-name-symlink", link("series/foo", "foo"), RS, 2, "outside"),
    ("outside the workspace", "step-dir-symlink", link(PORT, "stepdir"), RS, 2, "outside"),
    ("outside the workspace", "edits-symlink", link(f"{PORT}/foo.c.edits", "x.edits"), RS, 2, "outside"),
    ("outside the workspace", "later-edits-symlink", link(f"{CARRY}/foo.c.edits", "x.edits"), RS, 2, "outside"),
    ("outside the workspace", "message-symlink", link(f"{IMPORT}/message", "msg"), RS, 2, "outside"),
    ("outside the workspace", "recipe-symlink", link(R, "recipe.toml"), RS, 2, "outside"),
    ("outside the workspace", "cover-symlink", link("series/foo/cover.txt", "cover.txt"), RS, 2, "outside"),
    ("outside the workspace", "revision-symlink", link("series/foo/v1", "v1"), RS, 2, "outside"),
    ("outside the workspace", "revision-file-symlink", link("series/foo/v1/0001-iommu-arm-foo-Add-foo-support.patch", "p"), CK, 2, "outside"),
    ("outside the workspace", "cache-symlink", link(".porter", "cache"), RS, 2, "outside"),
    ("outside the workspace", "cache-validate-symlink", lambda ws, o: os.symlink(o, ws / ".porter" / "validate"), ("validate", "--source", "series"), 2, "outside"),
    ("outside the workspace", "cache-scratch-symlink", lambda ws, o: os.symlink(o, ws / ".porter" / "scratch"), RS, 2, "outside"),
    ("outside the workspace", "cache-index-symlink", lambda ws, o: os.symlink(o, ws / ".porter" / "xen-index"), ("port", "series/foo/v1/0000-cover-letter.patch", "-o", "o.c"), 2, "outside"),
    ("outside the workspace", "config-symlink", link("porter.toml", "porter.toml"), RS, 2, "outside"),
    ("code execution", "cache-config-command", text(".porter/xen.git/config", "[core]\n\tbare = true\n\tsshCommand = touch /tmp/porter-pwned\n[credential]\n\thelper = !touch /tmp/porter-pwned\n"), RS, 2, "core.sshcommand"),
    ("code execution", "cache-config-include", text(".porter/xen.git/config", "[core]\n\tbare = true\n[include]\n\tpath = /tmp/elsewhere.cfg\n"), RS, 2, "include.path"),
    ("code execution", "cache-config-filter", text(".porter/xen.git/config", "[core]\n\tbare = true\n[filter \"x\"]\n\tsmudge = touch /tmp/porter-pwned\n"), RS, 2, "filter.x.smudge"),
    ("code execution", "cache-config-insteadof", text(".porter/upstream.git/config", "[core]\n\tbare = true\n[url \"ext::sh -c touch% /tmp/porter-pwned\"]\n\tinsteadOf = /\n"), RS, 2, "insteadof"),
    ("outside the workspace", "step-dir-dotdot", step(1, dir="../../../x"), RS, 2, "leaves"),
    ("outside the workspace", "step-dir-absolute", step(1, dir="/tmp/x"), RS, 2, "relative path"),
    ("outside the workspace", "template-file-dotdot", lambda ws, o: recipe(lambda d: d["steps"][2]["templates"][0].update(file="../x"))(ws, o), RS, 2, "leaves"),
    ("outside the workspace", "template-name-absolute", lambda ws, o: recipe(lambda d: d["steps"][2]["templates"][0].update(template="/etc/passwd"))(ws, o), RS, 2, "relative path"),
    ("outside the workspace", "edits-absolute", step(1, edits={"xen/drivers/passthrough/arm/foo.c": "/etc/passwd"}), RS, 2, "relative path"),
    ("outside the workspace", "patch-dotdot", step(3, patch="../../../../porter.toml"), RS, 2, "leaves"),
    ("outside the workspace", "rules-file-dotdot", step(1, rules=["../../../x.toml"]), RS, 2, "leaves"),
    ("outside the workspace", "files-map-absolute", recipe(lambda d: d["files"].update({"/etc/passwd": "xen/x.c"})), RS, 2, "relative path"),
    ("outside the workspace", "port-output-leaves", lambda ws, o: (o / "src.c").write_text("int x;\n"), ("port", "../outside/src.c", "-o", "../escaped.c"), 2, "leaves the workspace"),
    ("outside the workspace", "port-output-symlink-out", lambda ws, o: [(o / "src.c").write_text("int x;\n"), os.symlink(o, ws / "out")], ("port", "../outside/src.c", "-o", "out/escaped.c"), 2, "leaves the workspace"),
    # mail header and C comment injection
    ("header injection", "to-newline", series(to=["a@b.org\nBcc: evil@x.org"]), RS, 2, "to[0]"),
    ("header injection", "cc-carriage-return", series(cc=["a@b.org\rBcc: evil@x.org"]), RS, 2, "cc[0]"),
    ("header injection", "prefix-newline", series(subject_prefix="PATCH\nBcc: evil@x.org"), RS, 2, "subject_prefix"),
    ("header injection", "prefix-bracket", series(subject_prefix="PATCH] [EVIL"), RS, 2, "brackets"),
    ("header injection", "author-newline", step(0, author="A <a@b.org>\nBcc: evil"), RS, 2, "author"),
    ("header injection", "subject-carriage-return", text(f"{IMPORT}/message", "Subject \x1b[2J\x1b[31mred\n\nbody\n"), RS, 2, "control character"),
    ("header injection", "empty-message", text(f"{IMPORT}/message", "\n\n"), RS, 2, "empty commit message"),
    ("header injection", "to-not-string", series(to=[3]), RS, 2, "to[0]"),
    # porter.toml schema
    ("porter.toml schema", "series-string", config(lambda d: d.update(series="x")), RS, 2, "series must be a table"),
    ("porter.toml schema", "base-int", config(lambda d: d["xen"].update(base=3)), RS, 2, "base must be a string"),
    ("porter.toml schema", "url-int", config(lambda d: d["upstream"].update(url=1)), RS, 2, "url must be a string"),
    ("porter.toml schema", "xen-url-list", config(lambda d: d["xen"].update(url=[])), RS, 2, "url must be a string"),
    ("porter.toml schema", "name-int", config(lambda d: d["series"].update(name=5)), RS, 2, "name must be a string"),
    ("porter.toml schema", "name-dotdot", config(lambda d: d["series"].update(name="../x")), RS, 2, "leaves"),
    ("porter.toml schema", "name-newline", config(lambda d: d["series"].update(name="a\nb")), RS, 2, "one line"),
    ("porter.toml schema", "name-empty", config(lambda d: d["series"].update(name="")), RS, 2, "name"),
    ("porter.toml schema", "missing-xen", config(lambda d: d.pop("xen")), RS, 2, "missing key 'xen'"),
    ("porter.toml schema", "release-list", config(lambda d: d["xen"].update(release=[])), RS, 2, "release must be a string"),
    ("porter.toml schema", "public-url-int", config(lambda d: d["upstream"].update(public_url=3)), RS, 2, "public_url"),
    ("porter.toml schema", "not-toml", text("porter.toml", "[series\nname="), RS, 2, "porter.toml"),
    ("porter.toml schema", "binary", text("porter.toml", b"\xff\xfe\x00garbage"), RS, 2, "porter.toml"),
    ("porter.toml schema", "base-option", config(lambda d: d["xen"].update(base="--upload-pack=evil")), RS, 2, "invalid base"),
    # recipe.toml schema
    ("recipe.toml schema", "steps-empty", recipe(lambda d: d.update(steps=[])), RS, 2, "at least one step"),
    ("recipe.toml schema", "steps-string", recipe(lambda d: d.update(steps="x")), RS, 2, "steps must be an array"),
    ("recipe.toml schema", "step-int", recipe(lambda d: d.update(steps=[1])), RS, 2, "steps[0] must be a table"),
    ("recipe.toml schema", "date-huge", step(0, date="99999999999999 +0000"), RS, 2, "steps[0].date"),
    ("recipe.toml schema", "date-after-9999", step(0, date="253402300800 +0000"), RS, 2, "year 9999"),
    ("recipe.toml schema", "timezone-range", step(0, date="1600000000 +9900"), RS, 2, "time zone"),
    ("recipe.toml schema", "timezone-minutes", step(0, date="1600000000 +0175"), RS, 2, "time zone"),
    ("recipe.toml schema", "date-int", step(0, date=1600000000), RS, 2, "date must be a string"),
    ("recipe.toml schema", "template-without-after", lambda ws, o: recipe(lambda d: d["steps"][2]["templates"][0].pop("after"))(ws, o), RS, 2, "missing key 'after'"),
    ("recipe.toml schema", "template-occurrence-negative", lambda ws, o: recipe(lambda d: d["steps"][2]["templates"][0].update(occurrence=-1))(ws, o), RS, 2, "occurrence"),
    ("recipe.toml schema", "template-occurrence-string", lambda ws, o: recipe(lambda d: d["steps"][2]["templates"][0].update(occurrence="1"))(ws, o), RS, 2, "occurrence must be an integer"),
    ("recipe.toml schema", "templates-string", step(2, templates="Makefile.j2"), RS, 2, "templates must be an array"),
    ("recipe.toml schema", "rules-int-list", step(1, rules=[5]), RS, 2, "rules[0] must be a string"),
    ("recipe.toml schema", "rules-string", step(1, rules="logging"), RS, 2, "rules must be an array"),
    ("recipe.toml schema", "rules-unknown-pack", step(1, rules=["no-such-pack"]), RS, 2, "no-such-pack"),
    ("recipe.toml schema", "files-int", recipe(lambda d: d.update(files=3)), RS, 2, "files must be a table"),
    ("recipe.toml schema", "files-value-int", recipe(lambda d: d["files"].update(x=3)), RS, 2, "files.x"),
    ("recipe.toml schema", "kind-int", step(0, kind=5), RS, 2, "kind must be a string"),
    ("recipe.toml schema", "kind-unknown", step(0, kind="exec"), RS, 2, "kind must be one of"),
    ("recipe.toml schema", "upstream-tag-int", series(upstream_tag=3), RS, 2, "upstream_tag must be a string"),
    ("recipe.toml schema", "upstream-tag-unknown", series(upstream_tag="nope"), RS, 2, "nope"),
    ("recipe.toml schema", "learned-string", series(learned="x"), RS, 2, "learned must be a table"),
    ("recipe.toml schema", "edits-value-int", step(1, edits={"xen/drivers/passthrough/arm/foo.c": 1}), RS, 2, "edits"),
    ("recipe.toml schema", "duplicate-dir", lambda ws, o: recipe(lambda d: d["steps"][1].update(dir=d["steps"][0]["dir"]))(ws, o), RS, 2, "share one dir"),
    ("recipe.toml schema", "files-list", step(0, files="xen/x.c"), RS, 2, "files must be an array"),
    ("recipe.toml schema", "series-missing", recipe(lambda d: d.pop("series")), RS, 2, "missing key 'series'"),
    ("recipe.toml schema", "edits-garbage", text(f"{PORT}/foo.c.edits", "keep banana\n"), RS, 2, "line 1"),
    ("recipe.toml schema", "edits-binary", text(f"{PORT}/foo.c.edits", b"\x00\xff" * 100), RS, 2, "not UTF-8"),
    ("recipe.toml schema", "recipe-not-toml", text(R, "[[steps"), RS, 2, "recipe.toml"),
    ("recipe.toml schema", "recipe-binary", text(R, b"\xff\xfe"), RS, 2, "recipe.toml"),
    ("recipe.toml schema", "message-binary", text(f"{IMPORT}/message", b"\xff\xfe subject\n"), RS, 2, "not UTF-8"),
    # inputs that are not C text, and command-line arguments
    ("command-line input", "port-output-dir", lambda ws, o: (ws / "outdir").mkdir(), ("port", "series/foo/v1/0000-cover-letter.patch", "-o", "outdir"), 2, "is a directory"),
    ("command-line input", "port-binary", text("blob.c", bytes(range(256)) * 400), ("port", "blob.c", "-o", "out.c"), 2, "binary"),
    ("command-line input", "port-fifo", fifo("pipe.c"), ("port", "pipe.c", "-o", "out.c"), 2, "FIFO"),
    ("command-line input", "port-device", nothing, ("port", "/dev/zero", "-o", "out.c"), 2, "character device"),
    ("command-line input", "port-huge", sparse("huge.c", 80 << 20), ("port", "huge.c", "-o", "out.c"), 2, "larger than"),
    ("command-line input", "port-missing", nothing, ("port", "nope.c", "-o", "out.c"), 2, "nope.c"),
    ("command-line input", "port-directory", lambda ws, o: (ws / "d.c").mkdir(), ("port", "d.c", "-o", "out.c"), 2, "d.c"),
    ("command-line input", "lint-binary", text("blob.c", b"\x00" * 1000), ("lint", "blob.c"), 2, "binary"),
    ("command-line input", "lint-fifo", fifo("pipe.c"), ("lint", "pipe.c"), 2, "FIFO"),
    ("command-line input", "port-bad-rule-file", text("r.toml", "[[rule]]\nid = 3\n"), ("port", "series/foo/v1/0000-cover-letter.patch", "-o", "o.c", "--rules", "r.toml"), 2, "r.toml"),
    ("command-line input", "resync-tag-option", nothing, ("resync", "--from", "--upload-pack=x"), 2, "upstream tag"),
    ("command-line input", "resync-unknown-tag", nothing, ("resync", "--from", "nope"), 2, "nope"),
    ("command-line input", "resync-tag-newline", nothing, ("resync", "--from", "t1\nx"), 2, "invalid"),
    ("command-line input", "learn-unknown-ref", nothing, ("learn", "nope", "--from", "t1"), 2, "nope"),
    ("command-line input", "learn-range-ref", nothing, ("learn", "base..port", "--from", "t1"), 2, "invalid"),
    ("command-line input", "review-missing-revision", nothing, ("review", "v1", "v9"), 2, "v9"),
    ("command-line input", "review-bad-revision", nothing, ("review", "x1"), 2, "x1"),
    ("command-line input", "validate-missing-revision", nothing, ("validate", "v9"), 2, "v9"),
    ("command-line input", "validate-source-missing", nothing, ("validate", "--source", "nope"), 2, "nope"),
    ("command-line input", "unknown-option", nothing, ("resync", "--frm", "t1"), 2, "--frm"),
    ("command-line input", "missing-option", nothing, ("resync",), 2, "--from"),
]


# build glue from a pull request, run by `porter build` and `porter check` on the demo workspace
# (BUILD_CASES): Makefile lines that try to leave the build tree; under bwrap each must fail quietly
# (the build itself succeeds and names its sandbox) or end as one line
SECRET = "PRIVATE KEY of the user running porter"
GLUE = "series/ipmmu-vmsa/steps/05-iommu-arm-build-ipmmu-vmsa-related-stuff/Makefile.j2"
BW = {"PORTER_SANDBOX": "bwrap"}


def glue(*lines, also=None):
    """Lines added to the demo recipe's build glue ({ws}, {tree}, {outside}, {home} filled in), and the
    revision written from it without a build (after also(ws, outside)); a fake home folder with a key
    in outside/home."""
    def setup(ws: Path, outside: Path) -> None:
        from tests.helpers import porter
        home = outside / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "id_rsa").write_text(SECRET + "\n")
        fields = {"ws": ws, "tree": ws / ".porter/build/tree", "outside": outside, "home": home}
        path = ws / GLUE
        path.write_text(path.read_text() + "".join(line.format(**fields) + "\n" for line in lines))
        if also:
            also(ws, outside)
        code, out = porter("resync", "--from", "demo-1.0", "--no-build", cwd=ws)
        assert code == 0, out
    return setup


EVIL_GIT = ("$(shell git init -q {tree}/.evil && echo {ws}/.porter/xen.git/objects > {tree}/.evil/.git/objects/info/alternates"
            " && git -C {tree}/.evil config filter.x.smudge 'sh -c \"touch {outside}/pwned; cat\"'"
            " && echo '* filter=x' > {tree}/.gitattributes && echo 'gitdir: {tree}/.evil/.git' > {tree}/.git)")
BUILD_CASES = [
    ("build glue", "glue-touch-outside-build", glue("$(shell touch {outside}/pwned /tmp/porter-pwned)"), ("build",), 0, "bwrap", BW),
    ("build glue", "glue-touch-outside-check", glue("$(shell touch {outside}/pwned /tmp/porter-pwned)"), CK, 0, "bwrap", BW),
    ("build glue", "glue-read-home", glue("$(shell cat {home}/.ssh/id_rsa > {tree}/xen/leaked)",
                                         "$(warning $(shell cat {home}/.ssh/id_rsa))",
                                         "$(shell cp -r {home} {tree}/xen/home-copy)"), ("build",), 0, "bwrap", BW),
    ("build glue", "glue-write-series", glue("$(shell touch {ws}/series/ipmmu-vmsa/pwned; echo x >> {ws}/porter.toml)",
                                             "$(shell rm -rf {ws}/series/ipmmu-vmsa/v1)"), CK, 0, "bwrap", BW),
    ("build glue", "glue-write-cache", glue("$(shell touch {ws}/.porter/xen.git/pwned {ws}/.porter/build/pwned)",
                                            "$(shell rm -rf {ws}/.porter/upstream.git)"), ("build",), 0, "bwrap", BW),
    ("build glue", "glue-plants-git-dir", glue(EVIL_GIT), ("build",), 0, "bwrap", BW),
    ("build glue", "glue-endless", glue("$(shell sleep 120)", also=config(lambda d: d["build"].update(timeout=3))),
     ("build",), 2, "did not finish within 3 s", BW),
    ("build glue", "sandbox-unknown", glue(), ("build",), 2, "sandbox 'chroot' is not one of", {"PORTER_SANDBOX": "chroot"}),
]
