"""KER104 per-sequence-output-per-step-target."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, set_return_sequences
from kerascheck.graph.model import Graph
from kerascheck.rules.base import ARRAY_WORDS, Confirm, Example, Report, Rule, Verification, describe, rank

CODE = "KER104"


def _mismatch(units: object, steps: object, width: object) -> bool:
    """True when ``(samples, steps, width)`` targets cannot be meant for ``(batch, units)`` outputs.

    Keras squeezes a trailing axis of 1, so ``(samples, horizon, 1)`` targets do fit a
    ``Dense(horizon)`` forecast: with ``width == 1`` it takes ``steps != units`` to be sure.
    """
    if not isinstance(width, int):
        return False
    if width != 1:
        return True
    return isinstance(steps, int) and isinstance(units, int) and steps != units


def check(graph: Graph) -> Iterator[Report]:
    for train in graph.train_calls:
        out, targets = train.output, train.targets
        if train.loss is None or out.origin is None or rank(out) != 2 or len(targets.shape) != 3:
            continue
        assert out.shape is not None  # rank 2
        if not _mismatch(out.shape[-1], targets.shape[1], targets.shape[2]):
            continue
        yield Report(
            CODE,
            train.call,
            (
                f"model outputs {shapes.format_shape(out.shape)}, one vector per sequence, since "
                f"{describe(out.origin)} on line ",
                out.origin.call,
                f" has return_sequences=False, but {train.method} gets targets of shape "
                f"{shapes.format_shape(targets.shape)}, one per timestep",
            ),
            train,
            out.origin,
        )


def fix(report: Report) -> Edit | None:
    return set_return_sequences(report.rnn, True)


RULE = Rule(
    code=CODE,
    name="per-sequence-output-per-step-target",
    summary="a model that outputs one vector per sequence is trained on one target per timestep",
    words=("LSTM", "GRU", "RNN"),
    also_words=ARRAY_WORDS,
    what="""\
Finds `fit`, `evaluate`, `train_on_batch` and `test_on_batch` calls whose targets have rank 3
`(samples, timesteps, features)` while the model outputs rank 2 `(batch, features)` because its
last RNN has `return_sequences=False`. It reports only when the targets' shape is known from the
file (NumPy arrays made with a literal shape, `reshape`, `to_categorical`) and the model was
compiled with a built-in loss. Keras squeezes a trailing axis of 1, so `(samples, horizon, 1)`
targets do fit a `Dense(horizon)` forecast: with such targets it reports only when the number of
steps and the model's output width are both known and differ.
""",
    why="""\
The RNN returns only its last output, so the model makes one prediction per sequence, while the
data holds one target per timestep. Keras either refuses the shapes at the first batch or, when
they happen to broadcast, trains on something else than intended.
""",
    example=Example(
        bad="""\
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.GRU(16),
    keras.layers.Dense(8, activation="softmax"),
])
model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
X = np.random.random((1000, 64, 15))
Y = np.random.random((1000, 64, 8))  # one target per timestep
model.fit(X, Y)
""",
        good="""\
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.GRU(16, return_sequences=True),
    keras.layers.Dense(8, activation="softmax"),
])
model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
X = np.random.random((1000, 64, 15))
Y = np.random.random((1000, 64, 8))  # one target per timestep
model.fit(X, Y)
""",
        line=12,
        column=1,
        message="model outputs (None, 8), one vector per sequence, since GRU(16) on line 6 has return_sequences=False, but fit gets targets of shape (1000, 64, 8), one per timestep",
    ),
    fix_text="Set `return_sequences=True` on that RNN.",
    fix_applicability="unsafe",
    fix_safety="it changes what the model computes, so weights trained before no longer mean the same thing, and the targets may be the mistake.",
    verification=Verification(Confirm.TARGET_RANK, return_sequences=True),
    reported_at="train",
    check=check,
    fix=fix,
)
