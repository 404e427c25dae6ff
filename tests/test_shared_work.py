"""What an analysis works out once is not worked out again by its fix checks, and the quick ways
of telling it give what the long ways gave: counted and compared, never timed."""

from __future__ import annotations

import ast
import functools
from collections import Counter
from collections.abc import Iterator

import libcst as cst
import pytest

from kerascheck import fix
from kerascheck.check import Analysis, analyse, check_source
from kerascheck.edits import Unwrap
from kerascheck.graph import builder
from kerascheck.rules import get
from tests.conftest import FIXTURES
from tests.test_fix_work import _walked  # the fix module's libcst walks, counted by node type

HEAD = "import keras\nfrom keras import layers\nfrom keras.layers import TimeDistributed\n"
WRAPPED = "m = keras.Sequential([keras.Input(shape=(5, 3)), layers.LSTM(4, return_sequences=True),"
WRAPPED += " TimeDistributed(layers.Dense(2))])\n"  # KER101: the unwrap is offered


def _fixture_texts() -> list[tuple[str, str]]:
    texts = []
    for path in sorted(FIXTURES.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        try:
            ast.parse(text)
        except SyntaxError:
            continue
        texts.append((path.name, text))
    return texts


def test_the_quick_walks_give_ast_walks_nodes_in_its_order() -> None:
    """``builder.walked`` is ``list(ast.walk(...))``, in its order (the names a node mentions are
    found in it; fix.Places lists a fresh statement's nodes with it), for every statement and
    expression of the fixtures."""
    checked = 0
    for _, text in _fixture_texts():
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.stmt, ast.expr)):
                assert [id(n) for n in builder.walked(node)] == [id(n) for n in ast.walk(node)]
                checked += 1
    assert checked > 10_000


@functools.cache
def _analysed(name: str, text: str) -> tuple[Analysis | None, fix.Layout | None]:
    """A fixture's analysis, and its layout when it has findings libcst reads: made once for the
    module's tests that read them (both are only read; a layout's caches hold what its edits
    made, the same whichever test made them)."""
    analysis = analyse(text, name)
    if analysis is None or not analysis.results:
        return analysis, None
    return analysis, fix.Layout.of(analysis)


@pytest.fixture(scope="module", autouse=True)
def _forget_the_analyses() -> Iterator[None]:
    """Dropped with the module: kept, their trees would be walked by every later collection."""
    yield
    _analysed.cache_clear()


def _layouts() -> Iterator[tuple[str, fix.Layout]]:
    """The layout of each fixture with findings that libcst reads."""
    for name, text in _fixture_texts():
        layout = _analysed(name, text)[1]
        if layout is not None:
            yield name, layout


def test_a_names_mentions_counted_in_the_statements_that_spell_it_are_all_of_them() -> None:
    """``Layout.names`` counts a name only in the statements whose text holds it: for every name
    of every fixture with findings, the count is the count over every statement."""
    compared = 0
    for name, layout in _layouts():
        assert layout.starts() is not None, name  # the statements' texts are known
        # every statement walked once for all the names (Mentions walks them once a name)
        everywhere = Counter(
            n.value for s in layout.module.body for n in fix.walk(s, fix._IMPORTS) if type(n) is cst.Name
        )
        spelled = {n.value for n in fix.walk(layout.module) if type(n) is cst.Name}
        for word in sorted(spelled) + ["TimeDistributed", "absent_name"]:
            assert layout.names[word] == everywhere[word], (name, word)
            compared += 1
        unpieced = fix.Mentions(layout.module.body, None)  # without the statements' texts
        for word in ["TimeDistributed", "absent_name", *sorted(spelled)[:3]]:
            assert unpieced[word] == everywhere[word], (name, word)
    assert compared > 1_000


def test_counting_a_wrappers_mentions_walks_only_the_statements_that_spell_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """100 statements that do not spell ``TimeDistributed`` are not walked for it."""
    others = [f"x{i} = keras.ops.ones((2, {i} + 1))" for i in range(100)]
    analysis = analyse(HEAD + WRAPPED + "\n".join(others) + "\n", "one.py")
    assert analysis is not None and [f.code for f in analysis.findings] == ["KER101"]
    layout = fix.Layout.of(analysis)
    assert layout is not None and layout.starts() is not None
    nodes = sum(1 for _ in fix.walk(layout.module))
    walked = _walked(monkeypatch)
    assert layout.names["TimeDistributed"] == 1
    assert 0 < sum(walked.values()) < nodes // 10, walked  # walking a tenth of the module fails


