"""What the CI formats (SARIF, GitHub) need beyond a finding: its path relative to the working
folder, where it lies in the file as stored (for a notebook, its JSON text), and the code it points
at (for fingerprints that survive the code moving)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from kerascheck import pipeline
from kerascheck.errors import SourceError

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck import notebooks
    from kerascheck.findings import Finding


def relative_path(path: str, cwd: str | None = None) -> str | None:
    """``path`` relative to the working folder, with ``/``; None when it lies outside it."""
    cwd = cwd or os.getcwd()
    absolute = os.path.abspath(path)
    try:
        relative = os.path.relpath(absolute, cwd)
    except ValueError:  # another drive
        return None
    if relative == os.pardir or relative.startswith(os.pardir + os.sep) or os.path.isabs(relative):
        return None
    return Path(relative).as_posix()


def uri(path: str, cwd: str | None = None) -> tuple[str, bool]:
    """A URI for ``path``: relative to the working folder when it is inside it (True), else absolute."""
    relative = relative_path(path, cwd)
    if relative is None:
        return Path(os.path.abspath(path)).as_uri(), False
    return quote(os.fsencode(relative)), True  # the name's bytes (not UTF-8 on every file system)


class _File:
    __slots__ = ("cells", "line_map", "program", "raw")

    def __init__(self, raw: str, program: list[str], line_map: notebooks.LineMap | None) -> None:
        self.raw = raw
        self.program = program  # the lines findings count in (a notebook's: its program)
        self.line_map = line_map
        self.cells: dict[int | None, list[str]] | None = None  # a notebook's lines by cell, once asked for


class SourceFiles:
    """The files findings point into, read once each. A file that cannot be read any more gives
    fallbacks, never an error: the report is still written."""

    def __init__(self, known: Mapping[str, pipeline.Source] | None = None) -> None:
        self._files: dict[str, _File | None] = {}
        self._known = dict(known or {})  # files already read (standard input): not read again

    def _get(self, path: str) -> _File | None:
        if path not in self._files:
            try:
                source = self._known.get(path) or pipeline.read(path)
                lines = source.program.splitlines() if source.line_map is None else source.program.split("\n")
                self._files[path] = _File(source.raw, lines, source.line_map)
            except SourceError:
                self._files[path] = None
        return self._files[path]

    def region(self, finding: Finding) -> tuple[int, int, int, int]:
        """(start line, start column, end line, end column) in the file as stored, 1-based, the
        end column one past the end. For a notebook, positions in its JSON text."""
        if finding.cell is None:
            return finding.line, finding.column, finding.end_line, finding.end_column
        file = self._get(finding.path)
        if file is None:
            return 1, 1, 1, 2
        from kerascheck import notebooks  # a finding in a cell: its notebook was read

        try:
            start = notebooks.file_position(file.raw, finding.cell, finding.line, finding.column)
            end = notebooks.file_position(file.raw, finding.cell, finding.end_line, finding.end_column)
        except (notebooks.NotebookError, ValueError):
            return 1, 1, 1, 2
        return (*start, *end)

    def lines(self, finding: Finding) -> list[str] | None:
        """The lines a finding's line numbers count in: its file's, or its notebook cell's; None if unreadable."""
        file = self._get(finding.path)
        if file is None:
            return None
        if file.line_map is None:
            return file.program
        if file.cells is None:  # split once: a notebook with many findings is not read once per finding
            file.cells = {}
            for text, (cell, _) in zip(file.program, file.line_map.lines):
                file.cells.setdefault(cell, []).append(text)
        return file.cells.get(finding.cell, [])

    def snippet(self, finding: Finding) -> str | None:
        """The text of the lines a finding covers, whitespace collapsed; None if unreadable."""
        file = self._get(finding.path)
        if file is None:
            return None
        first, last = finding.line, finding.end_line
        if file.line_map is not None:
            assert finding.cell is not None
            first = file.line_map.program_line(finding.cell, finding.line) or 0
            last = file.line_map.program_line(finding.cell, finding.end_line) or first
        if not 1 <= first <= last <= len(file.program):
            return None
        return " ".join(" ".join(file.program[first - 1 : last]).split())


def fingerprints(findings: list[Finding], files: SourceFiles, cwd: str | None = None) -> list[str]:
    """One fingerprint a finding: a hash of the path relative to the working folder, the code and
    the text of the flagged lines, with a count to tell identical ones apart. It does not change
    with the absolute path, from run to run, or when lines (or notebook cells) above are added or
    removed."""
    import hashlib  # SARIF's and GitHub's reports only

    seen: Counter[tuple[str, ...]] = Counter()
    found = []
    for finding in findings:
        path = relative_path(finding.path, cwd) or Path(os.path.abspath(finding.path)).as_posix()
        snippet = files.snippet(finding)
        content = snippet if snippet is not None else finding.message
        key = (path, finding.code, content)
        seen[key] += 1
        digest = hashlib.sha256("\0".join(key).encode("utf-8", "surrogateescape")).hexdigest()[:16]
        found.append(f"{digest}:{seen[key]}")
    return found


def cell_prefix(finding: Finding) -> str:
    """``cell 3, line 4: `` for a notebook finding, where its message is shown without the text format."""
    return "" if finding.cell is None else f"cell {finding.cell}, line {finding.line}: "
