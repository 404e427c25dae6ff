"""What the server lints: a Python document's text, or a notebook's cells made one program.

A notebook arrives as separate cell documents (LSP 3.17 notebook sync). Its cells are written into
a minimal notebook JSON and read back by ``kerascheck.notebooks``, exactly as ``kerascheck check``
reads an .ipynb file: the same program, the same IPython handling, the same cell numbers, and
``with_program`` to place a changed program back into the cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from kerascheck import notebooks
from kerascheck.findings import Finding

CODE, MARKDOWN, RAW = "code", "markdown", "raw"


@dataclass(frozen=True)
class Cell:
    uri: str
    kind: str  # CODE, MARKDOWN or RAW (a code cell in another language than Python)
    text: str


@dataclass(frozen=True)
class Source:
    """One lint's input. ``text`` is what is analysed: the document's text, or the notebook's program."""

    uri: str  # the Python document's, or the notebook's
    path: str  # the file system path (configuration is looked up from it), or the URI when it has none
    version: int | None
    text: str
    cells: tuple[Cell, ...] | None = None  # a notebook's cells, in order
    raw: str | None = None  # a notebook: the notebook JSON ``text`` was made from
    line_map: notebooks.LineMap | None = None
    in_file: bool = False  # a notebook's .ipynb JSON opened as a text document: positions are the file's
    problem: str | None = None  # why it cannot be analysed (a .ipynb text that is not a notebook)

    def document_text(self, uri: str) -> str | None:
        """The text of the document (a cell, in a notebook) named ``uri``."""
        if self.in_file:
            return self.raw if uri == self.uri else None
        if self.cells is None:
            return self.text if uri == self.uri else None
        return next((cell.text for cell in self.cells if cell.uri == uri), None)

    def uris(self) -> list[str]:
        """The documents diagnostics go to: the Python document, or each code cell."""
        if self.cells is None:
            return [self.uri]
        return [cell.uri for cell in self.cells if cell.kind == CODE]

    def place(self, finding: Finding) -> tuple[str, Finding]:
        """The document a finding of ``text`` is in, and the finding with that document's lines."""
        if self.line_map is None:
            return self.uri, finding
        placed = notebooks.to_cells([finding], self.line_map)[0]
        assert placed.cell is not None
        if self.in_file:
            assert self.raw is not None
            line, column = notebooks.file_position(self.raw, placed.cell, placed.line, placed.column)
            end_line, end_column = notebooks.file_position(self.raw, placed.cell, placed.end_line, placed.end_column)
            return self.uri, replace(finding, line=line, column=column, end_line=end_line, end_column=end_column)
        assert self.cells is not None
        return self.cells[placed.cell - 1].uri, placed

    def write_back(self, program: str) -> dict[str, str]:
        """The new text of each document a changed ``text`` changes. Raises NotebookError when a
        notebook's change cannot be placed in its cells (it spans cells, or touches a magic)."""
        if self.in_file:
            assert self.raw is not None
            raw = notebooks.with_program(self.raw, program)
            return {} if raw == self.raw else {self.uri: raw}
        if self.cells is None or self.raw is None:
            return {} if program == self.text else {self.uri: program}
        data = json.loads(notebooks.with_program(self.raw, program))
        changed = {}
        for cell, written in zip(self.cells, data["cells"]):
            source = written["source"]
            text = source if isinstance(source, str) else "".join(source)
            if text != cell.text:
                changed[cell.uri] = text
        return changed


def python_source(uri: str, path: str, version: int | None, text: str) -> Source:
    return Source(uri, path, version, text)


def notebook_source(uri: str, path: str, version: int | None, cells: list[Cell]) -> Source:
    """A notebook's cells as the program ``kerascheck check`` would make of its file."""
    raw = json.dumps(
        {
            "cells": [{"cell_type": cell.kind, "metadata": {}, "source": cell.text} for cell in cells],
            "metadata": {"language_info": {"name": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        },
        indent=1,
        ensure_ascii=False,
    )
    program, line_map = notebooks.to_program(raw)
    return Source(uri, path, version, program, tuple(cells), raw, line_map)


def notebook_file_source(uri: str, path: str, version: int | None, raw: str) -> Source:
    """A notebook opened as its .ipynb text (a client without notebook sync): findings and edits
    are placed in the JSON text, where the code is (``notebooks.file_position``)."""
    try:
        program, line_map = notebooks.to_program(raw)
    except notebooks.NotebookError as error:
        return Source(uri, path, version, "", raw=raw, in_file=True, problem=error.reason)
    return Source(uri, path, version, program, raw=raw, line_map=line_map, in_file=True)
