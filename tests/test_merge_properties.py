"""Issue 11: the merge invariants as properties, on self-written drivers with random upstream
histories (rename, move, delete, split and rewrite functions, move per-device data between
structs, add Linux-only code) merged with random ports (disable, edit, delete, add Xen code)."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings, strategies as st

from porter.structured import apply_file, learn_file
from porter.structured.merge import resolve_markers
from porter.structured.states import balance, code_line, line_states, marker_lines

PATH = "xen/drivers/passthrough/arm/gen.c"


@dataclass
class Fn:
    name: str
    body: list[str]
    disabled: bool = False
    origin: str | None = None      # its name in the first version (None: new since)

    def __post_init__(self):
        if self.origin is None and self.name.startswith("gen_fn") and "_" not in self.name[6:]:
            self.origin = self.name


@dataclass
class Driver:
    fields: dict[str, list[str]] = field(default_factory=lambda: {"gen_dev": ["base", "irq", "mode"],
                                                                 "gen_ctx": ["id", "flags"]})
    fns: list[Fn] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)      # port-only units, verbatim

    def render(self) -> bytes:
        out = ["// SPDX-License-Identifier: GPL-2.0", "#include <linux/io.h>", ""]
        for name, fields in self.fields.items():
            out += [f"struct {name} {{"] + [f"\tint {f};" for f in fields] + ["};", ""]
        for fn in self.fns:
            text = [f"static int {fn.name}(struct gen_dev *d, struct gen_ctx *c)", "{"] + \
                   [f"\t{line}" for line in fn.body] + ["\treturn 0;", "}"]
            if fn.disabled:
                text = ["#if 0 /* Xen: not used */"] + text + ["#endif"]
            out += text + [""]
        out += self.extra
        return ("\n".join(out).rstrip("\n") + "\n").encode()

    def owner(self, f: str) -> str:
        return next((s for s, fs in self.fields.items() if f in fs), "gen_dev")


def _access(d: Driver, f: str) -> str:
    return "d" if d.owner(f) == "gen_dev" else "c"


def _base_driver(n_fns: int, draw) -> Driver:
    d = Driver()
    for i in range(n_fns):
        body = []
        for k in range(draw(st.integers(1, 4))):
            f = draw(st.sampled_from(["base", "irq", "mode", "id", "flags"]))
            body.append(f"{_access(d, f)}->{f} = {i * 10 + k};")
        if i and draw(st.booleans()):
            body.append(f"gen_fn{draw(st.integers(0, i - 1))}(d, c);")
        d.fns.append(Fn(f"gen_fn{i}", body))
    return d


def _calls(d: Driver, name: str) -> list[Fn]:
    return [fn for fn in d.fns if any(line.startswith(f"{name}(") for line in fn.body)]


def _upstream(d: Driver, ops, draw) -> Driver:
    d = copy.deepcopy(d)
    for op in ops:
        if not d.fns:
            break
        i = draw(st.integers(0, len(d.fns) - 1))
        fn = d.fns[i]
        if op == "rename":
            old, fn.name = fn.name, fn.name + "_v2"
            for g in d.fns:
                g.body = [line.replace(f"{old}(", f"{fn.name}(") for line in g.body]
        elif op == "move":
            d.fns.insert(draw(st.integers(0, len(d.fns) - 1)), d.fns.pop(i))
        elif op == "delete":
            d.fns.pop(i)
            for g in d.fns:
                g.body = [line for line in g.body if not line.startswith(f"{fn.name}(")]
        elif op == "split" and len(fn.body) > 1:
            half = len(fn.body) // 2
            tail = Fn(fn.name + "_tail", fn.body[half:], origin="")
            fn.body = fn.body[:half] + [f"{tail.name}(d, c);"]
            d.fns.insert(i, tail)
        elif op == "rewrite":
            fn.body = [line.replace(" = ", " = 100 + ") for line in fn.body]
        elif op == "tweak" and fn.body:
            k = draw(st.integers(0, len(fn.body) - 1))
            fn.body[k] = fn.body[k].replace(" = ", " = 100 + ")
        elif op == "move_data":
            f = draw(st.sampled_from(["irq", "mode", "flags"]))
            src = d.owner(f)
            dst = "gen_ctx" if src == "gen_dev" else "gen_dev"
            d.fields[src].remove(f)
            d.fields[dst].append(f)
            for g in d.fns:
                g.body = [line.replace(f"{'d' if src == 'gen_dev' else 'c'}->{f} ", f"{_access(d, f)}->{f} ")
                          for line in g.body]
        elif op == "linux":
            fn.body.append("devm_gen_alloc(d);")
    return d


def _port(d: Driver, ops, draw) -> tuple[Driver, set[str]]:
    """The port, and the names of the functions its own live code calls."""
    d = copy.deepcopy(d)
    used: set[str] = set()
    for op in ops:
        if not d.fns:
            break
        i = draw(st.integers(0, len(d.fns) - 1))
        fn = d.fns[i]
        if op == "disable" and not _calls(d, fn.name) and fn.name not in used:
            fn.disabled = True
        elif op == "edit" and fn.body:
            fn.body[0] += " /* Xen */"
        elif op == "disable_line" and fn.body and not fn.body[-1].startswith("#"):
            k = draw(st.integers(0, len(fn.body) - 1))
            if not fn.body[k].startswith("#"):
                fn.body[k:k + 1] = ["#if 0 /* Xen: not needed */", fn.body[k], "#endif"]
        elif op == "xen" and not fn.disabled:
            n = len(d.extra)
            d.extra += [f"/* Xen: glue {n} */", f"int xen_glue{n}(struct gen_dev *d)", "{",
                        f"\treturn {fn.name}(d, 0);", "}", ""]
            used.add(fn.name)
        elif op == "delete" and not _calls(d, fn.name) and fn.name not in used:
            d.fns.pop(i)
    return d, used


class Recorder:
    def __init__(self):
        self.texts: list[bytes] = []

    def __call__(self, text: bytes, unit: str):
        self.texts.append(text)
        if b"devm_" in text:
            return text, [{"line": 1, "symbol": "devm_gen_alloc", "message": "devm_gen_alloc is Linux-only"}]
        return text, []


UP_OPS = st.lists(st.sampled_from(["rename", "move", "delete", "split", "rewrite", "tweak", "move_data", "linux"]),
                  max_size=4)
PORT_OPS = st.lists(st.sampled_from(["disable", "edit", "xen", "delete", "disable_line"]), max_size=4)


@st.composite
def histories(draw):
    old = _base_driver(draw(st.integers(2, 6)), draw)
    port, used = _port(old, draw(PORT_OPS), draw)
    new = _upstream(old, draw(UP_OPS), draw)
    return old, port, new, used


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_merge_invariants_hold(history):
    old_d, port_d, new_d, used = history
    old, port, new = old_d.render(), port_d.render(), new_d.render()
    rec = Recorder()
    res = apply_file(learn_file(old, port, PATH), old, new, PATH, check_new=rec)
    out = res.output
    said = {c["unit"] for c in res.conflicts} | {f.get("unit") for f in res.findings} | \
        {n["unit"] for n in res.notes}
    reasons = " ".join(c["reason"] for c in res.conflicts)
    ours = resolve_markers(out, "ours")

    # markers only with a conflict
    assert (b"<<<<<<< " in out) <= bool(res.conflicts)
    # conditionals balance (or the merge said they do not)
    assert balance(ours) is None or "balance" in reasons

    dead = line_states(ours)
    lines = ours.splitlines()

    def defined(name: str) -> int | None:
        head = f"static int {name}(struct gen_dev *d, struct gen_ctx *c)".encode()
        return next((k for k, line in enumerate(lines) if line == head), None)

    for fn in port_d.fns:
        at = defined(fn.name)
        # a function the port disabled stays disabled (or is gone with upstream, or it was said)
        if fn.disabled and at is not None:
            assert dead[at] or f"function {fn.name}" in said or "compiled" in reasons
    # lines the port disabled inside a function stay disabled (upstream's new text of them too)
    for fn in port_d.fns:
        for k, line in enumerate(fn.body[1:-1], 1):
            if fn.body[k - 1].startswith("#if 0") and fn.body[k + 1] == "#endif":
                for text in (line, line.replace(" = ", " = 100 + ")):
                    for at, out_line in enumerate(lines):
                        if out_line == f"\t{text}".encode() and not dead[at]:
                            assert any(c["unit"].endswith(fn.name) for c in res.conflicts) or \
                                "compiled" in reasons, (fn.name, text)
    # no upstream function vanishes unless upstream or the port deleted it
    port_names = {fn.name for fn in port_d.fns}
    for fn in new_d.fns:
        if not fn.origin or fn.origin in port_names:
            assert defined(fn.name) is not None or f"function {fn.name}" in said \
                or f"function {fn.origin}" in said, fn.name
    # what the port's own live code calls exists live, or is reported
    for name in used:
        at = defined(name)
        assert (at is not None and not dead[at]) or \
            any(name in str(f.get("symbol", "")) or name in f.get("message", "") for f in res.findings) or \
            any(name in c["unit"] or name in c.get("ours", "") for c in res.conflicts), name
    # every live line that is not a live line of the learned port went through the lint
    port_live = {line for line, d in zip(port.splitlines(), line_states(port)) if not d}
    linted = b"\n".join(rec.texts)
    inside = marker_lines(out)
    for k, line in enumerate(out.splitlines()):
        if k in inside or not code_line(line):
            continue
        if not line_states(out)[k] and line not in port_live:
            assert line in linted, line
    # Linux-only code live in the result is reported
    for k, line in enumerate(lines):
        if b"devm_gen_alloc" in line and not dead[k]:
            assert any(f.get("symbol") == "devm_gen_alloc" for f in res.findings)
