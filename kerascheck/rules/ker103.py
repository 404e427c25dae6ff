"""KER103 missing-return-sequences."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, set_return_sequences
from kerascheck.graph.model import UNKNOWN, Application, Graph, Shape
from kerascheck.rules.base import Confirm, Example, Report, Rule, Verification, describe, rank

CODE = "KER103"


def check(graph: Graph) -> Iterator[Report]:
    for app in graph.applications:
        spec = shapes.spec_of(app.layer)
        if spec is None or spec.consumer != "sequence" or app.error is None or not app.inputs:
            continue
        x = app.inputs[0]
        if rank(x) != 2 or x.origin is None or not _builds_on_sequence(app, x.shape):
            continue
        yield Report(
            CODE,
            app.site,
            (
                f"{describe(app.layer)} needs a sequence (rank 3) but gets {shapes.format_shape(x.shape)}, "
                f"one vector per sequence: {describe(x.origin)} on line ",
                x.origin.call,
                " has return_sequences=False",
            ),
            app,
            x.origin,
        )


def _builds_on_sequence(app: Application, vector: Shape) -> bool:
    """Whether the layer takes the sequence the fix would give it (``Permute((2, 1))`` does,
    ``Permute((2, 1, 3))`` needs rank 4 and does not)."""
    assert vector is not None
    sequence: Shape = (vector[0], UNKNOWN, *vector[1:])
    _, error = shapes.infer(app.layer, [sequence, *(t.shape for t in app.inputs[1:])], {})
    return error is None


def fix(report: Report) -> Edit | None:
    return set_return_sequences(report.rnn, True)


RULE = Rule(
    code=CODE,
    name="missing-return-sequences",
    summary="a layer that needs a sequence gets the vector of an RNN with return_sequences=False",
    words=("LSTM", "GRU", "RNN"),
    what="""\
Finds a layer that needs a sequence `(batch, timesteps, features)` (an RNN, `Bidirectional`,
`Conv1D`, 1-D pooling, global 1-D pooling, `Permute((2, 1))`, ...) that receives the rank-2
output of an RNN with `return_sequences=False` (the default), directly or through layers that
keep the rank (`Dropout`, `Activation`, normalization, `Masking`, `Dense`,
`TimeDistributed(Dense)`).
""",
    why="""\
Without `return_sequences=True` an RNN returns only its last output, one vector per sequence.
Stacking another RNN (or a convolution over time) on it fails when the model is built:
"Input 0 of layer "lstm_1" is incompatible with the layer: expected ndim=3, found ndim=2".
""",
    example=Example(
        bad="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(32),
    keras.layers.LSTM(16),  # needs (None, timesteps, features)
])
""",
        good="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(32, return_sequences=True),
    keras.layers.LSTM(16),  # needs (None, timesteps, features)
])
""",
        line=6,
        column=5,
        message="LSTM(16) needs a sequence (rank 3) but gets (None, 32), one vector per sequence: LSTM(32) on line 5 has return_sequences=False",
    ),
    fix_text="Set `return_sequences=True` on the RNN that produced the vector (inside `Bidirectional` too).",
    fix_applicability="safe",
    fix_safety="the model did not build before.",
    verification=Verification(Confirm.REFUSED, return_sequences=True),
    reported_at="site",
    check=check,
    fix=fix,
)
