"""KER101 redundant-time-distributed."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, unwrap
from kerascheck.graph.model import Application, Graph
from kerascheck.rules.base import Confirm, Example, Report, Rule, Verification, describe, rank

CODE = "KER101"


def check(graph: Graph) -> Iterator[Report]:
    for app in graph.applications:
        layer, inner = app.layer, app.layer.inner
        if layer.kind != "TimeDistributed" or inner is None or inner.kind != "Dense":
            continue
        x = app.inputs[0]
        r = rank(x)
        if r is None or r < 3:
            continue
        assert x.shape is not None
        out = app.outputs[0].shape if app.outputs else None
        params = shapes.dense_parameters(inner, x.shape[-1])
        same_params = f"same {params} parameters" if params is not None else "same parameters"
        yield Report(
            CODE,
            layer.call,
            (
                f"{describe(layer)} on {shapes.format_shape(x.shape)} is the same as {describe(inner)}: "
                f"same output {shapes.format_shape(out)}, {same_params}; "
                "Dense already applies to the last axis",
            ),
            app,
        )


def fix(report: Report) -> Edit | None:
    assert isinstance(report.subject, Application)
    return unwrap(report.subject.layer.call)


RULE = Rule(
    code=CODE,
    name="redundant-time-distributed",
    summary="TimeDistributed(Dense) on a sequence is the same as Dense",
    words=("TimeDistributed",),
    what="""\
Finds `TimeDistributed(Dense(...))` applied to a tensor of rank 3 or more, such as the output of
an LSTM or GRU with `return_sequences=True`. The `Dense` may be built first and wrapped later
(`d = Dense(8)` ... `TimeDistributed(d)`).
""",
    why="""\
Since Keras 2.0, `Dense` applies its kernel to the last axis of an input of any rank. On a
`(batch, timesteps, features)` tensor, `Dense(n)` already computes one output per timestep with
one shared kernel, which is exactly what the wrapper does. Both forms give the same output shape
and the same parameter count (`features * n + n`), so the wrapper adds nothing but an extra layer
in the summary and, in Keras 3, a slower per-timestep loop.
""",
    example=Example(
        bad="""\
import keras

inputs = keras.Input(shape=(64, 15))
x = keras.layers.GRU(16, return_sequences=True)(inputs)  # (None, 64, 16)
x = keras.layers.TimeDistributed(keras.layers.Dense(15))(x)  # (None, 64, 15), 255 parameters
model = keras.Model(inputs, x)
""",
        good="""\
import keras

inputs = keras.Input(shape=(64, 15))
x = keras.layers.GRU(16, return_sequences=True)(inputs)  # (None, 64, 16)
x = keras.layers.Dense(15)(x)  # (None, 64, 15), 255 parameters
model = keras.Model(inputs, x)
""",
        line=5,
        column=5,
        message="TimeDistributed(Dense(15)) on (None, 64, 16) is the same as Dense(15): same output (None, 64, 15), same 255 parameters; Dense already applies to the last axis",
    ),
    fix_text="Unwrap to the inner `Dense(...)`, moving a `name=` given to the wrapper onto the Dense.",
    fix_applicability="unsafe",
    fix_safety="the layer's path changes, so weights saved from the old model (by layer name or in a checkpoint) no longer load into the new one without a mapping.",
    verification=Verification(Confirm.SAME_MODEL),
    reported_at="layer",
    check=check,
    fix=fix,
)
