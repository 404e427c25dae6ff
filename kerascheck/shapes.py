"""What kerascheck knows of each Keras layer: one table, one entry per layer.

An entry gives the layer's positional parameter names, its role for the rules (an RNN that
answers for its output rank, a pass-through layer that keeps the RNN answerable, or any other
layer), the input ranks Keras accepts, whether it is a consumer the rules judge ("sequence" for
KER103, "vector" for KER106), a function computing output shapes, and what the verifier needs to
rebuild it: which arguments are sizes (they change shapes or parameter counts), which never
change shapes, the Keras 1 spellings of its arguments, how its inputs are passed, and whether it
may be built at all (the worker's allowlist is the table's buildable layers). A layer absent from
the table has unknown outputs, which silences every rule downstream, and is never rebuilt.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal

from kerascheck.graph.model import UNKNOWN, Const, Dim, Layer, Seq, Shape, Value

_CELLS = frozenset({"LSTMCell", "GRUCell", "SimpleRNNCell"})


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


# Arguments that never change shapes or parameter counts, for every layer (an entry may add its
# own): the verifier leaves them out when they are not literals.
NEVER_SHAPES = frozenset(
    {
        "activation",
        "recurrent_activation",
        "dropout",
        "recurrent_dropout",
        "seed",
        "unroll",
        "implementation",
        "use_cudnn",
        "dtype",
        "mask_zero",
        "momentum",
        "epsilon",
        "activity_regularizer",
        "go_backwards",
    }
)
NEVER_SHAPES_SUFFIXES = ("_initializer", "_regularizer", "_constraint")


@dataclass(frozen=True)
class LayerSpec:
    params: tuple[str, ...]  # positional parameters, in order
    role: Role
    ranks: tuple[int, int | None] | None  # accepted input rank, batch axis included
    infer: Infer
    consumer: str | None = None  # "sequence" or "vector": judged by KER103/KER106
    # Arguments that change shapes or parameter counts: a stand-in size when not literal.
    sizes: frozenset[str] = frozenset()
    # Arguments that never do, beyond NEVER_SHAPES.
    cosmetic: frozenset[str] = frozenset()
    # Keras 1 spellings of its arguments -> their names since Keras 2.
    keras1: Mapping[str, str] = field(default_factory=dict)
    # How it is applied to several inputs: ``layer([a, b])`` or ``layer(query, value)``.
    inputs: Literal["one", "list", "args"] = "one"
    buildable: bool = True  # the verifier may build it (its worker's allowlist)
    # The rank its input must have, from the layer and its output's rank, where ``ranks`` cannot
    # say it (the verifier cuts a model there with an input of that rank).
    input_rank: Callable[[Layer, int | None], int | None] | None = None
    input_dtype: str = "float32"  # what the verifier feeds it ("int32": token ids)
    backward: str | None = None  # the argument naming its other direction's RNN (flipped too)

    def never_shapes(self, argument: str) -> bool:
        """Whether ``argument`` can never change this layer's shapes or parameter counts."""
        return argument in NEVER_SHAPES or argument in self.cosmetic or argument.endswith(NEVER_SHAPES_SUFFIXES)


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
        return _cell_units(layer.arg("cell"))
    return int_arg(layer, "units")


def _cell_units(cell: Value | None) -> Dim:
    """Output width of a cell, of a list of cells or of ``StackedRNNCells``: the last cell's."""
    if isinstance(cell, Layer) and cell.kind == "StackedRNNCells":
        cell = cell.arg("cells")
    if isinstance(cell, Seq) and cell.items:
        cell = cell.items[-1]
    return int_arg(cell, "units") if isinstance(cell, Layer) and cell.kind in _CELLS else UNKNOWN


