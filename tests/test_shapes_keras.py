"""The shape table against real Keras, layer by layer: image layers on frames and wrapped in
TimeDistributed over video, the merge helpers and their classes. Keras is the oracle: every size
kerascheck claims must be the one Keras builds, every rank it claims must be Keras' rank, and
where Keras refuses kerascheck claims nothing. Every case here has a rank kerascheck must know
when Keras builds it."""

from __future__ import annotations

import ast
import os

import pytest

from kerascheck.graph.builder import build_graph
from kerascheck.graph.model import UNKNOWN, Shape
from tests.conftest import keras_or_skip

keras_or_skip()

# (layer expression in ``layers.``, batch shape of one frame with channels last)
IMAGE_LAYERS: list[tuple[str, tuple[int | None, ...]]] = [
    ("Conv2D(4, 3)", (None, 12, 10, 3)),
    ("Conv2D(4, (3, 5), strides=(2, 3))", (None, 12, 10, 3)),
    ("Conv2D(4, 3, strides=2, padding='same')", (None, 13, 10, 3)),
    ("Conv2D(4, 3, dilation_rate=(2, 1))", (None, 12, 10, 3)),
    ("Conv2D(4, 3, strides=2, dilation_rate=2)", (None, 12, 10, 3)),
    ("Conv2D(4, 13)", (None, 12, 10, 3)),
    ("Conv2D(4, 3, padding='causal')", (None, 12, 10, 3)),
    ("Conv2D(4, 3)", (None, None, 10, 3)),
    ("Convolution2D(4, 3, activation='relu')", (None, 12, 10, 3)),
    ("SeparableConv2D(4, 3, strides=2)", (None, 12, 10, 3)),
    ("DepthwiseConv2D(3, depth_multiplier=2)", (None, 12, 10, 3)),
    ("DepthwiseConv2D(3, 1, 'same', 2)", (None, 12, 10, 3)),
    ("Conv2DTranspose(4, 3, strides=2)", (None, 12, 10, 3)),
    ("MaxPooling2D()", (None, 12, 11, 3)),
    ("MaxPooling2D(3, 2)", (None, 12, 11, 3)),
    ("MaxPool2D((3, 2), padding='same')", (None, 12, 11, 3)),
    ("AveragePooling2D(pool_size=(2, 3), strides=(1, 2))", (None, 12, 11, 3)),
    ("AvgPool2D(4)", (None, None, 11, 3)),
    ("GlobalAveragePooling2D()", (None, 12, 11, 3)),
    ("GlobalMaxPooling2D(keepdims=True)", (None, 12, 11, 3)),
    ("GlobalAvgPool2D()", (None, 12, 11, 3)),
    ("UpSampling2D((2, 3))", (None, 12, 11, 3)),
    ("UpSampling2D()", (None, None, 11, 3)),
    ("ZeroPadding2D()", (None, 12, 11, 3)),
    ("ZeroPadding2D(((1, 2), (3, 4)))", (None, 12, 11, 3)),
    ("ZeroPadding2D((1, 2))", (None, 12, 11, 3)),
    ("Cropping2D(2)", (None, 12, 11, 3)),
    ("Cropping2D(((1, 0), (2, 3)))", (None, 12, 11, 3)),
    ("SpatialDropout2D(0.1)", (None, 12, 11, 3)),
    ("Flatten()", (None, 12, 11, 3)),
    ("BatchNormalization()", (None, 12, 11, 3)),
    ("Dropout(0.5)", (None, 12, 11, 3)),
    ("Dense(5)", (None, 12, 11, 3)),
    ("Conv1D(4, 3)", (None, 12, 3)),
    ("GlobalMaxPooling1D()", (None, 12, 3)),
    ("LSTM(4)", (None, 12, 3)),
    ("Conv3D(4, 3, strides=(1, 2, 2))", (None, 6, 12, 10, 3)),
    ("MaxPooling3D()", (None, 6, 12, 10, 3)),
    ("AveragePooling3D((1, 2, 2))", (None, 6, 12, 10, 3)),
]

# (expression applied to the inputs a, b, c, (batch shape of a, of b, of c))
MERGES: list[tuple[str, tuple[tuple[int | None, ...], ...]]] = [
    ("layers.concatenate([a, b])", ((None, 7, 5), (None, 7, 3))),
    ("layers.concatenate([a, b], axis=1)", ((None, 7, 5), (None, 4, 5))),
    ("layers.concatenate([a, b], 1)", ((None, 7, 5), (None, 4, 5))),
    ("layers.Concatenate(axis=-2)([a, b])", ((None, 7, 5), (None, 4, 5))),
    ("layers.add([a, b, c])", ((None, 7, 5), (None, 7, 5), (None, 7, 5))),
    ("layers.add([a, b])", ((None, 1, 5), (None, 7, 5))),
    ("layers.add([a, b])", ((None, None, 5), (None, 7, 5))),
    ("layers.Add()([a, b])", ((None, 3, 5), (None, 7, 5))),
    ("layers.subtract([a, b])", ((None, 7, 5), (None, 7, 5))),
    ("layers.subtract([a, b, c])", ((None, 7, 5), (None, 7, 5), (None, 7, 5))),
    ("layers.multiply([a, b])", ((None, 5), (None, 5))),
    ("layers.average([a, b])", ((None, 7, 5), (None, 7, 1))),
    ("layers.maximum([a, b])", ((None, 7, 5), (None, 7, 5))),
    ("layers.minimum([a, b])", ((None, 2, 7, 5), (None, 2, 7, 5))),
    ("layers.dot([a, b], axes=1)", ((None, 5), (None, 5))),
    ("layers.dot([a, b], axes=-1)", ((None, 7, 5), (None, 9, 5))),
    ("layers.dot([a, b], axes=(1, 1))", ((None, 7, 5), (None, 7, 4))),
    ("layers.dot([a, b], axes=[2, 1])", ((None, 7, 5), (None, 5))),
    ("layers.dot([a, b], (3, 2))", ((None, 3, 4, 5), (None, 3, 5, 6))),
    ("layers.dot([a, b], axes=1)", ((None, 7, 5), (None, 9, 5))),
    ("layers.dot([a, b], axes=1)", ((None, None, 5), (None, 9, 5))),
    ("layers.Dot(axes=2, normalize=True)([a, b])", ((None, 7, 5), (None, 9, 5))),
]


