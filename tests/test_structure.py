"""The shape of the code base the issue asked for, held by tests: no import cycle between the
builder and the call semantics, one options object through the analysis, one table that the
verifier reads, and the graph keeping what the builder saw."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

from kerascheck import check, shapes
from kerascheck.check import Options, analyse
from kerascheck.verify import spec

ROOT = Path(__file__).resolve().parent.parent
TWO_RULES = """\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(32),
    keras.layers.LSTM(16, return_sequences=True),
    keras.layers.TimeDistributed(keras.layers.Dense(8)),
])
"""


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}


def test_the_call_semantics_do_not_import_the_builder() -> None:
    assert "kerascheck.graph.builder" not in _imports(ROOT / "kerascheck/graph/keras_calls.py")
    assert "kerascheck.graph.keras_calls" not in _imports(ROOT / "kerascheck/graph/evaluator.py")


def test_one_options_object_chooses_the_rules() -> None:
    everything = analyse(TWO_RULES)
    assert everything is not None and {f.code for f in everything.findings} == {"KER101", "KER103"}
    only = analyse(TWO_RULES, options=Options(select=("KER101",)))
    assert only is not None and [f.code for f in only.findings] == ["KER101"]
    assert not {"select", "ignore", "noqa", "line_label"} & set(inspect.signature(analyse).parameters)
    assert check.analyse_tree.__code__.co_argcount == 5  # tree, text, path, options, depth


def test_the_verifier_reads_layer_knowledge_from_the_table() -> None:
    assert spec.ALLOWLIST == shapes.BUILDABLE
    assert shapes.TABLE["LSTM"].keras1["output_dim"] == "units" and "units" in shapes.TABLE["LSTM"].sizes
    assert shapes.TABLE["Dense"].never_shapes("kernel_initializer") and not shapes.TABLE["Dense"].never_shapes("units")
    assert {name for name, entry in shapes.TABLE.items() if entry.inputs == "list"} == shapes.LIST_INPUT
    source = (ROOT / "kerascheck/verify/spec.py").read_text(encoding="utf-8")
    for gone in ("\n_SIZES =", "_COSMETIC", "_RENAMED", '"MultiHeadAttention"', '("TimeDistributed", "Bidirectional")'):
        assert gone not in source, gone


def test_the_graph_keeps_the_keywords_of_each_application() -> None:
    analysis = analyse(
        "import keras\n"
        "x = keras.Input(shape=(5, 3))\n"
        "s = keras.Input(shape=(4,))\n"
        "y = keras.layers.LSTM(4)(x, initial_state=[s, s], training=True)\n"
        "z = keras.layers.TimeDistributed(keras.layers.Dense(2))(y)\n"
    )
    assert analysis is not None
    lstm = next(app for app in analysis.graph.applications if app.layer.kind == "LSTM")
    assert set(lstm.call_kwargs) == {"initial_state", "training"}
    assert spec._call_keywords(lstm) == ["initial_state"]


def test_collecting_the_tests_imports_no_keras() -> None:
    """The files that run Keras import it when a test first needs it (conftest's KERAS_FILES)."""
    from tests.conftest import IMPORTED_WHEN_COLLECTED

    assert IMPORTED_WHEN_COLLECTED == []


def test_the_test_modules_are_rewritten_once_for_every_process() -> None:
    """Each test module's rewritten code is cached where pytest reads it (conftest's
    ``cache_rewritten_tests``), even where PYTHONDONTWRITEBYTECODE is set: should pytest's
    functions change, this says so instead of every process rewriting every module again."""
    from _pytest.assertion import rewrite

    from tests.conftest import ROOT, rewritten_pyc

    modules = sorted((ROOT / "tests").glob("test_*.py"))
    assert len(modules) > 40
    assert [p.name for p in modules if rewrite._read_pyc(p, rewritten_pyc(p)) is None] == []
