"""kerascheck: a static linter for TimeDistributed and return_sequences mistakes in Keras code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kerascheck.findings import Finding, Fix, SourceError

if TYPE_CHECKING:
    from kerascheck.check import check_source

__version__ = "0.1.0"
__all__ = ["Finding", "Fix", "SourceError", "__version__", "check_source"]


def __getattr__(name: str) -> Any:
    """``check_source`` on first use: importing kerascheck (its CLI, the flake8 plugin) does not
    import libcst and the analysis until something is analysed."""
    if name == "check_source":
        from kerascheck.check import check_source

        return check_source
    raise AttributeError(f"module 'kerascheck' has no attribute {name!r}")
