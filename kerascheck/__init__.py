"""kerascheck: a static linter for TimeDistributed and return_sequences mistakes in Keras code."""

from __future__ import annotations

from kerascheck.errors import SourceError

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from typing import Any

    from kerascheck.check import check_source
    from kerascheck.findings import Finding, Fix

__version__ = "0.1.0"
__all__ = ["Finding", "Fix", "SourceError", "__version__", "check_source"]


def __getattr__(name: str) -> Any:
    """``check_source``, ``Finding`` and ``Fix`` on first use: importing kerascheck (its CLI, the
    flake8 plugin) imports neither the analysis until something is analysed, nor libcst until a
    fix is offered, nor the
    findings' dataclasses until a finding is made."""
    if name == "check_source":
        from kerascheck.check import check_source

        return check_source
    if name in ("Finding", "Fix"):
        from kerascheck import findings

        return getattr(findings, name)
    raise AttributeError(f"module 'kerascheck' has no attribute {name!r}")
