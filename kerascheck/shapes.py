"""How each Keras layer maps input shapes to output shapes: one table, one entry per layer.

An entry gives the layer's positional parameter names, its role for the rules (an RNN that
answers for its output rank, a pass-through layer that keeps the RNN answerable, or any other
layer), the input ranks Keras accepts, whether it is a consumer the rules judge ("sequence" for
KER103, "vector" for KER106), and a function computing output shapes. A layer absent from the
table has unknown outputs, which silences every rule downstream.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from kerascheck.graph.model import UNKNOWN, Const, Dim, Layer, Seq, Shape, Value


class Role(Enum):
    RNN = "rnn"  # its output rank is fixed by return_sequences
    PASS = "pass"  # keeps the rank, so the upstream RNN stays answerable
    OTHER = "other"


@dataclass(frozen=True)
class Inference:
    outputs: tuple[Shape, ...] | None  # None: not even the number of outputs is known
    error: str | None = None  # why Keras would refuse the input rank
    main: int = 1  # leading outputs that are the layer's output proper (not RNN states)


Infer = Callable[[Layer, list[Shape], dict[str, Value]], Inference]


@dataclass(frozen=True)
class LayerSpec:
    params: tuple[str, ...]
    role: Role
    ranks: tuple[int, int | None] | None  # accepted input rank, batch axis included
    infer: Infer
    consumer: str | None = None  # "sequence" or "vector": judged by KER103/KER106


# ---------------------------------------------------------------- value helpers


def const(value: Value | None, default: object = UNKNOWN) -> object:
    """The Python value of a constant, ``default`` when absent, UNKNOWN when not constant."""
    if value is None:
        return default
    if isinstance(value, Const):
        return value.value
    return UNKNOWN


def dim(value: Value | None) -> Dim:
    """A dimension: an int, Keras' None, or UNKNOWN."""
    v = const(value, UNKNOWN)
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return UNKNOWN


def dims(value: Value | None) -> tuple[Dim, ...] | None:
    """A shape tuple written in the source (``(64, 15)``, ``[None, 8]``, ``15``), or None."""
    if isinstance(value, Seq):
        return tuple(dim(item) for item in value.items)
    single = dim(value)
    if isinstance(single, int):
        return (single,)
    return None


def flag(layer: Layer, name: str, default: bool) -> bool | object:
    """A boolean argument: True, False or UNKNOWN."""
    v = const(layer.arg(name), default)
    return v if isinstance(v, bool) else UNKNOWN


def int_arg(layer: Layer, name: str, default: object = UNKNOWN) -> Dim:
    """An integer argument (a 1-tuple counts, as Keras allows ``kernel_size=(3,)``)."""
    raw = layer.arg(name)
    if isinstance(raw, Seq) and len(raw.items) == 1:
        raw = raw.items[0]
    v = const(raw, default)
    return v if isinstance(v, int) and not isinstance(v, bool) else UNKNOWN


def mul(a: Dim, b: Dim) -> Dim:
    return a * b if isinstance(a, int) and isinstance(b, int) else UNKNOWN


def known(shape: Shape) -> bool:
    return shape is not None


# ---------------------------------------------------------------- inference functions


