"""KER102 time-distributed-on-vector."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, set_return_sequences
from kerascheck.graph.model import Graph
from kerascheck.rules.base import Confirm, Example, MessagePart, Report, Rule, Verification, describe, rank

CODE = "KER102"


def check(graph: Graph) -> Iterator[Report]:
    for app in graph.applications:
        if app.layer.kind != "TimeDistributed" or not app.inputs:
            continue
        x = app.inputs[0]
        if rank(x) != 2:
            continue
        message: list[MessagePart] = [
            f"{describe(app.layer)} needs a sequence (rank >= 3) but gets {shapes.format_shape(x.shape)}, "
            "a single vector per sample"
        ]
        if x.origin is not None:
            message += [f" from {describe(x.origin)} on line ", x.origin.call, " (return_sequences=False)"]
        yield Report(CODE, app.layer.call, tuple(message), app, x.origin)


def fix(report: Report) -> Edit | None:
    return set_return_sequences(report.rnn, True)


RULE = Rule(
    code=CODE,
    name="time-distributed-on-vector",
    summary="TimeDistributed applied to a rank-2 tensor, which has no time axis",
    words=("TimeDistributed",),
    what="""\
Finds `TimeDistributed(...)` applied to a rank-2 tensor `(batch, features)`: the output of an RNN
with `return_sequences=False` (the default), of `Flatten`, of global pooling, or an `Input` with a
one-dimensional shape.
""",
    why="""\
`TimeDistributed` applies its layer to every slice along axis 1, the time axis. A rank-2 tensor has
no time axis: Keras refuses to build the layer ("TimeDistributed Layer should be passed an
`input_shape` with at least 3 dimensions"). Usually the RNN before it was meant to return the whole
sequence.
""",
    example=Example(
        bad="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.GRU(16),  # (None, 16): one vector per sequence
    keras.layers.TimeDistributed(keras.layers.Dense(8)),  # needs (None, timesteps, features)
])
""",
        good="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.GRU(16, return_sequences=True),  # (None, 64, 16)
    keras.layers.Dense(8),  # (None, 64, 8)
])
""",
        line=6,
        column=5,
        message="TimeDistributed(Dense(8)) needs a sequence (rank >= 3) but gets (None, 16), a single vector per sample from GRU(16) on line 5 (return_sequences=False)",
        fix_gives_good=False,
    ),
    fix_text="Set `return_sequences=True` on the RNN that produced the vector, when there is one.",
    fix_applicability="safe",
    fix_safety="the model did not build before, so there is no trained behaviour to preserve.",
    verification=Verification(Confirm.REFUSED, return_sequences=True),
    reported_at="layer",
    check=check,
    fix=fix,
)
