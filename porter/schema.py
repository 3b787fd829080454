"""Type and range checks of porter.toml and recipe.toml: a wrong value is one line naming the key
and what it must be, before anything uses it."""
from __future__ import annotations

import re

from .errors import BadInput

CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_NAMES = {str: "a string", int: "an integer", list: "an array", dict: "a table", bool: "true or false"}


def _got(value) -> str:
    name = {str: "a string", int: "an integer", float: "a number", list: "an array", dict: "a table",
            bool: "a boolean"}.get(type(value), type(value).__name__)
    return f"{name} ({value!r})" if not isinstance(value, (dict, list)) else name


def get(doc: dict, key: str, kind: type, where: str, required: bool = True, default=None):
    """doc[key], checked to be of type kind; where names the table for the message."""
    if key not in doc:
        if required:
            raise BadInput(f"{where}: missing key {key!r} ({_NAMES[kind]})")
        return default
    value = doc[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise BadInput(f"{where}: {key} must be {_NAMES[kind]}, got {_got(value)}")
    return value


def text(doc: dict, key: str, where: str, required: bool = True, default: str = "",
         empty: bool = False) -> str:
    """A one-line string: no newline or other control character (it may end up in a mail header)."""
    value = get(doc, key, str, where, required, default)
    if CONTROL.search(value):
        raise BadInput(f"{where}: {key} must be one line without control characters, got {value!r}")
    if not empty and required and not value.strip():
        raise BadInput(f"{where}: {key} must not be empty")
    return value


def strings(doc: dict, key: str, where: str, required: bool = False) -> list[str]:
    """An array of one-line strings."""
    values = get(doc, key, list, where, required, [])
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise BadInput(f"{where}: {key}[{i}] must be a string, got {_got(value)}")
        if CONTROL.search(value) or not value.strip():
            raise BadInput(f"{where}: {key}[{i}] must be a non-empty line without control characters, "
                           f"got {value!r}")
    return list(values)


def table(doc: dict, key: str, where: str, required: bool = True) -> dict:
    return get(doc, key, dict, where, required, {})


def string_map(doc: dict, key: str, where: str) -> dict[str, str]:
    values = table(doc, key, where, required=False)
    for k, v in values.items():
        if not isinstance(v, str):
            raise BadInput(f"{where}: {key}.{k} must be a string, got {_got(v)}")
    return dict(values)


RAW_DATE = re.compile(r"^(\d{1,12}) ([+-])(\d\d)(\d\d)$")
MAX_EPOCH = 253402300799          # 9999-12-31T23:59:59Z


def raw_date(value: str, where: str) -> str:
    """git's raw date '<epoch> <+hhmm>' with the epoch in years 1970..9999 and a real time zone."""
    m = RAW_DATE.match(value)
    if not m:
        raise BadInput(f"{where} must be '<epoch> <+hhmm>', got {value!r}")
    epoch, hh, mm = int(m.group(1)), int(m.group(3)), int(m.group(4))
    if epoch > MAX_EPOCH:
        raise BadInput(f"{where}: epoch {epoch} is after the year 9999")
    if hh > 14 or mm > 59:
        raise BadInput(f"{where}: time zone {m.group(2)}{m.group(3)}{m.group(4)} is not between -1400 and +1400")
    return value


def workspace_config(doc: dict, where: str) -> dict:
    """porter.toml: [series] name, [upstream] url (public_url), [xen] url, base (release)."""
    series = table(doc, "series", where)
    text(series, "name", f"{where}: [series]")
    up = table(doc, "upstream", where)
    text(up, "url", f"{where}: [upstream]")
    text(up, "public_url", f"{where}: [upstream]", required=False)
    xen = table(doc, "xen", where)
    text(xen, "url", f"{where}: [xen]")
    text(xen, "base", f"{where}: [xen]")
    text(xen, "release", f"{where}: [xen]", required=False)
    return doc