def _identity(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    return Inference((ins[0],))


def _unknown(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    return Inference((None,))


def _dense(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    units = int_arg(layer, "units")
    return Inference((None if x is None else x[:-1] + (units,),))


def rnn_units(layer: Layer) -> Dim:
    """Units of an RNN layer, of ``RNN(cell)`` through its cell, of ``Bidirectional``'s inner."""
    if layer.kind == "RNN":
        cell = layer.arg("cell")
        return int_arg(cell, "units") if isinstance(cell, Layer) else UNKNOWN
    return int_arg(layer, "units")


def _state_count(layer: Layer) -> int | None:
    """Number of state tensors one direction of an RNN returns with return_state=True."""
    kind = layer.kind
    if kind == "RNN":
        cell = layer.arg("cell")
        if not isinstance(cell, Layer):
            return None
        kind = cell.kind.replace("Cell", "")
    return {"LSTM": 2, "GRU": 1, "SimpleRNN": 1}.get(kind)


def _rnn_outputs(layer: Layer, x: Shape, units: Dim, directions: int) -> Inference:
    """Outputs of an RNN (or both directions of one) given its input shape."""
    seq = flag(layer, "return_sequences", False)
    state = flag(layer, "return_state", False)
    if seq is UNKNOWN or state is UNKNOWN:
        return Inference(None)
    batch: Dim = x[0] if x is not None else None
    time: Dim = x[1] if x is not None and len(x) == 3 else UNKNOWN
    out: Shape = (batch, time, units) if seq else (batch, units)
    if not state:
        return Inference((out,))
    count = _state_count(layer)
    if count is None:
        return Inference(None)
    return Inference((out,) + ((batch, units),) * (count * directions))


def _rnn(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    return _rnn_outputs(layer, ins[0], rnn_units(layer), 1)


def _bidirectional(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    inner = layer.inner
    if inner is None or spec_of(inner) is None or spec_of(inner).role is not Role.RNN:
        return Inference(None)
    units = rnn_units(inner)
    mode = const(layer.arg("merge_mode"), "concat")
    one = _rnn_outputs(inner, ins[0], units, 2)
    if one.outputs is None:
        return one
    out, states = one.outputs[0], one.outputs[1:]
    if mode == "concat":
        merged: tuple[Shape, ...] = (out[:-1] + (mul(units, 2),),)
    elif mode in ("sum", "mul", "ave"):
        merged = (out,)
    elif mode is None:
        merged = (out, out)
    else:
        return Inference(None)
    return Inference(merged + states, main=len(merged))


def _conv_lstm(spatial: int) -> Infer:
    def infer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
        seq = flag(layer, "return_sequences", False)
        if seq is UNKNOWN or flag(layer, "return_state", False) is not False:
            return Inference(None)
        x = ins[0]
        batch: Dim = x[0] if x is not None else None
        time: Dim = x[1] if x is not None else UNKNOWN
        filters = int_arg(layer, "filters")
        space: tuple[Dim, ...] = (UNKNOWN,) * spatial
        return Inference(((batch, time) + space + (filters,) if seq else (batch,) + space + (filters,),))

    return infer


def _time_distributed(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x, inner = ins[0], layer.inner
    if x is None or inner is None:
        return Inference((None,))
    if len(x) < 3:
        # Keras refuses this; a wrapped Dense still passes the rank on, as a Dense would.
        return _dense(inner, ins, call) if inner.kind == "Dense" else Inference((None,))
    spec = spec_of(inner)
    if spec is None:
        return Inference((None,))
    step = spec.infer(inner, [(x[0],) + x[2:]], {})
    if step.outputs is None or len(step.outputs) != 1 or step.outputs[0] is None:
        return Inference((None,))
    return Inference(((x[0], x[1]) + step.outputs[0][1:],))


def _embedding(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    out = int_arg(layer, "output_dim")
    return Inference((None if x is None else x + (out,),))


def _flatten(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    if x is None:
        return Inference(((None, UNKNOWN),))
    size: Dim = 1
    for d in x[1:]:
        size = mul(size, d) if d is not None else UNKNOWN
    return Inference(((x[0], size),))


def _reshape(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    target = dims(layer.arg("target_shape"))
    if target is None:
        return Inference((None,))
    x = ins[0]
    inferred: Dim = UNKNOWN  # the -1 axis: what the input's size leaves for it
    rest = [d for d in target if d != -1]
    if x is not None and target.count(-1) == 1 and all(isinstance(d, int) and d > 0 for d in [*x[1:], *rest]):
        size, known = math.prod(x[1:]), math.prod(rest)  # type: ignore[arg-type]
        if size % known == 0:
            inferred = size // known
    batch = x[0] if x is not None else None
    return Inference(((batch,) + tuple(inferred if d == -1 else d for d in target),))


def _repeat_vector(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    n = int_arg(layer, "n")
    if x is None or len(x) != 2:
        return Inference(((None if x is None else x[0], n, UNKNOWN),))
    return Inference(((x[0], n, x[1]),))


def _permute(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    order = dims(layer.arg("dims"))
    x = ins[0]
    if order is None or not all(isinstance(i, int) for i in order):
        return Inference((None,))
    if x is None:  # whatever it gets, a Permute that builds gives rank len(dims) + 1
        return Inference(((None,) + (UNKNOWN,) * len(order),))
    if len(x) != len(order) + 1:
        return Inference((None,), error=f"expects rank {len(order) + 1}, got rank {len(x)}")
    if sorted(order) != list(range(1, len(x))):
        return Inference(((x[0],) + (UNKNOWN,) * len(order),))
    return Inference(((x[0],) + tuple(x[i] for i in order),))


def _steps(length: Dim, kernel: Dim, stride: Dim, padding: object, dilation: Dim = 1) -> Dim:
    """Output length of a 1-D convolution or pooling along time."""
    if not all(isinstance(v, int) for v in (length, kernel, stride, dilation)):
        return UNKNOWN
    if padding == "same" or padding == "causal":
        return math.ceil(length / stride)
    if padding == "valid":
        span = (kernel - 1) * dilation + 1
        return max(0, (length - span) // stride + 1)
    return UNKNOWN


def _conv1d(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    filters = int_arg(layer, "filters")
    if layer.kind == "DepthwiseConv1D":
        filters = UNKNOWN
    batch: Dim = x[0] if x is not None else None
    length: Dim = x[1] if x is not None and len(x) == 3 else UNKNOWN
    if layer.kind == "Conv1DTranspose" or const(layer.arg("data_format"), "channels_last") != "channels_last":
        return Inference(((batch, UNKNOWN, UNKNOWN),))
    steps = _steps(
        length,
        int_arg(layer, "kernel_size"),
        int_arg(layer, "strides", 1),
        const(layer.arg("padding"), "valid"),
        int_arg(layer, "dilation_rate", 1),
    )
    return Inference(((batch, steps, filters),))


def _pool1d(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    if x is None or len(x) != 3:
        return Inference(((None if x is None else x[0], UNKNOWN, UNKNOWN),))
    if const(layer.arg("data_format"), "channels_last") != "channels_last":
        return Inference(((x[0], UNKNOWN, UNKNOWN),))
    pool = int_arg(layer, "pool_size", 2)
    stride_value = const(layer.arg("strides"), None)
    stride = pool if stride_value is None else int_arg(layer, "strides")
    return Inference(((x[0], _steps(x[1], pool, stride, const(layer.arg("padding"), "valid")), x[2]),))


def _global_pool1d(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    keep = flag(layer, "keepdims", False)
    if keep is UNKNOWN or const(layer.arg("data_format"), "channels_last") != "channels_last":
        return Inference((None,))
    batch: Dim = x[0] if x is not None else None
    channels: Dim = x[-1] if x is not None and len(x) == 3 else UNKNOWN
    return Inference(((batch, 1, channels) if keep else (batch, channels),))


def _pair(value: Value | None, default: int) -> tuple[Dim, Dim]:
    """An int or a pair of ints (``padding=(1, 0)``), as Keras' 1-D padding and cropping take."""
    shape = dims(value) if value is not None else (default,)
    if shape is None or not 1 <= len(shape) <= 2:
        return UNKNOWN, UNKNOWN
    return (shape[0], shape[0]) if len(shape) == 1 else (shape[0], shape[1])


def _add(*parts: Dim) -> Dim:
    return sum(parts) if all(isinstance(p, int) for p in parts) else UNKNOWN  # type: ignore[arg-type]


def _time_1d(steps: Callable[[Layer, Dim], Dim]) -> Infer:
    """A layer that keeps the features and changes the number of timesteps by ``steps``."""

    def infer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
        x = ins[0]
        if x is None or len(x) != 3:
            return Inference(((None if x is None else x[0], UNKNOWN, UNKNOWN),))
        return Inference(((x[0], steps(layer, x[1]), x[2]),))

    return infer


def _padded(layer: Layer, steps: Dim) -> Dim:
    return _add(steps, *_pair(layer.arg("padding"), 1))


def _cropped(layer: Layer, steps: Dim) -> Dim:
    return _add(steps, *(-c if isinstance(c, int) else UNKNOWN for c in _pair(layer.arg("cropping"), 1)))


def _upsampled(layer: Layer, steps: Dim) -> Dim:
    return mul(steps, int_arg(layer, "size", 2))


def _concatenate(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    if len(ins) < 2 or any(s is None for s in ins) or len({len(s) for s in ins}) != 1:
        return Inference((None,))
    axis = const(layer.arg("axis"), -1)
    rank = len(ins[0])
    if not isinstance(axis, int) or not -rank <= axis < rank:
        return Inference((None,))
    axis %= rank
    out = list(ins[0])
    total: Dim = 0
    for s in ins:
        total = total + s[axis] if isinstance(total, int) and isinstance(s[axis], int) else UNKNOWN
    out[axis] = total
    return Inference((tuple(out),))


def _elementwise(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    if len(ins) < 2 or any(s is None for s in ins) or len({len(s) for s in ins}) != 1:
        return Inference((None,))
    return Inference((ins[0],))


def _attention(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    if "return_attention_scores" in call or "return_attention_scores" in layer.kwargs:
        return Inference(None)
    query = ins[0]
    if layer.kind == "MultiHeadAttention" and query is not None:
        out = layer.arg("output_shape")
        if out is not None:
            shape = dims(out)
            return Inference((None if shape is None else query[:-1] + shape,))
    return Inference((query,))


def _input_layer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    return Inference((ins[0],))


# ---------------------------------------------------------------- the table

_RNN_PARAMS = ("units", "activation", "recurrent_activation", "use_bias")
_PASS_ANY = LayerSpec((), Role.PASS, None, _identity)
_CONV_PARAMS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate")
_POOL_PARAMS = ("pool_size", "strides", "padding", "data_format")

TABLE: dict[str, LayerSpec] = {
    # Recurrent layers: their output rank is fixed by return_sequences.
    "SimpleRNN": LayerSpec(_RNN_PARAMS, Role.RNN, (3, 3), _rnn, "sequence"),
    "LSTM": LayerSpec(_RNN_PARAMS, Role.RNN, (3, 3), _rnn, "sequence"),
    "GRU": LayerSpec(_RNN_PARAMS, Role.RNN, (3, 3), _rnn, "sequence"),
    "RNN": LayerSpec(
        ("cell", "return_sequences", "return_state", "go_backwards", "stateful"), Role.RNN, (3, 3), _rnn, "sequence"
    ),
    "Bidirectional": LayerSpec(("layer", "merge_mode"), Role.RNN, (3, 3), _bidirectional, "sequence"),
    "ConvLSTM1D": LayerSpec(_CONV_PARAMS, Role.OTHER, (4, 4), _conv_lstm(1)),
    "ConvLSTM2D": LayerSpec(_CONV_PARAMS, Role.OTHER, (5, 5), _conv_lstm(2)),
    "ConvLSTM3D": LayerSpec(_CONV_PARAMS, Role.OTHER, (6, 6), _conv_lstm(3)),
    # Wrappers and dense layers.
    "TimeDistributed": LayerSpec(("layer",), Role.OTHER, (3, None), _time_distributed),
    "Dense": LayerSpec(("units", "activation", "use_bias"), Role.PASS, (2, None), _dense),
    # Pass-through layers: same shape out as in.
    "Activation": LayerSpec(("activation",), Role.PASS, None, _identity),
    "Dropout": LayerSpec(("rate", "noise_shape", "seed"), Role.PASS, None, _identity),
    "SpatialDropout1D": LayerSpec(("rate",), Role.PASS, (3, 3), _identity, "sequence"),
    "GaussianNoise": LayerSpec(("stddev",), Role.PASS, None, _identity),
    "GaussianDropout": LayerSpec(("rate",), Role.PASS, None, _identity),
    "AlphaDropout": LayerSpec(("rate",), Role.PASS, None, _identity),
    "ActivityRegularization": _PASS_ANY,
    "ReLU": _PASS_ANY,
    "LeakyReLU": _PASS_ANY,
    "PReLU": _PASS_ANY,
    "ELU": _PASS_ANY,
    "Softmax": _PASS_ANY,
    "ThresholdedReLU": _PASS_ANY,
    "BatchNormalization": _PASS_ANY,
    "LayerNormalization": _PASS_ANY,
    "UnitNormalization": _PASS_ANY,
    "GroupNormalization": _PASS_ANY,
    "Masking": LayerSpec(("mask_value",), Role.PASS, None, _identity),
    # Layers that make a new tensor no RNN answers for.
    "InputLayer": LayerSpec((), Role.OTHER, None, _input_layer),
    "Embedding": LayerSpec(("input_dim", "output_dim"), Role.OTHER, None, _embedding),
    "Flatten": LayerSpec(("data_format",), Role.OTHER, None, _flatten),
    "Reshape": LayerSpec(("target_shape",), Role.OTHER, None, _reshape),
    "RepeatVector": LayerSpec(("n",), Role.OTHER, (2, 2), _repeat_vector, "vector"),
    "Permute": LayerSpec(("dims",), Role.OTHER, None, _permute, "sequence"),  # when it takes rank 3
    "Conv1D": LayerSpec(_CONV_PARAMS, Role.OTHER, (3, 3), _conv1d, "sequence"),
    "SeparableConv1D": LayerSpec(_CONV_PARAMS, Role.OTHER, (3, 3), _conv1d, "sequence"),
    "DepthwiseConv1D": LayerSpec(
        ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate"),
        Role.OTHER,
        (3, 3),
        _conv1d,
        "sequence",
    ),
    "Conv1DTranspose": LayerSpec(_CONV_PARAMS, Role.OTHER, (3, 3), _conv1d, "sequence"),
    "MaxPooling1D": LayerSpec(_POOL_PARAMS, Role.OTHER, (3, 3), _pool1d, "sequence"),
    "AveragePooling1D": LayerSpec(_POOL_PARAMS, Role.OTHER, (3, 3), _pool1d, "sequence"),
    "GlobalMaxPooling1D": LayerSpec(("data_format", "keepdims"), Role.OTHER, (3, 3), _global_pool1d, "sequence"),
    "GlobalAveragePooling1D": LayerSpec(("data_format", "keepdims"), Role.OTHER, (3, 3), _global_pool1d, "sequence"),
    "UpSampling1D": LayerSpec(("size",), Role.OTHER, (3, 3), _time_1d(_upsampled), "sequence"),
    "ZeroPadding1D": LayerSpec(("padding",), Role.OTHER, (3, 3), _time_1d(_padded), "sequence"),
    "Cropping1D": LayerSpec(("cropping",), Role.OTHER, (3, 3), _time_1d(_cropped), "sequence"),
    "Concatenate": LayerSpec(("axis",), Role.OTHER, None, _concatenate),
    "Add": LayerSpec((), Role.OTHER, None, _elementwise),
    "Subtract": LayerSpec((), Role.OTHER, None, _elementwise),
    "Multiply": LayerSpec((), Role.OTHER, None, _elementwise),
    "Average": LayerSpec((), Role.OTHER, None, _elementwise),
    "Maximum": LayerSpec((), Role.OTHER, None, _elementwise),
    "Minimum": LayerSpec((), Role.OTHER, None, _elementwise),
    "Attention": LayerSpec(("use_scale", "score_mode"), Role.OTHER, None, _attention),
    "AdditiveAttention": LayerSpec(("use_scale",), Role.OTHER, None, _attention),
    "MultiHeadAttention": LayerSpec(
        ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape"), Role.OTHER, None, _attention
    ),
    # Cells are arguments of RNN(...), never applied on their own by the rules.
    "LSTMCell": LayerSpec(("units",), Role.OTHER, None, _unknown),
    "GRUCell": LayerSpec(("units",), Role.OTHER, None, _unknown),
    "SimpleRNNCell": LayerSpec(("units",), Role.OTHER, None, _unknown),
}

# Layers whose several inputs come as one list: ``Concatenate()([a, b])``.
LIST_INPUT = frozenset(
    {"Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Attention", "AdditiveAttention"}
)


def spec_of(layer: Layer) -> LayerSpec | None:
    return TABLE.get(layer.kind)


def role_of(layer: Layer) -> Role:
    """A layer's role; ``TimeDistributed(Dense)`` is pass-through like the Dense it wraps."""
    if layer.kind == "TimeDistributed":
        inner = layer.inner
        return Role.PASS if inner is not None and inner.kind == "Dense" else Role.OTHER
    spec = spec_of(layer)
    return spec.role if spec is not None else Role.OTHER


def rank_error(spec: LayerSpec, shape: Shape) -> str | None:
    """Why Keras would refuse an input of this rank, or None when it accepts it or we don't know."""
    if spec.ranks is None or shape is None:
        return None
    low, high = spec.ranks
    rank = len(shape)
    if rank < low or (high is not None and rank > high):
        want = f"rank {low}" if low == high else f"rank >= {low}" if high is None else f"rank {low}-{high}"
        return f"expects {want}, got rank {rank}"
    return None


def infer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> tuple[Inference, str | None]:
    """Output shapes and the rank error, for any layer; unknown layers give unknown outputs."""
    spec = spec_of(layer)
    if spec is None:
        return Inference((None,)), None
    ins = ins or [None]
    if ins[0] is None and spec.ranks is not None and spec.ranks[0] == spec.ranks[1]:
        # A layer that accepts one rank only, if it builds at all, got that rank.
        ins = [(None,) + (UNKNOWN,) * (spec.ranks[0] - 1), *ins[1:]]
    result = spec.infer(layer, ins, call)
    error = rank_error(spec, ins[0]) or result.error
    if error is not None and role_of(layer) is Role.OTHER:
        # After a rank error an RNN's output is still fixed by return_sequences, and a
        # pass-through layer still passes the rank on; any other layer's output is unknown.
        result = Inference(None if result.outputs is None else tuple(None for _ in result.outputs), main=result.main)
    return result, error


def dense_parameters(dense: Layer, input_dim: Dim) -> int | None:
    """Parameters of a Dense on an input whose last axis is ``input_dim``."""
    units = int_arg(dense, "units")
    bias = flag(dense, "use_bias", True)
    if not isinstance(units, int) or not isinstance(input_dim, int) or bias is UNKNOWN:
        return None
    return input_dim * units + (units if bias else 0)


def format_shape(shape: Shape) -> str:
    """A shape in the words of ``model.summary()``: ``(None, 64, 16)``; ``?`` where unknown."""
    if shape is None:
        return "(?)"
    parts = ["None" if d is None else "?" if d is UNKNOWN else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"
