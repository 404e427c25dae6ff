"""Output formats. Each takes the findings of a run and returns the text to write."""

from __future__ import annotations

from collections.abc import Callable

from kerascheck.findings import Finding
from kerascheck.report import github, json_format, sarif, text

FORMATS: dict[str, Callable[[list[Finding]], str]] = {
    "text": text.render,
    "json": json_format.render,
    "sarif": sarif.render,
    "github": github.render,
}
