"""Where nodes are: line and column of the few calls a file reports.

libcst's PositionProvider renders the whole module to code and costs more than the parse
itself. CPython's ast already knows where every call is, and both trees hold the same
statements, and in each the same calls in the same source order. So the k-th call of a
statement in libcst is the k-th call of its twin statement in ast, and ast's span is the
answer. Only when the two disagree, or a node is not a call, is PositionProvider used.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import libcst as cst
from libcst.metadata import CodePosition, CodeRange, MetadataWrapper, PositionProvider

from kerascheck.sources import LINE_BREAK
from kerascheck.walk import walk

# ast's positions inside f-strings are unreliable before Python 3.12: neither side counts them.
_CST_OPAQUE = tuple(c for c in (cst.FormattedString, getattr(cst, "TemplatedString", None)) if c is not None)
_AST_OPAQUE = tuple(c for c in (ast.JoinedStr, getattr(ast, "TemplateStr", None)) if c is not None)


def cst_calls(root: cst.CSTNode, statements: bool = True) -> list[cst.Call]:
    """The calls under ``root`` in source order (outer before inner), f-strings left out;
    without ``statements``, only those of ``root``'s own code, not of the statements in it."""
    opaque = _CST_OPAQUE if statements else _CST_OPAQUE + (cst.BaseStatement, cst.BaseSmallStatement)
    return [node for node in walk(root, opaque) if type(node) is cst.Call]


def ast_calls(roots: Sequence[ast.AST], statements: bool = True) -> list[ast.Call]:
    """The calls under ``roots`` in source order (outer before inner), f-strings left out;
    without ``statements``, only those of the roots' own code."""
    found: list[ast.Call] = []
    stack = list(roots)
    while stack:
        node = stack.pop()
        cls = type(node)
        if cls is ast.Call:
            found.append(cast(ast.Call, node))  # type(node) is ast.Call
        elif cls in _AST_OPAQUE:
            continue
        for name in cls._fields:
            if name == "ctx":
                continue
            value = getattr(node, name, None)
            if type(value) is list:
                stack.extend(v for v in value if isinstance(v, ast.AST) and (statements or not isinstance(v, ast.stmt)))
            elif isinstance(value, ast.AST):
                stack.append(value)
    found.sort(key=lambda c: (c.lineno, c.col_offset, -(c.end_lineno or 0), -(c.end_col_offset or 0)))
    return found


# Each libcst compound statement and the ast statement it becomes.
_COMPOUND: dict[type, tuple[type, ...]] = {
    cst.If: (ast.If,),
    cst.For: (ast.For, ast.AsyncFor),
    cst.While: (ast.While,),
    cst.With: (ast.With, ast.AsyncWith),
    cst.Try: (ast.Try,),
    cst.FunctionDef: (ast.FunctionDef, ast.AsyncFunctionDef),
    cst.ClassDef: (ast.ClassDef,),
    cst.Match: (ast.Match,),
}
_TRY_STAR: tuple[type, ...] = ()
if hasattr(ast, "TryStar"):
    _COMPOUND[cst.TryStar] = (ast.TryStar,)
    _TRY_STAR = (cst.TryStar,)


_Blocks = list[tuple[Sequence[cst.CSTNode], list[ast.stmt]]]  # statement lists: libcst's, ast's


def _blocks(ours: Any, theirs: Any) -> _Blocks | None:
    """The statement lists inside a compound statement, libcst's beside ast's.

    ``ours`` is a libcst compound statement and ``theirs`` the ast statement ``_COMPOUND`` pairs
    with it: the fields read here are those both classes have, which no common base declares.
    """
    if isinstance(ours, cst.Match):
        if len(ours.cases) != len(theirs.cases):
            return None
        return [(c.body.body, a.body) for c, a in zip(ours.cases, theirs.cases)]
    pairs: _Blocks = [(ours.body.body, theirs.body)]
    if type(ours) in (cst.Try, *_TRY_STAR):
        if len(ours.handlers) != len(theirs.handlers):
            return None
        pairs += [(h.body.body, a.body) for h, a in zip(ours.handlers, theirs.handlers)]
    orelse = getattr(ours, "orelse", None)
    if isinstance(orelse, cst.If):  # elif: an If inside ast's orelse
        pairs.append(([orelse], theirs.orelse))
    elif orelse is not None:
        pairs.append((orelse.body.body, theirs.orelse))
    finalbody = getattr(ours, "finalbody", None)
    if finalbody is not None:
        pairs.append((finalbody.body.body, theirs.finalbody))
    return pairs


