"""What a rule reports, and the words rules share for layers and shapes."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from kerascheck import shapes
from kerascheck.graph.model import UNKNOWN, Application, Const, Layer, Seq, Tensor, TrainCall

# A message is text with nodes in it; a node is written as its line number once positions
# are known (they are computed only for files that have something to report).
MessagePart = str | cst.CSTNode


@dataclass(frozen=True)
class Report:
    code: str
    node: cst.CSTNode  # where the finding is reported
    message: tuple[MessagePart, ...]
    subject: Application | TrainCall  # the graph node the finding is about
    rnn: Layer | None = None  # the RNN whose return_sequences is to blame, if one is


def describe(layer: Layer) -> str:
    """A short constructor-like name: ``GRU(16)``, ``TimeDistributed(Dense(15))``."""
    inner = layer.inner
    if inner is not None:
        return f"{layer.spelled}({describe(inner)})"
    spec = shapes.spec_of(layer)
    first = spec.params[0] if spec is not None and spec.params else None
    value = layer.arg(first) if first is not None else None
    if isinstance(value, Const) and isinstance(value.value, (int, float, str)) and not isinstance(value.value, bool):
        return (
            f"{layer.spelled}({value.value!r})" if isinstance(value.value, str) else f"{layer.spelled}({value.value})"
        )
    if isinstance(value, Seq):
        return f"{layer.spelled}({shapes.format_shape(shapes.dims(value))[0:]})"
    return f"{layer.spelled}(...)" if value is not None else f"{layer.spelled}()"


def recurrent(layer: Layer) -> Layer:
    """The layer that holds ``return_sequences``: the RNN itself or the one Bidirectional wraps."""
    return layer.inner if layer.kind == "Bidirectional" and layer.inner is not None else layer


def rank(tensor: Tensor) -> int | None:
    return None if tensor.shape is None else len(tensor.shape)


def last_dim(tensor: Tensor) -> object:
    return UNKNOWN if tensor.shape is None else tensor.shape[-1]
