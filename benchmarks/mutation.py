"""Sampled mutation testing of porter's core modules (not run in CI).

    .venv/bin/pip install -e '.[test,mutation]'
    .venv/bin/python benchmarks/mutation.py [--module porter/revision.py ...] [--sample 40]
                                            [--seed 17] [--jobs 1] [--show] [--real]

Mutants come from cosmic-ray's operators (comparison flips, and/or swap,
+-1 on a number, True/False swap) plus two of ours cosmic-ray lacks (return
None, delete a statement). For each module the script lists every mutant
those operators can make, shuffles the list with a seed fixed per module
and keeps the first --sample mutants that still compile. Each mutant runs
only the tests that cover its line (coverage contexts, one covered run of
the suite up front) in a scratch copy of the tree, so the work tree is
never touched. A test failure, error or timeout kills the mutant.

Equivalent mutants (the program cannot behave differently) are listed in
benchmarks/mutation-equivalent.txt with the reason; they are reported in
their own column, never counted as killed, and left out of the percentage.
The real-input tests are skipped (PORTER_REAL/PORTER_SMMU unset) unless
--real is given: the figures are for the suite CI runs.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from xml.etree import ElementTree

import coverage
import parso
from cosmic_ray.ast import ast_nodes, get_ast
from cosmic_ray.mutating import MutationVisitor
from cosmic_ray.operators.operator import Example, Operator
from cosmic_ray.plugins import get_operator

ROOT = Path(__file__).resolve().parent.parent
EQUIVALENT_FILE = Path(__file__).resolve().parent / "mutation-equivalent.txt"
CORE_MODULES = (
    "porter/structured/merge.py",
    "porter/structured/edits.py",
    "porter/linux_to_xen/engine.py",
    "porter/linux_to_xen/symbols.py",
    "porter/series.py",
    "porter/revision.py",
    "porter/maintainers.py",
    "reference_model/walk.py",
)
COPY_IGNORE = shutil.ignore_patterns(".git", ".venv", "*.egg-info", "__pycache__", ".pytest_cache",
                                     ".porter", ".tox", "build", ".coverage*")

_FLIPS = ("Eq_NotEq", "NotEq_Eq", "Lt_GtE", "GtE_Lt", "Gt_LtE", "LtE_Gt",
          "Lt_LtE", "LtE_Lt", "Gt_GtE", "GtE_Gt", "Is_IsNot", "IsNot_Is")
COSMIC_RAY_OPERATORS = tuple(f"core/ReplaceComparisonOperator_{f}" for f in _FLIPS) + (
    "core/ReplaceAndWithOr", "core/ReplaceOrWithAnd", "core/NumberReplacer",
    "core/ReplaceTrueWithFalse", "core/ReplaceFalseWithTrue")


def _inside_function(node) -> bool:
    while node is not None:
        if node.type in ("funcdef", "lambdef"):
            return True
        node = node.parent
    return False


class ReturnNone(Operator):
    """`return <expr>` -> `return None`."""

    def mutation_positions(self, node):
        if node.type == "return_stmt" and len(node.children) == 2 and node.children[1].get_code().strip() != "None":
            yield node.start_pos, node.end_pos

    def mutate(self, node, index):
        node.children[1] = parso.python.tree.Keyword("None", node.children[1].start_pos, prefix=node.children[1].get_first_leaf().prefix)
        return node

    @classmethod
    def examples(cls):
        return (Example("def f():\n    return 1\n", "def f():\n    return None\n"),)


class DeleteStatement(Operator):
    """A simple statement inside a function -> `pass` (docstrings, imports and pass excepted)."""

    SKIP = ("import_name", "import_from", "pass_stmt", "global_stmt", "nonlocal_stmt", "return_stmt")

    def mutation_positions(self, node):
        if (node.type == "simple_stmt" and len(node.children) == 2 and _inside_function(node)
                and node.children[0].type not in self.SKIP and node.children[0].type != "string"):
            yield node.start_pos, node.end_pos

    def mutate(self, node, index):
        first = node.children[0]
        node.children[0] = parso.python.tree.Keyword("pass", first.start_pos, prefix=first.get_first_leaf().prefix)
        return node

    @classmethod
    def examples(cls):
        return (Example("def f():\n    x = 1\n", "def f():\n    pass\n"),)


def operators() -> list[tuple[str, Operator]]:
    ops = [(name.removeprefix("core/"), get_operator(name)()) for name in COSMIC_RAY_OPERATORS]
    return ops + [("ReturnNone", ReturnNone()), ("DeleteStatement", DeleteStatement())]


@dataclass
class Mutant:
    module: str
    operator: str
    line: int
    end_line: int
    before: str          # the first source line the mutation changes, stripped
    after: str
    code: str            # the whole mutated module
    outcome: str = ""    # killed | survived | no-test | equivalent
    detail: str = ""


def _changed_line(old: str, new: str) -> tuple[str, str]:
    for a, b in zip(old.splitlines(), new.splitlines()):
        if a != b:
            return a.strip(), b.strip()
    return "", ""


def candidates(root: Path, module: str) -> list[tuple[str, Operator, int, int, int]]:
    """Every (operator name, operator, occurrence, start line, end line) the operators offer."""
    tree = get_ast((root / module).read_text())
    out = []
    for name, op in operators():
        positions = ((start, end) for node in ast_nodes(tree) for start, end in op.mutation_positions(node))
        for occurrence, (start, end) in enumerate(positions):
            out.append((name, op, occurrence, start[0], end[0]))
    return out


def sample(root: Path, module: str, size: int, seed: int) -> list[Mutant]:
    """The first `size` compiling mutants of a seeded shuffle of every candidate."""
    source = (root / module).read_text()
    pool = candidates(root, module)
    random.Random(f"{seed}:{module}").shuffle(pool)
    picked: list[Mutant] = []
    for name, op, occurrence, line, end_line in pool:
        if len(picked) == size:
            break
        code = MutationVisitor.mutate_code(source, op, occurrence)
        if code is None or code == source:
            continue
        try:
            compile(code, module, "exec")
        except SyntaxError:
            continue
        before, after = _changed_line(source, code)
        picked.append(Mutant(module, name, line, end_line, before, after, code))
    return picked


def load_equivalents() -> set[tuple[str, str, str, str]]:
    """(module, operator, line before, line after) of each mutant known to be equivalent."""
    known = set()
    if EQUIVALENT_FILE.exists():
        for raw in EQUIVALENT_FILE.read_text().splitlines():
            if raw.strip() and not raw.startswith("#"):
                module, op, before, after, _reason = (p.strip() for p in raw.split(" | ", 4))
                known.add((module, op, before, after))
    return known


def test_env(real: bool) -> dict:
    env = dict(os.environ)
    if not real:
        env.pop("PORTER_REAL", None)
        env.pop("PORTER_SMMU", None)
    return env


def scratch_copy(rev: str | None) -> Path:
    """A copy of the work tree (or of commit `rev`, tests included) to mutate and test in."""
    where = Path(tempfile.mkdtemp(prefix="porter-mutation-"))
    if rev is None:
        shutil.copytree(ROOT, where / "tree", symlinks=True, ignore=COPY_IGNORE)   # porter/recipes is a link
    else:
        (where / "tree").mkdir()
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", rev], capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(where / "tree")], input=archive, check=True)
    return where / "tree"


def pytest_cmd(tree: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tree), *args]


def coverage_map(tree: Path, env: dict, modules: list[str], tests: list[str]) -> dict[str, dict[int, set[str]]]:
    """module -> statement line -> test node ids that run it ('' = at import)."""
    cov_args = [f"--cov={top}" for top in sorted({m.split('/')[0] for m in modules})]
    junit = tree / ".mutation-junit.xml"
    run = subprocess.run(pytest_cmd(tree, *cov_args, "--cov-context=test", "--cov-report=", "-x",
                                    f"--junitxml={junit}", *tests),
                         cwd=tree, env={**env, "PYTHONPATH": str(tree)}, capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f"mutation: the unmutated suite fails in {tree}:\n{run.stdout[-3000:]}")
    data = coverage.CoverageData(basename=str(tree / ".coverage"))
    data.read()
    cov = coverage.Coverage(data_file=str(tree / ".coverage"))
    cov.load()
    out = {"durations": durations(junit)}
    for module in modules:
        path = str(tree / module)
        lines: dict[int, set[str]] = {}
        for line, contexts in (data.contexts_by_lineno(path) or {}).items():
            lines[line] = {c.rsplit("|", 1)[0] for c in contexts}
        statements = sorted(cov.analysis2(path)[1])
        out[module] = {"lines": lines, "statements": statements}
    return out


def durations(junit: Path) -> dict[str, float]:
    """test node id -> seconds, from the covered run's JUnit report."""
    out = {}
    for case in ElementTree.parse(junit).iter("testcase"):
        parts = case.get("classname", "").split(".")
        path = "/".join(parts[:2]) + ".py" if len(parts) >= 2 else ""
        node = "::".join([path, *parts[2:], case.get("name", "")])
        out[node] = float(case.get("time", "0"))
    return out