def _state_count(layer: Layer) -> int | None:
    """Number of state tensors one direction of an RNN returns with return_state=True."""
    kind = layer.kind
    if kind == "RNN":
        cell = layer.arg("cell")
        if not isinstance(cell, Layer) or cell.kind not in _CELLS:
            return None  # Keras fails on return_state with stacked cells
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
    inner_spec = None if inner is None else spec_of(inner)
    if inner is None or inner_spec is None or inner_spec.role is not Role.RNN:
        return Inference(None)
    units = rnn_units(inner)
    backward = layer.arg("backward_layer")
    if backward is not None and (not isinstance(backward, Layer) or rnn_units(backward) != units):
        # Keras 3 gives twice the forward width, tf_keras the sum of both: say neither.
        units = UNKNOWN
    mode = const(layer.arg("merge_mode"), "concat")
    one = _rnn_outputs(inner, ins[0], units, 2)
    if one.outputs is None:
        return one
    out, states = one.outputs[0], one.outputs[1:]
    assert out is not None  # an RNN's output shape is always known
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
    """The wrapped layer on one step: drop the time axis, apply the layer's own entry, put it back."""
    x, inner = ins[0], layer.inner
    if inner is None or spec_of(inner) is None:
        return Inference((None,))
    if x is not None and len(x) < 3:
        # Keras refuses this; a wrapped Dense still passes the rank on, as a Dense would.
        return _dense(inner, ins, call) if inner.kind == "Dense" else Inference((None,))
    step_in: Shape = None if x is None else (x[0],) + x[2:]
    step, error = infer(inner, [step_in], {})
    if error is not None:
        return Inference((None,), error=f"{inner.kind} per step {error}")
    if step.outputs is None or len(step.outputs) != 1 or step.outputs[0] is None or len(step.outputs[0]) < 1:
        return Inference((None,))
    # On an input of unknown rank the step's rank is what the wrapped layer always gives
    # (Flatten, global pooling ...), and the time axis is not known.
    batch, time = (None, UNKNOWN) if x is None else (x[0], x[1])
    return Inference(((batch, time) + step.outputs[0][1:],))


