"""How a revision goes out as mail: subject prefix, sender, date, and the thread's Message-Ids.

Like `git format-patch --cover-letter --thread`: the cover letter carries a Message-Id, every patch
its own plus In-Reply-To/References naming the cover letter. The ids are a hash of the revision
(deterministic), the sender is the cover letter's From and the date is now, or SOURCE_DATE_EPOCH.
"""
from __future__ import annotations

import hashlib
import os
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from . import gitutil
from .errors import BadInput

IDENT = re.compile(r"^[^<>\n]+ <[^<>\s]+@[^<>\s]+>$")
_HEADER = r"^{}: ?(.*(?:\n[ \t].*)*)"


@dataclass(frozen=True)
class Mail:
    prefix: str = "PATCH"          # what --subject-prefix gives git: PATCH, RFC PATCH, PATCH xen-next...
    show_version: bool = False     # an explicit -v: "[PATCH v1 0/7]" as well
    sender: str = ""               # "Name <mail>": the cover letter's From (and git send-email's)
    date: str = ""                 # the cover letter's Date (RFC 2822)

    def subject_prefix(self, version: int) -> str:
        return self.prefix if version == 1 and not self.show_version else f"{self.prefix} v{version}"

    @property
    def sender_name(self) -> str:
        return self.sender.rpartition(" <")[0]

    @property
    def sender_email(self) -> str:
        return self.sender.rpartition(" <")[2].rstrip(">")


def rfc2822(raw: str) -> str:
    """git's raw date ("<epoch> +hhmm") as git prints it in a patch's Date: header."""
    epoch, tz = raw.split()
    offset = (1 if tz[0] == "+" else -1) * (int(tz[1:3]) * 3600 + int(tz[3:5]) * 60)
    when = datetime.fromtimestamp(int(epoch), timezone(timedelta(seconds=offset)))
    return f"{when:%a}, {when.day} {when:%b %Y %H:%M:%S} {tz}"


def now_rfc2822() -> str:
    """Now (or SOURCE_DATE_EPOCH, for reproducible output) as a mail Date in UTC."""
    raw = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if raw and not raw.isdigit():
        raise BadInput(f"SOURCE_DATE_EPOCH={raw!r} is not a number of seconds")
    return rfc2822(f"{int(raw) if raw else int(time.time())} +0000")


def default_sender(root, fallback: str) -> str:
    """Who sends: git's sendemail.from, else user.name <user.email>, as seen from root; else fallback."""
    out = gitutil.run(root, "config", "-z", "--get-regexp", r"^(sendemail\.from|user\.name|user\.email)$").stdout
    values = {}                 # one git process for the three keys; the last value wins, as --get does
    for record in out.decode("utf-8", "replace").split("\0"):
        key, _, value = record.partition("\n")
        values[key] = value

    def config(key: str) -> str:
        return values.get(key, "").strip()
    for candidate in (config("sendemail.from"), f"{config('user.name')} <{config('user.email')}>"):
        if IDENT.match(candidate):
            return candidate
    return fallback


def checked_sender(sender: str) -> str:
    if not IDENT.match(sender):
        raise BadInput(f"invalid sender {sender!r}: want 'Name <mail@host>'")
    return sender


def checked_address(address: str) -> str:
    """A --to/--cc address: 'mail@host' or 'Name <mail@host>', one line, not an option."""
    a = address.strip()
    if not a or a.startswith("-") or any(c in a for c in ",\n\r") or \
            not (re.fullmatch(r"[^<>\s]+@[^<>\s]+", a) or IDENT.match(a)):
        raise BadInput(f"invalid address {address!r}: want 'mail@host' or 'Name <mail@host>'")
    return a


def checked_message_id(value: str) -> str:
    v = value.strip()
    v = v if v.startswith("<") else f"<{v}>"
    if not re.fullmatch(r"<[^<>\s@]+@[^<>\s@]+>", v):
        raise BadInput(f"invalid Message-Id {value!r}: want <id@host>")
    return v


def with_rfc(prefix: str, rfc: bool) -> str:
    return f"RFC {prefix}" if rfc and not prefix.upper().startswith("RFC") else prefix


def checked_prefix(prefix: str) -> str:
    if not prefix.strip() or any(c in prefix for c in "[]\n\r") or len(prefix) > 60:
        raise BadInput(f"invalid subject prefix {prefix!r}")
    return prefix.strip()


def _header(text: str, name: str) -> str | None:
    m = re.search(_HEADER.format(name), text.split("\n\n", 1)[0], re.M)
    return re.sub(r"\n[ \t]+", " ", m.group(1)).strip() if m else None


def from_cover(cover: bytes, version: int) -> Mail | None:
    """The mail options a written revision was made with, read back from its cover letter."""
    text = cover.decode("utf-8", "surrogateescape")
    subject = _header(text, "Subject")
    m = re.match(r"\[(.*?) ?0/\d+\]", subject or "")
    if not m:
        return None
    prefix, shown = m.group(1), False
    v = re.match(rf"^(.*) v{version}$", prefix)
    if v:
        prefix, shown = v.group(1), version == 1
    from email.header import decode_header, make_header
    sender = str(make_header(decode_header(_header(text, "From") or "")))
    return Mail(prefix=prefix, show_version=shown, sender=sender, date=_header(text, "Date") or "")


def message_ids(name: str, version: int, mail: Mail, tip: str, count: int) -> list[str]:
    """Message-Ids of the cover letter (first) and each patch: a function of the revision alone."""
    digest = hashlib.sha256("\0".join((name, str(version), mail.subject_prefix(version), tip,
                                       mail.sender)).encode("utf-8", "surrogateescape")).hexdigest()[:16]
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "series"
    domain = re.sub(r"[^A-Za-z0-9.-]+", "", mail.sender_email.rpartition("@")[2]) or "localhost"
    return [f"<porter-{slug}-v{version}-{k}-{digest}@{domain}>" for k in range(count + 1)]


def thread(files: dict[str, bytes], ids: list[str]) -> dict[str, bytes]:
    """Put the Message-Id (and In-Reply-To/References: the cover letter) where git format-patch
    --thread puts them: right after the first "From <sha> <magic date>" line."""
    out = {}
    for k, (name, data) in enumerate(sorted(files.items())):
        head = f"Message-Id: {ids[k]}\n"
        if k:
            head += f"In-Reply-To: {ids[0]}\nReferences: {ids[0]}\n"
        first, _, rest = data.partition(b"\n")
        out[name] = first + b"\n" + head.encode() + rest
    return out
