"""Differential testing of kerascheck against real Keras: generate, render, oracle, compare.

A *program* is a stack of layers on one input, optionally followed by ``compile`` and training
calls with NumPy targets. It is rendered as Python source in every model form (``FORMS``: a
Sequential list, ``Sequential().add`` with loops for repeated layers, functional, functional with
layers bound to names first, a subclassed ``keras.Model``, and a Sequential model built in a
function whose argument is the number of features) and in several spellings. The *oracle* builds
the same stack layer by layer in the installed Keras (once per process, each layer on a fresh
``keras.Input``), learns every tensor's shape or the error Keras raises, and from those derives
the findings DESIGN.md's rules, as narrowed by each rule's documentation in ``kerascheck/rules``,
call for, each on the line the rendering put its node on. Nothing here reads kerascheck's shape
table: the only shapes are the ones Keras computes.

How the oracle decides (``walk``, ``expected``):

- A tensor is known (its rank, and its dimensions, ``UNK`` where they cannot be known
  statically) or unknown. It remembers the RNN *responsible* for its rank: set by an RNN whose
  ``return_sequences`` is a constant, kept by the pass-through layers (``PASS_THROUGH`` and
  ``TimeDistributed(Dense)``), cleared by any other layer.
- KER101: ``TimeDistributed(Dense)`` applied to a known tensor of rank >= 3.
- KER102: ``TimeDistributed(...)`` applied to a known tensor of rank 2.
- KER103: a layer in ``NEEDS_SEQUENCE`` applied to a rank-2 tensor an RNN is responsible for.
- KER106: a layer in ``NEEDS_VECTOR`` applied to a rank-3 tensor an RNN is responsible for.
- KER107: the same two, on a tensor no RNN is responsible for (``ker107_codes``).
  (For KER102/103/106/107 Keras must refuse the input; the oracle checks that it does.)
- When Keras refuses an input's *rank* (the layer refuses that rank with every dimension left
  open too): an RNN's output is still fixed by its own ``return_sequences``, so the next layer
  gets a fresh input shaped as the RNN's output on a sequence of unknown length; a pass-through
  layer keeps the rank (a wrapped Dense still maps the last axis); any other layer makes a
  tensor nothing is known about.
- A layer given an unknown tensor gives a known rank only where Keras gives the same output rank
  for every input rank it accepts (``fixed_rank_output``): an RNN, Flatten, RepeatVector, Conv1D,
  ... but not a Dense. A subclassed model, or a Sequential model with no declared input, starts
  unknown.
- KER104/KER105: at a training call whose targets have a known shape (the oracle evaluates the
  target expression with NumPy), when the model's output is known, an RNN is responsible for it,
  the last ``compile`` named a built-in loss (not a sparse one for KER105), and the rank and width
  conditions of the rule's documentation and check hold (``ker104_fires``, ``ker105_fires``).

Sizes the analyzer cannot know (``units=HIDDEN`` where ``HIDDEN = int(sys.argv[1])``, the
features argument of ``build_model``, time after an error) are given to Keras twice, with two
values, and output dimensions that differ are unknown. The generator draws layers along Keras'
own shapes so that Keras refuses ranks, never sizes (the rules say nothing about sizes).
"""

from __future__ import annotations

import functools
import math
import os
import random
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

# ------------------------------------------------------------------------------------------------
# Values and layer specs


class _Unk:
    """A dimension that is not known statically."""

    _instance: _Unk | None = None

    def __new__(cls) -> _Unk:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"


UNK = _Unk()


@dataclass(frozen=True)
class Opaque:
    """A value the analyzer cannot know (rendered as a name bound to something unknowable).
    ``keras_value`` is what the oracle passes to Keras to learn whether the input is accepted."""

    name: str
    keras_value: object


@dataclass(frozen=True)
class Spec:
    """A layer constructor: ``kind`` is the ``keras.layers`` class, ``args`` are
    ``(keyword or None for positional, value)`` pairs; a value may itself be a Spec."""

    kind: str
    args: tuple[tuple[str | None, object], ...] = ()

    def kw(self, name: str, default: object = None) -> object:
        for key, value in self.args:
            if key == name:
                return value
        return default

    def pos(self, index: int, default: object = None) -> object:
        positional = [value for key, value in self.args if key is None]
        return positional[index] if index < len(positional) else default

    @property
    def inner(self) -> Spec | None:
        value = self.pos(0)
        return value if isinstance(value, Spec) else None

    def kinds(self) -> set[str]:
        found = {self.kind}
        for _, value in self.args:
            if isinstance(value, Spec):
                found |= value.kinds()
        return found


RNN_KINDS = frozenset({"SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional"})
# DESIGN.md's pass-through layers: Dropout and its kin, Activation, normalization, Masking, Dense,
# TimeDistributed(Dense).
PASS_THROUGH = frozenset(
    {
        "Dropout",
        "SpatialDropout1D",
        "GaussianNoise",
        "Activation",
        "BatchNormalization",
        "LayerNormalization",
        "Masking",
        "Dense",
    }
)
# Layers that need a sequence (KER103) and a vector (KER106).
NEEDS_SEQUENCE = frozenset(
    {
        "SimpleRNN",
        "LSTM",
        "GRU",
        "RNN",
        "Bidirectional",
        "Conv1D",
        "MaxPooling1D",
        "AveragePooling1D",
        "GlobalAveragePooling1D",
        "GlobalMaxPooling1D",
        "UpSampling1D",
        "ZeroPadding1D",
        "Cropping1D",
        "SpatialDropout1D",
    }
)
NEEDS_VECTOR = frozenset({"RepeatVector"})


def needs_sequence(spec: Spec) -> bool:
    """A layer that needs rank 3: Permute too, when it permutes two axes (then the fix, a
    sequence, makes it build)."""
    if spec.kind == "Permute":
        return len(spec.args[0][1]) == 2  # type: ignore[arg-type]
    return spec.kind in NEEDS_SEQUENCE


def is_rnn(spec: Spec) -> bool:
    return spec.kind in RNN_KINDS


def is_pass_through(spec: Spec) -> bool:
    if spec.kind == "TimeDistributed":
        return spec.inner is not None and spec.inner.kind == "Dense"
    return spec.kind in PASS_THROUGH


def return_sequences(spec: Spec) -> object:
    """True, False, or UNK when it is not a constant."""
    if spec.kind == "Bidirectional":
        assert spec.inner is not None
        return return_sequences(spec.inner)
    value = spec.kw("return_sequences", spec.pos(1, False) if spec.kind == "RNN" else False)
    return UNK if isinstance(value, Opaque) else value


# ------------------------------------------------------------------------------------------------
# Keras, imported once per process and only when the oracle first needs it


@functools.cache
def keras_module():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    from kerascheck.verify.worker import quieter_collector

    quieter_collector()  # before the import, as a verification worker
    state = random.getstate()
    import keras

    random.setstate(state)  # hypothesis wants the global random module left alone
    return keras


def build_layer(spec: Spec):
    keras = keras_module()
    positional, keywords = [], {}
    for key, value in spec.args:
        value = build_layer(value) if isinstance(value, Spec) else value
        value = value.keras_value if isinstance(value, Opaque) else value
        if key is None:
            positional.append(value)
        else:
            keywords[key] = value
    return getattr(keras.layers, spec.kind)(*positional, **keywords)


Dims = tuple  # (None, d1, ..., dn): batch axis first, then ints or UNK


@dataclass(frozen=True)
class Outcome:
    outputs: tuple[Dims, ...] | None  # every output Keras returned (states and all)
    error: str | None = None
    rank_error: bool = False  # Keras refuses the input's rank, whatever its dimensions


def _keras_dims(dims: Dims, last: int | None = None) -> tuple:
    out = [None if d is UNK else d for d in dims]
    if last is not None:
        out[-1] = last
    return tuple(out)


def _from_keras(shape: tuple) -> Dims:
    # Inputs always have known dimensions, so a None past the batch axis comes from an UNK.
    return (None,) + tuple(UNK if d is None else int(d) for d in shape[1:])


# Layers whose input spec refused an input's rank, which Keras checks before building anything:
# unchanged, so the next call may use them (making a recurrent layer costs more than calling it).
_unbuilt: dict[Spec, list] = {}
_REFUSED_BEFORE_BUILD = re.compile(r"is incompatible with the layer: expected (min_|max_)?ndim=")


def _built(layer) -> bool:
    inner = [getattr(layer, name, None) for name in ("layer", "forward_layer", "backward_layer", "cell")]
    return layer.built or any(getattr(i, "built", False) for i in inner)


