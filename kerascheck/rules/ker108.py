"""KER108 input-rank-mismatch."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import product

from kerascheck import shapes
from kerascheck.edits import Edit
from kerascheck.graph.model import UNKNOWN, Application, Const, Dim, Graph, InputCall, Layer, Tensor
from kerascheck.rules.base import ARRAY_WORDS, Confirm, Example, Report, Rule, Verification

CODE = "KER108"
_OTHER = UNKNOWN  # a size that is not 1 (and not known otherwise)
# Layers whose weights are made for the last axis of their first input: given another size there
# (after Keras squeezed or expanded a trailing 1), Keras 3.15 refuses them, in a Sequential model
# too, where nothing else compares the data's axes with the declared input's.
_WEIGHTS_ON_LAST_AXIS = frozenset({"Dense", "LSTM", "GRU", "SimpleRNN", "Conv1D", "Conv2D", "Conv3D"})
# Layers with no weights that hand on what they get, shape and all: the layer after them is the one
# whose weights were made for the declared input's last axis.
_PASSES_AS_IT_IS = frozenset({"Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "Activation"})


def _known(d: Dim) -> bool:
    return isinstance(d, int)


def _refuses_one(model: tuple[Dim, ...], data: tuple[Dim, ...], axes: bool, last_axis: bool) -> bool:
    """Keras 3's own checks, with every size known or known not to be 1.

    A functional model's input spec first (``axes``): a trailing axis of 1 is dropped from both
    shapes, then each axis both shapes have is compared, the batch axis never. Then any model:
    the same rank passes, one more axis passes when it is a trailing 1 (squeezed), one less when
    the model's last axis is 1 (expanded); any other rank is refused. Then, with ``last_axis``
    (the first layer's weights are made for the input's last axis), the data's last axis as Keras
    passes it on is compared with the declared one.
    """
    if axes:
        spec = (None,) + model[1:]
        given = data[:-1] if data and data[-1] == 1 else data
        spec = spec[:-1] if spec and spec[-1] == 1 else spec
        if any(_known(a) and _known(b) and a != b for a, b in zip(spec, given)):
            return True
    if len(data) == len(model):
        passed: Dim = data[-1] if data else None
    elif len(data) == len(model) + 1 and data[-1] == 1:
        passed = data[-2] if len(data) > 1 else None
    elif len(data) == len(model) - 1 and model[-1] == 1:
        passed = 1
    else:
        return True
    return last_axis and len(model) > 1 and _known(passed) and _known(model[-1]) and passed != model[-1]


def refuses(model: tuple[Dim, ...], data: tuple[Dim, ...], axes: bool, last_axis: bool = False) -> bool:
    """Whether Keras refuses ``data`` for an input of shape ``model`` whatever the sizes not
    known statically are: an unknown last axis may be 1 (squeezed or expanded) or not."""
    ends: list[tuple[Dim, ...]] = []
    for shape in (model, data):
        last = shape[-1] if shape else None
        ends.append((1, _OTHER) if shape and not _known(last) and last is not None else (last,))
    for model_last, data_last in product(*ends):
        m = model[:-1] + (model_last,) if model else model
        d = data[:-1] + (data_last,) if data else data
        if not _refuses_one(m, d, axes, last_axis):
            return False
    return True


def _model_builds(output: Tensor, inputs: tuple[Tensor, ...]) -> bool:
    """No layer between the inputs and the output is refused (else the model never builds,
    and the call is never reached)."""
    seen: set[int] = set()
    todo = [output]
    while todo:
        tensor = todo.pop()
        app: Application | None = tensor.producer
        if app is None or id(app) in seen:
            continue
        seen.add(id(app))
        if app.error is not None:
            return False
        todo.extend(app.inputs)
    return True


def _first_layer(output: Tensor, x: Tensor) -> Layer | None:
    """The first layer a one-input chain of layers applies to ``x`` that does more than pass it on
    as it is (None: not known)."""
    chain: list[Layer] = []
    tensor = output
    while tensor is not x:
        app = tensor.producer
        if app is None or not app.inputs:
            return None
        chain.append(app.layer)
        tensor = app.inputs[0]
    for layer in reversed(chain):
        if layer.opaque or layer.kind not in _PASSES_AS_IT_IS:
            return layer
    return None


def _weights_on_last_axis(layer: Layer | None) -> bool:
    """Whether ``layer`` certainly builds its weights for its input's last axis."""
    if layer is None or layer.opaque:
        return False
    if layer.kind == "Bidirectional":
        inner = layer.inner
        return inner is not None and inner.kind in ("LSTM", "GRU", "SimpleRNN") and _weights_on_last_axis(inner)
    if layer.kind not in _WEIGHTS_ON_LAST_AXIS:
        return False
    if layer.kind.startswith("Conv"):
        # Only when said: without it the channels follow keras.json or set_image_data_format, which
        # code or a file kerascheck does not see may have made "channels_first".
        return layer.kwargs.get("data_format") == Const("channels_last") and "groups" not in layer.kwargs
    return True


