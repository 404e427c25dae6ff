"""libcst's twin of a call of CPython's tree: the graph names ast's nodes, fixes edit libcst's.

Both trees hold the same statements, and in each the same calls in the same source order. So
the k-th call of a statement's own code in ast is the k-th call of its twin statement in
libcst. Only files with a fix to offer are parsed by libcst and paired; only the statements
that hold an edited call are walked. Where the two trees do not line up, the calls of the whole
modules are paired, and when even those differ in number, the calls are matched by where they
start, by libcst's PositionProvider.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from typing import Any, cast

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from kerascheck.positions import Lines
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
    cst.TryStar: (ast.TryStar,),
}

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
    if type(ours) in (cst.Try, cst.TryStar):
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


def _pair_statements(
    ours: Sequence[cst.CSTNode], theirs: list[ast.stmt], into: dict[int, tuple[cst.CSTNode, int]], top: int | None
) -> bool:
    """Record the libcst statement of each ast statement (a line ``a; b`` holds two), with the
    index of the module's top-level statement that holds it (``top``, or each statement's own
    index at the top level); False when the two lists do not line up."""
    index = 0
    for i, statement in enumerate(ours):
        at = i if top is None else top
        if isinstance(statement, cst.SimpleStatementLine):
            small: Sequence[cst.CSTNode] = statement.body
        elif isinstance(statement, cst.BaseSmallStatement):  # in a one-line suite: ``if x: a; b``
            small = [statement]
        else:
            if index >= len(theirs) or not isinstance(theirs[index], _COMPOUND.get(type(statement), ())):
                return False
            into[id(theirs[index])] = (statement, at)
            blocks = _blocks(statement, theirs[index])
            if blocks is None or not all(_pair_statements(a, b, into, at) for a, b in blocks):
                return False
            index += 1
            continue
        if index + len(small) > len(theirs):
            return False
        for a, b in zip(small, theirs[index : index + len(small)]):
            into[id(b)] = (a, at)
        index += len(small)
    return index == len(theirs)


class Twins:
    """libcst's call for each call of the graph that a fix edits, and the index of the module's
    top-level statement that holds it (so that an edit rebuilds and prints that statement only).

    ``statement_of`` (id of an ast call -> the ast statement that holds it in its own code) is
    the graph's.
    """

    def __init__(
        self, module: cst.Module, tree: ast.Module, text: str, statement_of: Mapping[int, ast.stmt | None]
    ) -> None:
        self.module, self.tree, self.text = module, tree, text
        self.statement_of = statement_of
        self._statements: dict[int, tuple[cst.CSTNode, int]] | None = None
        self._tables: dict[int, dict[int, tuple[cst.Call, int]] | None] = {}  # by ast statement id (0: module)
        self._by_place: dict[tuple[int, int, int, int], tuple[cst.Call, int]] | None = None

    def call(self, node: ast.Call) -> tuple[cst.Call, int] | None:
        """The twin of ``node`` and its top-level statement's index; None when none is found."""
        statement = self.statement_of.get(id(node))
        if statement is not None:
            twin = self._twin_statement(statement)
            if twin is not None:
                found = self._table(id(statement), [statement], twin[0], twin[1]).get(id(node))
                if found is not None:
                    return found
        found = self._table(0, self.tree.body, self.module, None).get(id(node))
        return found if found is not None else self._placed(node)

    def _twin_statement(self, statement: ast.stmt) -> tuple[cst.CSTNode, int] | None:
        if self._statements is None:
            self._statements = {}
            if not _pair_statements(self.module.body, self.tree.body, self._statements, None):
                self._statements.clear()
        return self._statements.get(id(statement))

    def _table(
        self, key: int, theirs: Sequence[ast.AST], ours: cst.CSTNode, top: int | None
    ) -> dict[int, tuple[cst.Call, int]]:
        """The calls of ``theirs`` paired with those of ``ours`` (their own code's, for one
        statement; all of them, for the module: key 0); empty when their numbers differ."""
        if key not in self._tables:
            own = key != 0
            a, b = ast_calls(theirs, statements=not own), cst_calls(ours, statements=not own)
            table = None
            if len(a) == len(b):
                tops = [top] * len(b) if top is not None else self._tops(b)
                table = {id(x): (y, t) for x, y, t in zip(a, b, tops)}
            self._tables[key] = table
        return self._tables[key] or {}

    def _tops(self, calls: list[cst.Call]) -> list[int]:
        """The top-level statement of each of the module's calls."""
        at = {id(c): i for i, statement in enumerate(self.module.body) for c in cst_calls(statement)}
        return [at[id(c)] for c in calls]

    def _placed(self, node: ast.Call) -> tuple[cst.Call, int] | None:
        """The call libcst places where ast places ``node`` (the last resort: PositionProvider
        renders the whole module)."""
        if self._by_place is None:
            spans = MetadataWrapper(self.module, unsafe_skip_copy=True).resolve(PositionProvider)
            at = {id(c): i for i, statement in enumerate(self.module.body) for c in walk(statement)}
            self._by_place = {}
            for call, span in spans.items():
                if type(call) is cst.Call:
                    place = (span.start.line, span.start.column, span.end.line, span.end.column)
                    self._by_place[place] = (call, at[id(call)])
        where = Lines(self.text).span(node)
        return self._by_place.get((where.start.line, where.start.column, where.end.line, where.end.column))
