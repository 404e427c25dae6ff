"""Keras reads a layer's attributes when the layer is called, so a layer changed in place after it
was made is another layer: fixtures/unseen_layer_changes.py must stay silent there. Built in the
installed Keras (imported once, for the module), each change the fixture forgets does change the
model, and each one its controls keep does not."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import pytest

from tests.conftest import keras_or_skip

keras = keras_or_skip()


def _unset(layer: Any) -> None:
    layer.return_sequences = False


class _Registry:
    """An object whose operators change what they are given, as unseen code may."""

    def __getitem__(self, layer: Any) -> None:
        _unset(layer)

    def __contains__(self, layer: Any) -> bool:
        _unset(layer)
        return False


CHANGES: dict[str, Callable[[Any], None]] = {
    "attribute": _unset,
    "setattr": lambda layer: setattr(layer, "return_sequences", False),
    "through a list": lambda layer: _unset([layer][0]),
    "through a lookup": lambda layer: _Registry()[layer],
    "through a membership test": lambda layer: layer in _Registry(),
}


def _rnn_output(change: Callable[[Any], None] | None) -> tuple[Any, ...]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rnn = keras.layers.LSTM(4, return_sequences=True)
        if change is not None:
            change(rnn)
        return tuple(keras.Sequential([keras.Input((10, 3)), rnn]).output_shape)


@pytest.mark.parametrize("how", sorted(CHANGES))
def test_a_layer_changed_in_place_is_another_layer(how: str) -> None:
    assert _rnn_output(None) == (None, 10, 4)
    assert _rnn_output(CHANGES[how]) == (None, 4)


def test_freezing_a_layer_changes_no_shape() -> None:
    def freeze(layer: Any) -> None:
        layer.trainable = False

    assert _rnn_output(freeze) == _rnn_output(None)
