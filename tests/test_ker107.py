"""KER107: what its message suggests, the layer ``--verify`` puts before the reported one, and
where it leaves the finding to KER103/KER106 or says nothing."""

from __future__ import annotations

import pytest

from kerascheck.check import analyse
from kerascheck.fix import offers
from kerascheck.rules import ker107

HEAD = "import sys\nimport keras\nfrom keras import layers\nN = int(sys.argv[1])\n"


def _reports(body: str) -> list:
    analysis = analyse(HEAD + body, "m.py")
    return [] if analysis is None else [report for _, report in analysis.results]


def _one(body: str):
    reports = _reports(body)
    assert [r.code for r in reports] == ["KER107"], reports
    return reports[0]


def _text(report) -> str:
    return "".join(part if isinstance(part, str) else "<line>" for part in report.message)


@pytest.mark.parametrize(
    ("body", "said", "insert"),
    [
        # An input with no time axis: a time axis in the input, Reshape, Embedding.
        (
            "m = keras.Sequential([keras.Input(shape=(15,)), layers.LSTM(4)])",
            "gets (None, 15), which has no time axis: give the input one (shape=(timesteps, features)), "
            "or put Reshape((15, 1)) or, for token ids, Embedding before it",
            ("Reshape", (("target_shape", [15, 1]),)),
        ),
        # Keras' own None as the number of features: Reshape((-1, 1)) takes any.
        (
            "y = layers.GRU(4)(keras.Input(shape=(None,)))",
            "gets (None, None), which has no time axis",
            ("Reshape", (("target_shape", [-1, 1]),)),
        ),
        # A vector made by a layer: where it comes from, Reshape or RepeatVector.
        (
            "x = layers.Flatten()(keras.Input(shape=(10, 3)))\ny = layers.Conv1D(4, 3)(x)",
            "gets (None, 30) from Flatten() on line <line>, one vector per sample: put Reshape((30, 1)) "
            "(one feature per step) or RepeatVector(timesteps) before it",
            ("Reshape", (("target_shape", [30, 1]),)),
        ),
        # A size kerascheck does not know: the refusal alone is checked.
        (
            "y = layers.LSTM(4)(layers.Dense(N)(keras.Input(shape=(3,))))",
            "gets (None, ?) from Dense(...) on line <line>, one vector per sample: put Reshape((-1, 1))",
            None,
        ),
        # A kernel wider than the steps Reshape would make: no layer to put before it.
        (
            "y = layers.Conv1D(4, 5)(keras.Input(shape=(3,)))",
            "gets (None, 3), which has no time axis",
            None,
        ),
        # One axis too many for an LSTM: Reshape merges the extra axes into the features.
        (
            "m = keras.Sequential([layers.LSTM(4, input_shape=(20, 85, 1))])",
            "gets (None, 20, 85, 1), one axis too many: put Reshape((20, 85)) or TimeDistributed(Flatten()) "
            "before it, or drop the extra axes of the input",
            ("Reshape", (("target_shape", [20, 85]),)),
        ),
        (
            "y = layers.GRU(4)(keras.Input(shape=(None, N, 3)))",
            "gets (None, None, ?, 3), one axis too many: put Reshape((timesteps, features))",
            None,
        ),
        # RepeatVector on a sequence: Flatten, global pooling, an RNN that returns a vector.
        (
            "y = layers.RepeatVector(2)(keras.Input(shape=(10, 3)))",
            "RepeatVector(2) needs a vector (rank 2: batch, features) but gets (None, 10, 3), a sequence: put "
            "Flatten(), GlobalAveragePooling1D() or an RNN with return_sequences=False before it",
            ("Flatten", ()),
        ),
    ],
)
def test_message_and_the_layer_verify_puts_before_it(body: str, said: str, insert: tuple | None) -> None:
    report = _one(body)
    assert said in _text(report)
    made = ker107.insert(report)
    assert (None if made is None else (made.cls, made.config)) == insert


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("m = keras.Sequential([keras.Input(shape=(10, 3)), layers.GRU(8), layers.GRU(4)])", "KER103"),
        (
            "m = keras.Sequential([keras.Input(shape=(10, 3)), layers.Dropout(0.1), layers.LSTM(8), layers.Conv1D(2, 2)])",
            "KER103",
        ),
        (
            "m = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(8, return_sequences=True), "
            "layers.RepeatVector(2)])",
            "KER106",
        ),
    ],
)
def test_where_an_rnn_is_to_blame_the_other_rule_reports_alone(body: str, code: str) -> None:
    assert [r.code for r in _reports(body)] == [code]


@pytest.mark.parametrize(
    "body",
    [
        "m = keras.Sequential([keras.Input(shape=(15,)), layers.Embedding(100, 8), layers.LSTM(4)])",
        "m = keras.Sequential([keras.Input(shape=(15,)), layers.Reshape((5, 3)), layers.LSTM(4)])",
        "m = keras.Sequential([keras.Input(shape=(15,)), layers.Dense(4), layers.RepeatVector(3), layers.GRU(2)])",
        "m = keras.Sequential([keras.Input(shape=(10, 3, 2)), layers.RNN(layers.LSTMCell(4))])",  # builds on rank 4
        "m = keras.Sequential([keras.Input(shape=(10, 3, 2)), layers.Conv1D(4, 2)])",  # Keras 3 takes rank 4
        "m = keras.Sequential([keras.Input(shape=(4,)), layers.Permute((2, 1, 3))])",  # needs rank 4
        "m = keras.Sequential([layers.Conv1D(8, 3, input_dim=4)])",  # Keras 1/2 and 3 disagree on the rank
        "y = layers.LSTM(4)(keras.layers.Lambda(lambda t: t[..., None])(keras.Input(shape=(15,))))",
        "y = layers.LSTM(4)(keras.Input(shape=SHAPE))",
    ],
)
def test_silent_where_the_rank_fits_or_is_not_known(body: str) -> None:
    assert [r.code for r in _reports(body)] == []


def test_no_fix_is_offered() -> None:
    text = HEAD + "m = keras.Sequential([keras.Input(shape=(15,)), layers.LSTM(4)])\n"
    analysis = analyse(text, "m.py")
    assert analysis is not None and [f.code for f in analysis.findings] == ["KER107"]
    assert offers(analysis, "m.py") == []