@functools.cache
def _call_keras(spec: Spec, batch_shape: tuple) -> tuple[tuple[Dims, ...] | None, str | None]:
    """What Keras gives a fresh layer made from ``spec`` called on ``keras.Input(batch_shape=...)``:
    its outputs' shapes or its error. That depends on the two alone, so each is asked once: the
    callers ask again (a rank refused with all axes open, an unknown last axis given a size)."""
    keras = keras_module()
    from keras.src.backend.common import global_state

    pending = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    before = len(pending)
    # Keras seeds layers without a seed from the global random module; the generator runs the
    # oracle while hypothesis draws, and hypothesis wants that module left alone.
    random_state = random.getstate()
    try:
        return _call_keras_fresh(keras, spec, batch_shape)
    finally:
        # Weights left uninitialized would pile up over thousands of builds: forget ours.
        del pending[before:]
        random.setstate(random_state)


@functools.cache
def _symbolic_input(batch_shape: tuple):
    """One ``keras.Input`` per batch shape for every layer the oracle applies: a symbolic tensor
    is only read by the layers it is given to (making an InputLayer costs as much as calling a
    small layer on it)."""
    return keras_module().Input(batch_shape=batch_shape)


def _call_keras_fresh(keras, spec: Spec, batch_shape: tuple) -> tuple[tuple[Dims, ...] | None, str | None]:
    spare = _unbuilt.get(spec)
    # A StatelessScope defers initializing the weights a build creates: only shapes are wanted.
    with warnings.catch_warnings(), keras.StatelessScope(initialize_variables=False):
        warnings.simplefilter("ignore")
        layer = spare.pop() if spare else build_layer(spec)  # a constructor error is a generator bug
        try:
            result = layer(_symbolic_input(batch_shape))
        except Exception as error:
            if _REFUSED_BEFORE_BUILD.search(str(error)) and not _built(layer):
                _unbuilt.setdefault(spec, []).append(layer)
            return None, f"{type(error).__name__}: {error}"
    if is_rnn(spec) and len(batch_shape) != 3:
        # The generic RNN layer builds symbolically on inputs of rank 4, then fails in its time
        # loop ("enters the loop with shape (2, 3), but has shape (2, 2, 3)") or, with a
        # SimpleRNNCell, runs to an output of another rank than the symbolic one: ask a real run.
        ran_rank, error = _run_rnn(spec, tuple(2 if d is None else d for d in batch_shape))
        if error is not None:
            return None, error
        symbolic = result[0] if isinstance(result, (list, tuple)) else result
        if ran_rank != len(symbolic.shape):
            return None, f"run gives rank {ran_rank}, the symbolic build rank {len(symbolic.shape)}"
    results = result if isinstance(result, (list, tuple)) else [result]
    return tuple(_from_keras(tuple(r.shape)) for r in results), None


@functools.cache
def _run_rnn(spec: Spec, shape: tuple[int, ...]) -> tuple[int | None, str | None]:
    """A fresh layer made from ``spec`` run on zeros of ``shape``: the rank of its (first)
    output, or what it raised. Both depend on the spec and the shape alone (a run on zeros of
    fresh weights): the symbolic inputs that have this concrete shape share one run."""
    import gc
    import logging

    import numpy as np

    tf_logger = logging.getLogger("tensorflow")
    level = tf_logger.level
    tf_logger.setLevel(logging.CRITICAL)  # the failed loop leaves a TensorArray that TF logs about
    try:
        ran = build_layer(spec)(np.zeros(shape, "float32"))
    except Exception as error:
        return None, f"{type(error).__name__} when run: {error}"
    finally:
        gc.collect(1)  # the young generations hold it: a full collection costs 100x more
        tf_logger.setLevel(level)
    ran = ran[0] if isinstance(ran, (list, tuple)) else ran
    return len(ran.shape), None


@functools.cache
def _parameters(kind: str) -> tuple[str, ...]:
    import inspect

    signature = inspect.signature(getattr(keras_module().layers, kind).__init__)
    return tuple(name for name in signature.parameters if name != "self")


@functools.cache
def canonical(spec: Spec) -> Spec:
    """The same layer as Keras sees it: arguments by keyword, sorted, without ``name``, opaque
    values replaced by what Keras gets (so spelling variants share the oracle's cache)."""
    names = _parameters(spec.kind)
    args: dict[str, object] = {}
    position = 0
    for key, value in spec.args:
        if key is None:
            key, position = names[position], position + 1
        if key == "name":
            continue
        if isinstance(value, Spec):
            value = canonical(value)
        elif isinstance(value, Opaque):
            value = value.keras_value
        args[key] = value
    return Spec(spec.kind, tuple(sorted(args.items())))


def _variant(spec: Spec, shift: int) -> Spec:
    """The spec with every opaque integer given its value plus ``shift``."""

    def value(v: object) -> object:
        if isinstance(v, Spec):
            return _variant(v, shift)
        if isinstance(v, Opaque) and type(v.keras_value) is int:
            return v.keras_value + shift
        return v

    return Spec(spec.kind, tuple((k, value(v)) for k, v in spec.args))


def _has_opaque_int(spec: Spec) -> bool:
    return any(
        _has_opaque_int(v) if isinstance(v, Spec) else isinstance(v, Opaque) and type(v.keras_value) is int
        for _, v in spec.args
    )


def _merge(a: Dims, b: Dims) -> Dims:
    return tuple(x if x == y else UNK for x, y in zip(a, b))


def keras_apply(spec: Spec, dims: Dims) -> Outcome:
    """``_keras_apply`` for a spec whose opaque integers (``units=HIDDEN``) the analyzer cannot
    know: Keras is asked with two values, and output dimensions that differ are unknown."""
    if not _has_opaque_int(spec):
        return _keras_apply(canonical(spec), dims)
    one, two = _keras_apply(canonical(_variant(spec, 0)), dims), _keras_apply(canonical(_variant(spec, 3)), dims)
    assert (one.outputs is None) == (two.outputs is None), (spec, one, two)
    if one.outputs is None or two.outputs is None:
        return one
    return Outcome(tuple(_merge(a, b) for a, b in zip(one.outputs, two.outputs)))


@functools.cache
def _keras_apply(spec: Spec, dims: Dims) -> Outcome:
    """Apply a fresh layer built from ``spec`` to ``keras.Input(batch_shape=dims)``.

    Unknown dimensions are given to Keras as None. Where Keras needs the last axis (a Dense
    builds its kernel from it), an unknown one is given a size, and where that size shows in the
    output, a second one: an output dimension that differs between the two is unknown.
    """
    outputs, error = _call_keras(spec, _keras_dims(dims))
    if outputs is not None or dims[-1] is not UNK:
        return (
            Outcome(outputs) if outputs is not None else Outcome(None, error, _refuses_rank(spec, len(dims), dims[-1]))
        )
    first, _ = _call_keras(spec, _keras_dims(dims, 7))
    if first is None:
        return Outcome(None, error, _refuses_rank(spec, len(dims)))
    if not any(isinstance(d, int) and d % 7 == 0 for out in first for d in out):
        return Outcome(first)
    second, _ = _call_keras(spec, _keras_dims(dims, 11))
    if second is None:
        return Outcome(None, error, False)
    return Outcome(tuple(tuple(a if a == b else UNK for a, b in zip(x, y)) for x, y in zip(first, second)))


@functools.cache
def _refuses_rank(spec: Spec, rank: int, last: object = UNK) -> bool:
    """True when Keras refuses every input of this rank: with all dimensions open, and with only
    the last axis given (layers that build weights need it)."""
    open_dims = (None,) * rank
    if _call_keras(spec, open_dims)[0] is not None:
        return False
    given = last if isinstance(last, int) else 7
    return _call_keras(spec, open_dims[:-1] + (given,))[0] is None


def fixed_rank_output(spec: Spec) -> Dims | None:
    if not _has_opaque_int(spec):
        return _fixed_rank_output(canonical(spec))
    one, two = _fixed_rank_output(canonical(_variant(spec, 0))), _fixed_rank_output(canonical(_variant(spec, 3)))
    return None if one is None or two is None or len(one) != len(two) else _merge(one, two)


@functools.cache
def _fixed_rank_output(spec: Spec) -> Dims | None:
    """The layer's first output on an input of unknown rank, when its rank is known anyway:
    Keras gives the same output rank for every input rank it accepts (an RNN: the rank its own
    return_sequences fixes; Flatten: 2; RepeatVector: 3; a Dense: none, it keeps the rank).
    Dimensions that differ between those inputs are unknown."""
    found: list[Dims] = []
    for rank in range(2, 5):  # the ranks generated stacks make
        outcome = keras_apply(spec, (None,) + (UNK,) * (rank - 1))
        if outcome.outputs is not None:
            found.append(outcome.outputs[0])
    if not found or len({len(dims) for dims in found}) != 1:
        return None
    return tuple(dims[0] if all(d == dims[0] for d in dims) else UNK for dims in zip(*found))