def _name(call: InputCall, index: int) -> str:
    return "x" if len(call.data) == 1 else f"x[{index}]"


def check(graph: Graph) -> Iterator[Report]:
    for call in graph.input_calls:
        if not _model_builds(call.output, call.inputs):
            continue
        for index, (tensor, array) in enumerate(zip(call.inputs, call.data)):
            model = tensor.shape
            last_axis = len(call.inputs) == 1 and _weights_on_last_axis(_first_layer(call.output, tensor))
            if model is None or not refuses(model, array.shape, call.functional, last_axis):
                continue
            what = "the model" if len(call.inputs) == 1 else f"the model's input {index}"
            method = "model(...)" if call.method == "call" else call.method
            yield Report(
                CODE,
                call.call,
                (
                    f"{method} gets {_name(call, index)} of shape {shapes.format_shape(array.shape)}, "
                    f"but {what} takes {shapes.format_shape(model)}",
                ),
                call,
            )
            break  # Keras stops at the first input it refuses


def fix(report: Report) -> Edit | None:
    return None


RULE = Rule(
    code=CODE,
    name="input-rank-mismatch",
    summary="a model is given inputs of a shape its declared input refuses",
    words=("Input", "input_shape", "input_dim"),
    also_words=ARRAY_WORDS,
    what="""\
Finds `fit`, `evaluate`, `predict`, `train_on_batch`, `test_on_batch`, `predict_on_batch` and
`model(x)` calls whose `x` is a NumPy array of known shape (made with a literal shape, `reshape`,
`to_categorical`, `np.array` of nested lists of numbers; a list of them for a model with several
inputs) that the model's declared input refuses. The model's input must be declared:
`keras.Input(...)` in a functional or Sequential model, or `input_shape=` on a Sequential's first
layer; a Sequential that builds on its first batch and a subclassed model have none, and data of
unknown shape (a `tf.data` dataset, a generator) says nothing. It mirrors what Keras 3 accepts:
the same rank; one more axis when it is a trailing axis of size 1 (`(1000, 64, 15, 1)` into
`(None, 64, 15)`, squeezed); one less when the model's last axis is 1 (expanded). A functional
model also compares each axis both shapes know, the batch axis never; a Sequential model does not
(its layers decide, and an LSTM takes any number of timesteps), so for it the rank is judged, and
the last axis when the first layer with weights makes them for it, after layers that pass their
input on as it is (`Dropout`, `GaussianNoise`, `GaussianDropout`, `AlphaDropout`, `Activation`):
`Dense`, `LSTM`, `GRU`, `SimpleRNN`, their `Bidirectional`, a `Conv1D`/`Conv2D`/`Conv3D` given
`data_format="channels_last"` (without it, the channels follow `keras.json` or
`set_image_data_format`, which kerascheck does not see).
""",
    why="""\
Keras refuses the call at its first batch with "Invalid input shape" or "expected shape=...,
found shape=...", or its first layer refuses it. The data and the model were written for
different shapes: one of them is not what its author thinks.
""",
    example=Example(
        bad="""\
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(16),
    keras.layers.Dense(1),
])
model.compile(loss="mse", optimizer="adam")
X = np.random.random((1000, 15))
y = np.random.random((1000, 1))
model.fit(X, y)
""",
        good="""\
import keras
import numpy as np

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(16),
    keras.layers.Dense(1),
])
model.compile(loss="mse", optimizer="adam")
X = np.random.random((1000, 64, 15))
y = np.random.random((1000, 1))
model.fit(X, y)
""",
        line=12,
        column=1,
        message="fit gets x of shape (1000, 15), but the model takes (None, 64, 15)",
        fix_gives_good=False,
    ),
    fix_text="Either the data or the model's input is wrong, and only its author knows which.",
    fix_applicability="none",
    fix_safety="kerascheck does not guess which of them to change.",
    verification=Verification(Confirm.INPUT_REFUSED),
    reported_at="train",
    check=check,
    fix=fix,
)
