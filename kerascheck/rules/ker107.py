"""KER107 rank-mismatch: a layer gets a tensor of the wrong rank that no RNN answers for.

KER103 and KER106 report a layer that needs a sequence (or a vector) and gets the output of an
RNN whose ``return_sequences`` is to blame. The same refusal comes as often from elsewhere: an
``Input(shape=(features,))`` with no time axis, a ``Flatten``, ``Dense`` or global pooling before
an LSTM or a ``Conv1D``, a ``RepeatVector`` on a rank-3 input. Those have no one right fix, so
this rule has none: its message says what the layer needs, what it gets, and what would fit.
"""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit
from kerascheck.graph.model import UNKNOWN, Application, Graph, Shape, Tensor
from kerascheck.rules.base import Confirm, Example, Insert, MessagePart, Report, Rule, Verification, describe

CODE = "KER107"

# Recurrent layers whose input spec is rank 3 exactly: Keras refuses rank 4 and more at once (the
# generic RNN(cell) may build on them symbolically and fail only when run).
_RANK3_RNNS = frozenset({"LSTM", "GRU", "SimpleRNN"})


def _builds_on(app: Application, shape: Shape) -> bool:
    """Whether kerascheck's table says the layer takes ``shape`` (its other inputs unchanged), to
    outputs with no axis of size zero or less (a kernel wider than the steps: the table speaks of
    ranks, Keras refuses that too)."""
    result, error = shapes.infer(app.layer, [shape, *(t.shape for t in app.inputs[1:])], {})
    outputs = result.outputs or ()
    return error is None and not any(isinstance(d, int) and d <= 0 for out in outputs if out for d in out)


def _reshape(features: object) -> tuple[int, int] | None:
    """The ``Reshape`` target that turns ``(batch, features)`` into one feature per step."""
    if isinstance(features, int):
        return (features, 1)
    if features is None:  # Keras' own None: -1 takes whatever comes
        return (-1, 1)
    return None


def _steps_and_features(shape: tuple[object, ...]) -> tuple[int, int] | None:
    """The ``Reshape`` target that keeps the time axis and merges the others into features."""
    steps, rest = shape[1], shape[2:]
    if not (isinstance(steps, int) or steps is None) or not all(isinstance(d, int) for d in rest):
        return None
    features = 1
    for d in rest:
        assert isinstance(d, int)
        features *= d
    return (-1 if steps is None else steps, features)  # -1: Keras' own None steps


def _too_many_axes(app: Application, x: Tensor) -> bool:
    """An LSTM, GRU or SimpleRNN (or a Bidirectional of one) given rank 4 or more."""
    layer = app.layer.inner if app.layer.kind == "Bidirectional" else app.layer
    return layer is not None and layer.kind in _RANK3_RNNS and x.shape is not None and len(x.shape) >= 4


def insert(report: Report) -> Insert | None:
    """The layer ``--verify`` puts before the reported one, to show it builds on the rank it needs:
    ``Reshape((features, 1))`` before a sequence layer, ``Flatten()`` before a vector layer."""
    app = report.subject
    if not isinstance(app, Application) or not app.inputs or app.inputs[0].shape is None:
        return None
    shape = app.inputs[0].shape
    if len(shape) >= 4:
        merged = _steps_and_features(shape)
        if merged is None or not _builds_on(app, (shape[0], None if merged[0] < 0 else merged[0], merged[1])):
            return None
        return Insert("Reshape", (("target_shape", list(merged)),), f"Reshape({merged})")
    if len(shape) == 3:
        return Insert("Flatten", (), "Flatten()")
    target = _reshape(shape[-1])
    if len(shape) != 2 or target is None or not _builds_on(app, (shape[0], target[0] if target[0] > 0 else None, 1)):
        return None
    return Insert("Reshape", (("target_shape", list(target)),), f"Reshape({target})")


def _source(x: Tensor) -> list[MessagePart]:
    """Where the tensor comes from, for the message: the layer that made it, when one did."""
    producer = x.producer
    if producer is None:
        return []
    return [f" from {describe(producer.layer)} on line ", producer.site, ","]


