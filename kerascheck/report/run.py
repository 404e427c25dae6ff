"""What a report is made from: the findings of a run, the files it could not check, and how to show them."""

from __future__ import annotations

from collections.abc import Mapping

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck.errors import SourceError
    from kerascheck.findings import Finding
    from kerascheck.pipeline import Source


class Run:
    """A run to report (a plain class, as the runner's records: every run makes one)."""

    __slots__ = ("color", "errors", "findings", "sources", "unsafe_fixes")

    def __init__(
        self,
        findings: list[Finding],
        errors: list[SourceError] | None = None,  # files that could not be checked, one each
        unsafe_fixes: bool = False,  # whether ``[*]`` counts unsafe fixes too
        color: bool = False,  # text formats: ANSI colours
        sources: Mapping[str, Source] | None = None,  # the files as checked (standard input is not on disk)
    ) -> None:
        self.findings = findings
        self.errors: list[SourceError] = [] if errors is None else errors
        self.unsafe_fixes = unsafe_fixes
        self.color = color
        self.sources: Mapping[str, Source] = {} if sources is None else sources

    @property
    def unchecked(self) -> int:
        """How many files could not be checked."""
        return len({error.path for error in self.errors})