def output_count(spec: Spec) -> int:
    """How many tensors applying the layer gives (return_state, merge_mode=None)."""
    outcome = keras_apply(spec, (None, 4, 3)) if is_rnn(spec) else None
    return 1 if outcome is None or outcome.outputs is None else len(outcome.outputs)


# ------------------------------------------------------------------------------------------------
# The oracle


@dataclass(frozen=True)
class TensorState:
    dims: Dims | None  # None: unknown (nothing is judged)
    origin: int | None = None  # index of the layer (an RNN) responsible for the rank

    @property
    def rank(self) -> int | None:
        return None if self.dims is None else len(self.dims)


UNKNOWN_TENSOR = TensorState(None)


@dataclass
class Step:
    spec: Spec
    given: TensorState
    result: TensorState
    codes: list[str]
    keras: str  # what Keras said: an output shape or the error


@dataclass
class Walk:
    steps: list[Step]
    output: TensorState
    dimension_errors: list[int] = field(default_factory=list)  # layers Keras refused for their sizes


def fmt_dims(dims: Dims | None) -> str:
    if dims is None:
        return "unknown"
    return "(" + ", ".join("None" if d is None else str(d) for d in dims) + ")"


def walk(stack: Sequence[Spec], start: TensorState) -> Walk:
    state = start
    steps: list[Step] = []
    dimension_errors: list[int] = []
    for index, spec in enumerate(stack):
        given = state
        codes: list[str] = []
        said = "not built (input unknown)"
        rank = given.rank
        if rank is not None:
            if spec.kind == "TimeDistributed":
                assert spec.inner is not None
                if rank >= 3 and spec.inner.kind == "Dense":
                    codes.append("KER101")
                if rank == 2:
                    codes.append("KER102")
            if needs_sequence(spec) and rank == 2 and given.origin is not None:
                codes.append("KER103")
            if spec.kind in NEEDS_VECTOR and rank == 3 and given.origin is not None:
                codes.append("KER106")
            codes += ker107_codes(spec, given)
        if given.dims is None:
            outcome = None
        else:
            outcome = keras_apply(spec, given.dims)
            said = fmt_dims(outcome.outputs[0]) if outcome.outputs else f"error: {outcome.error}"
            if {"KER102", "KER103", "KER106", "KER107"} & set(codes):
                assert outcome.outputs is None and outcome.rank_error, (
                    f"oracle assumption: Keras should refuse {spec} on {fmt_dims(given.dims)}, it said {said}"
                )
        seq = return_sequences(spec) if is_rnn(spec) else None
        if is_rnn(spec) and seq is UNK:
            state = UNKNOWN_TENSOR  # a non-constant return_sequences: its rank is not known
        elif outcome is not None and outcome.outputs is not None:
            dims = outcome.outputs[0]
            if is_rnn(spec):
                state = TensorState(dims, index)
            elif is_pass_through(spec):
                state = TensorState(dims, given.origin)
            else:
                state = TensorState(dims)
        elif outcome is None:
            # An unknown input: the rank is known only where the layer fixes it whatever it gets.
            fixed = fixed_rank_output(spec)
            state = UNKNOWN_TENSOR if fixed is None else TensorState(fixed, index if is_rnn(spec) else None)
        elif outcome.rank_error and is_rnn(spec):
            # After an error an RNN's output rank is still fixed by its own return_sequences.
            fixed = fixed_rank_output(spec)
            assert fixed is not None, spec
            state = TensorState(fixed, index)
        elif outcome.rank_error and is_pass_through(spec):
            # A pass-through layer keeps the rank: a wrapped Dense still maps the last axis.
            assert given.dims is not None
            if spec.kind == "TimeDistributed":
                assert spec.inner is not None
                inner = keras_apply(spec.inner, given.dims)
                state = TensorState(inner.outputs[0], given.origin) if inner.outputs else UNKNOWN_TENSOR
            else:
                state = TensorState(given.dims, given.origin)
        else:
            # Any other layer Keras refuses makes a tensor nothing is known about.
            if not outcome.rank_error:
                dimension_errors.append(index)
            state = UNKNOWN_TENSOR
        steps.append(Step(spec, given, state, codes, said))
    return Walk(steps, state, dimension_errors)


def ker107_codes(spec: Spec, given: TensorState) -> list[str]:
    """KER107's page: a layer that needs a sequence given rank 2, or one that needs a vector
    given rank 3, when no RNN is responsible for that rank (else KER103/KER106 speak)."""
    if given.origin is not None or given.rank is None:
        return []
    if (needs_sequence(spec) and given.rank == 2) or (spec.kind in NEEDS_VECTOR and given.rank == 3):
        return ["KER107"]
    rnn = spec.inner if spec.kind == "Bidirectional" else spec
    if rnn is not None and rnn.kind in ("LSTM", "GRU", "SimpleRNN") and given.rank >= 4:
        return ["KER107"]  # their input spec is rank 3 exactly (RNN(cell) builds on more, then fails)
    return []


def ker104_fires(output: Dims, targets: tuple[int, ...]) -> bool:
    """KER104's documented conditions, the model's output being rank 2 and RNN-made."""
    if len(output) != 2 or len(targets) != 3:
        return False
    units, steps, width = output[-1], targets[1], targets[2]
    if width != 1:
        return True
    # Keras squeezes a trailing axis of 1: (samples, horizon, 1) fits a Dense(horizon) forecast.
    return isinstance(units, int) and steps != units


def ker105_fires(output: Dims, targets: tuple[int, ...], loss_is_sparse: bool) -> bool:
    """KER105's documented conditions, the model's output being rank 3 and RNN-made."""
    if loss_is_sparse or len(output) != 3 or len(targets) != 2:
        return False
    steps, units, width = output[1], output[2], targets[1]
    if not isinstance(units, int) or width != units:
        return False  # not one target per sequence
    if units == 1:
        # One scalar per timestep is the right reading unless the steps are known and differ.
        return isinstance(steps, int) and steps != width
    # As the rule's check: silent when the number of steps equals the targets' width.
    return steps != width


# ------------------------------------------------------------------------------------------------
# Programs


@dataclass(frozen=True)
class Loss:
    source: str  # as written in compile()
    builtin: bool
    sparse: bool = False


LOSSES = (
    Loss('"mse"', True),
    Loss('"mean_squared_error"', True),
    Loss("keras.losses.MeanSquaredError()", True),
    Loss('"categorical_crossentropy"', True),
    Loss("keras.losses.categorical_crossentropy", True),
    Loss('"sparse_categorical_crossentropy"', True, sparse=True),
    Loss("keras.losses.SparseCategoricalCrossentropy()", True, sparse=True),
    Loss("my_loss", False),
)


@dataclass(frozen=True)
class Compile:
    loss: Loss
    positional: bool = False


@dataclass(frozen=True)
class Train:
    method: str  # fit, evaluate, train_on_batch, test_on_batch
    target: str  # a NumPy expression (N is the number of samples), or "np.load(...)": unknown
    keyword: bool = False  # y=...


@dataclass
class Layer:
    spec: Spec
    outputs: int = 1  # tensors applying it gives (return_state, merge_mode=None)
    split: bool = False  # render its arguments over several lines


@dataclass
class Program:
    input_dims: tuple[int, ...]
    layers: list[Layer]
    ops: list[Compile | Train]
    spelling: str = "layers"  # how layer classes are written
    input_style: str = "Input"  # how the functional/Sequential input is declared
    seq_input: str = "Input"  # Sequential forms: "Input" first, "input_shape" on the first layer, "none"
    consts: bool = False  # write small integers and booleans through module constants
    functional_only: bool = False  # multi-output layers: no Sequential forms

    @property
    def stack(self) -> list[Spec]:
        return [layer.spec for layer in self.layers]


N_SAMPLES = 4


@functools.lru_cache(maxsize=4096)
def target_shape(expression: str) -> tuple[int, ...] | None:
    """The targets' real shape, by evaluating the (generated) expression; None when unknown."""
    if "np.load" in expression:
        return None
    import numpy as np

    keras = keras_module()
    return tuple(int(d) for d in eval(expression, {"np": np, "keras": keras, "N": N_SAMPLES}).shape)


@dataclass(frozen=True)
class Anchor:
    """Where a finding belongs: ``td`` is the TimeDistributed construction of layer ``index``,
    ``site`` where layer ``index`` is applied, ``train`` the call of op ``index``."""

    kind: str
    index: int


# The rules the oracle derives findings for, each from its own reading of the rule's page;
# findings of other registered rules are not compared (a new rule needs no change here).
ORACLE_CODES = ("KER101", "KER102", "KER103", "KER104", "KER105", "KER106", "KER107")
# Where a rule reports (``Rule.reported_at``, asked of the registry) -> the anchor of a layer.
_ANCHOR_OF = {"layer": "td", "site": "site"}


