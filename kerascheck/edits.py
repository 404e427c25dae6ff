"""Edits a rule proposes as its fix: plain data naming the nodes to change (fix.py applies them)."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from kerascheck import shapes
from kerascheck.graph.model import Layer
from kerascheck.walk import walk


@dataclass(frozen=True)
class SetReturnSequences:
    """Set ``return_sequences`` on RNN constructions (a Bidirectional's forward and backward):
    the layers as the graph resolved them, so the argument is found where the layer's own
    signature puts it (``RNN(cell, False)`` by position, however ``RNN`` is spelled)."""

    layers: tuple[Layer, ...]
    value: bool

    @property
    def calls(self) -> tuple[cst.Call, ...]:
        return tuple(layer.call for layer in self.layers)

    def position(self, layer: Layer) -> int | None:
        """Where ``return_sequences`` is passed by position to ``layer``, in its signature."""
        spec = shapes.TABLE.get(layer.kind)
        return spec.params.index(ARGUMENT) if spec is not None and ARGUMENT in spec.params else None


ARGUMENT = "return_sequences"


@dataclass(frozen=True)
class Unwrap:
    """Replace ``TimeDistributed(inner, **extra)`` by ``inner`` (extra keywords move into it)."""

    wrapper: cst.Call


@dataclass(frozen=True)
class SetFlag:
    """Replace the literal given as ``keyword=`` of a layer construction by the bool ``value``;
    ``safe`` when Keras reads the literal as that bool already (the behaviour stays)."""

    call: cst.Call
    keyword: str
    value: bool
    safe: bool


Edit = SetReturnSequences | Unwrap | SetFlag


# ---------------------------------------------------------------- what rules propose


def set_return_sequences(rnn: Layer | None, value: bool) -> SetReturnSequences | None:
    """The edit that sets ``return_sequences`` on the RNN to blame, when its construction is known
    and the flag is not given through ``**config`` (the dict is edited elsewhere, if at all)."""
    if rnn is None or "return_sequences" in rnn.unpacked:
        return None
    if rnn.kind == "Bidirectional":
        forward, backward = rnn.inner, rnn.kwargs.get("backward_layer")
        if forward is None:
            return None
        if "return_sequences" in forward.unpacked:
            return None
        if backward is None:
            return SetReturnSequences((forward,), value)
        if not isinstance(backward, Layer) or "return_sequences" in backward.unpacked:
            return None
        return SetReturnSequences((forward, backward), value)
    return SetReturnSequences((rnn,), value)


def inner_arg(call: cst.Call) -> cst.Arg | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "layer":
            return arg
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[0] if positional else None


def unwrap(wrapper: cst.Call) -> Unwrap | None:
    """The edit that unwraps a TimeDistributed, when its keywords can move to the inner layer."""
    inner = inner_arg(wrapper)
    if inner is None or any(a.star for a in wrapper.args):
        return None
    extra = [a for a in wrapper.args if a is not inner]
    if extra and (not isinstance(inner.value, cst.Call) or any(a.keyword is None for a in extra)):
        return None  # keywords cannot move into a layer built elsewhere
    kept: list[cst.CSTNode] = [inner.value, *(a.value for a in extra)]
    if isinstance(inner.value, cst.Call) and is_blank(inner.value.whitespace_before_args):
        kept.append(wrapper.whitespace_before_args)  # it moves into the inner call
    if _comments(wrapper) != sum(_comments(node) for node in kept):
        return None  # a comment in the wrapper's own layout would be lost
    return Unwrap(wrapper)


def is_blank(whitespace: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(whitespace, cst.SimpleWhitespace) and whitespace.value == ""


def _comments(node: cst.CSTNode) -> int:
    return sum(1 for n in walk(node, everything=True) if type(n) is cst.Comment)
