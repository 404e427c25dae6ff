"""One way from a path to findings: read, decode, a notebook to its program and line map,
analyse, and place the findings back on the notebook's cells.

The runner, ``explain``, ``--verify``, the reports and the tests all go through here, so a file
means the same thing to each of them. Reading costs no parser: the analysis (libcst, the graph,
the rules) is imported by the first file that is analysed.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from kerascheck import sources
from kerascheck.errors import SourceError

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck import notebooks
    from kerascheck.check import Analysis
    from kerascheck.findings import Finding


class Source:
    """A file as read: ``raw`` is its text (a notebook's: its JSON), ``program`` the Python that
    is analysed (a notebook's: its code cells as one program, ``line_map`` placing its lines).
    Not changed once made (a plain class, not a dataclass: every file read makes one)."""

    __slots__ = ("encoding", "line_map", "path", "program", "raw", "stamp")

    def __init__(
        self,
        path: str,
        raw: str,
        program: str,
        line_map: notebooks.LineMap | None = None,
        encoding: str = "utf-8",  # what the file was decoded with (writing it back uses the same)
        stamp: sources.Stamp | None = None,  # what the file held when read (--fix writes only over that)
    ) -> None:
        self.path = path
        self.raw = raw
        self.program = program
        self.line_map = line_map
        self.encoding = encoding
        self.stamp = stamp

    @property
    def is_notebook(self) -> bool:
        return self.line_map is not None

    def with_stamp(self, stamp: sources.Stamp | None) -> Source:
        """This file, stamped with what it held when read."""
        return Source(self.path, self.raw, self.program, self.line_map, self.encoding, stamp)

    def with_program(self, program: str) -> Source:
        """This file with its program replaced (a notebook: written back into its cells)."""
        if self.line_map is None:
            return Source(self.path, program, program, None, self.encoding, self.stamp)
        from kerascheck import notebooks

        try:
            raw = notebooks.with_program(self.raw, program)
        except notebooks.NotebookError as error:
            raise SourceError(self.path, f"cannot write the fixes back: {error.reason}") from None
        return from_text(self.path, raw, self.encoding, self.stamp)

    def place(self, findings: Iterable[Finding]) -> list[Finding]:
        """Findings on the program, placed on the file (a notebook: on its cells)."""
        if self.line_map is None:
            return list(findings)
        from kerascheck import notebooks

        return notebooks.to_cells(findings, self.line_map)


def from_text(path: str, raw: str, encoding: str = "utf-8", stamp: sources.Stamp | None = None) -> Source:
    """The Source of a text already decoded (standard input, an editor's buffer, a test), or of
    a file's (``encoding`` what it was decoded with, ``stamp`` what it held).
    Raises SourceError for a notebook that cannot be read."""
    if not sources.is_notebook(path):
        return Source(path, raw, raw, None, encoding, stamp)
    from kerascheck import notebooks  # the notebook reader: for notebooks only

    try:
        program, line_map = notebooks.to_program(raw)
    except notebooks.NotebookError as error:
        raise SourceError(path, error.reason) from None
    return Source(path, raw, program, line_map, encoding, stamp)


def decode(path: str, data: bytes, stamp: sources.Stamp | None = None) -> Source:
    """The Source of a file's bytes, decoded as CPython decodes source (a notebook: UTF-8 JSON);
    ``stamp``, those bytes' on disk."""
    text, encoding = sources.decode(data, path, notebook=sources.is_notebook(path))
    return from_text(path, text, encoding, stamp)


def read(path: str | Path) -> Source:
    """The Source of a file on disk, stamped with what it held. Raises SourceError."""
    return decode(str(path), *sources.read_stamped(Path(path)))


def analysis(
    source: Source,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    noqa: bool = True,
    validate: bool = False,
) -> Analysis | None:
    """The analysis of a source's program; None when the prefilter says it cannot hold a finding.

    A notebook's code cells must each be Python on its own, as Jupyter runs them (a SourceError
    naming the cell otherwise); ``validate`` parses a file the prefilter passes over all the same.
    ``noqa`` honours the comments: per line, and for the file (``# flake8: noqa: KER101`` too).
    Findings in it are on the program: ``Source.place`` puts them on the cells.
    """
    from kerascheck.check import Options, analyse, parse_ast

    tree = None
    if source.line_map is not None:
        from kerascheck import notebooks

        try:  # parsed when the notebook was read, or here: the analysis parses it once, not again
            tree = notebooks.parsed(source.program, take=True) or parse_ast(source.program, source.path)
        except SourceError:
            notebooks.validate(source.program, source.line_map, source.path)  # the cell to blame
            raise
        notebooks.validate(source.program, source.line_map, source.path, tree)
    label = str if source.line_map is None else source.line_map.label
    if noqa and (silenced := sources.file_noqa_codes(source.program)):
        ignore = (*(ignore or ()), *silenced)
    return analyse(source.program, source.path, Options.of(select, ignore, noqa, label), validate=validate, tree=tree)


def check(
    source: Source,
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    noqa: bool = True,
    validate: bool = False,
) -> list[Finding]:
    """A source's findings, placed on the file. Raises SourceError."""
    from kerascheck.check import collector_off

    with collector_off():
        result = analysis(source, select=select, ignore=ignore, noqa=noqa, validate=validate)
        findings = [] if result is None else result.findings
        del result  # freed while the collector is off (see check.collector_off)
    return source.place(findings)
