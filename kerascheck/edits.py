"""Edits a rule proposes as its fix: plain data naming the calls to change, as nodes of CPython's
tree (fix.py finds their libcst twins and edits those)."""

from __future__ import annotations

import ast
from dataclasses import dataclass

from kerascheck import shapes
from kerascheck.graph.model import Layer


@dataclass(frozen=True)
class SetReturnSequences:
    """Set ``return_sequences`` on RNN constructions (a Bidirectional's forward and backward):
    the layers as the graph resolved them, so the argument is found where the layer's own
    signature puts it (``RNN(cell, False)`` by position, however ``RNN`` is spelled)."""

    layers: tuple[Layer, ...]
    value: bool

    @property
    def calls(self) -> tuple[ast.Call, ...]:
        return tuple(layer.call for layer in self.layers)

    def position(self, layer: Layer) -> int | None:
        """Where ``return_sequences`` is passed by position to ``layer``, in its signature."""
        spec = shapes.TABLE.get(layer.kind)
        return spec.params.index(ARGUMENT) if spec is not None and ARGUMENT in spec.params else None


ARGUMENT = "return_sequences"


@dataclass(frozen=True)
class Unwrap:
    """Replace ``TimeDistributed(inner, **extra)`` by ``inner`` (extra keywords move into it)."""

    wrapper: ast.Call


@dataclass(frozen=True)
class SetFlag:
    """Replace the literal given as ``keyword=`` of a layer construction by the bool ``value``;
    ``safe`` when Keras reads the literal as that bool already (the behaviour stays)."""

    call: ast.Call
    keyword: str
    value: bool
    safe: bool


Edit = SetReturnSequences | Unwrap | SetFlag


# ---------------------------------------------------------------- what rules propose


def set_return_sequences(rnn: Layer | None, value: bool) -> SetReturnSequences | None:
    """The edit that sets ``return_sequences`` on the RNN to blame, when its construction is known
    and the flag is not given through ``**config`` (the dict is edited elsewhere, if at all), nor
    made in a function body run for one call (the edit would change every call: see
    ``Layer.per_call``)."""
    if rnn is None or "return_sequences" in rnn.unpacked or rnn.per_call:
        return None
    if rnn.kind == "Bidirectional":
        forward, backward = rnn.inner, rnn.kwargs.get("backward_layer")
        if forward is None:
            return None
        if "return_sequences" in forward.unpacked or forward.per_call:
            return None
        if backward is None:
            return SetReturnSequences((forward,), value)
        if not isinstance(backward, Layer) or "return_sequences" in backward.unpacked or backward.per_call:
            return None
        return SetReturnSequences((forward, backward), value)
    return SetReturnSequences((rnn,), value)


def inner_arg(call: ast.Call) -> ast.expr | None:
    """The layer a wrapper's construction is given: ``layer=``, else its first positional argument."""
    for keyword in call.keywords:
        if keyword.arg == "layer":
            return keyword.value
    positional = [a for a in call.args if not isinstance(a, ast.Starred)]
    return positional[0] if positional else None


def unwrap(wrapper: ast.Call) -> Unwrap | None:
    """The edit that unwraps a TimeDistributed, when its keywords can move to the inner layer
    (the fixer also makes sure no comment of the wrapper's own layout would be lost)."""
    inner = inner_arg(wrapper)
    if inner is None or any(isinstance(a, ast.Starred) for a in wrapper.args):
        return None
    if any(k.arg is None for k in wrapper.keywords):
        return None
    extra_positional = [a for a in wrapper.args if a is not inner]
    extra_keywords = [k for k in wrapper.keywords if k.value is not inner]
    if (extra_positional or extra_keywords) and (not isinstance(inner, ast.Call) or extra_positional):
        return None  # keywords cannot move into a layer built elsewhere
    return Unwrap(wrapper)