def _anchor(code: str, index: int) -> Anchor:
    from kerascheck import rules

    rule = rules.get(code)
    assert rule is not None, f"the oracle derives {code}, which no rule has"
    return Anchor(_ANCHOR_OF[rule.reported_at], index)


def expected(program: Program, start: TensorState) -> tuple[Walk, list[tuple[str, Anchor]]]:
    result = walk(program.stack, start)
    found: list[tuple[str, Anchor]] = []
    for index, step in enumerate(result.steps):
        for code in step.codes:
            found.append((code, _anchor(code, index)))
    loss: Loss | None = None
    output = result.output
    for index, op in enumerate(program.ops):
        if isinstance(op, Compile):
            loss = op.loss
            continue
        shape = target_shape(op.target)
        if shape is None or loss is None or not loss.builtin or output.dims is None or output.origin is None:
            continue
        if ker104_fires(output.dims, shape):
            found.append(("KER104", Anchor("train", index)))
        if ker105_fires(output.dims, shape, loss.sparse):
            found.append(("KER105", Anchor("train", index)))
    return result, found


# ------------------------------------------------------------------------------------------------
# Rendering

FORMS = ("sequential_list", "sequential_add", "functional", "functional_named", "subclassed", "built_in_function")
SEQUENTIAL_FORMS = ("sequential_list", "sequential_add", "built_in_function")
SPELLINGS = ("layers", "keras", "tf", "alias", "bare", "star", "tf_keras")


def forms_of(program: Program) -> tuple[str, ...]:
    return tuple(f for f in FORMS if f not in SEQUENTIAL_FORMS) if program.functional_only else FORMS


def start_of(program: Program, form: str) -> TensorState:
    """What the first layer gets: the declared input; nothing known for a subclassed model or a
    Sequential model with no declared input; in ``build_model(n_features)`` the features are the
    function's unknown argument (the rank is still known)."""
    if form == "subclassed" or (form in SEQUENTIAL_FORMS and program.seq_input == "none"):
        return UNKNOWN_TENSOR
    dims = (None,) + program.input_dims
    return TensorState(dims[:-1] + (UNK,) if form == "built_in_function" else dims)


class Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.indent = ""

    @property
    def next_line(self) -> int:
        return len(self.lines) + 1

    def add(self, text: str) -> int:
        """Add one or more lines (indented by ``indent``); return the number of the first."""
        first = self.next_line
        self.lines.extend(self.indent + line if line else line for line in text.split("\n"))
        return first


class Renderer:
    def __init__(self, program: Program) -> None:
        self.program = program
        spelling = program.spelling
        self.layer_prefix = {
            "layers": "layers.",
            "keras": "keras.layers.",
            "tf": "tf.keras.layers.",
            "alias": "KL.",
            "bare": "",
            "star": "",
            "tf_keras": "tf_keras.layers.",
        }[spelling]
        self.model_prefix = {"tf": "tf.keras.", "tf_keras": "tf_keras.", "bare": ""}.get(spelling, "keras.")
        self.open_features = False

    def header(self, w: Writer, kinds: set[str]) -> None:
        w.add("import sys")
        w.add("import numpy as np")
        w.add("import keras")
        if self.program.spelling == "layers":
            w.add("from keras import layers")
        elif self.program.spelling == "tf":
            w.add("import tensorflow as tf")
        elif self.program.spelling == "alias":
            w.add("import keras.layers as KL")
        elif self.program.spelling == "bare":
            w.add(f"from keras.layers import {', '.join(sorted(kinds | {'Input'}))}")
            w.add("from keras.models import Model, Sequential")
        elif self.program.spelling == "star":
            w.add("from keras.layers import *")
        elif self.program.spelling == "tf_keras":
            w.add("import tf_keras")
        w.add("")
        w.add(f"N = {N_SAMPLES}")
        w.add("FLAG = len(sys.argv) > 1")
        w.add("HIDDEN = int(sys.argv[1])")
        if self.program.consts:
            w.add("ONE, TWO, THREE, FOUR = 1, 2, 3, 4")
            w.add("YES = True")
            w.add("NO = not YES")
        w.add("")
        w.add("")
        w.add("def my_loss(y_true, y_pred):")
        w.add("    return keras.ops.mean(keras.ops.square(y_true - y_pred))")
        w.add("")
        w.add("")

    def value(self, value: object) -> str:
        if isinstance(value, Spec):
            return self.layer(value)
        if isinstance(value, Opaque):
            return value.name
        if isinstance(value, bool):
            if self.program.consts:
                return "YES" if value else "NO"
            return repr(value)
        if isinstance(value, int) and self.program.consts and 1 <= value <= 4:
            return {1: "ONE", 2: "(ONE + ONE)", 3: "THREE", 4: "TWO * 2"}[value]
        if isinstance(value, str):
            return '"' + value + '"'
        if isinstance(value, tuple):
            items = [self.value(v) for v in value]
            return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"
        return repr(value)

    def arguments(self, spec: Spec, extra: str = "") -> list[str]:
        parts = [self.value(v) if k is None else f"{k}={self.value(v)}" for k, v in spec.args]
        return parts + ([extra] if extra else [])

    def layer(self, spec: Spec, extra: str = "", split: bool = False, indent: str = "") -> str:
        parts = self.arguments(spec, extra)
        name = self.layer_prefix + spec.kind
        if split and parts:
            inner = indent + "    "
            return name + "(\n" + "".join(f"{inner}{p},\n" for p in parts) + indent + ")"
        return f"{name}({', '.join(parts)})"

    def input_dims(self) -> str:
        dims = self.program.input_dims
        if self.open_features:  # inside build_model(n_features)
            return (
                "("
                + ", ".join([self.value(d) for d in dims[:-1]] + ["n_features"])
                + ("," if len(dims) == 1 else "")
                + ")"
            )
        return self.value(dims)

    def input_call(self) -> str:
        shape = self.input_dims()
        style = self.program.input_style
        if style == "Input":
            return f"{self.model_prefix}Input(shape={shape})"
        if style == "Input_positional":
            return f"{self.model_prefix}Input({shape})"
        if style == "layers_Input":
            return f"{self.layer_prefix}Input(shape={shape})"
        assert style == "batch_shape"
        return f"{self.model_prefix}Input(batch_shape=(None, {shape[1:]})"

    def unpack(self, target: str, count: int) -> str:
        return target if count == 1 else ", ".join([target] + [f"_s{i}" for i in range(1, count)])

    def render(self, form: str) -> tuple[str, dict[Anchor, int]]:
        program = self.program
        kinds = set().union(*(s.kinds() for s in program.stack)) if program.layers else set()
        w = Writer()
        self.header(w, kinds)
        lines: dict[Anchor, int] = {}
        getattr(self, "_" + form)(w, lines)
        w.add("")
        w.add(f"X = np.zeros((N,) + {self.value(program.input_dims)})")
        for index, op in enumerate(program.ops):
            if isinstance(op, Compile):
                loss = op.loss.source
                w.add(
                    f'model.compile("adam", {loss})'
                    if op.positional
                    else f'model.compile(optimizer="adam", loss={loss})'
                )
            else:
                y = f"y={op.target}" if op.keyword else op.target
                lines[Anchor("train", index)] = w.add(f"model.{op.method}(X, {y})")
        return "\n".join(w.lines) + "\n", lines

    def _sequential_list(self, w: Writer, lines: dict[Anchor, int]) -> None:
        w.add(f"model = {self.model_prefix}Sequential([")
        if self.program.seq_input == "Input":
            w.add(f"    {self.input_call()},")
        for index, layer in enumerate(self.program.layers):
            extra = self._input_shape_kw(index)
            at = w.add("    " + self.layer(layer.spec, extra, layer.split, "    ") + ",")
            lines[Anchor("site", index)] = lines[Anchor("td", index)] = at
        w.add("])")

    def runs(self) -> list[list[int]]:
        """Consecutive identical layers, written as one loop ``for _ in range(n)``."""
        groups: list[list[int]] = []
        for index, layer in enumerate(self.program.layers):
            previous = self.program.layers[index - 1] if index else None
            if (
                groups
                and previous is not None
                and previous.spec == layer.spec
                and layer.outputs == 1
                and not layer.split
                and not previous.split
                and not self._input_shape_kw(index - 1)
            ):
                groups[-1].append(index)
            else:
                groups.append([index])
        return groups

    def _sequential_add(self, w: Writer, lines: dict[Anchor, int]) -> None:
        w.add(f"model = {self.model_prefix}Sequential()")
        if self.program.seq_input == "Input":
            w.add(f"model.add({self.input_call()})")
        for group in self.runs():
            index, layer = group[0], self.program.layers[group[0]]
            extra = self._input_shape_kw(index)
            if len(group) > 1:
                w.add(f"for _ in range({len(group)}):")
                at = w.add(f"    model.add({self.layer(layer.spec)})")
                for i in group:
                    lines[Anchor("site", i)] = lines[Anchor("td", i)] = at
            elif layer.split:
                # The layer on a line of its own: its construction is one line below the .add(
                at = w.add("model.add(\n    " + self.layer(layer.spec, extra) + "\n)")
                lines[Anchor("site", index)], lines[Anchor("td", index)] = at, at + 1
            else:
                at = w.add(f"model.add({self.layer(layer.spec, extra)})")
                lines[Anchor("site", index)] = lines[Anchor("td", index)] = at

    def _built_in_function(self, w: Writer, lines: dict[Anchor, int]) -> None:
        w.add("def build_model(n_features):")
        w.indent, self.open_features = "    ", True
        self._sequential_add(w, lines)
        w.add("return model")
        w.indent, self.open_features = "", False
        w.add("")
        w.add("")
        w.add(f"model = build_model({self.value(self.program.input_dims[-1])})")

    def _input_shape_kw(self, index: int) -> str:
        if index == 0 and self.program.seq_input == "input_shape":
            return f"input_shape={self.input_dims()}"
        return ""

    def _functional(self, w: Writer, lines: dict[Anchor, int]) -> None:
        w.add(f"inputs = {self.input_call()}")
        current = "inputs"
        for group in self.runs():
            layer = self.program.layers[group[0]]
            if len(group) > 1:
                if current == "inputs":
                    w.add("x = inputs")
                w.add(f"for _ in range({len(group)}):")
                at = w.add(f"    x = {self.layer(layer.spec)}(x)")
            else:
                target = self.unpack("x", layer.outputs)
                at = w.add(f"{target} = {self.layer(layer.spec, '', layer.split)}({current})")
            for i in group:
                lines[Anchor("site", i)] = lines[Anchor("td", i)] = at
            current = "x"
        w.add(f"model = {self.model_prefix}Model(inputs, {current})")

    def _functional_named(self, w: Writer, lines: dict[Anchor, int]) -> None:
        # Layers bound to names first (a wrapped Dense bound on its own line), applied later.
        for index, layer in enumerate(self.program.layers):
            spec = layer.spec
            if spec.kind == "TimeDistributed" and spec.inner is not None and spec.inner.kind == "Dense":
                w.add(f"inner{index} = {self.layer(spec.inner)}")
                args = self.arguments(spec)[1:]
                lines[Anchor("td", index)] = w.add(
                    f"layer{index} = {self.layer_prefix}TimeDistributed({', '.join([f'inner{index}'] + args)})"
                )
            else:
                lines[Anchor("td", index)] = w.add(f"layer{index} = {self.layer(spec, '', layer.split)}")
        w.add(f"inputs = {self.input_call()}")
        current = "inputs"
        for index, layer in enumerate(self.program.layers):
            lines[Anchor("site", index)] = w.add(f"{self.unpack('x', layer.outputs)} = layer{index}({current})")
            current = "x"
        w.add(f"model = {self.model_prefix}Model(inputs=inputs, outputs={current})")

    def _subclassed(self, w: Writer, lines: dict[Anchor, int]) -> None:
        w.add(f"class Net({self.model_prefix}Model):")
        w.add("    def __init__(self):")
        w.add("        super().__init__()")
        for index, layer in enumerate(self.program.layers):
            lines[Anchor("td", index)] = w.add(
                f"        self.layer{index} = {self.layer(layer.spec, '', layer.split, '        ')}"
            )
        w.add("")
        w.add("    def call(self, inputs):")
        current = "inputs"
        for index, layer in enumerate(self.program.layers):
            lines[Anchor("site", index)] = w.add(
                f"        {self.unpack('x', layer.outputs)} = self.layer{index}({current})"
            )
            current = "x"
        w.add(f"        return {current}")
        w.add("")
        w.add("")
        w.add("model = Net()")