def check(graph: Graph) -> Iterator[Report]:
    for app in graph.applications:
        spec = shapes.spec_of(app.layer)
        if spec is None or spec.consumer is None or app.error is None or not app.inputs:
            continue
        x = app.inputs[0]
        if x.shape is None or x.origin is not None or x.by_rnn:
            continue  # rank unknown, or an RNN answers for it (KER103, KER106), or one does on some path
        got = shapes.format_shape(x.shape)
        if spec.consumer == "sequence" and len(x.shape) == 2 and _builds_on(app, (x.shape[0], UNKNOWN, x.shape[1])):
            target = _reshape(x.shape[1])
            reshape = f"Reshape({target})" if target is not None else "Reshape((-1, 1))"
            head = f"{describe(app.layer)} needs a sequence (rank 3: batch, timesteps, features) but gets {got}"
            if x.producer is None:
                message: list[MessagePart] = [
                    f"{head}, which has no time axis: give the input one (shape=(timesteps, features)), "
                    f"or put {reshape} or, for token ids, Embedding before it"
                ]
            else:
                message = [
                    head,
                    *_source(x),
                    f" one vector per sample: put {reshape} (one feature per step) or RepeatVector(timesteps) before it",
                ]
            yield Report(CODE, app.site, tuple(message), app)
        elif spec.consumer == "sequence" and _too_many_axes(app, x):
            merged = _steps_and_features(x.shape)
            reshape = f"Reshape({merged})" if merged is not None else "Reshape((timesteps, features))"
            extra = len(x.shape) - 3
            message = [
                f"{describe(app.layer)} needs a sequence (rank 3: batch, timesteps, features) but gets {got}",
                *(_source(x) or [","]),
                f" {'one axis' if extra == 1 else f'{extra} axes'} too many: put {reshape} or "
                "TimeDistributed(Flatten()) before it, or drop the extra axes of the input",
            ]
            yield Report(CODE, app.site, tuple(message), app)
        elif spec.consumer == "vector" and len(x.shape) == 3 and _builds_on(app, (x.shape[0], UNKNOWN)):
            message = [
                f"{describe(app.layer)} needs a vector (rank 2: batch, features) but gets {got}",
                *(_source(x) or [","]),
                " a sequence: put Flatten(), GlobalAveragePooling1D() or an RNN with return_sequences=False before it",
            ]
            yield Report(CODE, app.site, tuple(message), app)


def fix(report: Report) -> Edit | None:
    return None  # there is no one right fix: the message says what would fit


RULE = Rule(
    code=CODE,
    name="rank-mismatch",
    summary="a layer that needs a sequence gets a vector (or one that needs a vector gets a sequence) that no RNN made",
    words=(
        "LSTM",
        "GRU",
        "RNN",
        "Conv1D",
        "Convolution1D",
        "Pooling1D",
        "Pool1D",
        "Permute",
        "RepeatVector",
        "UpSampling1D",
        "ZeroPadding1D",
        "Cropping1D",
        "SpatialDropout1D",
    ),
    what="""\
Finds a layer that needs a sequence `(batch, timesteps, features)` (an RNN, `Bidirectional`,
`Conv1D`, 1-D pooling, global 1-D pooling, `Permute((2, 1))`, `UpSampling1D`, ...) applied to a
tensor of rank 2 that no RNN made: an `Input(shape=(features,))` with no time axis, the output of
`Flatten`, `Dense` or global pooling; an `LSTM`, `GRU` or `SimpleRNN` applied to a tensor of rank
4 or more (`input_shape=(20, 85, 1)`, one axis too many). And `RepeatVector`, which needs a vector, applied to a tensor
of rank 3 that no RNN made. Where an RNN's `return_sequences` is to blame, KER103 or KER106
reports it instead.
""",
    why="""\
Keras refuses to build the model: "Input 0 of layer "lstm" is incompatible with the layer:
expected ndim=3, found ndim=2", the most common error Keras users meet with recurrent layers. A
vector of 15 features is not 15 time steps until something says so.
""",
    example=Example(
        bad="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(15,)),
    keras.layers.LSTM(16),  # needs (None, timesteps, features)
    keras.layers.Dense(1),
])
""",
        good="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(15, 1)),
    keras.layers.LSTM(16),  # needs (None, timesteps, features)
    keras.layers.Dense(1),
])
""",
        line=5,
        column=5,
        message="LSTM(16) needs a sequence (rank 3: batch, timesteps, features) but gets (None, 15), which has no "
        "time axis: give the input one (shape=(timesteps, features)), or put Reshape((15, 1)) or, for token ids, "
        "Embedding before it",
        fix_gives_good=False,
    ),
    fix_text="""\
A time axis can come from the data (`Input(shape=(timesteps, features))` and arrays of
that shape), from `Reshape`, `RepeatVector` or `Embedding`, and only the author knows which is
meant; a sequence becomes a vector by `Flatten`, global pooling or an RNN without
`return_sequences`.""",
    fix_applicability="none",
    fix_safety="kerascheck does not guess which of them the model needs.",
    verification=Verification(Confirm.RESHAPED, insert=insert),
    reported_at="site",
    check=check,
    fix=fix,
)
