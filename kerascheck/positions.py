"""Where nodes are: line and column of the few nodes a file reports.

libcst's PositionProvider generates code for the whole module and costs more than the parse
itself. A reported node is almost always a call whose exact text the parse already located:
the call's text occurs in the source, and CPython's ast has a call with exactly that span.
Only when that is ambiguous (the same call text at two places) is PositionProvider used.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from typing import Iterable, Mapping

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider


class _Source:
    """Offsets <-> (line, column) in characters, and ast's byte columns in characters."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.split("\n")
        self.starts = [0]
        for line in self.lines[:-1]:
            self.starts.append(self.starts[-1] + len(line) + 1)

    def position(self, offset: int) -> CodePosition:
        line = bisect_right(self.starts, offset)
        return CodePosition(line, offset - self.starts[line - 1])

    def char_column(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1] if line - 1 < len(self.lines) else ""
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "replace"))


def _call_spans(trees: Iterable[ast.AST], source: _Source) -> set[tuple[int, int, int, int]]:
    spans = set()
    for node in (node for tree in trees for node in ast.walk(tree)):
        if isinstance(node, ast.Call) and node.end_lineno is not None and node.end_col_offset is not None:
            spans.add(
                (
                    node.lineno,
                    source.char_column(node.lineno, node.col_offset),
                    node.end_lineno,
                    source.char_column(node.end_lineno, node.end_col_offset),
                )
            )
    return spans


def statements(module: cst.Module, tree: ast.Module) -> list[list[ast.stmt]] | None:
    """The ast statements of each module-level libcst statement (a line ``a; b`` holds two).

    None when the two trees do not line up (then nothing relies on it).
    """
    groups, index, body = [], 0, tree.body
    for statement in module.body:
        count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        group = body[index : index + count]
        if len(group) != count:
            return None
        groups.append(group)
        index += count
    return groups if index == len(body) else None


def _lines(group: list[ast.stmt]) -> tuple[int, int]:
    """First and last line of a group of statements; decorators start a definition."""
    first = min([group[0].lineno] + [d.lineno for d in getattr(group[0], "decorator_list", ())])
    return first, group[-1].end_lineno or group[-1].lineno


class _Twins(cst.CSTVisitor):
    """Calls equal to one target, in source order (libcst visits children in source order)."""

    def __init__(self, target: cst.Call) -> None:
        self.target = target
        self.found: list[cst.Call] = []

    def visit_Call(self, node: cst.Call) -> None:
        if node is self.target or node.deep_equals(self.target):
            self.found.append(node)


def _locate(
    module: cst.Module,
    node: cst.CSTNode,
    source: _Source,
    spans: set,
    within: tuple[int, int] | None = None,
    statement: cst.CSTNode | None = None,
) -> CodeRange | None:
    """The node's range, when its text and ast's calls pin it down.

    Calls with the same text inside one statement (``Sequential([LSTM(8), LSTM(8)])``) are told
    apart by their order, when both trees count the same number of them there.
    """
    if not isinstance(node, cst.Call):
        return None
    bare = node.with_changes(lpar=(), rpar=())
    text = module.code_for_node(bare)
    found = []
    low = 0 if within is None else source.starts[within[0] - 1]
    high = len(source.text) if within is None or within[1] >= len(source.starts) else source.starts[within[1]]
    offset = source.text.find(text, low, high)
    while offset != -1:
        start, end = source.position(offset), source.position(offset + len(text))
        if (start.line, start.column, end.line, end.column) in spans:
            found.append(CodeRange(start, end))
        offset = source.text.find(text, offset + 1, high)
    if len(found) == 1:
        return found[0]
    if statement is None or len(found) < 2:
        return None
    twins = _Twins(node)
    statement.visit(twins)
    order = [i for i, twin in enumerate(twins.found) if twin is node]
    if len(twins.found) != len(found) or len(order) != 1:
        return None
    return found[order[0]]


def positions(
    module: cst.Module,
    tree: ast.Module,
    text: str,
    nodes: Iterable[cst.CSTNode],
    statement_of: Mapping[int, int] | None = None,
) -> Mapping[cst.CSTNode, CodeRange]:
    """Code ranges (1-based lines, 0-based columns, as PositionProvider gives) of ``nodes``.

    ``statement_of`` (node id -> index of its module-level statement) tells apart calls with
    the same text in different statements.
    """
    source = _Source(text)
    groups = statements(module, tree) if statement_of is not None else None
    spans_of: dict[int | None, set] = {}
    found: dict[cst.CSTNode, CodeRange] = {}
    for node in nodes:
        index = statement_of.get(id(node)) if statement_of is not None else None
        if groups is None or index is None or index >= len(groups):
            index = None  # search the whole file
        if index not in spans_of:
            spans_of[index] = _call_spans([tree] if index is None else groups[index], source)  # type: ignore[index]
        if index is None:
            where = _locate(module, node, source, spans_of[index])
        else:
            where = _locate(module, node, source, spans_of[index], _lines(groups[index]), module.body[index])  # type: ignore[index]
        if where is None:
            return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        found[node] = where
    return found
