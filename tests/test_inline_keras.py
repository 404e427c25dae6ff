"""Keras is the oracle for what a helper of the file returns (``Builder.inline``): each program
below is checked by kerascheck and built in the installed Keras (imported once, for the module);
the shapes kerascheck's findings state are the shapes Keras gives, the wrapper it calls
redundant gives what the unwrapped Dense gives, and the call it says fails does fail."""

from __future__ import annotations

import re
import textwrap
import warnings
from typing import Any

import pytest

from kerascheck import check_source
from tests.conftest import keras_or_skip

keras = keras_or_skip()  # imported by the first test: never when collected (see conftest's KERAS_FILES)

HEADER = """\
import keras
from keras.layers import GRU, LSTM, Dense, Dropout, LayerNormalization, RepeatVector, TimeDistributed
seq = GRU(8, return_sequences=True)(keras.Input(shape=(10, 4)))
vec = GRU(8)(keras.Input(shape=(10, 4)))
"""

# Each program ends in the TimeDistributed(Dense) kerascheck calls redundant; built in Keras
# without that line, ``out`` (or the expression beside the program) is what the wrapper gets.
PROGRAMS = {
    "a helper": """\
        def f(x):
            return Dropout(0.1)(x)
        out = f(seq)
        TimeDistributed(Dense(5))(out)
        """,
    "keywords and defaults": """\
        def g(x, rate=0.1, *, times=1):
            for _ in range(times):
                x = Dropout(rate)(x)
            return x
        out = g(x=seq, times=2)
        TimeDistributed(Dense(5))(out)
        """,
    "a model given as an argument": """\
        def add_rnn(m, units, sequences=False):
            m.add(LSTM(units, return_sequences=sequences))
        model = keras.Sequential([keras.Input(shape=(10, 4))])
        add_rnn(model, 16, sequences=True)
        add_rnn(model, 8)
        model.add(RepeatVector(3))
        model.add(TimeDistributed(Dense(2)))
        """,
    "two ranks, the sequence": """\
        def normed(x):
            return LayerNormalization()(x)
        normed(vec)
        out = normed(seq)
        TimeDistributed(Dense(3))(out)
        """,
}

OUT = {"a model given as an argument": "model(keras.Input(shape=(10, 4)))"}

_SHAPE = re.compile(r"on (\([^)]*\)) is the same as Dense\((\d+)\): same output (\([^)]*\))")


def _shape(text: str) -> tuple[int | None, ...]:
    return tuple(None if part.strip() == "None" else int(part) for part in text.strip("()").split(","))


def _built(program: str) -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        exec(compile(HEADER + textwrap.dedent(program), "<program>", "exec"), namespace)
    return namespace


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_shapes_a_helpers_finding_states_are_keras(name: str) -> None:
    text = HEADER + textwrap.dedent(PROGRAMS[name])
    [finding] = [f for f in check_source(text, "t.py") if f.code == "KER101"]
    match = _SHAPE.search(finding.message)
    assert match is not None, finding.message
    given, units, output = _shape(match[1]), int(match[2]), _shape(match[3])
    lines = textwrap.dedent(PROGRAMS[name]).splitlines()
    namespace = _built("\n".join(lines[:-1]) + "\n" + f"out = {OUT.get(name, 'out')}\n")
    out = namespace["out"]
    assert tuple(out.shape) == given
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        wrapped = keras.layers.TimeDistributed(keras.layers.Dense(units))(out)
        plain = keras.layers.Dense(units)(out)
    assert tuple(wrapped.shape) == tuple(plain.shape) == output


def test_the_vector_a_helper_gives_fails_where_kerascheck_says() -> None:
    program = """\
        def normed(x):
            return LayerNormalization()(x)
        normed(seq)
        out = normed(vec)
        TimeDistributed(Dense(3))(out)
        """
    text = HEADER + textwrap.dedent(program)
    assert [f.code for f in check_source(text, "t.py")] == ["KER102"]
    with pytest.raises(ValueError):
        _built(program)
    assert tuple(_built(program.replace("TimeDistributed(Dense(3))(out)", ""))["out"].shape) == (None, 8)


def test_a_module_model_a_helper_changed_builds_where_kerascheck_is_silent() -> None:
    program = """\
        def to_sequences():
            model.add(RepeatVector(10))
        model = keras.Sequential([keras.Input(shape=(10, 4)), LSTM(8)])
        to_sequences()
        model.add(LSTM(4))
        """
    assert check_source(HEADER + textwrap.dedent(program), "t.py") == []
    assert tuple(_built(program)["model"].output_shape) == (None, 4)