def tests_for(mutant: Mutant, cov: dict) -> list[str]:
    """The test ids that run the mutated statement(s); module-level code: every test of the module."""
    info = cov[mutant.module]
    statements, lines = info["statements"], info["lines"]
    ids: set[str] = set()
    for line in range(mutant.line, mutant.end_line + 1):
        first = max((s for s in statements if s <= line), default=None)
        if first is not None:
            ids |= lines.get(first, set())
    if ids == {""} or ("" in ids and len(ids) == 1):
        ids = set().union(*lines.values()) if lines else set()
    # fastest first: with -x a killed mutant stops at its first failing test
    return sorted((i for i in ids if i), key=lambda i: (cov["durations"].get(i, 60.0), i))


def run_mutant(mutant: Mutant, tree: Path, env: dict, cov: dict, timeout: float) -> Mutant:
    ids = tests_for(mutant, cov)
    if not ids:
        mutant.outcome = "no-test"
        print(f"  {mutant.outcome:8} {mutant.module}:{mutant.line} {mutant.operator}", file=sys.stderr, flush=True)
        return mutant
    target = tree / mutant.module
    original = target.read_bytes()
    target.write_text(mutant.code)
    try:
        run = subprocess.run(pytest_cmd(tree, "-x", *ids), cwd=tree, env={**env, "PYTHONPATH": str(tree)},
                             capture_output=True, text=True, timeout=timeout)
        if run.returncode == 5:
            sys.exit(f"mutation: pytest found none of {ids[:3]}... in {tree}")
        mutant.outcome = "survived" if run.returncode == 0 else "killed"
        mutant.detail = f"{len(ids)} tests"
    except subprocess.TimeoutExpired:
        mutant.outcome, mutant.detail = "killed", "timeout"
    finally:
        target.write_bytes(original)
    print(f"  {mutant.outcome:8} {mutant.module}:{mutant.line} {mutant.operator}", file=sys.stderr, flush=True)
    return mutant


