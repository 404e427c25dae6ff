"""Positions come from CPython's tree, and each of its calls has its twin in libcst's tree (which
fixes edit): the twin is the call libcst's own PositionProvider places exactly there."""

from __future__ import annotations

import ast
from collections.abc import Mapping

import libcst as cst
import pytest
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from kerascheck.positions import Span, positions
from kerascheck.twins import Twins, ast_calls
from tests.conftest import fixture_files, libcst_module

FILES = fixture_files()


def _truth(module: cst.Module) -> Mapping[cst.CSTNode, CodeRange]:
    """Where libcst's own PositionProvider puts every node: what positions and twins must match."""
    return MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)


def _same(span: Span, expected: CodeRange) -> bool:
    return (span.start.line, span.start.column, span.end.line, span.end.column) == (
        expected.start.line,
        expected.start.column,
        expected.end.line,
        expected.end.column,
    )


def _own_statements(tree: ast.Module) -> dict[int, ast.stmt]:
    """Each call's statement, as the builder records it: the innermost one whose own code holds it."""
    found: dict[int, ast.stmt] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            for call in ast_calls([node], statements=False):
                found[id(call)] = node
    return found


def _check_all(
    text: str,
    statement_of: Mapping[int, ast.stmt | None] | None = None,
    count: int | None = None,
    module: cst.Module | None = None,
) -> None:
    """Every call of ``text`` outside f-strings: its span is PositionProvider's for its twin, and
    twins are told apart (one libcst call each). ``module``, libcst's tree of ``text`` when parsed."""
    module, tree = module or cst.parse_module(text), ast.parse(text)
    expected = _truth(module)
    calls = ast_calls([tree])
    if count is not None:
        assert len(calls) == count
    twins = Twins(module, tree, text, _own_statements(tree) if statement_of is None else statement_of)
    spans = positions(text, calls)
    seen = set()
    for call in calls:
        found = twins.call(call)
        assert found is not None
        twin, top = found
        assert _same(spans[call], expected[twin]), (ast.unparse(call), spans[call], expected[twin])
        assert any(node is twin for node in _walk_all(module.body[top]))
        seen.add(id(twin))
    assert len(seen) == len(calls)


def _walk_all(node: cst.CSTNode) -> list[cst.CSTNode]:
    from kerascheck.walk import walk

    return list(walk(node))


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_same_positions_as_libcst(path) -> None:
    text = path.read_text(encoding="utf-8")
    if path.name == "indentation_tabs.py":
        return  # libcst refuses the file: no fix, no twin (test_reindent.py places its findings)
    _check_all(text, module=libcst_module(path))


def test_non_ascii_and_parentheses_and_repeats() -> None:
    _check_all('é = "ü"; x = (TD(Dense(3)))  # ö\ny = TD(Dense(3))\nz = f(TD(Dense(4)))\n', count=7)


def test_same_call_text_in_several_statements() -> None:
    from kerascheck.check import analyse
    from kerascheck.fix import Layout

    block = "def build_{i}():\n    x = keras.Input(shape=(5, 3))\n    y = keras.layers.LSTM(4, return_sequences=True)(x)\n    return keras.layers.TimeDistributed(keras.layers.Dense(2))(y)\n\n"
    text = "import keras\n\n" + "".join(block.format(i=i) for i in range(3))
    analysis = analyse(text)
    assert analysis is not None
    layout = Layout.of(analysis)
    assert layout is not None
    expected = _truth(layout.module)
    nodes = [report.node for _, report in analysis.results]
    assert len(nodes) == 3
    assert analysis.positions is not None
    for node in nodes:
        assert isinstance(node, ast.Call)
        assert _same(analysis.positions[node], expected[layout.twin(node)])
    assert sorted(layout.index.values()) == [1, 2, 3]  # each in its own top-level statement


def test_same_call_text_in_one_statement() -> None:
    from kerascheck.check import analyse
    from kerascheck.fix import Layout

    text = "import keras\nm = keras.Sequential([keras.Input(shape=(5, 3)), keras.layers.LSTM(4), keras.layers.LSTM(4),\n    keras.layers.LSTM(4)])\n"
    analysis = analyse(text)
    assert analysis is not None
    layout = Layout.of(analysis)
    assert layout is not None
    expected = _truth(layout.module)
    nodes = [report.node for _, report in analysis.results]
    assert len(nodes) == 2
    assert analysis.positions is not None
    twins = [layout.twin(node) for node in nodes if isinstance(node, ast.Call)]
    assert len({id(t) for t in twins}) == 2
    assert all(_same(analysis.positions[n], expected[t]) for n, t in zip(nodes, twins))


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_line_endings_and_wide_characters(newline: str) -> None:
    lines = ["x = 'ü'; y = f(g('é'), h())", "@deco(1)", "def k(a=f(2)) -> t(3):", "    return (a if b() else c())"]
    lines.append("")
    _check_all(newline.join(lines), count=8)


def test_calls_in_f_strings_are_not_paired() -> None:
    """ast places calls inside f-strings unreliably before 3.12: neither side counts them, and the
    others still pair."""
    text = "a = f'{g(1)}' + str(h(2))\n"
    _check_all(text, count=2)


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


@pytest.mark.parametrize("star", ["", "*"], ids=["try", "try-star"])
def test_every_compound_statement_pairs_with_libcst(star: str) -> None:
    text = COMPOUND.replace("except* make(21)", "except make(21)").replace("except ", f"except{star} ")
    _check_all(text, count=35)  # all but the call inside the f-string


def test_pairing_failure_falls_back_to_the_whole_module() -> None:
    """A statement map that names the wrong statement still finds the right twins."""
    text = "a = f(1)\nb = f(1)\n"
    tree = ast.parse(text)
    first, second = ast_calls([tree])
    _check_all(text, {id(first): tree.body[1], id(second): tree.body[0]})


def test_calls_that_do_not_pair_are_found_by_place() -> None:
    """When even the module's calls differ in number (here: a statement map that is wrong and
    a call only one side counts), a call is found where libcst places it."""
    text = "a = f(1)\nb = f'{g(2)}'\n"
    module, tree = cst.parse_module(text), ast.parse(text)
    call = ast_calls([tree])[0]
    twins = Twins(module, tree, text, {})
    twins._tables[0] = None  # the module's calls did not pair
    found = twins.call(call)
    assert found is not None and _same(positions(text, [call])[call], _truth(module)[found[0]])


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_fixtures_name_the_statement_of_each_call(path) -> None:
    """The builder names, for every call it evaluates, a statement whose own code holds it
    (where fixes look for its twin first)."""
    from kerascheck.check import Options, analyse

    analysis = analyse(path.read_text(encoding="utf-8"), str(path), Options(noqa=False))
    if analysis is None or not analysis.results:
        return
    calls = {id(c): c for c in ast_calls([analysis.tree])}
    for call_id, statement in analysis.graph.statement_of.items():
        assert statement is not None
        if call_id in calls:  # not a call inside an f-string
            assert any(c is calls[call_id] for c in ast_calls([statement], statements=False))
