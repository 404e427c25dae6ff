"""Fix checks re-analyse only what their edits touched (``graph.replay``), and give exactly what a
whole build gives: each check's graph and reports are compared with ``build_graph`` of the same
tree, over the fixtures and a generated notebook, in the order the offer search checks them and
in orders that share little."""

from __future__ import annotations

import ast
import importlib.util
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerascheck import fix, pipeline, rules
from kerascheck.check import Analysis, analyse
from kerascheck.graph import replay
from kerascheck.graph.builder import build_graph
from kerascheck.graph.model import DictRef, Graph, Layer, ModelRef, ObjRef, Seq, Tensor, UserFunction
from tests.conftest import FIXTURES

_spec = importlib.util.spec_from_file_location(
    "work_bench", Path(__file__).resolve().parent.parent / "benchmarks" / "work_bench.py"
)
assert _spec is not None and _spec.loader is not None
work_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(work_bench)


def _value(value: object) -> object:
    """A value as both builds must have it: objects by where they were made, keys aside (each
    build names heap objects its own way)."""
    if isinstance(value, Layer):
        return ("layer", value.call, value.kind, value.opaque, value.unpacked, tuple(sorted(value.kwargs)))
    if isinstance(value, Tensor):
        return (
            "tensor",
            value.shape,
            None if value.origin is None else value.origin.call,
            value.by_rnn,
            None if value.producer is None else value.producer.site,
        )
    if isinstance(value, Seq):
        return ("seq", tuple(_value(item) for item in value.items))
    if isinstance(value, (ModelRef, ObjRef, DictRef)):
        return type(value).__name__
    if isinstance(value, UserFunction):
        return ("function", value.name, _value(value.returns), value.free)
    return value


def _summary(graph: Graph) -> list[object]:
    rows: list[object] = []
    for app in graph.applications:
        kwargs = tuple((k, _value(v)) for k, v in app.layer.kwargs.items())
        call = tuple((k, _value(v)) for k, v in app.call_kwargs.items())
        inputs, outputs = tuple(map(_value, app.inputs)), tuple(map(_value, app.outputs))
        rows.append(("app", app.site, _value(app.layer), kwargs, app.error, inputs, outputs, call))
    for train in graph.train_calls:
        rows.append(("train", train.call, train.method, _value(train.output), train.targets, train.loss))
    for given in graph.input_calls:
        data = (tuple(map(_value, given.inputs)), given.data, given.functional, _value(given.output))
        rows.append(("input", given.call, given.method, data))
    rows.append(("calls", sorted(graph.statement_of.items())))
    return rows


def _reports(graph: Graph) -> list[tuple[object, ...]]:
    return [
        (r.code, r.node, r.message, None if r.rnn is None else r.rnn.call) for r in rules.run(graph, rules.all_rules())
    ]


class _Compared:
    """``Builds.graph`` compared with the whole build of the same tree at every call."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.checks = 0
        self.counts: Counter[str] = Counter()
        original = replay.Builds.graph

        def graph(builds: replay.Builds, tree: ast.Module) -> Graph:
            made = original(builds, tree)
            whole = build_graph(tree)
            assert _summary(made) == _summary(whole)
            mine, theirs = Counter(_reports(made)), Counter(_reports(whole))
            assert not mine - theirs, "a finding the whole build does not give"
            assert not theirs - mine, "a finding of the whole build missing"
            self.checks += 1
            self.counts = builds.counts
            return made

        monkeypatch.setattr(replay.Builds, "graph", graph)


def _texts() -> Iterator[tuple[str, str]]:
    for path in sorted(FIXTURES.glob("*.py")):
        yield path.name, path.read_text(encoding="utf-8")


def _edits(analysis: Analysis, layout: fix.Layout) -> list[fix.Offer]:
    from kerascheck.findings import Fix

    found = []
    for finding, report in analysis.results:
        rule = rules.get(report.code)
        assert rule is not None
        edit = rule.fix(report)
        if edit is not None and layout.feasible(edit):
            found.append(fix.Offer(finding, edit, Fix("unsafe", "")))
    return found


def _notebook(tmp_path: Path, cells: int) -> str:
    path = tmp_path / "models.ipynb"
    path.write_text(work_bench.notebook(cells, 2), encoding="utf-8")
    return pipeline.read(path).program


def test_fix_checks_give_what_whole_builds_give(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Every fixture with a fix, and a notebook: the offer search's checks, then each fix
    alone, then all of them but one, each compared with the whole build of its tree."""
    compared = _Compared(monkeypatch)
    texts = [*_texts(), ("models.ipynb", _notebook(tmp_path, 12))]
    copied = 0
    for name, text in texts:
        analysis = analyse(text, name)
        if analysis is None:
            continue
        layout = fix.Layout.of(analysis)
        if layout is None:
            continue
        candidates = _edits(analysis, layout)
        if not candidates:
            continue
        fix.offers(analysis, name, layout)
        for group in [[c] for c in candidates[:6]] + [
            [c for c in candidates if c is not left] for left in candidates[:4]
        ]:
            fix._check(analysis, layout, name, group)
        copied += layout.builds.counts["copied"]
    assert compared.checks > 200
    assert copied > 1000  # the comparison is of builds that copied statements, not only whole ones