def table(results: dict[str, list[Mutant]]) -> str:
    rows = ["| module | killed | survived | no test runs the line | equivalent | % |",
            "|---|---|---|---|---|---|"]
    for module, mutants in results.items():
        count = {k: sum(m.outcome == k for m in mutants) for k in ("killed", "survived", "no-test", "equivalent")}
        live = len(mutants) - count["equivalent"]
        pct = f"{100 * count['killed'] / live:.0f}%" if live else "-"
        rows.append(f"| {module} | {count['killed']}/{live} | {count['survived']} | {count['no-test']} "
                    f"| {count['equivalent']} | {pct} |")
    return "\n".join(rows)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", action="append", help="a core module path (repeatable); default all")
    ap.add_argument("--sample", type=int, default=40)
    ap.add_argument("--seed", type=int, default=17)
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant before it counts as killed")
    ap.add_argument("--show", action="store_true", help="list every surviving and untested mutant")
    ap.add_argument("--real", action="store_true", help="keep PORTER_REAL/PORTER_SMMU (slow)")
    ap.add_argument("--tests", nargs="+", default=[], metavar="PATH",
                    help="only these test files run (quicker; a mutant no listed test runs counts as untested)")
    ap.add_argument("--rev", help="mutate and test this commit instead of the work tree (e.g. a 'before')")
    args = ap.parse_args(argv)
    modules = args.module or list(CORE_MODULES)
    trees = [scratch_copy(args.rev) for _ in range(max(1, args.jobs))]
    for m in modules:
        if not (trees[0] / m).is_file():
            ap.error(f"no module {m}")
    env = test_env(args.real)
    equivalents = load_equivalents()
    started = time.monotonic()
    cov = coverage_map(trees[0], env, modules, args.tests)
    print(f"coverage contexts: {time.monotonic() - started:.0f}s", file=sys.stderr)
    results: dict[str, list[Mutant]] = {}
    for module in modules:
        mutants = sample(trees[0], module, args.sample, args.seed)
        todo = []
        for m in mutants:
            if (m.module, m.operator, m.before, m.after) in equivalents:
                m.outcome = "equivalent"
            else:
                todo.append(m)
        chunks = [todo[i::len(trees)] for i in range(len(trees))]    # one scratch tree per worker
        with concurrent.futures.ThreadPoolExecutor(len(trees)) as pool:
            list(pool.map(lambda chunk, tree: [run_mutant(m, tree, env, cov, args.timeout) for m in chunk],
                          chunks, trees))
        results[module] = mutants
        print(f"{module}: done ({time.monotonic() - started:.0f}s)", file=sys.stderr)
    print(table(results))
    print(f"\nseed {args.seed}, {args.sample} mutants per module, {time.monotonic() - started:.0f}s")
    if args.show:
        for module, mutants in results.items():
            for m in mutants:
                if m.outcome in ("survived", "no-test"):
                    print(f"{m.outcome:9} {module}:{m.line} {m.operator}: {m.before}  ->  {m.after}")
    for t in trees:
        shutil.rmtree(t.parent, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