def test_an_unwrap_inside_a_large_statement_walks_the_calls_it_edits_not_the_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Whether an unwrap leaves the import unused is told from the edited call, old and new:
    a function of 100 statements around it is not walked again (it was, twice, for every check)."""
    lines = [f"    x{i} = keras.ops.ones((2, {i} + 1))" for i in range(100)]
    body = "def build():\n" + "\n".join(lines) + "\n    " + WRAPPED + "    return m\n\nmodel = build()\n"
    analysis = analyse(HEAD + body, "big.py")
    assert analysis is not None and [f.code for f in analysis.findings] == ["KER101"]
    layout = fix.Layout.of(analysis)
    assert layout is not None
    assert layout.names["TimeDistributed"] == 1  # counted before the walks are
    statement = sum(1 for _ in fix.walk(layout.module.body[3]))
    walked = _walked(monkeypatch)
    edited = fix.apply_edits(layout, [get("KER101").fix(r) for _, r in analysis.results])  # type: ignore[union-attr,list-item]
    assert "from keras.layers import TimeDistributed" not in edited.code  # unused after the unwrap
    assert sum(walked.values()) < statement // 4, (walked, statement)


def _same_code(a: cst.Module, b: cst.Module) -> bool:
    """``a.code == b.code``, printing only what the two do not share: the edits rebuild only the
    statements they touch (printing each module whole was most of this file's time)."""
    settings = ("default_indent", "default_newline", "has_trailing_newline", "encoding")
    parts = [(a.header, b.header), (a.body, b.body), (a.footer, b.footer)]
    if any(getattr(a, s) != getattr(b, s) for s in settings) or any(len(x) != len(y) for x, y in parts):
        return a.code == b.code
    return all(x is y or a.code_for_node(x) == b.code_for_node(y) for xs, ys in parts for x, y in zip(xs, ys))


def test_the_import_an_unwrap_leaves_unused_is_the_one_walking_the_statements_finds() -> None:
    """For every fixture's unwraps, alone, together and with the other fixes, the imports left
    unused counted from the edited calls are those counted from the whole edited statements."""
    compared = 0
    for name, text in _fixture_texts():
        analysis, layout = _analysed(name, text)
        if analysis is None:
            continue
        edits = [e for _, r in analysis.results if (rule := get(r.code)) and (e := rule.fix(r))]
        unwraps = [e for e in edits if isinstance(e, Unwrap)]
        if not unwraps or layout is None:
            continue
        unwraps = [e for e in unwraps if layout.feasible(e)]
        for group in [[e] for e in unwraps] + [unwraps, [e for e in edits if layout.feasible(e)]]:
            changes, unwrapped, _, _ = fix._changes(group, layout.twin)
            edited = fix.rebuild(layout.module, changes)
            assert isinstance(edited, cst.Module)
            walking = fix._remove_unused_imports(edited, fix._left_unused(layout, edited, unwrapped, None))
            assert _same_code(fix.apply_edits(layout, group), walking), (name, group)
            compared += not _same_code(walking, edited)  # an import went
    assert compared >= 3, compared


def test_fix_checks_work_out_nothing_the_analysis_worked_out(monkeypatch: pytest.MonkeyPatch) -> None:
    """The checks' builds share what the analysis' build worked out of the nodes (``Syntax``):
    the names of 100 lambdas, mentioned by statements no edit changes, are not walked again."""
    others = [f"f{i} = lambda v: v + {i}" for i in range(100)]
    text = HEAD + "\n".join(others) + "\n" + WRAPPED
    analysis = analyse(text, "lambdas.py")
    assert analysis is not None and [f.code for f in analysis.findings] == ["KER101"]
    calls: list[ast.AST] = []
    original = builder._names_in

    def counted(node: ast.AST) -> list[str]:
        calls.append(node)
        return original(node)

    monkeypatch.setattr(builder, "_names_in", counted)
    assert [o.finding.code for o in fix.offers(analysis, "lambdas.py")] == ["KER101"]
    assert len(calls) < 10, len(calls)  # each lambda again: 100


def test_the_arguments_of_a_call_nothing_reads_are_handed_over_without_an_args(monkeypatch: pytest.MonkeyPatch) -> None:
    """``logging.info(model)``, ``tracker.log(model)`` and their kin: each argument evaluated and
    handed to unseen code, the model forgotten (no KER104 after it), with no ``Args`` made for the
    call; a call that spreads ``*`` or ``**`` still makes one."""
    from kerascheck.graph import keras_calls

    made: list[ast.Call] = []
    original = keras_calls.Args.__init__

    def counted(self: keras_calls.Args, b: builder.Builder, node: ast.Call) -> None:
        made.append(node)
        original(self, b, node)

    monkeypatch.setattr(keras_calls.Args, "__init__", counted)
    model = "import logging\nimport keras\nimport numpy as np\nfrom keras import layers\n"
    model += "m = keras.Sequential([keras.Input(shape=(5, 3)), layers.LSTM(4)])\nm.compile(loss='mse')\n"
    fit = "m.fit(np.zeros((8, 5, 3)), np.zeros((8, 5, 4)))\n"  # KER104: per-sequence output, per-step target
    calls = "".join(f"logging.info({i}, stacklevel=2)\ntracker.log({i})\n" for i in range(100))
    assert [f.code for f in check_source(model + calls + fit, "p.py")] == ["KER104"]
    assert len(made) < 20, len(made)  # an Args a call: 200 more
    for handing in ("logging.info(m)", "tracker.log(step=m)", "logging.info(*[m])", "tracker.log(**{'m': m})"):
        made.clear()
        assert [f.code for f in check_source(model + handing + "\n" + fit, "p.py")] == [], handing
        spread = any(isinstance(arg, ast.Starred) for node in made for arg in node.args)
        assert spread or any(k.arg is None for node in made for k in node.keywords) or "*" not in handing
