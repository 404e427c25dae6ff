"""Indentation with tabs that libcst cannot read, spelled with spaces as CPython reads it.

CPython takes a tab to the next multiple of 8 columns, and accepts a block indented with a tab
plus spaces after one indented with spaces (``if x:`` at 4 spaces, its body at TAB + 4) as long
as the blocks nest the same way with a tab as 1 column. libcst's tokenizer refuses some of these
files (LibCST issues 829 and 951). Their twin, each indentation written as the spaces CPython
counts, has the same statements in the same blocks on the same lines: it is analysed instead,
and the columns of what is found are moved back. No fix is offered on it: a fix prints the
twin, and would rewrite every indentation it changed.
"""

from __future__ import annotations

import re
import tokenize
from dataclasses import dataclass, replace

from kerascheck.findings import Finding
from kerascheck.sources import split_lines

_INDENT = re.compile(r"[ \t\f]*")
TAB_SIZE = 8  # CPython's


@dataclass(frozen=True)
class Twin:
    """The spaces-only text, and for each line whose indentation changed, how many characters
    longer it is in the twin."""

    text: str
    shifts: dict[int, int]

    def place(self, finding: Finding) -> Finding:
        """``finding`` (found in the twin) with the columns of the original text."""
        column = finding.column - self.shifts.get(finding.line, 0)
        end = finding.end_column - self.shifts.get(finding.end_line, 0)
        return replace(finding, column=max(1, column), end_column=max(1, end))


def twin(text: str) -> Twin | None:
    """The twin of ``text`` (which CPython accepts), or None when no indentation holds a tab."""
    if "\t" not in text:
        return None
    lines = split_lines(text, keepends=True)
    inside = _inside_strings(lines)
    if inside is None:
        return None
    shifts: dict[int, int] = {}
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        leading = _INDENT.match(line)
        assert leading is not None  # it matches the empty string
        indent = leading.group()
        if "\t" in indent and number not in inside:
            spaces = " " * _columns(indent)
            shifts[number] = len(spaces) - len(indent)
            line = spaces + line[len(indent) :]
        out.append(line)
    return Twin("".join(out), shifts) if shifts else None


def _columns(indent: str) -> int:
    """The column CPython's tokenizer reaches after ``indent``: a tab to the next multiple of 8,
    a form feed back to 0."""
    column = 0
    for char in indent:
        if char == "\t":
            column = (column // TAB_SIZE + 1) * TAB_SIZE
        elif char == "\f":
            column = 0
        else:
            column += 1
    return column


def _inside_strings(lines: list[str]) -> set[int] | None:
    """The lines that start inside a string spanning lines (their leading tabs are the string's
    text); None when the tokenizer refuses the text."""
    inside: set[int] = set()
    try:
        for token in tokenize.generate_tokens(iter(lines).__next__):
            first, last = token.start[0], token.end[0]
            if last > first:
                inside.update(range(first + 1, last + 1))
    except (tokenize.TokenError, SyntaxError):
        return None
    return inside
