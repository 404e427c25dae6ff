"""KER106 sequence-into-vector-layer."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, set_return_sequences
from kerascheck.graph.model import Graph
from kerascheck.rules.base import Confirm, Example, Report, Rule, Verification, describe, rank

CODE = "KER106"


def check(graph: Graph) -> Iterator[Report]:
    for app in graph.applications:
        spec = shapes.spec_of(app.layer)
        if spec is None or spec.consumer != "vector" or app.error is None or not app.inputs:
            continue
        x = app.inputs[0]
        if rank(x) != 3 or x.origin is None:
            continue
        yield Report(
            CODE,
            app.site,
            (
                f"{describe(app.layer)} needs a vector (rank 2) but gets {shapes.format_shape(x.shape)}, "
                f"a whole sequence: {describe(x.origin)} on line ",
                x.origin.call,
                " has return_sequences=True",
            ),
            app,
            x.origin,
        )


def fix(report: Report) -> Edit | None:
    return set_return_sequences(report.rnn, False)


RULE = Rule(
    code=CODE,
    name="sequence-into-vector-layer",
    summary="a layer that needs a vector gets the sequence of an RNN with return_sequences=True",
    words=("LSTM", "GRU", "RNN"),
    what="""\
Finds a layer that needs a rank-2 tensor `(batch, features)`, such as `RepeatVector`, that
receives the rank-3 output of an RNN with `return_sequences=True`, directly or through layers that
keep the rank (`Dropout`, `Activation`, normalization, `Masking`, `Dense`, `TimeDistributed(Dense)`).
""",
    why="""\
`RepeatVector(n)` turns one vector into a sequence of `n` copies: the encoder of a sequence
autoencoder must hand it a single summary vector. Given a whole sequence, Keras refuses to build
it: "Input 0 of layer "repeat_vector" is incompatible with the layer: expected ndim=2, found ndim=3".
""",
    example=Example(
        bad="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(32, return_sequences=True),
    keras.layers.RepeatVector(10),  # needs (None, features)
    keras.layers.LSTM(32, return_sequences=True),
])
""",
        good="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(32, return_sequences=False),
    keras.layers.RepeatVector(10),  # needs (None, features)
    keras.layers.LSTM(32, return_sequences=True),
])
""",
        line=6,
        column=5,
        message="RepeatVector(10) needs a vector (rank 2) but gets (None, 64, 32), a whole sequence: LSTM(32) on line 5 has return_sequences=True",
    ),
    fix_text="Set `return_sequences=False` on that RNN (or drop the argument).",
    fix_applicability="safe",
    fix_safety="the model did not build before.",
    verification=Verification(Confirm.REFUSED, return_sequences=False),
    reported_at="site",
    check=check,
    fix=fix,
)
