"""Output formats. Each takes a ``Run`` (findings, the files that could not be checked) and
returns the text to write. A format's module is imported when a report is written in it."""

from __future__ import annotations

import importlib
from collections.abc import Callable

from kerascheck.report.run import Run


def _render(module: str) -> Callable[[Run], str]:
    def render(run: Run) -> str:
        made: Callable[[Run], str] = importlib.import_module(f"kerascheck.report.{module}").render
        return made(run)

    return render


FORMATS: dict[str, Callable[[Run], str]] = {
    "full": _render("full"),
    "concise": _render("text"),
    "text": _render("text"),  # the name of "concise" before there was "full"
    "json": _render("json_format"),
    "sarif": _render("sarif"),
    "github": _render("github"),
}
__all__ = ["FORMATS", "Run"]
