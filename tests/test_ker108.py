"""KER108's judgement of an input shape is Keras 3's own (tests/test_verify_keras.py confirms its
fixture findings and refutes a wrong claim).

``refuses`` is compared with what the installed Keras does when a model with that declared input
is called on zeros of the data's shape (Keras imported once, for the module).
"""

from __future__ import annotations

import functools
import itertools
import re
import warnings

import pytest

from kerascheck.graph.model import UNKNOWN
from kerascheck.rules.ker108 import refuses
from tests.conftest import keras_or_skip

keras = keras_or_skip()
np = pytest.importorskip("numpy")

# What Keras says when the model's own input check refuses (not a layer further in).
INPUT_REFUSED = re.compile(r"Invalid input shape for input|of layer '(functional|sequential)[^']*' is incompatible")

MODEL_SHAPES = [(4,), (1,), (5, 3), (5, 1), (4, 3, 1)]


def _data_shapes(model: tuple[int, ...]) -> list[tuple[int, ...]]:
    near = {model, model[:-1], model + (1,), model + (2,), model[:-1] + (1,), (model[0] + 1,) + model[1:]}
    return sorted(shape for shape in near if shape)


@functools.cache
def _keras_refuses_input(functional: bool, model: tuple[int, ...], data: tuple[int, ...]) -> tuple[bool, bool]:
    """(Keras refuses the call at all, Keras refuses it at the model's input check)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inp = keras.Input(shape=model)
        head = [keras.layers.Flatten(), keras.layers.Dense(1)]
        built = keras.Model(inp, head[1](head[0](inp))) if functional else keras.Sequential([inp, *head])
        try:
            built(np.zeros((2, *data)))
        except Exception as error:
            return True, bool(INPUT_REFUSED.search(str(error)))
    return False, False


CASES = [
    (functional, model, data)
    for functional, model in itertools.product((True, False), MODEL_SHAPES)
    for data in _data_shapes(model)
]


@pytest.mark.parametrize(("functional", "model", "data"), CASES)
def test_refuses_what_keras_refuses_at_the_input(
    functional: bool, model: tuple[int, ...], data: tuple[int, ...]
) -> None:
    refused, at_input = _keras_refuses_input(functional, model, data)
    ours = refuses((None, *model), (2, *data), functional)
    assert ours == at_input, f"Keras {'refuses' if at_input else 'takes'} {data} at the input of {model}"
    assert refused or not ours


@pytest.mark.parametrize(("functional", "model", "data"), CASES[::4])
def test_an_unknown_last_axis_is_refused_only_when_every_size_is(
    functional: bool, model: tuple[int, ...], data: tuple[int, ...]
) -> None:
    # The analyzer's unknown size: reported only if Keras refuses the input for each size tried.
    if refuses((None, *model), (2, *data[:-1], UNKNOWN), functional):
        for size in (1, 3):
            assert _keras_refuses_input(functional, model, (*data[:-1], size))[1], size
    if refuses((None, *model[:-1], UNKNOWN), (2, *data), functional):
        for size in (1, 3):
            assert _keras_refuses_input(functional, (*model[:-1], size), data)[1], size


# First layers that make their weights for the input's last axis, each on a declared input of a
# rank it takes (kernel sizes of 1: no axis is too short).
FIRST_LAYERS = {
    "Dense": ((5,), (4, 3)),
    "LSTM": ((5, 3), (4, 1)),
    "GRU": ((5, 3),),
    "SimpleRNN": ((5, 3),),
    "Bidirectional": ((5, 3),),
    "Conv1D": ((5, 3), (5, 1)),
    "Conv2D": ((4, 3, 2), (4, 3, 1)),
}


def _first_layer(kind: str):
    layers = keras.layers
    if kind == "Bidirectional":
        return layers.Bidirectional(layers.LSTM(2))
    if kind.startswith("Conv"):
        return getattr(layers, kind)(2, 1)
    return getattr(layers, kind)(2)


@functools.cache
def _keras_refuses_first_layer(kind: str, model: tuple[int, ...], data: tuple[int, ...]) -> bool:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = keras.Sequential([keras.Input(shape=model), _first_layer(kind)])
        try:
            built(np.zeros((2, *data)))
        except Exception:
            return True
    return False


FIRST_CASES = [
    (kind, model, data) for kind, models in FIRST_LAYERS.items() for model in models for data in _data_shapes(model)
]


@pytest.mark.parametrize(("kind", "model", "data"), FIRST_CASES)
def test_the_last_axis_is_judged_as_the_first_layer_takes_it(
    kind: str, model: tuple[int, ...], data: tuple[int, ...]
) -> None:
    # A Sequential model of the declared input and that one layer: Keras refuses the call exactly
    # when its input check or the layer's weights refuse the data.
    refused = _keras_refuses_first_layer(kind, model, data)
    assert refuses((None, *model), (2, *data), False, last_axis=True) == refused, (
        f"Keras {'refuses' if refused else 'takes'} {data} for {kind} on {model}"
    )


def test_a_trailing_axis_of_one_and_the_batch_are_never_refused() -> None:
    assert not refuses((None, 64, 15), (1000, 64, 15, 1), True)
    assert not refuses((None, 64, 1), (1000, 64), True)
    assert not refuses((32, 64, 15), (1000, 64, 15), True)
    assert refuses((None, 64, 15), (1000, 15), False)
    assert not refuses((None, 64, 15), (1000, 70, 15), False)  # a Sequential's layers decide


# ``np.array`` and ``np.asarray`` of what NumPy itself gives a shape: an array, nested lists or
# tuples of numbers; a ragged list, an unknown item or ``ndmin`` give nothing.
ARRAY_DATA = [
    "np.array([1, 2, 3])",
    "np.array([[1], [2], [3], [4], [5]])",
    "np.array([[0, 1, 2, 3]], dtype='float32')",
    "np.asarray(((1.5, 2), (3, 4), (5, True)))",
    "np.array(np.random.random((30, 30, 3)))",
    "np.array(np.zeros((4, 2)), 'float32')",
    "np.array([np.zeros((2, 3)), np.ones((2, 3))])",
    "np.array([])",
    "np.array([[1, 2], [3]], dtype=object)",
    "np.array([[1, 2], unknown])",
    "np.array([1, 2, 3], ndmin=2)",
    "np.array(np.zeros((2, 3)), copy=False)",
    "np.array(['a', 'b'])",
]


@pytest.mark.parametrize("data", ARRAY_DATA)
def test_np_array_has_numpys_own_shape_or_none(data: str) -> None:
    import ast

    from kerascheck.graph.builder import build_graph

    program = f"import numpy as np\nimport keras\nm = keras.Sequential([keras.Input(shape=(4,))])\nm.predict({data})\n"
    calls = build_graph(ast.parse(program)).input_calls
    found = calls[0].data[0].shape if calls else None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            # the test's own literals (never linted code); ``unknown`` is a name the analysis cannot know
            expected = np.array(eval(data, {"np": np, "unknown": [5, 6]})).shape
    except ValueError:  # ragged: NumPy refuses it
        expected = None
    known = found is not None
    assert not known or found == expected, f"kerascheck says {found}, NumPy {expected}"
    # Every plain display of numbers is known; what is not known is said of nothing.
    assert known == (
        ("unknown" not in data) and ("ndmin" not in data) and ("object" not in data) and ("'a'" not in data)
    ), found


PASSING = {
    "Dropout": "Dropout(0.2)",
    "GaussianNoise": "GaussianNoise(0.1)",
    "GaussianDropout": "GaussianDropout(0.1)",
    "AlphaDropout": "AlphaDropout(0.1)",
    "Activation": "Activation('relu')",
}


@pytest.mark.parametrize("kind", sorted(PASSING))
@pytest.mark.parametrize("features", [5, 6])
def test_a_layer_that_passes_its_input_on_leaves_the_last_axis_to_the_next(kind: str, features: int) -> None:
    from kerascheck.check import check_source
    from kerascheck.rules.ker108 import _PASSES_AS_IT_IS

    assert set(PASSING) == _PASSES_AS_IT_IS
    layers = f"keras.Input(shape=(5,)), keras.layers.{PASSING[kind]}, keras.layers.Dense(2)"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = keras.Sequential(eval(f"[{layers}]", {"keras": keras}))  # the test's own text
        try:
            built(np.zeros((2, features)))
            refused = False
        except Exception:
            refused = True
    program = (
        f"import numpy as np\nimport keras\nm = keras.Sequential([{layers}])\nm.predict(np.zeros((2, {features})))\n"
    )
    reported = [f.code for f in check_source(program)] == ["KER108"]
    assert reported == refused == (features != 5)
