"""Output formats. Each takes a ``Run`` (findings, the files that could not be checked) and
returns the text to write."""

from __future__ import annotations

from collections.abc import Callable

from kerascheck.report import full, github, json_format, sarif, text
from kerascheck.report.run import Run

FORMATS: dict[str, Callable[[Run], str]] = {
    "full": full.render,
    "concise": text.render,
    "text": text.render,  # the name of "concise" before there was "full"
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
}
__all__ = ["FORMATS", "Run"]
