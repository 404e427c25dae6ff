"""What the server lints: a Python document's text, or a notebook's cells made one program.

A notebook arrives as separate cell documents (LSP 3.17 notebook sync). Its cells are written into
a minimal notebook JSON and read back by ``kerascheck.notebooks``, exactly as ``kerascheck check``
reads an .ipynb file: the same program, the same IPython handling, the same cell numbers, and
``with_program`` to place a changed program back into the cells.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

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

    @property
    def is_notebook(self) -> bool:
        return self.cells is not None

    def document_text(self, uri: str) -> str | None:
        """The text of the document (a cell, in a notebook) named ``uri``."""
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
        if self.cells is None or self.line_map is None:
            return self.uri, finding
        placed = notebooks.to_cells([finding], self.line_map)[0]
        assert placed.cell is not None
        return self.cells[placed.cell - 1].uri, placed

    def program_line(self, uri: str, line: int) -> int | None:
        """The line of ``text`` that is line ``line`` (1-based) of document ``uri``."""
        if self.cells is None or self.line_map is None:
            return line if uri == self.uri else None
        number = next((i for i, cell in enumerate(self.cells, start=1) if cell.uri == uri), None)
        return None if number is None else self.line_map.program_line(number, line)

    def write_back(self, program: str) -> dict[str, str]:
        """The new text of each document a changed ``text`` changes. Raises NotebookError when a
        notebook's change cannot be placed in its cells (it spans cells, or touches a magic)."""
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
