"""KER105 per-step-output-per-sequence-target."""

from __future__ import annotations

from typing import Iterator

from kerascheck import shapes
from kerascheck.graph.model import UNKNOWN, Graph
from kerascheck.names import SPARSE_LOSSES
from kerascheck.rules.base import Report, describe, rank

CODE = "KER105"
NAME = "per-step-output-per-sequence-target"
SUMMARY = "a model that outputs one vector per timestep is trained on one target per sequence"
DOC = """\
## What it does

Finds `fit`, `evaluate`, `train_on_batch` and `test_on_batch` calls whose targets have rank 2
`(samples, features)` while the model outputs rank 3 `(batch, timesteps, features)` because its last
RNN has `return_sequences=True` and nothing after it reduces the time axis. It reports only when the
targets' shape is known from the file, their last axis matches the model's (so they are one target
per sequence, not one integer label per timestep), and the model was compiled with a built-in loss
that is not sparse (`sparse_categorical_crossentropy` takes `(samples, timesteps)` labels for a
`(batch, timesteps, classes)` output, which is right).

## Why it matters

Keras 3 does not raise here: losses such as `mse` expand the targets to `(samples, 1, features)`
and broadcast them over every timestep. The model trains to predict the sequence's target at every
step, which is rarely what was meant, and nothing in the training log says so.

## Example

```python
model = keras.Sequential([
    keras.Input(shape=(10, 3)),
    keras.layers.LSTM(32, return_sequences=True),   # (None, 10, 32)
    keras.layers.Dense(1),                          # (None, 10, 1)
])
model.compile(loss="mse", optimizer="adam")
model.fit(X, np.zeros((100, 1)))                    # one target per sequence
```

Use instead `keras.layers.LSTM(32)`: the model then outputs `(None, 1)`.

## Fix

Set `return_sequences=False` on that RNN. The fix is unsafe: it changes what the model computes, and
the targets may be the mistake.
"""


def check(graph: Graph) -> Iterator[Report]:
    for train in graph.train_calls:
        out, targets = train.output, train.targets
        if train.loss is None or train.loss in SPARSE_LOSSES or out.origin is None:
            continue
        if rank(out) != 3 or len(targets.shape) != 2:
            continue
        assert out.shape is not None
        time, units, width = out.shape[1], out.shape[2], targets.shape[1]
        if not isinstance(units, int) or width != units or time is UNKNOWN or time == width:
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
                "over every timestep without an error",
            ),
        )
