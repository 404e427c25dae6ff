"""The error of a file that cannot be checked, apart from the findings: a run over files without
Keras reports such errors but makes no finding, so it never loads ``kerascheck.findings`` (nor the
``dataclasses`` module its records are made with)."""

from __future__ import annotations


class SourceError(Exception):
    """A file that cannot be checked; ``reason`` is one line for the user."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(path, reason)  # both in args, so it pickles across processes
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"
