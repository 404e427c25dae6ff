"""The cheap locator gives exactly what libcst's PositionProvider gives."""

from __future__ import annotations

import ast

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from kerascheck.positions import positions
from tests.conftest import fixture_files

FILES = fixture_files()


def _calls(module: cst.Module) -> list[cst.Call]:
    found: list[cst.Call] = []

    class Collect(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

    module.visit(Collect())
    return found


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_same_positions_as_libcst(path) -> None:
    text = path.read_text(encoding="utf-8")
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    tree = ast.parse(text)
    for call in _calls(module):
        assert positions(module, tree, text, [call])[call] == expected[call]


def test_non_ascii_and_parentheses_and_repeats() -> None:
    text = 'é = "ü"; x = (TD(Dense(3)))  # ö\ny = TD(Dense(3))\nz = f(TD(Dense(4)))\n'
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    calls = _calls(module)
    located = positions(module, ast.parse(text), text, calls)
    assert all(located[c] == expected[c] for c in calls)
