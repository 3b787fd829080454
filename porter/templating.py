"""jinja2 as porter uses it: sandboxed, undefined variables are errors, templates load only from the
folders they are given (symlinks that leave them refused), and every error is one line of bad input."""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path
from typing import Callable

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from .errors import BadInput

_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def c_comment(value) -> str:
    """Text that stays inside a /* C comment */: no terminator, no line break."""
    return _CONTROL.sub(" ", str(value)).replace("*/", "* /").replace("/*", "/ *")


class ConfinedLoader(jinja2.FileSystemLoader):
    """A FileSystemLoader that refuses a template whose real path leaves its search folder."""

    def get_source(self, environment, template):
        source, filename, uptodate = super().get_source(environment, template)
        real = Path(os.path.realpath(filename))
        roots = [Path(os.path.realpath(p)) for p in self.searchpath]
        if not any(real == r or r in real.parents for r in roots):
            raise BadInput(f"template {template!r} resolves to {real}, outside {', '.join(map(str, roots))}")
        return source, filename, uptodate


class _Sandbox(ImmutableSandboxedEnvironment):
    """The sandbox, with `*` and `**` refused when they would build a huge value (a memory bomb)."""

    intercepted_binops = frozenset(["*", "**"])
    LIMIT = 1 << 20

    def call_binop(self, context, operator, left, right):
        if operator == "**" and isinstance(right, int) and abs(right) > 64:
            raise SecurityError(f"exponent {right} is too large")
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, (str, list, tuple)) and isinstance(n, int) and len(seq) * n > self.LIMIT:
                    raise SecurityError("repetition result is too large")
        return super().call_binop(context, operator, left, right)


class _Compiled(jinja2.FileSystemBytecodeCache):
    """jinja2's bytecode cache: a template loaded from a folder is compiled once, not every run.
    An entry is used only for the same source, jinja2 and Python; a cache that cannot be written
    only costs time, and one that cannot be read (missing, truncated) is compiled again.  Only
    ever in the user's cache: compiled code is code, and a workspace's .porter/ is input (it may
    come with a pull request)."""

    def load_bytecode(self, bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:       # noqa: BLE001 - whatever the entry holds, it is compiled again
            bucket.reset()

    def dump_bytecode(self, bucket) -> None:
        try:
            os.makedirs(self.directory, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def _compiled_in(folder: Path, env: jinja2.Environment) -> _Compiled:
    """The cache of env's templates in folder, apart from environments that compile differently."""
    settings = repr((type(env).__qualname__, sorted(getattr(env, "intercepted_binops", ())),
                     sorted(getattr(env, "intercepted_unops", ())), env.keep_trailing_newline,
                     env.trim_blocks, env.lstrip_blocks, env.newline_sequence, env.autoescape,
                     env.optimized, env.finalize is None, sorted(env.filters), sorted(env.tests),
                     env.block_start_string, env.block_end_string, env.variable_start_string,
                     env.variable_end_string, env.comment_start_string, env.comment_end_string,
                     env.line_statement_prefix, env.line_comment_prefix))
    return _Compiled(str(folder / hashlib.sha256(settings.encode()).hexdigest()[:16]))


def environment(loader: jinja2.BaseLoader | None = None, keep_trailing_newline: bool = True,
                compiled: Path | None = None) -> jinja2.Environment:
    """compiled: the folder of the user's cache where templates the loader reads stay compiled."""
    env = _Sandbox(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False,
                                        keep_trailing_newline=keep_trailing_newline)
    env.filters["c_comment"] = c_comment
    if compiled is not None:
        env.bytecode_cache = _compiled_in(compiled, env)
    return env


def confined(dirs, keep_trailing_newline: bool = True, compiled: Path | None = None) -> jinja2.Environment:
    """An environment whose include/import/extends read only from dirs."""
    return environment(ConfinedLoader([str(d) for d in dirs]), keep_trailing_newline, compiled)


def render(template: Callable[[], jinja2.Template], context: dict, where: str) -> str:
    """Render the template `template()` returns; BadInput naming `where` for any template error."""
    try:
        return template().render(**context)
    except BadInput as exc:
        raise BadInput(f"{where}: {exc}") from None
    except jinja2.TemplateNotFound as exc:
        raise BadInput(f"{where}: no template {exc.name!r}") from None
    except jinja2.UndefinedError as exc:
        raise BadInput(f"{where}: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"{where}: line {exc.lineno}: {exc.message}") from None
    except SecurityError as exc:
        raise BadInput(f"{where}: refused by the template sandbox: {exc}") from None
    except RecursionError:
        raise BadInput(f"{where}: template recursion too deep") from None
    except (jinja2.TemplateError, ArithmeticError, LookupError, TypeError, ValueError, AttributeError,
            OverflowError, MemoryError) as exc:
        raise BadInput(f"{where}: template error: {type(exc).__name__}: {exc}") from None
