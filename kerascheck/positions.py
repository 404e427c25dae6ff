"""Where nodes are: line and column of the few calls a file reports.

libcst's PositionProvider renders the whole module to code and costs more than the parse
itself. CPython's ast already knows where every call is, and both trees hold the same calls in
the same source order. So the k-th call of a module-level statement in libcst is the k-th call
of that statement in ast, and ast's span is the answer. Only when the two counts disagree, or a
node is not a call, is PositionProvider used.
"""

from __future__ import annotations

import ast
import re
from typing import Iterable, Mapping, Sequence

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from kerascheck.walk import walk

# ast's positions inside f-strings are unreliable before Python 3.12: neither side counts them.
_CST_OPAQUE = tuple(c for c in (cst.FormattedString, getattr(cst, "TemplatedString", None)) if c is not None)
_AST_OPAQUE = tuple(c for c in (ast.JoinedStr, getattr(ast, "TemplateStr", None)) if c is not None)


def cst_calls(root: cst.CSTNode) -> list[cst.Call]:
    """The calls under ``root`` in source order (outer before inner), f-strings left out."""
    return [node for node in walk(root, _CST_OPAQUE) if type(node) is cst.Call]


def ast_calls(roots: Sequence[ast.AST]) -> list[ast.Call]:
    """The calls under ``roots`` in source order (outer before inner), f-strings left out."""
    found: list[ast.Call] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        if isinstance(node, _AST_OPAQUE):
            continue
        if isinstance(node, ast.Call):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    found.sort(key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)))
    return found


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


class _Lines:
    """ast's byte columns as character columns; lines end where Python's tokenizer ends them."""

    def __init__(self, text: str) -> None:
        self.lines = re.split(r"\r\n|\r|\n", text)

    def column(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    def range(self, call: ast.Call) -> CodeRange:
        end_line = call.end_lineno or call.lineno
        end_column = call.end_col_offset if call.end_col_offset is not None else call.col_offset
        return CodeRange(
            CodePosition(call.lineno, self.column(call.lineno, call.col_offset)),
            CodePosition(end_line, self.column(end_line, end_column)),
        )


def positions(
    module: cst.Module,
    tree: ast.Module,
    text: str,
    nodes: Iterable[cst.CSTNode],
    statement_of: Mapping[int, int] | None = None,
) -> Mapping[cst.CSTNode, CodeRange]:
    """Code ranges (1-based lines, 0-based columns, as PositionProvider gives) of ``nodes``.

    ``statement_of`` (node id -> index of its module-level statement) limits the walk to the
    statements that hold the nodes; without it, the whole module is walked once.
    """
    lines = _Lines(text)
    groups = statements(module, tree) if statement_of is not None else None
    pairs: dict[int | None, dict[int, ast.Call] | None] = {}  # statement -> cst call id -> ast call
    found: dict[cst.CSTNode, CodeRange] = {}
    for node in nodes:
        index = statement_of.get(id(node)) if statement_of is not None else None
        if groups is None or index is None or index >= len(groups):
            index = None  # the whole module
        if index not in pairs:
            ours = cst_calls(module if index is None else module.body[index])
            theirs = ast_calls([tree] if index is None else groups[index])  # type: ignore[index]
            pairs[index] = {id(a): b for a, b in zip(ours, theirs)} if len(ours) == len(theirs) else None
        paired = pairs[index]
        call = paired.get(id(node)) if paired is not None else None
        if call is None:
            return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        found[node] = lines.range(call)
    return found
