"""flake8 entry point: the same findings as ``kerascheck check``, at the same place.

flake8 applies ``# noqa`` itself and adds 1 to the column a plugin yields, so the plugin yields
the 0-based column. flake8 has parsed the file with ast already; the plugin reuses that tree.

The plugin reads ``[tool.kerascheck]`` as ``kerascheck check`` does, the nearest table above each
file: its ``select``, ``ignore``, ``extend-select`` and ``per-file-ignores`` choose the rules, and a
file its ``exclude`` names gets nothing. flake8's own ``--select`` and ``--ignore`` apply on top.
A table that cannot be used raises ConfigError as the plugin is made: flake8 then stops with one
line naming the plugin, the table and its fault, so a broken configuration is never silence.

flake8 loads the plugin for every file it checks, Keras or not: a file the prefilter turns away
costs a substring search, and libcst, the graph and the rules are imported by the first file that
passes it (a flake8 run over code without Keras never loads them).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from kerascheck import __version__, config, sources
from kerascheck.errors import SourceError

_STDIN = ("stdin", "-")  # the names flake8 gives standard input

_resolver: config.Resolver | None = None


def resolver() -> config.Resolver:
    """One per process: each table is read once, whatever the number of files."""
    global _resolver
    if _resolver is None:
        _resolver = config.Resolver()
    return _resolver


class KerasCheckPlugin:
    name = "kerascheck"
    version = __version__

    def __init__(self, tree: ast.AST, lines: list[str], filename: str) -> None:
        self.tree = tree
        self.lines = lines
        self.filename = filename
        # Here, not in run(): flake8 turns what the constructor raises into its own one-line error
        # naming the plugin, while an error raised as run() yields ends flake8 with a traceback.
        self.settings = resolver()  # the tables are read (and a broken one raises) for every file

    def run(self) -> Iterator[tuple[int, int, str, type]]:
        settings = self.settings
        named = self.filename not in _STDIN
        if named and settings.is_excluded(self.filename, folder=False):  # flake8 hands files only
            return
        text = "".join(self.lines)
        if not sources.may_have_findings(text):
            return  # what check_source would say, without importing it
        codes = settings.codes_for(self.filename) if named else config.select_codes([settings.default.selection])
        tree = self.tree if isinstance(self.tree, ast.Module) else None
        from kerascheck.check import check_source

        try:
            findings = check_source(text, self.filename, select=codes, noqa=False, tree=tree)
        except SourceError:
            return  # flake8 reports unparsable files itself (E902/E999)
        for finding in findings:
            yield finding.line, finding.column - 1, f"{finding.code} {finding.message}", type(self)