def kerascheck_shape(source: str) -> Shape:
    """The shape kerascheck infers for ``out`` in ``source`` (None: rank unknown)."""
    graph = build_graph(ast.parse(source))
    assert graph.applications, source
    last = graph.applications[-1]
    return last.outputs[0].shape if last.outputs else None


@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    return keras


def keras_shape(keras, expression: str, shapes: tuple[tuple[int | None, ...], ...]) -> tuple | None:
    """What Keras builds for ``expression`` on symbolic inputs; None when it refuses."""
    names = dict(zip("abc", (keras.Input(batch_shape=shape) for shape in shapes)))
    try:
        out = eval(expression, {"layers": keras.layers, **names})  # the test's own expressions only
    except Exception:
        return None
    return tuple(out.shape)


def assert_agrees(ours: Shape, theirs: tuple | None, what: str) -> None:
    if theirs is None:
        assert ours is None, f"{what}: Keras refuses it, kerascheck infers {ours}"
        return
    assert ours is not None, f"{what}: Keras builds {theirs}, kerascheck does not know the rank"
    assert len(ours) == len(theirs), f"{what}: kerascheck infers {ours}, Keras builds {theirs}"
    for mine, real in zip(ours, theirs):
        assert mine is UNKNOWN or mine == real, f"{what}: kerascheck infers {ours}, Keras builds {theirs}"


def _program(inputs: list[tuple[int | None, ...]], expression: str) -> str:
    lines = ["import keras", "from keras import layers"]
    lines += [f"{name} = keras.Input(batch_shape={shape!r})" for name, shape in zip("abc", inputs)]
    return "\n".join([*lines, f"out = {expression}", ""])


@pytest.mark.parametrize(("layer", "frame"), IMAGE_LAYERS, ids=[f"{e}-{s}" for e, s in IMAGE_LAYERS])
def test_a_layer_on_one_frame_gets_keras_shape(keras, layer: str, frame: tuple[int | None, ...]) -> None:
    expression = f"layers.{layer}(a)"
    ours = kerascheck_shape(_program([frame], expression))
    assert_agrees(ours, keras_shape(keras, expression, (frame,)), expression)


@pytest.mark.parametrize(("layer", "frame"), IMAGE_LAYERS, ids=[f"{e}-{s}" for e, s in IMAGE_LAYERS])
def test_time_distributed_over_video_gets_keras_shape(keras, layer: str, frame: tuple[int | None, ...]) -> None:
    video = (frame[0], 5, *frame[1:])
    expression = f"layers.TimeDistributed(layers.{layer})(a)"
    ours = kerascheck_shape(_program([video], expression))
    theirs = keras_shape(keras, expression, (video,))
    assert_agrees(ours, theirs, expression)
    per_frame = kerascheck_shape(_program([frame], f"layers.{layer}(a)"))
    if per_frame is not None and theirs is not None:
        assert ours is not None and len(ours) == len(per_frame) + 1, "the time axis is put back"


@pytest.mark.parametrize(("expression", "inputs"), MERGES, ids=[f"{e}-{s}" for e, s in MERGES])
def test_merges_get_keras_shape(keras, expression: str, inputs: tuple[tuple[int | None, ...], ...]) -> None:
    ours = kerascheck_shape(_program(list(inputs), expression))
    assert_agrees(ours, keras_shape(keras, expression, inputs), expression)


def test_the_helpers_give_the_shapes_of_their_classes() -> None:
    pairs = [
        ("layers.concatenate([a, b], axis=1)", "layers.Concatenate(axis=1)([a, b])"),
        ("layers.add([a, b])", "layers.Add()([a, b])"),
        ("layers.dot([a, b], axes=2)", "layers.Dot(axes=2)([a, b])"),
        ("layers.maximum([a, b])", "layers.Maximum()([a, b])"),
    ]
    inputs: list[tuple[int | None, ...]] = [(None, 7, 5), (None, 7, 5)]
    for helper, cls in pairs:
        ours = kerascheck_shape(_program(inputs, helper))
        assert ours is not None and ours == kerascheck_shape(_program(inputs, cls)), helper


def test_tensor_functions_of_the_same_names_are_not_layers() -> None:
    for expression in ("keras.ops.concatenate([a, b])", "keras.backend.dot(a, b)", "np.add(a, b)"):
        graph = build_graph(ast.parse(_program([(None, 7, 5), (None, 7, 5)], expression)))
        assert not graph.applications, expression
