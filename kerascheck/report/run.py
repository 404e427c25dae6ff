"""What a report is made from: the findings of a run, the files it could not check, and how to show them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kerascheck.findings import Finding, SourceError
from kerascheck.pipeline import Source


@dataclass(frozen=True)
class Run:
    findings: list[Finding]
    errors: list[SourceError] = field(default_factory=list)  # files that could not be checked, one each
    unsafe_fixes: bool = False  # whether ``[*]`` counts unsafe fixes too
    color: bool = False  # text formats: ANSI colours
    sources: Mapping[str, Source] = field(default_factory=dict)  # files not on disk (standard input)

    @property
    def unchecked(self) -> int:
        """How many files could not be checked."""
        return len({error.path for error in self.errors})
