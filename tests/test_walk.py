"""The fast walk visits what libcst's own visitors visit, in the same (source) order."""

from __future__ import annotations

import inspect
import re

import libcst as cst
import pytest

from kerascheck.walk import NOT_CODE, code_fields, walk
from tests.conftest import fixture_files, libcst_module


def _visit_order(cls: type) -> list[str]:
    """The fields libcst's own visitor passes through, in its (source) order."""
    source = inspect.getsource(cls._visit_and_replace_children)
    return list(dict.fromkeys(re.findall(r'visit_\w+\(\s*self,\s*"(\w+)"', source)))


def _node_classes() -> list[type]:
    """Every concrete node class libcst exports (its slotted rebuilds, not their originals)."""
    seen: set[type] = set()
    todo = [cst.CSTNode]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    public = (c for c in seen if getattr(cst, c.__name__, None) is c and "_visit_and_replace_children" in c.__dict__)
    return sorted(public, key=lambda c: c.__name__)


@pytest.mark.parametrize("cls", _node_classes(), ids=lambda c: c.__name__)
def test_walk_follows_source_order(cls: type) -> None:
    """The walk's field order is libcst's visiting order, for every field that can hold code."""
    visited = _visit_order(cls)
    code = [name for name in visited if name not in NOT_CODE and not name.startswith("whitespace")]
    assert [name for name in code_fields(cls) if name in visited] == code


class _Everything(cst.CSTVisitor):
    def __init__(self) -> None:
        self.seen: list[cst.CSTNode] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        self.seen.append(node)
        return True


@pytest.mark.parametrize("path", fixture_files(), ids=lambda p: p.name)
def test_walk_matches_libcst_visitor(path) -> None:
    """Every expression and statement node, in libcst's order (whitespace and tokens aside)."""
    if path.name == "indentation_tabs.py":
        return  # libcst refuses the file: it is analysed through CPython's tree, and never edited
    module = libcst_module(path)
    visitor = _Everything()
    module.visit(visitor)
    ours = list(walk(module))
    wanted = {id(n) for n in ours}
    assert [id(n) for n in visitor.seen if id(n) in wanted] == [id(n) for n in ours]
    code = (cst.BaseExpression, cst.BaseStatement, cst.BaseSmallStatement, cst.Arg, cst.Param)
    assert {id(n) for n in visitor.seen if isinstance(n, code)} <= wanted


def test_rebuild_changes_innermost_first_and_shares_the_rest() -> None:
    from kerascheck.walk import rebuild

    module = cst.parse_module("a = f(g(1))\nb = h(2)  # kept\n")
    outer, inner, other = (n for n in walk(module) if isinstance(n, cst.Call))
    seen: list[str] = []

    def rename(to: str):
        def change(node: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(node, cst.Call)
            seen.append(cst.Module([]).code_for_node(node))
            return node.with_changes(func=cst.Name(to))

        return change

    fixed = rebuild(module, {id(outer): rename("F"), id(inner): rename("G")})
    assert isinstance(fixed, cst.Module)
    assert fixed.code == "a = F(G(1))\nb = h(2)  # kept\n"
    assert seen == ["g(1)", "f(G(1))"]  # the outer change sees its argument changed already
    assert fixed.body[1] is module.body[1]  # untouched statements are shared, not copied
    assert rebuild(module, {id(other): lambda n: n}).code == module.code