def render(program: Program, form: str) -> tuple[str, dict[Anchor, int]]:
    return Renderer(program).render(form)


# ------------------------------------------------------------------------------------------------
# Comparison


@dataclass
class Case:
    program: Program
    form: str
    source: str
    walk: Walk
    expected: set[tuple[str, int]]
    reported: set[tuple[str, int]]

    @property
    def agrees(self) -> bool:
        return self.expected == self.reported

    def explain(self) -> str:
        numbered = "\n".join(f"{i:4d}  {line}" for i, line in enumerate(self.source.splitlines(), start=1))
        trace = "\n".join(
            f"  layer {i}: {s.spec.kind:24s} given {fmt_dims(s.given.dims)}"
            f"{'' if s.given.origin is None else f' (RNN {s.given.origin})'} -> keras: {s.keras}; "
            f"rules continue with {fmt_dims(s.result.dims)}"
            f"{'' if s.result.origin is None else f' (RNN {s.result.origin})'} {' '.join(s.codes)}"
            for i, s in enumerate(self.walk.steps)
        )
        return (
            f"form {self.form}\n{numbered}\n\noracle trace:\n{trace}\n"
            f"missed (oracle only): {sorted(self.expected - self.reported)}\n"
            f"extra (kerascheck only): {sorted(self.reported - self.expected)}"
        )


@functools.cache
def reported(source: str, name: str, select: tuple[str, ...] | None = None) -> frozenset[tuple[str, int]]:
    """kerascheck's findings on a rendered text, as (code, line), each text checked once a
    process: the findings depend on the text, its name and the selection alone, and hypothesis
    draws the same program again from other choices (300 examples: 400 programs compared, 283
    distinct; a third of the texts checked were ones checked already)."""
    from kerascheck import check_source

    return frozenset((f.code, f.line) for f in check_source(source, name, select=select))


def compare(program: Program, forms: Sequence[str] | None = None) -> list[Case]:
    cases = []
    oracle: dict[TensorState, tuple[Walk, list[tuple[str, Anchor]]]] = {}
    for form in forms or forms_of(program):
        source, lines = render(program, form)
        start = start_of(program, form)
        if start not in oracle:
            oracle[start] = expected(program, start)
        result, found = oracle[start]
        assert not result.dimension_errors, f"generator bug: Keras refused sizes, not ranks\n{render(program, form)[0]}"
        wanted = {(code, lines[anchor]) for code, anchor in found}
        found_here = set(reported(source, f"<{form}>", ORACLE_CODES))
        cases.append(Case(program, form, source, result, wanted, found_here))
    return cases


# ------------------------------------------------------------------------------------------------
# Generation: the same code draws from hypothesis (shrinkable) or from random.Random