def _embedding(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    out = int_arg(layer, "output_dim")
    return Inference((None if x is None else x + (out,),))


def _embedding_input_rank(layer: Layer, out_rank: int | None) -> int | None:
    return None if out_rank is None else out_rank - 1  # one axis of vectors added


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
    sizes = [d for d in [*(x or ())[1:], *rest] if isinstance(d, int) and d > 0]
    if x is not None and target.count(-1) == 1 and len(sizes) == len(x) - 1 + len(rest):
        size, known = math.prod(sizes[: len(x) - 1]), math.prod(sizes[len(x) - 1 :])
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


def _permute_input_rank(layer: Layer, out_rank: int | None) -> int | None:
    order = dims(layer.arg("dims"))
    return None if order is None else len(order) + 1


def _permute(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    given = dims(layer.arg("dims"))
    x = ins[0]
    order = [i for i in given or () if isinstance(i, int)]
    if given is None or len(order) != len(given):
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
    if not (
        isinstance(length, int) and isinstance(kernel, int) and isinstance(stride, int) and isinstance(dilation, int)
    ):
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
    ints = [p for p in parts if isinstance(p, int)]
    return sum(ints) if len(ints) == len(parts) else UNKNOWN


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


# ---------------------------------------------------------------- image and volume layers
# Keras 1 keywords of convolution and pooling (``nb_filter``, ``border_mode`` ...): Keras 2.0's
# legacy interface read them one way, later versions refuse or read them another, so the sizes are
# not known; so are they with three or more positional arguments (``Convolution2D(32, 3, 3)``:
# Keras 2.0 read a 3x3 kernel, Keras 2.3 and later read strides=3).
_KERAS1_SPATIAL = frozenset(
    {"nb_filter", "nb_row", "nb_col", "border_mode", "subsample", "dim_ordering", "pool_length"}
)


_SIZES_REFUSED = "refuses these sizes (an axis with nothing left, or strides with dilation)"


def _ints_arg(layer: Layer, name: str, n: int, default: int | None) -> tuple[Dim, ...]:
    """An int or an n-tuple of ints (``kernel_size=3``, ``strides=(2, 1)``), per spatial axis."""
    raw = layer.arg(name)
    if raw is None:
        return (UNKNOWN,) * n if default is None else (default,) * n
    if isinstance(raw, Seq):
        values = tuple(dim(item) for item in raw.items)
        if len(values) != n:
            return (UNKNOWN,) * n
        return tuple(v if isinstance(v, int) and v > 0 else UNKNOWN for v in values)
    single = dim(raw)
    return (single if isinstance(single, int) and single > 0 else UNKNOWN,) * n


def _legacy_sizes(layer: Layer) -> bool:
    """Whether the sizes depend on which Keras reads a Keras 1 spelling (see _KERAS1_SPATIAL)."""
    if layer.opaque or any(key in layer.kwargs for key in _KERAS1_SPATIAL):
        return True
    positional = sum(1 for arg in layer.call.args if not isinstance(arg, ast.Starred))
    return layer.kind in ("Conv2D", "Conv3D", "SeparableConv2D") and positional > 2


def _channels_last(layer: Layer) -> bool:
    return const(layer.arg("data_format"), None) in (None, "channels_last")


def _spatial(n: int, layer: Layer, x: Shape, kernel: tuple[Dim, ...], strides: tuple[Dim, ...]) -> Shape:
    """The spatial axes of a convolution or pooling on ``x`` (rank n + 2, channels last):
    UNKNOWN where unsure, Keras' None where the input's axis is free; None when Keras refuses."""
    assert x is not None
    padding = const(layer.arg("padding"), "valid")
    dilation = _ints_arg(layer, "dilation_rate", n, 1)
    if padding not in ("same", "valid"):
        return None if isinstance(padding, str) else (UNKNOWN,) * n  # "causal" is for 1-D layers
    if any(isinstance(s, int) and s > 1 for s in strides) and any(isinstance(d, int) and d > 1 for d in dilation):
        return None  # Keras refuses strides > 1 with dilation_rate > 1
    out: list[Dim] = []
    for axis in range(n):
        length = x[1 + axis]
        steps = None if length is None else _steps(length, kernel[axis], strides[axis], padding, dilation[axis])
        if isinstance(steps, int) and steps <= 0:
            return None  # nothing left of the axis: Keras refuses
        out.append(steps)
    return tuple(out)


def _conv_nd(n: int) -> Infer:
    """Conv2D/Conv3D and their separable, depthwise and transposed kin, channels last."""

    def infer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
        x = ins[0]
        if x is None or len(x) != n + 2:
            return Inference((None,))  # unknown, or a rank only some Keras versions accept
        if layer.kind.startswith("DepthwiseConv"):
            channels = mul(x[-1], int_arg(layer, "depth_multiplier", 1)) if x[-1] is not None else UNKNOWN
        else:
            channels = int_arg(layer, "filters")
        if _legacy_sizes(layer) or not _channels_last(layer) or "Transpose" in layer.kind:
            if not _channels_last(layer) or "dim_ordering" in layer.kwargs:
                channels = UNKNOWN
            return Inference(((x[0],) + (UNKNOWN,) * n + (channels,),))
        space = _spatial(n, layer, x, _ints_arg(layer, "kernel_size", n, None), _ints_arg(layer, "strides", n, 1))
        if space is None:
            return Inference((None,), error=_SIZES_REFUSED)
        return Inference(((x[0],) + space + (channels,),))

    return infer


def _pool_nd(n: int) -> Infer:
    def infer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
        x = ins[0]
        assert x is not None  # the table fixes the rank, so infer() gives one
        if _legacy_sizes(layer) or not _channels_last(layer):
            return Inference(((x[0],) + (UNKNOWN,) * (n + 1),))
        pool = _ints_arg(layer, "pool_size", n, 2)
        strides = pool if const(layer.arg("strides"), None) is None else _ints_arg(layer, "strides", n, 1)
        space = _spatial(n, layer, x, pool, strides)
        if space is None:
            return Inference((None,), error=_SIZES_REFUSED)
        return Inference(((x[0],) + space + (x[-1],),))

    return infer


def _global_pool_nd(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    x = ins[0]
    assert x is not None
    keep = flag(layer, "keepdims", False)
    if keep is UNKNOWN or not _channels_last(layer):
        return Inference((None,))
    return Inference(((x[0],) + (1,) * (len(x) - 2) + (x[-1],) if keep else (x[0], x[-1]),))


def _pairs(value: Value | None, n: int, default: int) -> tuple[tuple[Dim, Dim], ...]:
    """Padding or cropping per spatial axis: an int, n ints, or n pairs of ints."""
    if value is None:
        return ((default, default),) * n
    single = dim(value)
    if isinstance(single, int):
        return ((single, single),) * n
    unsure = ((UNKNOWN, UNKNOWN),) * n
    if not isinstance(value, Seq) or len(value.items) != n:
        return unsure
    out: list[tuple[Dim, Dim]] = []
    for item in value.items:
        if isinstance(item, Seq):
            pair = dims(item)
            if pair is None or len(pair) != 2:
                return unsure
            out.append((pair[0], pair[1]))
        else:
            out.append((dim(item), dim(item)))
    return tuple(out)


def _resize_nd(n: int, how: str) -> Infer:
    """UpSampling ("up"), ZeroPadding ("pad") and Cropping ("crop") in n spatial dimensions."""

    def infer(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
        x = ins[0]
        assert x is not None
        if not _channels_last(layer) or layer.opaque:
            return Inference(((x[0],) + (UNKNOWN,) * (n + 1),))
        space: list[Dim] = []
        sizes = _ints_arg(layer, "size", n, 2)
        margins = _pairs(layer.arg("padding" if how == "pad" else "cropping"), n, 1 if how == "pad" else 0)
        for axis in range(n):
            length = x[1 + axis]
            if length is None:
                space.append(None)
            elif how == "up":
                space.append(mul(length, sizes[axis]))
            else:
                before, after = margins[axis]
                new = _add(length, before, after) if how == "pad" else _add(length, *(_neg(m) for m in (before, after)))
                if isinstance(new, int) and new <= 0:
                    return Inference((None,), error=_SIZES_REFUSED)
                space.append(new)
        return Inference(((x[0],) + tuple(space) + (x[-1],),))

    return infer


def _neg(value: Dim) -> Dim:
    return -value if isinstance(value, int) else UNKNOWN


def _concatenate(layer: Layer, given: list[Shape], call: dict[str, Value]) -> Inference:
    ins = [s for s in given if s is not None]
    if len(given) < 2 or len(ins) != len(given) or len({len(s) for s in ins}) != 1:
        return Inference((None,))
    axis = const(layer.arg("axis"), -1)
    rank = len(ins[0])
    if not isinstance(axis, int) or not -rank <= axis < rank:
        return Inference((None,))
    axis %= rank
    out = list(ins[0])
    total: Dim = 0
    for s in ins:
        size = s[axis]
        total = total + size if isinstance(total, int) and isinstance(size, int) else UNKNOWN
    out[axis] = total
    return Inference((tuple(out),))


def _elementwise(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    if len(ins) < 2 or any(s is None for s in ins) or len({len(s) for s in ins if s is not None}) != 1:
        return Inference((None,))
    if layer.kind == "Subtract" and len(ins) != 2:
        return Inference((None,), error="takes exactly 2 inputs")
    out: list[Dim] = []
    for axis in zip(*ins):
        wide = {s for s in axis if isinstance(s, int) and s != 1}
        if len(wide) > 1:
            return Inference((None,), error=f"cannot broadcast sizes {sorted(wide)}")
        out.append(_broadcast(axis))
    return Inference((tuple(out),))


def _broadcast(sizes: tuple[Dim, ...]) -> Dim:
    """One axis of an element-wise merge, as Keras computes it: a size 1 stretches to the others."""
    if any(s is UNKNOWN for s in sizes):
        return UNKNOWN
    if any(s is None for s in sizes):
        return None
    wide = {s for s in sizes if s != 1}
    return wide.pop() if wide else 1


def _dot(layer: Layer, ins: list[Shape], call: dict[str, Value]) -> Inference:
    """``Dot(axes)`` of two tensors: both lose the summed axis, the second its batch axis too."""
    a, b = (ins + [None, None])[:2]
    if len(ins) != 2 or a is None or b is None or flag(layer, "normalize", False) is UNKNOWN:
        return Inference((None,))
    axes = dims(layer.arg("axes"))
    if axes is None or len(axes) not in (1, 2) or not all(isinstance(x, int) for x in axes):
        return Inference((None,))
    first, second = (axes[0], axes[0]) if len(axes) == 1 else axes
    assert isinstance(first, int) and isinstance(second, int)
    if not (-len(a) <= first < len(a) and -len(b) <= second < len(b)):
        return Inference((None,))
    first, second = first % len(a), second % len(b)
    if first == 0 or second == 0:
        return Inference((None,))  # the batch axis: not a product Keras makes
    x, y = a[first], b[second]
    if isinstance(x, int) and isinstance(y, int) and x != y:
        return Inference((None,), error=f"sums axes of sizes {x} and {y}")
    if (x is None) != (y is None):
        return Inference((None,))  # Keras 3 refuses a free axis against a fixed one
    out = a[:first] + a[first + 1 :] + tuple(d for i, d in enumerate(b) if i not in (0, second))
    return Inference((out if len(out) > 1 else out + (1,),))


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
_UNITS = frozenset({"units"})
_FILTERS = frozenset({"filters"})
_KERAS1_RNN = {"output_dim": "units", "dropout_W": "dropout", "dropout_U": "recurrent_dropout"}
_PASS_ANY = LayerSpec((), Role.PASS, None, _identity)
_CONV_PARAMS = ("filters", "kernel_size", "strides", "padding", "data_format", "dilation_rate")
_POOL_PARAMS = ("pool_size", "strides", "padding", "data_format")

TABLE: dict[str, LayerSpec] = {
    # Recurrent layers: their output rank is fixed by return_sequences.
    "SimpleRNN": LayerSpec(_RNN_PARAMS, Role.RNN, (3, 3), _rnn, "sequence", _UNITS, keras1={"output_dim": "units"}),
    "LSTM": LayerSpec(_RNN_PARAMS, Role.RNN, (3, 3), _rnn, "sequence", _UNITS, keras1=_KERAS1_RNN),
    "GRU": LayerSpec(_RNN_PARAMS, Role.RNN, (3, 3), _rnn, "sequence", _UNITS, keras1=_KERAS1_RNN),
    "RNN": LayerSpec(
        ("cell", "return_sequences", "return_state", "go_backwards", "stateful"), Role.RNN, (3, 3), _rnn, "sequence"
    ),
    "Bidirectional": LayerSpec(
        ("layer", "merge_mode"), Role.RNN, (3, 3), _bidirectional, "sequence", backward="backward_layer"
    ),
    "ConvLSTM1D": LayerSpec(_CONV_PARAMS, Role.OTHER, (4, 4), _conv_lstm(1), sizes=_FILTERS),
    "ConvLSTM2D": LayerSpec(_CONV_PARAMS, Role.OTHER, (5, 5), _conv_lstm(2), sizes=_FILTERS),
    "ConvLSTM3D": LayerSpec(_CONV_PARAMS, Role.OTHER, (6, 6), _conv_lstm(3), sizes=_FILTERS),
    # Wrappers and dense layers.
    "TimeDistributed": LayerSpec(("layer",), Role.OTHER, (3, None), _time_distributed),
    "Dense": LayerSpec(
        ("units", "activation", "use_bias"), Role.PASS, (2, None), _dense, sizes=_UNITS, keras1={"output_dim": "units"}
    ),
    # Pass-through layers: same shape out as in.
    "Activation": LayerSpec(("activation",), Role.PASS, None, _identity),
    "Dropout": LayerSpec(("rate", "noise_shape", "seed"), Role.PASS, None, _identity),
    "Identity": LayerSpec((), Role.PASS, None, _identity),
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
    "InputLayer": LayerSpec((), Role.OTHER, None, _input_layer, buildable=False),  # the spec's inputs
    "Embedding": LayerSpec(
        ("input_dim", "output_dim"),
        Role.OTHER,
        None,
        _embedding,
        sizes=frozenset({"input_dim", "output_dim"}),
        input_rank=_embedding_input_rank,
        input_dtype="int32",
    ),
    "Flatten": LayerSpec(("data_format",), Role.OTHER, None, _flatten),
    "Reshape": LayerSpec(("target_shape",), Role.OTHER, None, _reshape),
    "RepeatVector": LayerSpec(("n",), Role.OTHER, (2, 2), _repeat_vector, "vector", frozenset({"n"})),
    # "sequence": when it takes rank 3
    "Permute": LayerSpec(("dims",), Role.OTHER, None, _permute, "sequence", input_rank=_permute_input_rank),
    "Conv1D": LayerSpec(_CONV_PARAMS, Role.OTHER, (3, 3), _conv1d, "sequence", _FILTERS),
    "SeparableConv1D": LayerSpec(_CONV_PARAMS, Role.OTHER, (3, 3), _conv1d, "sequence", _FILTERS),
    "DepthwiseConv1D": LayerSpec(
        ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate"),
        Role.OTHER,
        (3, 3),
        _conv1d,
        "sequence",
    ),
    "Conv1DTranspose": LayerSpec(_CONV_PARAMS, Role.OTHER, (3, 3), _conv1d, "sequence", _FILTERS),
    "MaxPooling1D": LayerSpec(_POOL_PARAMS, Role.OTHER, (3, 3), _pool1d, "sequence"),
    "AveragePooling1D": LayerSpec(_POOL_PARAMS, Role.OTHER, (3, 3), _pool1d, "sequence"),
    "GlobalMaxPooling1D": LayerSpec(("data_format", "keepdims"), Role.OTHER, (3, 3), _global_pool1d, "sequence"),
    "GlobalAveragePooling1D": LayerSpec(("data_format", "keepdims"), Role.OTHER, (3, 3), _global_pool1d, "sequence"),
    "UpSampling1D": LayerSpec(("size",), Role.OTHER, (3, 3), _time_1d(_upsampled), "sequence"),
    "ZeroPadding1D": LayerSpec(("padding",), Role.OTHER, (3, 3), _time_1d(_padded), "sequence"),
    "Cropping1D": LayerSpec(("cropping",), Role.OTHER, (3, 3), _time_1d(_cropped), "sequence"),
    # Image and volume layers (channels last), as wrapped in TimeDistributed over video frames.
    "Conv2D": LayerSpec(_CONV_PARAMS, Role.OTHER, (4, None), _conv_nd(2), sizes=_FILTERS),
    "Conv3D": LayerSpec(_CONV_PARAMS, Role.OTHER, (5, None), _conv_nd(3), sizes=_FILTERS),
    "SeparableConv2D": LayerSpec(_CONV_PARAMS, Role.OTHER, (4, None), _conv_nd(2), sizes=_FILTERS),
    "DepthwiseConv2D": LayerSpec(
        ("kernel_size", "strides", "padding", "depth_multiplier", "data_format", "dilation_rate"),
        Role.OTHER,
        (4, None),
        _conv_nd(2),
    ),
    # Keras 2 and 3 differ after padding (output_padding): later positions make it opaque.
    "Conv2DTranspose": LayerSpec(
        ("filters", "kernel_size", "strides", "padding"), Role.OTHER, (4, None), _conv_nd(2), sizes=_FILTERS
    ),
    "MaxPooling2D": LayerSpec(_POOL_PARAMS, Role.OTHER, (4, 4), _pool_nd(2)),
    "AveragePooling2D": LayerSpec(_POOL_PARAMS, Role.OTHER, (4, 4), _pool_nd(2)),
    "MaxPooling3D": LayerSpec(_POOL_PARAMS, Role.OTHER, (5, 5), _pool_nd(3)),
    "AveragePooling3D": LayerSpec(_POOL_PARAMS, Role.OTHER, (5, 5), _pool_nd(3)),
    "GlobalMaxPooling2D": LayerSpec(("data_format", "keepdims"), Role.OTHER, (4, 4), _global_pool_nd),
    "GlobalAveragePooling2D": LayerSpec(("data_format", "keepdims"), Role.OTHER, (4, 4), _global_pool_nd),
    "UpSampling2D": LayerSpec(("size", "data_format"), Role.OTHER, (4, 4), _resize_nd(2, "up")),
    "ZeroPadding2D": LayerSpec(("padding", "data_format"), Role.OTHER, (4, 4), _resize_nd(2, "pad")),
    "Cropping2D": LayerSpec(("cropping", "data_format"), Role.OTHER, (4, 4), _resize_nd(2, "crop")),
    "SpatialDropout2D": LayerSpec(("rate", "data_format"), Role.OTHER, (4, 4), _identity),
    "Concatenate": LayerSpec(("axis",), Role.OTHER, None, _concatenate, inputs="list"),
    "Add": LayerSpec((), Role.OTHER, None, _elementwise, inputs="list"),
    "Subtract": LayerSpec((), Role.OTHER, None, _elementwise, inputs="list"),
    "Multiply": LayerSpec((), Role.OTHER, None, _elementwise, inputs="list"),
    "Average": LayerSpec((), Role.OTHER, None, _elementwise, inputs="list"),
    "Maximum": LayerSpec((), Role.OTHER, None, _elementwise, inputs="list"),
    "Minimum": LayerSpec((), Role.OTHER, None, _elementwise, inputs="list"),
    "Dot": LayerSpec(("axes", "normalize"), Role.OTHER, None, _dot, inputs="list"),
    "Attention": LayerSpec(("use_scale", "score_mode"), Role.OTHER, None, _attention, inputs="list"),
    "AdditiveAttention": LayerSpec(("use_scale",), Role.OTHER, None, _attention, inputs="list"),
    "MultiHeadAttention": LayerSpec(
        ("num_heads", "key_dim", "value_dim", "dropout", "use_bias", "output_shape"),
        Role.OTHER,
        None,
        _attention,
        sizes=frozenset({"num_heads", "key_dim", "value_dim"}),
        inputs="args",
    ),
    # Cells are arguments of RNN(...), never applied on their own by the rules.
    "LSTMCell": LayerSpec(("units",), Role.OTHER, None, _unknown, sizes=_UNITS),
    "GRUCell": LayerSpec(("units",), Role.OTHER, None, _unknown, sizes=_UNITS),
    "SimpleRNNCell": LayerSpec(("units",), Role.OTHER, None, _unknown, sizes=_UNITS),
    "StackedRNNCells": LayerSpec(("cells",), Role.OTHER, None, _unknown),
}

# Layers whose several inputs come as one list: ``Concatenate()([a, b])``.
LIST_INPUT = frozenset(name for name, spec in TABLE.items() if spec.inputs == "list")
# The layers the verifier may build: the worker constructs no other class.
BUILDABLE = frozenset(name for name, spec in TABLE.items() if spec.buildable)


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


def format_shape(shape: Sequence[object] | None) -> str:
    """A shape in the words of ``model.summary()``: ``(None, 64, 16)``; ``?`` where unknown.

    The one way shapes are printed: kerascheck's own (``UNKNOWN``), those of a spec (``"?"``) and
    those Keras built.
    """
    if shape is None:
        return "(?)"
    parts = ["None" if d is None else "?" if d is UNKNOWN else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def format_shapes(shapes: Sequence[Sequence[object] | None]) -> str:
    """A layer's output shapes: one shape, or ``[(...), (...)]`` for several (as Keras prints them)."""
    if len(shapes) == 1:
        return format_shape(shapes[0])
    return "[" + ", ".join(format_shape(s) for s in shapes) + "]"
