"""Positions and edits as LSP counts them, with no LSP library: plain data the protocol glue converts.

LSP lines end at ``\\n``, ``\\r\\n`` or ``\\r`` (not at the other breaks ``str.splitlines`` knows),
and its columns count code units of the negotiated encoding: UTF-16 unless the client offered
another. kerascheck's own columns count code points (Python's ``str`` indices).
"""

from __future__ import annotations

import bisect
import difflib
import re
from dataclasses import dataclass

_BREAK = re.compile(r"\r\n|\r|\n")
UTF8, UTF16, UTF32 = "utf-8", "utf-16", "utf-32"


def lines(text: str) -> list[str]:
    """The lines of ``text`` as LSP counts them, without their breaks (a last empty line included)."""
    return _BREAK.split(text)


def units(text: str, encoding: str = UTF16) -> int:
    """How many code units of ``encoding`` the text takes."""
    if encoding == UTF32:
        return len(text)
    if encoding == UTF8:
        return len(text.encode("utf-8", "surrogatepass"))
    return len(text) + sum(1 for c in text if ord(c) > 0xFFFF)


def column(line: str, code_points: int, encoding: str = UTF16) -> int:
    """A column counted in code points, counted in the encoding's code units."""
    return units(line[:code_points], encoding)


def code_points(line: str, column_units: int, encoding: str = UTF16) -> int:
    """A column in the encoding's code units, in code points (inside a character: after it)."""
    if encoding == UTF32:
        return min(column_units, len(line))
    seen = 0
    for index, char in enumerate(line):
        if seen >= column_units:
            return index
        seen += units(char, encoding)
    return len(line)


@dataclass(frozen=True)
class Position:
    line: int  # 0-based
    column: int  # code points


@dataclass(frozen=True)
class Replacement:
    """Replace the text from ``start`` to ``end`` (of the old text) by ``text``."""

    start: Position
    end: Position
    text: str


class Offsets:
    """Character offsets of a text <-> LSP positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [m.end() for m in _BREAK.finditer(text)]

    def position(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset) - 1
        return Position(line, offset - self.starts[line])


def _starts(lines_with_breaks: list[str]) -> list[int]:
    starts = [0]
    for line in lines_with_breaks:
        starts.append(starts[-1] + len(line))
    return starts


def _splits_break(text: str, offset: int) -> bool:
    """Whether ``offset`` falls between the ``\\r`` and the ``\\n`` of one line break."""
    return 0 < offset < len(text) and text[offset - 1] == "\r" and text[offset] == "\n"


def replacements(old: str, new: str) -> list[Replacement]:
    """The smallest replacements, line block by line block, that turn ``old`` into ``new``.

    Lines are diffed first (so separate changes stay separate edits), then each changed block
    is narrowed to the characters that differ: an argument added to a call is one insertion.
    """
    if old == new:
        return []
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    old_starts, new_starts = _starts(a), _starts(b)
    offsets = Offsets(old)
    out: list[Replacement] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        start, end = old_starts[i1], old_starts[i2]
        new_start, new_end = new_starts[j1], new_starts[j2]
        while start < end and new_start < new_end and old[start] == new[new_start]:
            start, new_start = start + 1, new_start + 1
        while start < end and new_start < new_end and old[end - 1] == new[new_end - 1]:
            end, new_end = end - 1, new_end - 1
        if _splits_break(old, start):  # the common "\r" goes back into the edit
            start, new_start = start - 1, new_start - 1
        if _splits_break(old, end):  # and the common "\n"
            end, new_end = end + 1, new_end + 1
        out.append(Replacement(offsets.position(start), offsets.position(end), new[new_start:new_end]))
    return out


def apply(text: str, edits: list[Replacement]) -> str:
    """``text`` with non-overlapping replacements made (for tests and for checking an edit)."""
    offsets = Offsets(text)
    result = text
    for edit in sorted(edits, key=lambda e: (e.start.line, e.start.column), reverse=True):
        start = offsets.starts[edit.start.line] + edit.start.column
        end = offsets.starts[edit.end.line] + edit.end.column
        result = result[:start] + edit.text + result[end:]
    return result