class Chooser:
    """Where the generator's choices come from; simpler options first (hypothesis shrinks to them)."""

    def integer(self, low: int, high: int) -> int:
        raise NotImplementedError

    def choice(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def chance(self, percent: int) -> bool:
        return self.integer(0, 99) < percent

    def weighted(self, options: Sequence[tuple[int, T]]) -> T:
        total = sum(weight for weight, _ in options)
        pick = self.integer(0, total - 1)
        for weight, option in options:
            if pick < weight:
                return option
            pick -= weight
        raise AssertionError


class RandomChooser(Chooser):
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng

    def integer(self, low: int, high: int) -> int:
        return self.rng.randint(low, high)


@functools.cache
def _uniform(low: int, high: int):
    """``sampled_from(range(low, high + 1))``, made (and validated by hypothesis) once per range
    rather than at each of the ~50 draws a program takes."""
    from hypothesis import strategies as st

    return st.sampled_from(range(low, high + 1))


class DrawChooser(Chooser):
    def __init__(self, draw: Callable) -> None:
        self.draw = draw

    def integer(self, low: int, high: int) -> int:
        # sampled_from draws uniformly (integers() favours the ends), so weights mean what they say;
        # it still shrinks towards the first, simplest option.
        return self.draw(_uniform(low, high))


HIDDEN = Opaque("HIDDEN", 4)  # ``HIDDEN = int(sys.argv[1])``: a size the analyzer cannot know


def _units(c: Chooser) -> object:
    return HIDDEN if c.chance(8) else c.integer(1, 4)


def _rnn_spec(c: Chooser, multi_output: bool) -> Spec:
    """An RNN with every return_sequences spelling; Bidirectional around one, with merge modes."""
    units = _units(c)
    kind = c.weighted([(3, "LSTM"), (3, "GRU"), (2, "SimpleRNN"), (2, "RNN"), (3, "Bidirectional")])
    wrapped = kind == "Bidirectional"
    if wrapped:
        kind = c.choice(["LSTM", "GRU", "SimpleRNN", "RNN"])
    seq_spelling = c.weighted(
        [(3, "absent"), (4, "True"), (2, "False"), (1, "opaque"), (2 if kind == "RNN" else 0, "positional")]
    )
    seq_value = {"True": True, "False": False, "positional": c.chance(50)}.get(seq_spelling)
    args: list[tuple[str | None, object]] = []
    if kind == "RNN":
        cell = c.choice(["LSTMCell", "GRUCell", "SimpleRNNCell"])
        args.append((None, Spec(cell, ((None, units),))))
        if seq_spelling == "positional":
            args.append((None, seq_value))
    else:
        args.append((None, units) if c.chance(80) else ("units", units))
        if c.chance(15):
            args.append(("activation", "relu"))
    if seq_spelling in ("True", "False"):
        args.append(("return_sequences", seq_value))
    elif seq_spelling == "opaque":
        args.append(("return_sequences", Opaque("FLAG", c.chance(50))))
    if not wrapped and c.chance(10):  # Keras refuses a Bidirectional around a backward RNN
        args.append(("go_backwards", True))
    if multi_output and c.chance(40):
        args.append(("return_state", True))
    rnn = Spec(kind, tuple(args))
    if not wrapped:
        return rnn
    modes = ["absent", "concat", "sum", "mul", "ave"] + (["None"] if multi_output else [])
    mode = c.choice(modes)
    outer: list[tuple[str | None, object]] = [(None, rnn)]
    if mode != "absent":
        value = None if mode == "None" else mode
        outer.append((None, value) if c.chance(30) else ("merge_mode", value))
    return Spec("Bidirectional", tuple(outer))


def _factorizations(size: int) -> list[tuple[int, ...]]:
    found = [(size,)]
    for a in range(1, size + 1):
        if size % a == 0:
            found.append((a, size // a))
            rest = size // a
            for b in range(1, rest + 1):
                if rest % b == 0:
                    found.append((a, b, rest // b))
    return found


def _shape_dependent(c: Chooser, kind: str, dims: Dims | None) -> Spec | None:
    """Layers whose valid arguments depend on the input's sizes: arguments Keras accepts for the
    current tensor (sizes that Keras refuses would be errors the rules do not speak about)."""
    rank = None if dims is None else len(dims)
    length = dims[1] if rank == 3 and isinstance(dims[1], int) else None
    if kind == "Conv1D":
        kernel = c.integer(1, 3)
        padding = c.choice(["valid", "same", "causal"])
        if padding == "valid" and length is not None and kernel > length:
            padding = "same"
        args: list[tuple[str | None, object]] = [(None, _units(c)), (None, kernel)]
        if padding != "valid" or c.chance(30):
            args.append(("padding", padding))
        if c.chance(20):
            args.append(("strides", 2))
        return Spec("Conv1D", tuple(args))
    if kind in ("MaxPooling1D", "AveragePooling1D"):
        pool = c.integer(1, 3)
        padding = c.choice(["valid", "same"])
        if padding == "valid" and length is not None and pool > length:
            padding = "same"
        # MaxPooling1D's pool_size defaults to 2; AveragePooling1D has no default.
        args = [] if pool == 2 and kind == "MaxPooling1D" and c.chance(30) else [(None, pool)]
        if c.chance(30):
            args.append(("strides", c.integer(1, 2)))
        if padding != "valid":
            args.append(("padding", padding))
        return Spec(kind, tuple(args))
    if kind == "Cropping1D":
        if length is not None and length < 2:
            return None
        crop = (c.integer(0, 1), 0) if length is None or length > 2 else (1, 0)
        return Spec(kind, ((None, crop),))
    if kind == "Reshape":
        if dims is None or any(not isinstance(d, int) for d in dims[1:]):
            target = c.choice([(2, 3), (6,), (-1, 2), (3, 2, 1)])
        else:
            size = math.prod(dims[1:])
            options = [f for f in _factorizations(size) if len(f) <= 3]
            target = c.choice(options)
            if len(target) > 1 and c.chance(30):
                at = c.integer(0, len(target) - 1)
                target = target[:at] + (-1,) + target[at + 1 :]
        return Spec("Reshape", ((None, target),))
    if kind == "Permute":
        r = rank if rank is not None and 3 <= rank <= 4 and c.chance(85) else c.choice([3, 4])
        order = list(range(1, r))
        for i in range(len(order) - 1, 0, -1):
            j = c.integer(0, i)
            order[i], order[j] = order[j], order[i]
        return Spec("Permute", ((None, tuple(order)),))
    raise AssertionError(kind)


def _layer_spec(c: Chooser, dims: Dims | None, multi_output: bool) -> Spec | None:
    kind = c.weighted(
        [
            (12, "rnn"),
            (5, "Dense"),
            (5, "TimeDistributed"),
            (2, "Dropout"),
            (1, "SpatialDropout1D"),
            (1, "GaussianNoise"),
            (1, "Activation"),
            (1, "BatchNormalization"),
            (1, "LayerNormalization"),
            (1, "Masking"),
            (3, "RepeatVector"),
            (2, "Conv1D"),
            (2, "MaxPooling1D"),
            (1, "AveragePooling1D"),
            (2, "GlobalAveragePooling1D"),
            (1, "GlobalMaxPooling1D"),
            (2, "Flatten"),
            (2, "Reshape"),
            (1, "Permute"),
            (1, "UpSampling1D"),
            (1, "ZeroPadding1D"),
            (1, "Cropping1D"),
            (1, "Embedding"),
        ]
    )
    if kind == "rnn":
        return _rnn_spec(c, multi_output)
    if kind == "Dense":
        args: tuple = ((None, _units(c)),)
        return Spec("Dense", args + ((("activation", "softmax"),) if c.chance(20) else ()))
    if kind == "TimeDistributed":
        inner = c.weighted(
            [
                (8, Spec("Dense", ((None, _units(c)),))),
                (1, Spec("Dropout", ((None, 0.1),))),
                (1, Spec("Activation", ((None, "relu"),))),
            ]
        )
        return Spec("TimeDistributed", ((None, inner),) + ((("name", "td"),) if c.chance(10) else ()))
    if kind in ("Dropout", "SpatialDropout1D", "GaussianNoise"):
        return Spec(kind, ((None, 0.1),))
    if kind == "Activation":
        return Spec(kind, ((None, c.choice(["relu", "tanh"])),))
    if kind in ("BatchNormalization", "LayerNormalization", "Flatten", "Masking"):
        return Spec(kind)
    if kind == "RepeatVector":
        return Spec(kind, ((None, _units(c)),))
    if kind in ("GlobalAveragePooling1D", "GlobalMaxPooling1D"):
        return Spec(kind, (("keepdims", True),) if c.chance(15) else ())
    if kind == "UpSampling1D":
        return Spec(kind, ((None, 2),))
    if kind == "ZeroPadding1D":
        return Spec(kind, ((None, c.choice([1, (1, 0)])),))
    if kind == "Embedding":
        if dims is not None and len(dims) > 3:
            return None
        return Spec(kind, ((None, 10), (None, c.integer(1, 3))))
    return _shape_dependent(c, kind, dims)


def _target(c: Chooser, output: Dims | None, input_dims: tuple[int, ...]) -> str:
    """Target arrays of random rank and shape, often close to the model's output."""
    small = [1, 2, 3, 4]
    known = [d for d in (output or ())[1:] if isinstance(d, int)] + list(input_dims)
    pool = small + known
    last = output[-1] if output is not None and isinstance(output[-1], int) else None
    per_sequence = 6 if output is not None and len(output) == 3 else 3
    kind = c.weighted(
        [(4, "like_output"), (3, "per_step"), (per_sequence, "per_sequence"), (2, "random"), (1, "unknown")]
    )
    if kind == "unknown":
        return 'np.load("targets.npy")'
    if kind == "like_output" and output is not None and all(isinstance(d, int) for d in output[1:]):
        dims = tuple(output[1:])
    elif kind == "per_step":
        dims = (c.choice(pool), last if last is not None and c.chance(50) else c.choice(pool))
    elif kind == "per_sequence":
        dims = (last if last is not None and c.chance(60) else c.choice(pool),)
    else:
        dims = tuple(c.choice(pool) for _ in range(c.integer(0, 3)))
    shape = (N_SAMPLES,) + dims
    spelled = "(N" + "".join(f", {d}" for d in dims) + ("," if not dims else "") + ")"
    maker = c.weighted(
        [
            (4, "zeros"),
            (1, "ones"),
            (2, "rand"),
            (1, "random"),
            (1, "randint"),
            (1, "reshape"),
            (2 if dims else 0, "to_categorical"),
        ]
    )
    if maker == "zeros":
        return f"np.zeros({spelled})"
    if maker == "ones":
        return f"np.ones(shape={spelled})"
    if maker == "rand":
        return f"np.random.rand({spelled[1:-1].rstrip(',')})"
    if maker == "random":
        return f"np.random.random({spelled})"
    if maker == "randint":
        return f"np.random.randint(0, 2, size={spelled})"
    if maker == "reshape":
        return f"np.zeros(({math.prod(shape)},)).reshape({spelled})"
    # to_categorical adds a class axis to integer labels (and first drops a trailing axis of 1).
    classes = dims[-1]
    labels = dims[:-1] + ((1,) if c.chance(20) else ())
    spelled_labels = "(N" + "".join(f", {d}" for d in labels) + ("," if not labels else "") + ")"
    return f"keras.utils.to_categorical(np.random.randint(0, {classes}, size={spelled_labels}), {classes})"


def _step(spec: Spec, state: TensorState, blind: TensorState) -> tuple[TensorState, TensorState] | None:
    """The states after ``spec`` along Keras' shapes and blind to them; None when either has a
    dimension error (the layer is drawn again)."""
    step, blind_step = walk([spec], state), walk([spec], blind)
    if step.dimension_errors or blind_step.dimension_errors:
        return None
    return step.output, blind_step.output


def generate(c: Chooser, max_layers: int = 7) -> Program:
    """A random program: the stack is drawn layer by layer along Keras' own shapes, so that the
    sizes it picks are ones Keras accepts (only ranks go wrong, as the rules are about ranks)."""
    rank = c.weighted([(4, 3), (1, 2)])
    input_dims = (c.integer(1, 6), c.integer(1, 4)) if rank == 3 else (c.integer(1, 6),)
    multi_output = c.chance(20)
    count = c.integer(1, max_layers)
    layers: list[Layer] = []
    # The walks from a known input (most forms) and from an unknown one (subclassed): a layer
    # whose sizes Keras would refuse in either is drawn again.
    state, blind = TensorState((None,) + input_dims), UNKNOWN_TENSOR
    attempts = 0
    # Sometimes end on the usual heads: an RNN and a Dense (outputs an RNN answers for, for
    # KER104/KER105), or an encoder-decoder (RNN, RepeatVector, RNN: KER106).
    head = c.weighted([(11, ()), (6, ("rnn", "dense")), (2, ("rnn", "repeat", "rnn"))])
    while len(layers) < count + len(head) and attempts < 50:
        attempts += 1
        part = head[len(layers) - count] if len(layers) >= count else None
        if part == "rnn":
            spec = _rnn_spec(c, multi_output)
        elif part == "dense":
            spec = c.choice([Spec("Dense", ((None, _units(c)),)), Spec("Dropout", ((None, 0.1),))])
        elif part == "repeat":
            spec = Spec("RepeatVector", ((None, c.integer(1, 4)),))
        elif layers and c.chance(12):
            spec = layers[-1].spec  # stacked copies of one layer (rendered as a loop where the form allows)
        else:
            spec = _layer_spec(c, state.dims if state.dims is not None else blind.dims, multi_output)
        stepped = None if spec is None else _step(spec, state, blind)
        if stepped is None:
            continue
        state, blind = stepped
        layers.append(Layer(spec, output_count(spec), split=c.chance(10)))
    functional_only = any(layer.outputs > 1 for layer in layers)
    ops: list[Compile | Train] = []
    for _ in range(c.weighted([(1, 0), (3, 1), (3, 2), (1, 3)])):
        if c.chance(35):
            ops.append(Compile(c.choice(LOSSES), positional=c.chance(20)))
        else:
            if not any(isinstance(op, Compile) for op in ops) and c.chance(80):
                ops.append(Compile(c.choice(LOSSES), positional=c.chance(20)))
            method = c.weighted([(5, "fit"), (2, "evaluate"), (1, "train_on_batch"), (1, "test_on_batch")])
            ops.append(Train(method, _target(c, state.dims, input_dims), keyword=c.chance(20)))
    return Program(
        input_dims=input_dims,
        layers=layers,
        ops=ops,
        spelling=c.choice(SPELLINGS),
        input_style=c.choice(["Input", "Input_positional", "layers_Input", "batch_shape"]),
        seq_input=c.weighted([(6, "Input"), (2, "input_shape"), (1, "none")]),
        consts=c.chance(20),
        functional_only=functional_only,
    )


# KER107's programs: an input of any rank, then layers that make vectors or change the rank
# before layers that need a sequence or a vector.
_RANK_BREAKERS = (
    "Flatten",
    "Dense",
    "GlobalAveragePooling1D",
    "GlobalMaxPooling1D",
    "Reshape",
    "RepeatVector",
    "Embedding",
)
_RANK_CONSUMERS = (
    "rnn",
    "Conv1D",
    "MaxPooling1D",
    "AveragePooling1D",
    "GlobalAveragePooling1D",
    "UpSampling1D",
    "ZeroPadding1D",
    "Cropping1D",
    "SpatialDropout1D",
    "Permute",
    "RepeatVector",
)


def _rank_layer(c: Chooser, kind: str, dims: Dims | None) -> Spec | None:
    if kind == "rnn":
        return _rnn_spec(c, False)
    if kind in ("Flatten", "GlobalMaxPooling1D"):
        return Spec(kind)
    if kind == "GlobalAveragePooling1D":
        return Spec(kind, (("keepdims", True),) if c.chance(10) else ())
    if kind in ("Dense", "RepeatVector"):
        return Spec(kind, ((None, _units(c)),))
    if kind == "Embedding":
        return None if dims is not None and len(dims) > 3 else Spec(kind, ((None, 10), (None, c.integer(1, 3))))
    if kind == "UpSampling1D":
        return Spec(kind, ((None, 2),))
    if kind == "ZeroPadding1D":
        return Spec(kind, ((None, 1),))
    if kind == "SpatialDropout1D":
        return Spec(kind, ((None, 0.1),))
    if kind == "Permute" and c.chance(70):
        return Spec(kind, ((None, (2, 1)),))
    return _shape_dependent(c, kind, dims)


def generate_rank_mismatch(c: Chooser, max_layers: int = 5) -> Program:
    """A random program for KER107: an ``Input`` of rank 2 to 4, then layers that make a vector or
    change the rank (Flatten, Dense, global pooling, Reshape, RepeatVector, Embedding) and layers
    that need a sequence or a vector, drawn along Keras' shapes as ``generate`` draws."""
    input_dims = tuple(c.integer(1, 5) for _ in range(c.choice([1, 2, 3])))
    count = c.integer(1, max_layers)
    layers: list[Layer] = []
    state, blind = TensorState((None,) + input_dims), UNKNOWN_TENSOR
    attempts = 0
    while len(layers) < count and attempts < 50:
        attempts += 1
        dims = state.dims if state.dims is not None else blind.dims
        pick = c.weighted([(4, "consumer"), (3, "breaker"), (2, "any")])
        if pick == "any":
            spec = _layer_spec(c, dims, False)
        else:
            spec = _rank_layer(c, c.choice(_RANK_CONSUMERS if pick == "consumer" else _RANK_BREAKERS), dims)
        stepped = None if spec is None else _step(spec, state, blind)
        if stepped is None:
            continue
        state, blind = stepped
        layers.append(Layer(spec, 1, split=c.chance(10)))
    return Program(
        input_dims=input_dims,
        layers=layers,
        ops=[],
        spelling=c.choice(SPELLINGS),
        input_style=c.choice(["Input", "Input_positional", "layers_Input", "batch_shape"]),
        seq_input=c.weighted([(6, "Input"), (2, "input_shape"), (1, "none")]),
        consts=c.chance(20),
    )


def rank_programs():
    """The hypothesis strategy for KER107's programs."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return generate_rank_mismatch(DrawChooser(draw))

    return strategy()


def programs():
    """The hypothesis strategy."""
    from hypothesis import strategies as st

    @st.composite
    def strategy(draw):
        return generate(DrawChooser(draw))

    return strategy()


# ------------------------------------------------------------------------------------------------
# KER108: random input arrays for fit, with Keras as the oracle
#
# A model with one declared input (Sequential with ``keras.Input``, Sequential with ``input_shape=``
# on its first layer, or functional) ends in a vector and a Dense(1), so that (N, 1) targets always
# fit it; ``fit`` is given an array drawn near the input's shape (the same, an axis more or less, a
# trailing 1 more or less, one size changed), whose last axis may be a size the analyzer cannot
# know (``K = int(sys.argv[1])``: Keras is asked with 1 and with 3). The oracle: where Keras refuses
# the input itself (its message names the model's input, "Invalid input shape" or the functional
# model's "expected shape=") for every value of that size, KER108 must be reported; where it is
# reported, Keras must refuse the fit for every value (its first layer may be what refuses, in a
# Sequential model).

INPUT_FORMS = ("sequential_input", "sequential_input_shape", "functional")
_INPUT_REFUSED = re.compile(r"Invalid input shape for input|of layer '(functional|sequential)[^']*' is incompatible")


@dataclass(frozen=True)
class InputProgram:
    form: str
    input_shape: tuple[int, ...]  # without the batch axis
    body: tuple[str, ...]  # layer sources that turn the input into a vector
    data: tuple[int | Opaque, ...]  # the array given to fit, batch axis first

    def source(self) -> str:
        dims = ", ".join(str(d) for d in self.input_shape) + ("," if len(self.input_shape) == 1 else "")
        data = ", ".join(d.name if isinstance(d, Opaque) else str(d) for d in self.data)
        data += "," if len(self.data) == 1 else ""
        lines = ["import sys", "import numpy as np", "import keras", "from keras import layers", ""]
        lines.append("K = int(sys.argv[1])")
        lines.append(f"x = np.zeros(({data}))")
        lines.append(f"y = np.zeros(({self.data[0]}, 1))")
        body = self.layer_texts()
        if self.form == "functional":
            lines.append(f"inp = keras.Input(shape=({dims}))")
            lines.append("h = inp")
            lines += [f"h = {layer}(h)" for layer in body]
            lines.append("model = keras.Model(inp, h)")
        elif self.form == "sequential_input":
            lines.append(f"model = keras.Sequential([keras.Input(shape=({dims})), {', '.join(body)}])")
        else:
            lines.append(f"model = keras.Sequential([{', '.join(body)}])")
        lines.append('model.compile(loss="mse", optimizer="sgd")')
        lines.append("model.fit(x, y, epochs=1, verbose=0)")
        return "\n".join(lines) + "\n"

    def layer_texts(self) -> list[str]:
        """The layers as written; the first declares the input in the ``input_shape=`` form."""
        body = [*self.body, "layers.Dense(1)"]
        if self.form == "sequential_input_shape":
            dims = ", ".join(str(d) for d in self.input_shape) + ("," if len(self.input_shape) == 1 else "")
            head, _, _ = body[0].rpartition(")")
            body[0] = head + (", " if not head.endswith("(") else "") + f"input_shape=({dims}))"
        return body

    @property
    def fit_line(self) -> int:
        return self.source().count("\n")


_BODIES: dict[int, tuple[tuple[str, ...], ...]] = {
    1: (("layers.Dense(3)",),),
    2: (
        ("layers.LSTM(3)",),
        ("layers.Conv1D(2, 1)", "layers.GlobalMaxPooling1D()"),
        ("layers.Flatten()",),
        ("layers.Dense(2)", "layers.Flatten()"),
    ),
    3: (("layers.Conv2D(2, 1)", "layers.GlobalAveragePooling2D()"), ("layers.Flatten()",)),
}


def generate_input_program(rng: random.Random) -> InputProgram:
    rank = rng.choice((1, 2, 3))
    shape = tuple(rng.choice((1, 2, 3, 5)) if rng.random() < 0.3 else rng.randint(2, 5) for _ in range(rank))
    data: list[int | Opaque] = [rng.choice((4, 6)), *shape]
    change = rng.choice(("same", "drop_last", "add_one", "add_axis", "resize", "drop_first", "rank"))
    if change == "drop_last" and len(data) > 2:
        data.pop()
    elif change == "add_one":
        data.append(1)
    elif change == "add_axis":
        data.append(rng.randint(2, 4))
    elif change == "resize":
        axis = rng.randrange(1, len(data))
        data[axis] = data[axis] % 5 + 1 + rng.randint(0, 1)
    elif change == "drop_first" and len(data) > 2:
        del data[1]
    elif change == "rank":
        data = [data[0]] + [rng.randint(1, 4) for _ in range(rng.randint(1, 4))]
    if rng.random() < 0.2:
        data[-1] = Opaque("K", 1)  # the analyzer cannot know it: Keras is asked with 1 and 3
    return InputProgram(rng.choice(INPUT_FORMS), shape, rng.choice(_BODIES[rank]), tuple(data))


def _keras_fit(program: InputProgram, last: int, method: str = "train_on_batch") -> str | None:
    """What Keras raises when the program's fit runs (None: it runs), by ``method``.

    ``train_on_batch`` (the suite's) is the training step ``fit`` runs, without fit's data adapter
    and epoch loop, whose tf.data pipeline is two thirds of a fit of these few rows: the data have
    4 or 6 rows, one batch of fit's 32, and Keras checks the input in the model's call either way
    (tests/test_differential.py holds the two to the same answers). The long run fits."""
    assert method in ("fit", "train_on_batch"), method
    keras = keras_module()
    np = __import__("numpy")
    shape = tuple(last if isinstance(d, Opaque) else d for d in program.data)
    namespace = {"layers": keras.layers}
    random_state = random.getstate()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            body = [eval(text, namespace) for text in program.layer_texts()]  # our own text
            if program.form == "functional":
                inp = keras.Input(shape=program.input_shape)
                h = inp
                for layer in body:
                    h = layer(h)
                model = keras.Model(inp, h)
            elif program.form == "sequential_input":
                model = keras.Sequential([keras.Input(shape=program.input_shape), *body])
            else:
                model = keras.Sequential(body)
            # Run eagerly: Keras checks the input the same way, and tracing (and on TensorFlow
            # compiling) the train function would cost most of the fit.
            model.compile(loss="mse", optimizer="sgd", run_eagerly=True)
            x, y = np.zeros(shape), np.zeros((shape[0], 1))
            if method == "fit":
                model.fit(x, y, epochs=1, verbose=0)
            else:
                model.train_on_batch(x, y)
    except Exception as error:
        return f"{type(error).__name__}: {error}"
    finally:
        random.setstate(random_state)
    return None


@dataclass
class InputCase:
    program: InputProgram
    answers: dict[int, str | None]  # the last axis' value -> what Keras raised
    reported: bool

    @staticmethod
    def refused_at_input(error: str | None) -> bool:
        """Whether Keras' message names the model's input (not a layer further in)."""
        return error is not None and _INPUT_REFUSED.search(error) is not None

    @property
    def input_refused(self) -> bool:
        return all(self.refused_at_input(error) for error in self.answers.values())

    @property
    def agrees(self) -> bool:
        runs = any(error is None for error in self.answers.values())
        return (self.reported or not self.input_refused) and not (self.reported and runs)

    def explain(self) -> str:
        answers = "\n".join(
            f"  with K={k}: {'runs' if e is None else e.splitlines()[0][:300]}" for k, e in self.answers.items()
        )
        return f"{self.program.source()}\nKeras:\n{answers}\nkerascheck reports KER108: {self.reported}"


def fit_answers(program: InputProgram, method: str = "train_on_batch") -> dict[int, str | None]:
    """What Keras raises for each value tried of the size the analyzer cannot know."""
    values = (1, 3) if any(isinstance(d, Opaque) for d in program.data) else (1,)
    return {value: _keras_fit(program, value, method) for value in values}


def compare_input_program(program: InputProgram, method: str = "train_on_batch") -> InputCase:
    from kerascheck import check_source

    answers = fit_answers(program, method)
    found = check_source(program.source(), "<ker108>", select=("KER108",))
    reported = any(f.code == "KER108" and f.line == program.fit_line for f in found)
    assert all(f.line == program.fit_line for f in found), [f.line for f in found]
    return InputCase(program, answers, reported)


def survey(seed: int, count: int, show: int = 3, make: Callable[[Chooser], Program] = generate) -> int:
    """Check ``count`` random programs and print each distinct disagreement once (hypothesis stops
    at the first): ``python -m tests.differential --seed 1 --count 2000``. Returns how many
    programs disagreed."""
    import time

    rng = random.Random(seed)
    keras_module()
    started = time.perf_counter()
    seen: dict[tuple, int] = {}
    for number in range(count):
        program = make(RandomChooser(rng))
        wrong = [case for case in compare(program) if not case.agrees]
        if not wrong:
            continue
        case = wrong[0]
        key = (tuple(s.kind for s in program.stack), tuple(sorted(c for c, _ in case.expected ^ case.reported)))
        seen[key] = seen.get(key, 0) + 1
        if seen[key] == 1 and len(seen) <= show:
            print(f"=== program {number}\n{case.explain()}\n")
    elapsed = time.perf_counter() - started
    disagreeing = sum(seen.values())
    print(f"{count} programs in {elapsed:.0f} s ({count / elapsed:.1f} per second), {disagreeing} disagree")
    for (kinds, codes), times in sorted(seen.items(), key=lambda item: -item[1]):
        print(f"  {times} x {' > '.join(kinds)}: {', '.join(codes)}")
    return disagreeing


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=survey.__doc__)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--show", type=int, default=3, help="explain this many distinct disagreements")
    parser.add_argument("--ranks", action="store_true", help="KER107's programs (generate_rank_mismatch)")
    options = parser.parse_args()
    make = generate_rank_mismatch if options.ranks else generate
    raise SystemExit(1 if survey(options.seed, options.count, options.show, make) else 0)
