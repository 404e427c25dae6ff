"""Findings and source errors: what a run reports."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, Protocol

from kerascheck.errors import SourceError as SourceError  # here too, where it was first defined


class Verification(Protocol):
    """What ``--verify`` says of a finding (kerascheck.verify.plans: Pending, then a Verdict)."""

    @property
    def status(self) -> str: ...

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Fix:
    applicability: str  # "safe" or "unsafe"
    message: str


@dataclass(frozen=True)
class Finding:
    path: str
    line: int  # 1-based
    column: int  # 1-based
    end_line: int
    end_column: int  # 1-based, one past the last character
    code: str
    name: str
    message: str
    fix: Fix | None = None
    verification: Verification | None = None
    cell: int | None = None  # notebooks: the cell (1-based, among all cells); line and end_line count in it

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        data["fix"] = None if self.fix is None else asdict(self.fix)
        data["verification"] = None if self.verification is None else self.verification.to_json()
        return data
