"""What a run of the series engine made: the commits on the base, and what it found on the way."""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Built:
    base: str
    tag: str
    tag_sha: str
    commits: list[str] = field(default_factory=list)
    provenance: dict[str, tuple[str, str]] = field(default_factory=dict)   # upstream path -> (sha, subject)
    conflicts: list[dict] = field(default_factory=list)
    findings: list[dict] = field(default_factory=list)
    drift: list[dict] = field(default_factory=list)
    notes: list[dict] = field(default_factory=list)
    units_changed: dict[str, list[str]] = field(default_factory=dict)    # xen path -> units
    formatted: dict = field(default_factory=dict, repr=False)   # format-patch output by arguments
    memo: bool = field(default=False, repr=False, compare=False)  # outputs may be kept in .porter/memo/

    @property
    def tip(self) -> str:
        return self.commits[-1] if self.commits else self.base
