"""The cheap locator gives exactly what libcst's PositionProvider gives."""

from __future__ import annotations

import ast
from collections.abc import Mapping

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from kerascheck import reindent
from kerascheck.positions import positions
from tests.conftest import fixture_files

FILES = fixture_files()


def _truth(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Where libcst's own PositionProvider puts every node: what the locator must match."""
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


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
    twin = reindent.twin(text)
    if twin is not None and path.name == "indentation_tabs.py":
        text = twin.text  # libcst refuses the file itself; its twin is what is analysed
    module = cst.parse_module(text)
    expected = _truth(module)
    tree = ast.parse(text)
    for call in _calls(module):
        assert positions(module, tree, text, [call])[call] == expected[call]


def test_non_ascii_and_parentheses_and_repeats() -> None:
    text = 'é = "ü"; x = (TD(Dense(3)))  # ö\ny = TD(Dense(3))\nz = f(TD(Dense(4)))\n'
    module = cst.parse_module(text)
    expected = _truth(module)
    calls = _calls(module)
    located = positions(module, ast.parse(text), text, calls)
    assert all(located[c] == expected[c] for c in calls)


def test_same_call_text_in_several_statements() -> None:
    from kerascheck.check import analyse

    block = "def build_{i}():\n    x = keras.Input(shape=(5, 3))\n    y = keras.layers.LSTM(4, return_sequences=True)(x)\n    return keras.layers.TimeDistributed(keras.layers.Dense(2))(y)\n\n"
    text = "import keras\n\n" + "".join(block.format(i=i) for i in range(3))
    analysis = analyse(text)
    module = analysis.module
    expected = _truth(module)
    nodes = [report.node for _, report in analysis.results]
    assert len(nodes) == 3
    located = positions(module, ast.parse(text), text, nodes, analysis.graph.statement_of)
    assert not isinstance(located, dict) or all(located[n] == expected[n] for n in nodes)
    assert isinstance(located, dict)  # found without falling back to PositionProvider


def test_same_call_text_in_one_statement() -> None:
    from kerascheck.check import analyse

    text = "import keras\nm = keras.Sequential([keras.Input(shape=(5, 3)), keras.layers.LSTM(4), keras.layers.LSTM(4),\n    keras.layers.LSTM(4)])\n"
    analysis = analyse(text)
    expected = _truth(analysis.module)
    nodes = [report.node for _, report in analysis.results]
    assert len(nodes) == 2
    located = positions(analysis.module, ast.parse(text), text, nodes, analysis.graph.statement_of)
    assert isinstance(located, dict)  # found without falling back to PositionProvider
    assert all(located[n] == expected[n] for n in nodes)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_and_wide_characters(newline: str) -> None:
    lines = ["x = 'ü'; y = f(g('é'), h())", "@deco(1)", "def k(a=f(2)) -> t(3):", "    return (a if b() else c())"]
    lines.append("")
    text = newline.join(lines)
    module = cst.parse_module(text)
    expected = _truth(module)
    calls = _calls(module)
    located = positions(module, ast.parse(text), text, calls)
    assert len(calls) == 8
    assert isinstance(located, dict)  # found without falling back to PositionProvider
    assert all(located[c] == expected[c] for c in calls)


def test_calls_in_f_strings_fall_back() -> None:
    """ast places calls inside f-strings unreliably before 3.12: those fall back, still right."""
    text = "a = f'{g(1)}' + str(h(2))\n"
    module = cst.parse_module(text)
    expected = _truth(module)
    calls = _calls(module)
    assert all(positions(module, ast.parse(text), text, [c])[c] == expected[c] for c in calls)


COMPOUND = """\
import keras
@deco(f(1))
class A(base(2), metaclass=meta(3)):
    x = g(4)
    def m(self, a=h(5)) -> r(6):
        if t(7): u(8); v(9)
        elif t(10):
            u(11)
        else: v(12)
        for i in it(13):
            w(14)
        else:
            w(15)
        while c(16): d(17)
        try:
            e(18)
        except make(19) as err:
            e(20)
        except* make(21):
            pass
        finally:
            e(22)
        with ctx(23) as k, ctx(24):
            y = [z(25) for q in rng(26) if p(27)]
        match s(28):
            case [1, 2] if guard(29):
                n(30)
            case _:
                n(31)
        return (lambda: f(32))() if k(33) else f"{g(34)}"
"""


def _own_statements(module: cst.Module) -> dict[int, cst.CSTNode]:
    """Each call's statement, as the builder records it: the innermost one whose own code holds it."""
    from kerascheck.positions import cst_calls
    from kerascheck.walk import walk

    found: dict[int, cst.CSTNode] = {}
    for node in walk(module):
        if isinstance(node, (cst.BaseStatement, cst.BaseSmallStatement)):
            for call in cst_calls(node, statements=False):
                found[id(call)] = node
    return found


@pytest.mark.parametrize("star", ["", "*"], ids=["try", "try-star"])
def test_every_compound_statement_pairs_with_ast(star: str) -> None:
    text = COMPOUND.replace("except* make(21)", "except make(21)").replace("except ", f"except{star} ")
    module = cst.parse_module(text)
    expected = _truth(module)
    calls = _calls(module)
    assert len(calls) == 36
    statement_of = _own_statements(module)
    assert len(statement_of) == 35  # all but the call inside the f-string, which falls back
    calls = [c for c in calls if id(c) in statement_of]
    located = positions(module, ast.parse(text), text, calls, statement_of)
    assert isinstance(located, dict)  # found without falling back to PositionProvider
    assert all(located[c] == expected[c] for c in calls)


def test_pairing_failure_falls_back_to_the_whole_module() -> None:
    """A statement map that names the wrong statement still gives right positions."""
    text = "a = f(1)\nb = f(1)\n"
    module = cst.parse_module(text)
    expected = _truth(module)
    first, second = _calls(module)
    wrong = {id(first): module.body[1].body[0], id(second): module.body[0].body[0]}
    located = positions(module, ast.parse(text), text, [first, second], wrong)
    assert isinstance(located, dict)
    assert located[first] == expected[first] and located[second] == expected[second]


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixtures_are_placed_without_falling_back(path) -> None:
    """The builder names, for every call it reports, a statement whose own code holds it."""
    from kerascheck.check import Options, analyse
    from kerascheck.walk import walk

    analysis = analyse(path.read_text(encoding="utf-8"), str(path), Options(noqa=False))
    if analysis is None or not analysis.results:
        return
    assert isinstance(analysis.positions, dict)  # not PositionProvider's answer
    inner = (cst.BaseStatement, cst.BaseSmallStatement)
    for call_id, statement in analysis.graph.statement_of.items():
        assert statement is not None and call_id in {id(n) for n in walk(statement, inner)}
