"""KER105 per-step-output-per-sequence-target."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, set_return_sequences
from kerascheck.graph.model import Graph
from kerascheck.names import SPARSE_LOSSES
from kerascheck.rules.base import ARRAY_WORDS, Confirm, Example, Report, Rule, Verification, describe, rank

CODE = "KER105"


def _per_sequence(steps: object, units: object, width: object) -> bool:
    """True when ``(samples, width)`` targets are one per sequence for ``(batch, steps, units)``.

    They are when their width is the output's. The one right reading of rank-2 targets for a
    rank-3 output is one scalar per timestep (``width == steps`` with ``units == 1``, which Keras
    expands to ``(samples, steps, 1)``): where that cannot be ruled out, say nothing.
    """
    if not isinstance(units, int) or width != units:
        return False
    if units != 1:
        return steps != width
    return steps is None or (isinstance(steps, int) and steps != width)


def check(graph: Graph) -> Iterator[Report]:
    for train in graph.train_calls:
        out, targets = train.output, train.targets
        if train.loss is None or train.loss in SPARSE_LOSSES or out.origin is None:
            continue
        if rank(out) != 3 or len(targets.shape) != 2:
            continue
        assert out.shape is not None
        if not _per_sequence(out.shape[1], out.shape[2], targets.shape[1]):
            continue
        yield Report(
            CODE,
            train.call,
            (
                f"model outputs {shapes.format_shape(out.shape)}, one vector per timestep, since "
                f"{describe(out.origin)} on line ",
                out.origin.call,
                f" has return_sequences=True, but {train.method} gets targets of shape "
                f"{shapes.format_shape(targets.shape)}, one per sequence; the loss broadcasts them "
                "over the timesteps or fails at the first batch",
            ),
            train,
            out.origin,
        )


def fix(report: Report) -> Edit | None:
    return set_return_sequences(report.rnn, False)


RULE = Rule(
    code=CODE,
    name="per-step-output-per-sequence-target",
    summary="a model that outputs one vector per timestep is trained on one target per sequence",
    words=("LSTM", "GRU", "RNN"),
    also_words=ARRAY_WORDS,
    what="""\
Finds `fit`, `evaluate`, `train_on_batch` and `test_on_batch` calls whose targets have rank 2
`(samples, features)` while the model outputs rank 3 `(batch, timesteps, features)` because its last
RNN has `return_sequences=True` and nothing after it reduces the time axis. It reports only when the
targets' shape is known from the file, their width matches the model's output width (so they are
one target per sequence), they cannot be one scalar per timestep (for an output of width 1 that
takes a known number of timesteps other than the targets' width; for any width, a number of
timesteps equal to the targets' width leaves the two readings open, so it says nothing), and the
model was compiled with a built-in loss that is not sparse (`sparse_categorical_crossentropy` takes `(samples, timesteps)`
labels for a `(batch, timesteps, classes)` output, which is right).
""",
    why="""\
Nothing complains when the model is built. With an output of width 1, Keras 3 expands `(samples, 1)`
targets to `(samples, 1, 1)` and `mse` broadcasts them over every timestep without an error: the
model trains to predict the sequence's target at every step, which is rarely what was meant, and
nothing in the training log says so. With wider outputs the loss fails at the first batch.
""",
    example=Example(
        bad="""\
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(10, 3)),
    keras.layers.LSTM(32, return_sequences=True),
    keras.layers.Dense(1),
])
model.compile(loss="mse", optimizer="adam")
X = np.random.random((100, 10, 3))
y = np.zeros((100, 1))  # one target per sequence
model.fit(X, y)
""",
        good="""\
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(10, 3)),
    keras.layers.LSTM(32, return_sequences=False),
    keras.layers.Dense(1),
])
model.compile(loss="mse", optimizer="adam")
X = np.random.random((100, 10, 3))
y = np.zeros((100, 1))  # one target per sequence
model.fit(X, y)
""",
        line=12,
        column=1,
        message="model outputs (None, 10, 1), one vector per timestep, since LSTM(32) on line 6 has return_sequences=True, but fit gets targets of shape (100, 1), one per sequence; the loss broadcasts them over the timesteps or fails at the first batch",
    ),
    fix_text="Set `return_sequences=False` on that RNN.",
    fix_applicability="unsafe",
    fix_safety="it changes what the model computes, and the targets may be the mistake.",
    verification=Verification(Confirm.TARGET_RANK, return_sequences=False),
    reported_at="train",
    check=check,
    fix=fix,
)
