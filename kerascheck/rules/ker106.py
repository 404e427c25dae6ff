"""KER106 sequence-into-vector-layer."""

from __future__ import annotations

from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, set_return_sequences
from kerascheck.graph.model import Graph
from kerascheck.rules.base import Report, describe, rank

CODE = "KER106"
NAME = "sequence-into-vector-layer"
FIX_APPLICABILITY = "safe"
SUMMARY = "a layer that needs a vector gets the sequence of an RNN with return_sequences=True"
DOC = """\
## What it does

Finds a layer that needs a rank-2 tensor `(batch, features)`, such as `RepeatVector`, that
receives the rank-3 output of an RNN with `return_sequences=True`, directly or through layers that
keep the rank (`Dropout`, `Activation`, normalization, `Masking`, `Dense`, `TimeDistributed(Dense)`).

## Why it matters

`RepeatVector(n)` turns one vector into a sequence of `n` copies: the encoder of a sequence
autoencoder must hand it a single summary vector. Given a whole sequence, Keras refuses to build
it: "Input 0 of layer "repeat_vector" is incompatible with the layer: expected ndim=2, found ndim=3".

## Example

```python
model = keras.Sequential([
    keras.Input(shape=(30, 1)),
    keras.layers.LSTM(64, return_sequences=True),   # (None, 30, 64)
    keras.layers.RepeatVector(30),                  # needs (None, features)
    keras.layers.LSTM(64, return_sequences=True),
])
```

Use instead:

```python
    keras.layers.LSTM(64),                          # (None, 64)
    keras.layers.RepeatVector(30),                  # (None, 30, 64)
```

## Fix

Set `return_sequences=False` on that RNN (or drop the argument). The fix is safe: the model did
not build before.
"""


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
