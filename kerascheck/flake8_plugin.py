"""flake8 entry point: the same findings as ``kerascheck check``, at the same place.

flake8 applies ``# noqa`` itself and adds 1 to the column a plugin yields, so the plugin yields
the 0-based column. flake8 has parsed the file with ast already; the plugin reuses that tree.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from kerascheck import __version__
from kerascheck.check import check_source
from kerascheck.findings import SourceError


class KerasCheckPlugin:
    name = "kerascheck"
    version = __version__

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        try:
            tree = self.tree if isinstance(self.tree, ast.Module) else None  # flake8 always passes a Module
            findings = check_source("".join(self.lines), self.filename, noqa=False, tree=tree)
        except SourceError:
            return  # flake8 reports unparsable files itself (E902/E999)
        for finding in findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
