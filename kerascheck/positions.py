"""Where nodes are: line and column of the few nodes a file reports, from CPython's tree.

ast knows where every node is, but counts columns in UTF-8 bytes; reports count characters (as
editors do, and libcst). Only the lines a reported node starts or ends on are measured.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass

from kerascheck.sources import LINE_BREAK


@dataclass(frozen=True)
class Position:
    line: int  # 1-based
    column: int  # 0-based, in characters


@dataclass(frozen=True)
class Span:
    """Where a node's code starts and where it ends (the end one past its last character)."""

    start: Position
    end: Position


class Lines:
    """ast's byte columns as character columns; lines end where Python's tokenizer ends them."""

    def __init__(self, text: str) -> None:
        self.lines = LINE_BREAK.split(text)

    def column(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    def span(self, node: ast.expr | ast.keyword | ast.stmt) -> Span:
        end_line = node.end_lineno or node.lineno
        end_column = node.end_col_offset if node.end_col_offset is not None else node.col_offset
        return Span(
            Position(node.lineno, self.column(node.lineno, node.col_offset)),
            Position(end_line, self.column(end_line, end_column)),
        )


def positions(text: str, nodes: Iterable[ast.AST]) -> dict[ast.AST, Span]:
    """The spans of ``nodes`` (expressions and keyword arguments of ``text``'s tree) in ``text``."""
    lines = Lines(text)
    found: dict[ast.AST, Span] = {}
    for node in nodes:
        assert isinstance(node, (ast.expr, ast.keyword, ast.stmt))  # what rules report
        found[node] = lines.span(node)
    return found
