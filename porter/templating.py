"""jinja2 as porter uses it: undefined variables are errors, and every error is one line of bad input."""
from __future__ import annotations

from typing import Callable

import jinja2

from .errors import BadInput


def environment(loader: jinja2.BaseLoader | None = None, keep_trailing_newline: bool = True) -> jinja2.Environment:
    return jinja2.Environment(loader=loader, undefined=jinja2.StrictUndefined, autoescape=False,
                              keep_trailing_newline=keep_trailing_newline)


def render(template: Callable[[], jinja2.Template], context: dict, where: str) -> str:
    """Render the template `template()` returns; BadInput naming `where` for any template error."""
    try:
        return template().render(**context)
    except jinja2.TemplateNotFound as exc:
        raise BadInput(f"{where}: no template {exc.name!r}") from None
    except jinja2.UndefinedError as exc:
        raise BadInput(f"{where}: {exc.message}") from None
    except jinja2.TemplateSyntaxError as exc:
        raise BadInput(f"{where}: line {exc.lineno}: {exc.message}") from None