def test_a_statement_runs_again_when_it_reads_what_an_edit_changed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two fixes in two chains: a check leaving one of them out runs the statement printed
    differently from the build it copies from and those reading what it wrote (through a name,
    a list, a model in the heap); it copies every other statement."""
    text = "\n".join(
        [
            "import keras",
            "from keras import layers",
            "x = keras.Input(shape=(9, 2))",
            "h = layers.LSTM(4)(x)",  # fix A: return_sequences=True
            "stack = [h]",
            "other = layers.GRU(3)(x)",  # fix B: return_sequences=True
            "y = layers.LSTM(4)(stack[0])",  # KER103 (A)
            "m = keras.Model(x, y)",
            "m.compile(loss='mse')",
            "g = layers.LSTM(4)(other)",  # KER103 (B)
            "",
        ]
    )
    compared = _Compared(monkeypatch)
    analysis = analyse(text, "chains.py")
    assert analysis is not None
    layout = fix.Layout.of(analysis)
    assert layout is not None
    a, b = _edits(analysis, layout)
    assert [o.finding.line for o in (a, b)] == [7, 10]
    fix._check(analysis, layout, "chains.py", [a, b])
    assert layout.builds.counts == {"whole": 1, "run": 10}
    fix._check(analysis, layout, "chains.py", [a])  # `other` as analysed, and `g` reading it
    assert layout.builds.counts == {"whole": 1, "run": 10 + 2, "copied": 8}
    fix._check(analysis, layout, "chains.py", [b])  # from the first: `h`, stack, y, m, compile
    assert layout.builds.counts == {"whole": 1, "run": 10 + 2 + 5, "copied": 8 + 5}
    assert compared.checks == 3


HEAD = ["import keras", "from keras import layers", "x = keras.Input(shape=(9, 2))", "h = layers.LSTM(4)(x)"]
TAIL = ["o = layers.GRU(3)(x)", "g = layers.LSTM(4)(o)"]  # a second fix, apart from h's
TRICKY = {  # what the statements between the two fixes share through the analysis' state
    "changed layer": ["d = layers.Dense(3)", "helper(d)", "z = d(h)", "a = layers.LSTM(4)(h)"],
    "changed after use": ["d = layers.LSTM(3)", "z = d(h)", "d.return_sequences = True", "w = d(h)"],
    "star import": ["from keras.layers import *", "a = LSTM(4)(h)", "b = GRU(2)(a)"],
    "module place": ["import tensorflow as tf", "tf.units = 4", "a = layers.LSTM(tf.units)(h)"],
    "exec": ["a = layers.LSTM(4)(h)", "exec('h = 1')", "b = layers.LSTM(4)(h)"],
    "globals": ["k = layers.LSTM(4)", "a = k(h)", "globals()['k'] = None", "b = k(h)"],
    "function": ["def build():\n    return layers.LSTM(4)(h)", "a = build()", "b = layers.LSTM(2)(a)"],
    "global in function": [
        "a = layers.LSTM(4)(h)",
        "def reset():\n    global h\n    h = None",
        "b = layers.LSTM(4)(h)",
    ],
    "class": [
        "class Holder:\n    def __init__(self):\n        self.rnn = layers.LSTM(4)\n    def run(self, t):\n"
        "        return self.rnn(t)",
        "holder = Holder()",
        "a = holder.run(h)",
        "b = holder.rnn(h)",
    ],
    "loop and branch": [
        "for i in range(3):\n    h = layers.Dense(4)(h)",
        "if keras.config.backend() == 'jax':\n    h = layers.Dense(2)(h)",
        "a = layers.LSTM(4)(h)",
    ],
    "dict": ["cfg = {'units': 4}", "a = layers.LSTM(**cfg)(h)", "cfg['units'] = 8", "b = layers.LSTM(**cfg)(h)"],
    "model": [
        "m = keras.Sequential([keras.Input(shape=(9, 2)), layers.LSTM(4)])",
        "m.add(layers.LSTM(4))",
        "m.compile(loss='mse')",
        "a = layers.LSTM(4)(h)",
        "m.fit(__import__('numpy').zeros((2, 9, 2)), __import__('numpy').zeros((2, 4)))",
    ],
}


@pytest.mark.parametrize("name", sorted(TRICKY))
def test_state_shared_between_statements_is_copied_as_the_whole_build_makes_it(
    monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Checks of two fixes, together and apart, in orders that copy statements from builds of
    other sets of fixes: each graph is the whole build's."""
    text = "\n".join([*HEAD, *TAIL, *TRICKY[name], "a2 = layers.LSTM(4)(h)", ""])
    compared = _Compared(monkeypatch)
    analysis = analyse(text, "tricky.py")
    assert analysis is not None
    layout = fix.Layout.of(analysis)
    assert layout is not None
    candidates = _edits(analysis, layout)
    assert len(candidates) >= 2, [f.code for f in analysis.findings]
    first, last = candidates[0], candidates[-1]
    for group in ([first, last], [last], [first], [first, last], [last], candidates):
        fix._counts.clear()  # each check builds its graph, though an earlier one had its text
        fix._check(analysis, layout, "tricky.py", group)
    assert compared.checks == 6
    assert layout.builds.counts["copied"] > 0