def _pair_statements(ours: Sequence[cst.CSTNode], theirs: list[ast.stmt], into: dict[int, ast.stmt]) -> bool:
    """Record the ast statement of each libcst statement (a line ``a; b`` holds two); False
    when the two lists do not line up."""
    index = 0
    for statement in ours:
        if isinstance(statement, cst.SimpleStatementLine):
            small = statement.body
        elif isinstance(statement, cst.BaseSmallStatement):  # in a one-line suite: ``if x: a; b``
            small = [statement]
        else:
            if index >= len(theirs) or not isinstance(theirs[index], _COMPOUND.get(type(statement), ())):
                return False
            into[id(statement)] = theirs[index]
            blocks = _blocks(statement, theirs[index])
            if blocks is None or not all(_pair_statements(a, b, into) for a, b in blocks):
                return False
            index += 1
            continue
        if index + len(small) > len(theirs):
            return False
        for a, b in zip(small, theirs[index : index + len(small)]):
            into[id(a)] = b
        index += len(small)
    return index == len(theirs)


class _Lines:
    """ast's byte columns as character columns; lines end where Python's tokenizer ends them."""

    def __init__(self, text: str) -> None:
        self.lines = LINE_BREAK.split(text)

    def column(self, line: int, byte_column: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        if text.isascii():
            return byte_column
        return len(text.encode("utf-8")[:byte_column].decode("utf-8", "replace"))

    def range(self, call: ast.expr | ast.keyword) -> CodeRange:
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
    statement_of: Mapping[int, cst.CSTNode | None] | None = None,
    owners: Mapping[int, cst.Call] | None = None,
) -> Mapping[cst.CSTNode, CodeRange]:
    """Code ranges (1-based lines, 0-based columns, as PositionProvider gives) of ``nodes``.

    ``statement_of`` (node id -> the statement that holds it in its own code) limits the walk to
    those statements; a node it does not name is looked for in the whole module. ``owners``
    (id of a keyword argument -> the call it is given to) places keyword arguments.
    """
    lines = _Lines(text)
    twins: dict[int, ast.stmt] | None = None  # id of a libcst statement -> its ast statement
    pairs: dict[int, dict[int, ast.Call] | None] = {}  # statement id (0: the module) -> call pairs

    def lookup(node: cst.CSTNode, ours: cst.CSTNode, theirs: ast.AST, own: bool) -> ast.Call | None:
        """The twin of ``node`` among the calls of ``ours`` and ``theirs`` (their own code's)."""
        key = id(ours) if own else 0
        if key not in pairs:
            a, b = cst_calls(ours, statements=not own), ast_calls([theirs], statements=not own)
            pairs[key] = dict(zip(map(id, a), b)) if len(a) == len(b) else None
        table = pairs[key]
        return table.get(id(node)) if table is not None else None

    found: dict[cst.CSTNode, CodeRange] = {}
    for node in nodes:
        owner = owners.get(id(node)) if owners is not None else None
        target, node_asked = (owner, node) if owner is not None else (node, None)
        call = None
        statement = statement_of.get(id(target)) if statement_of is not None else None
        if statement is not None:
            if twins is None:
                twins = {}
                if not _pair_statements(module.body, tree.body, twins):
                    twins.clear()
            twin = twins.get(id(statement))
            if twin is not None:
                call = lookup(target, statement, twin, own=True)
        if call is None:
            call = lookup(target, module, tree, own=False)
        place: ast.expr | ast.keyword | None = call
        if call is not None and isinstance(node_asked, cst.Arg) and node_asked.keyword is not None:
            name = node_asked.keyword.value
            place = next((k for k in call.keywords if k.arg == name), None)
        if place is None:
            return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
        found[node] = lines.range(place)
    return found
