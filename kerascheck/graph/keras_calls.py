"""What a call does: build a Keras layer or model, apply a layer, train a model, make a NumPy
array, or run code we cannot see (which forgets any model handed to it)."""

from __future__ import annotations

import ast
import math
from dataclasses import replace
from typing import TYPE_CHECKING

from kerascheck import shapes
from kerascheck.graph.model import (
    UNKNOWN,
    Application,
    Array,
    Builtin,
    Const,
    DictRef,
    DictState,
    Dim,
    InputCall,
    Layer,
    ModelClass,
    ModelRef,
    ModelState,
    Module,
    ObjRef,
    ObjState,
    Seq,
    Shape,
    Tensor,
    TrainCall,
    UserClass,
    UserFunction,
    Value,
)
from kerascheck.graph.state import MAX_UNROLL
from kerascheck.names import builtin_function, builtin_loss, keras_name, merge_function, numpy_function

if TYPE_CHECKING:
    from kerascheck.graph.evaluator import Evaluator as Builder

TRAIN_METHODS = frozenset({"fit", "evaluate", "train_on_batch", "test_on_batch"})
# Model methods that run the model on their first argument, ``x``.
DATA_METHODS = TRAIN_METHODS | {"predict", "predict_on_batch"}
# Model methods that never change which layers a model holds.
_READ_ONLY = frozenset(
    {
        "summary",
        "predict",
        "predict_on_batch",
        "predict_step",
        "save",
        "save_weights",
        "load_weights",
        "count_params",
        "get_config",
        "to_json",
        "get_layer",
        "build",
        "evaluate_generator",
        "predict_generator",
        "fit_generator",
        "reset_states",
        "get_weights",
        "set_weights",
        "export",
    }
)


# Methods of unseen objects that store their argument (``stack.append(layer)``) without changing it.
_STORING_METHODS = frozenset({"append", "extend", "insert", "add"})


class Args:
    """A call's arguments, as nodes, evaluated on demand and at most once."""

    def __init__(self, builder: Builder, node: ast.Call) -> None:
        self.builder = builder
        self.positional: list[ast.expr] = []
        self.keywords: dict[str, ast.expr] = {}
        self.starred: list[ast.expr] = []  # ``*args`` and ``**kwargs``, in this order (Python's)
        self.double: list[ast.expr] = []  # ``**kwargs`` alone
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.starred.append(arg.value)
            else:
                self.positional.append(arg)
        for keyword in node.keywords:
            if keyword.arg is None:
                self.starred.append(keyword.value)
                self.double.append(keyword.value)
            else:
                self.keywords[keyword.arg] = keyword.value
        self._values: dict[int, Value] = {}

    def value(self, node: ast.expr) -> Value:
        key = id(node)
        value = self._values.get(key)
        if value is None:
            value = self._values[key] = self.builder.ev(node)
        return value

    def node(self, name: str, index: int | None = None) -> ast.expr | None:
        if name in self.keywords:
            return self.keywords[name]
        if index is not None and index < len(self.positional):
            return self.positional[index]
        return None

    def get(self, name: str, index: int | None = None) -> Value | None:
        """The value passed as ``name=`` or at ``index``; None when absent."""
        node = self.node(name, index)
        return None if node is None else self.value(node)

    def unpacked(self) -> dict[str, Value] | None:
        """The keywords that every ``**config`` gives, when each is a dict the analysis knows
        and there is no ``*args``; None otherwise. A keyword given twice makes Python refuse the
        call: then None too."""
        if len(self.double) != len(self.starred):
            return None
        given: dict[str, Value] = {}
        for node in self.double:
            items = self._known_items(node)
            if items is None:
                return None
            for key, value in items:
                if key in given or key in self.keywords:
                    return None
                given[key] = value
        return given

    def _known_items(self, node: ast.expr) -> tuple[tuple[str, Value], ...] | None:
        value = self.value(node)
        state = self.builder.heap[value.key] if isinstance(value, DictRef) else None
        return state.items if isinstance(state, DictState) else None

    def all(self, escape: bool, layers: bool = False) -> None:
        """Evaluate every argument not yet evaluated; hand them to unseen code if ``escape``,
        and with ``layers`` the layers among them too: that code may change them in place.
        ``**config`` hands over a new dict: its values escape, never the dict itself."""
        double = self.double
        for node in [*self.positional, *self.keywords.values(), *self.starred]:
            value = self.value(node)
            if not escape:
                continue
            items = self._known_items(node) if double and any(node is d for d in double) else None
            for held in (value,) if items is None else tuple(held for _, held in items):
                self.builder.escape(held)
                if layers:
                    self.builder.forget_layers(held)


def hand_args(b: Builder, node: ast.Call, escape: bool, layers: bool = False) -> None:
    """``Args(b, node).all(escape, layers)`` of a call whose arguments nothing else reads: each
    evaluated once, in the order ``all`` takes them, and handed over as it hands them. A call
    without ``*``, ``**`` or a keyword given twice needs no Args made."""
    keywords = node.keywords
    if any(type(arg) is ast.Starred for arg in node.args) or any(k.arg is None for k in keywords):
        Args(b, node).all(escape, layers)
        return
    if len(keywords) > 1 and len({k.arg for k in keywords}) != len(keywords):
        Args(b, node).all(escape, layers)
        return
    ev = b.ev
    for arg in [*node.args, *(k.value for k in keywords)]:
        value = ev(arg)
        if escape:
            b.escape(value)
            if layers:
                b.forget_layers(value)


def call(b: Builder, node: ast.Call) -> Value:
    func = node.func
    if isinstance(func, ast.Attribute):
        receiver = b.ev(func.value)
        name = func.attr
        if isinstance(receiver, ModelRef):
            return _model_method(b, receiver, name, node)
        if isinstance(receiver, Array):
            return _array_method(b, receiver, name, node)
        if isinstance(receiver, Module):
            return call_value(b, Module(f"{receiver.path}.{name}"), node)
        if isinstance(receiver, DictRef) and name == "get":
            return _dict_get(b, receiver, node)
        if isinstance(receiver, ObjRef):
            state = b.heap[receiver.key]
            callee = state.get(name) if isinstance(state, ObjState) else UNKNOWN
            if not isinstance(callee, (Layer, ModelRef)):
                b.forget_receiver(receiver, name)  # a method may change the object
            return call_value(b, callee, node)
        hand_args(b, node, escape=True, layers=name not in _STORING_METHODS)
        b.escape(receiver)
        b.forget_mutated(func.value, name)
        return UNKNOWN
    return call_value(b, b.ev(func), node)


def _dict_get(b: Builder, receiver: DictRef, node: ast.Call) -> Value:
    """``config.get("units", 8)``: the item, or the default, of a dict the analysis knows."""
    args = Args(b, node)
    key, default = args.get("key", 0), args.get("default", 1)
    args.all(escape=False)
    if key is None or args.starred or args.keywords or len(args.positional) > 2:
        b.escape(receiver)
        return UNKNOWN
    item = b.dict_item(receiver, key)
    if item is not None:
        return item
    return Const(None) if default is None else default


def call_value(b: Builder, callee: Value, node: ast.Call) -> Value:
    if isinstance(callee, Module):
        return _call_path(b, callee.path, node)
    if isinstance(callee, Layer) and b.unchanged(callee):
        return _apply_call(b, callee, node)
    if isinstance(callee, Builtin):
        return _builtin(b, callee.name, node)
    args = Args(b, node)
    if isinstance(callee, ModelRef):
        _record_input_call(b, callee, "call", node, args.get("inputs", 0))
        args.all(escape=False)
        return Tensor(None)  # a model used as a layer
    if not isinstance(callee, UserFunction):
        args.all(escape=True, layers=True)
    if isinstance(callee, ModelClass):
        return ModelRef(b.alloc(ModelState(output=callee.output)))
    if isinstance(callee, UserClass):
        return ObjRef(b.alloc(ObjState(blocked=callee.blocked)))
    if isinstance(callee, UserFunction):
        inlined = b.inline(callee, node, args.value)  # the body run with the call's arguments
        if inlined is not None:
            return inlined
        args.all(escape=True, layers=True)
        b.escape(callee)  # what the body reads from outer scopes may change
        returns = callee.returns
        if isinstance(returns, ModelRef):
            return ModelRef(b.alloc(b.heap[returns.key]))  # each call builds its own model
        return returns
    return UNKNOWN


def _call_path(b: Builder, path: str, node: ast.Call) -> Value:
    builtin = builtin_function(path)
    if builtin is not None:
        return _builtin(b, builtin, node)
    merge = merge_function(path)
    if merge is not None:
        return _merge_function(b, merge, path.rpartition(".")[2], node)
    name = keras_name(path)
    if name is not None:
        if name.name == "Sequential":
            return _new_sequential(b, node)
        if name.name == "Model":
            return _new_functional(b, node)
        if name.name == "Input":
            return _new_input(b, node)
        if name.name == "to_categorical":
            return _to_categorical(b, node)
        if name.spelled[:1].isupper():
            return _construct(b, name.name, name.spelled, node)
        hand_args(b, node, escape=False)  # Keras functions do not add layers to models
        return UNKNOWN
    maker = numpy_function(path)
    if maker is not None:
        return _numpy_array(b, maker, node)
    numpy = path.startswith("numpy.")
    hand_args(b, node, escape=not numpy, layers=not numpy)
    return UNKNOWN


# ---------------------------------------------------------------- layers


def _construct(b: Builder, kind: str, spelled: str, node: ast.Call) -> Layer:
    args = Args(b, node)
    spec = shapes.TABLE.get(kind)
    params = spec.params if spec is not None else ()
    kwargs: dict[str, Value] = {}
    for i, arg in enumerate(args.positional):
        if i < len(params):
            kwargs[params[i]] = args.value(arg)
    given_twice = False
    for key, arg in args.keywords.items():
        if key in kwargs:  # by position and by keyword: Python refuses the call ("multiple values")
            given_twice = True
            del kwargs[key]
            continue
        kwargs[key] = args.value(arg)
    unpacked = args.unpacked() if args.starred else {}
    for key, value in (unpacked or {}).items():
        if key in kwargs:
            given_twice = True
            del kwargs[key]
        else:
            kwargs[key] = value
    for old, new in (spec.keras1 if spec is not None else {}).items():
        if old in kwargs and new not in kwargs:
            kwargs[new] = kwargs[old]  # ``Dense(output_dim=8)``: Keras 1's name of units
    args.all(escape=True)
    opaque = unpacked is None or len(args.positional) > len(params) or given_twice
    return Layer(kind, spelled, kwargs, node, opaque, frozenset(unpacked or ()), b.per_call)


def _merge_function(b: Builder, kind: str, spelled: str, node: ast.Call) -> Value:
    """``layers.concatenate([a, b], axis=1)``: the class built from the other arguments, applied
    to the list at once, as Keras' helper does."""
    args = Args(b, node)
    params = shapes.TABLE[kind].params
    kwargs: dict[str, Value] = {}
    for i, arg in enumerate(args.positional[1:]):
        if i < len(params):
            kwargs[params[i]] = args.value(arg)
    for key, arg in args.keywords.items():
        if key != "inputs":
            kwargs[key] = args.value(arg)
    if kind == "Dot" and "axes" not in kwargs:
        kwargs["axes"] = Const(-1)  # Keras 3's default (tf_keras requires the argument)
    first = None if args.starred else args.get("inputs", 0)
    inputs: list[Value] = list(first.items) if isinstance(first, Seq) else [UNKNOWN]
    args.all(escape=False)
    opaque = bool(args.starred) or len(args.positional) - 1 > len(params)
    layer = Layer(kind, spelled, kwargs, node, opaque)
    return apply_layer(b, layer, inputs, {}, node)


def _apply_call(b: Builder, layer: Layer, node: ast.Call) -> Value:
    """``layer(x)``: the layer applied in functional code or in ``call``."""
    args = Args(b, node)
    if args.starred:
        inputs: list[Value] = [UNKNOWN]
    elif layer.kind in shapes.LIST_INPUT:
        first = args.get("inputs", 0)
        inputs = list(first.items) if isinstance(first, Seq) else [UNKNOWN if first is None else first]
    elif layer.kind == "MultiHeadAttention":
        inputs = [v if v is not None else UNKNOWN for v in (args.get("query", 0), args.get("value", 1))]
    else:
        first = args.get("inputs", 0)
        inputs = [UNKNOWN if first is None else first]
    args.all(escape=False)
    call_kwargs = {key: args.value(value) for key, value in args.keywords.items()}
    return apply_layer(b, layer, inputs, call_kwargs, node)


def _as_tensor(value: Value) -> Tensor:
    return value if isinstance(value, Tensor) else Tensor(None)


def apply_layer(b: Builder, layer: Layer, inputs: list[Value], call_kwargs: dict[str, Value], site: ast.expr) -> Value:
    """Apply ``layer`` to ``inputs``: record the graph node, return the output tensor(s)."""
    tensors = tuple(_as_tensor(v) for v in inputs)
    result, error = shapes.infer(layer, [t.shape for t in tensors], call_kwargs)
    role = shapes.role_of(layer)
    outputs: list[Tensor] = []
    for i, shape in enumerate(result.outputs or ()):
        origin = None
        by_rnn = False
        if i < result.main and shape is not None:
            if role is shapes.Role.RNN:
                origin = layer
            elif role is shapes.Role.PASS and len(tensors) == 1:
                origin, by_rnn = tensors[0].origin, tensors[0].by_rnn
        outputs.append(Tensor(shape, origin, by_rnn=by_rnn))
    app = Application(layer, tensors, tuple(outputs), site, error, dict(call_kwargs))
    for tensor in outputs:
        tensor.producer = app
    if b.recording:
        b.graph.applications.append(app)
    if result.outputs is None:
        return UNKNOWN
    return outputs[0] if len(outputs) == 1 else Seq(tuple(outputs))


# ---------------------------------------------------------------- models


def _new_sequential(b: Builder, node: ast.Call) -> ModelRef:
    args = Args(b, node)
    ref = ModelRef(b.alloc(ModelState(output=None)))
    layers = args.node("layers", 0)
    if isinstance(layers, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in layers.elts):
        for element in layers.elts:
            _sequential_add(b, ref, args.value(element), element)
    elif layers is not None:
        value = args.value(layers)
        if isinstance(value, Seq):
            for item in value.items:
                _sequential_add(b, ref, item, item.call if isinstance(item, Layer) else node)
        else:
            b.escape(value)
            b.escape(ref)
    args.all(escape=False)
    return ref


def _sequential_add(b: Builder, ref: ModelRef, value: Value, site: ast.expr) -> None:
    """One more layer on a Sequential model."""
    state = b.heap[ref.key]
    assert isinstance(state, ModelState)
    inputs = state.inputs
    if isinstance(value, Tensor):  # keras.Input(...) as the first entry
        output: Tensor = value
        if state.output is None and value.producer is None and value.shape is not None:
            inputs = (value,)
    elif isinstance(value, Layer) and not b.unchanged(value):
        output = Tensor(None)  # changed in place by code not seen: nothing is known of it
    elif isinstance(value, Layer) and value.kind == "InputLayer":
        output = Tensor(_first_input_shape(value))
        if state.output is None and output.shape is not None and not value.opaque:
            inputs = (output,)
    elif isinstance(value, Layer):
        x = state.output if state.output is not None else Tensor(_first_input_shape(value))
        if state.output is None and x.shape is not None and _declared_input_shape(value) == x.shape:
            inputs = (x,)
        output = _as_tensor(apply_layer(b, value, [x], {}, site))
    else:
        output = Tensor(None)
    b.set_heap(ref.key, ModelState(output=output, loss=state.loss, inputs=inputs))


def _declared_input_shape(layer: Layer) -> Shape:
    """The input shape Keras 3 gives a Sequential from its first layer: ``input_dim=`` (where
    the layer does not take it as its own argument, as Embedding does), else ``input_shape=``.
    Keras 3 refuses ``batch_input_shape=`` on a layer, and an RNN's ``input_dim`` declares a
    vector in Keras 3 but a sequence in Keras 2: no shape for those."""
    spec = shapes.TABLE.get(layer.kind)
    if layer.opaque or spec is None or "batch_input_shape" in layer.kwargs or "batch_shape" in layer.kwargs:
        return None
    if "input_dim" in layer.kwargs:
        if "input_dim" in spec.params or spec.role is shapes.Role.RNN:
            return None
        return (None, shapes.dim(layer.kwargs["input_dim"]))
    declared = shapes.dims(layer.kwargs.get("input_shape"))
    return None if declared is None else (None,) + declared


def _first_input_shape(layer: Layer) -> Shape:
    """The input shape a Sequential model's first layer declares (``input_shape=`` ...)."""
    for current in (layer, layer.inner):
        if current is None:
            continue
        for key in ("batch_input_shape", "batch_shape"):
            declared = shapes.dims(current.kwargs.get(key))
            if declared is not None:
                return declared
        for key in ("input_shape", "shape"):
            declared = shapes.dims(current.kwargs.get(key))
            if declared is not None:
                return (None,) + declared
        if current.kind == "Embedding":
            length = current.kwargs.get("input_length")
            return (None, shapes.dim(length)) if length is not None else None
        if "input_dim" in current.kwargs:
            size = shapes.dim(current.kwargs["input_dim"])
            if shapes.role_of(current) is shapes.Role.RNN:
                return (None, shapes.dim(current.kwargs.get("input_length", Const(None))), size)
            spec = shapes.spec_of(current)
            if spec is not None and spec.consumer == "sequence":
                # Keras 1 and 2 read Conv1D(input_dim=n) as (input_length, n), tf.keras and Keras 3
                # as (n,): the rank is not certain.
                return None
            return (None, size)
    return None


def _new_functional(b: Builder, node: ast.Call) -> ModelRef:
    args = Args(b, node)
    inputs = args.get("inputs", 0)
    outputs = args.get("outputs", 1)
    args.all(escape=False)
    if isinstance(outputs, Seq) and len(outputs.items) == 1:
        outputs = outputs.items[0]
    output = outputs if isinstance(outputs, Tensor) else Tensor(None)
    items = inputs.items if isinstance(inputs, Seq) else (inputs,)
    declared = tuple(t for t in items if isinstance(t, Tensor) and t.producer is None and t.shape is not None)
    known = bool(declared) and len(declared) == len(items)
    return ModelRef(b.alloc(ModelState(output=output, inputs=declared if known else None, functional=True)))


def _new_input(b: Builder, node: ast.Call) -> Tensor:
    args = Args(b, node)
    shape: Shape = None
    for key in ("batch_shape", "batch_input_shape"):
        declared = shapes.dims(args.get(key))
        if declared is not None:
            shape = declared
    if shape is None and args.node("tensor") is None:
        declared = shapes.dims(args.get("shape", 0))
        if declared is not None:
            batch = shapes.dim(args.get("batch_size", 1) or Const(None))
            shape = (batch,) + declared
    args.all(escape=False)
    return Tensor(shape)


def _loss_name(value: Value | None) -> str | None:
    if isinstance(value, Const) and isinstance(value.value, str):
        return builtin_loss(value.value)
    if isinstance(value, Layer):
        return builtin_loss(value.kind)
    if isinstance(value, Module):
        name = keras_name(value.path)
        return builtin_loss(name.spelled) if name is not None else None
    return None


def _model_method(b: Builder, ref: ModelRef, name: str, node: ast.Call) -> Value:
    args = Args(b, node)
    if name == "add":
        layer = args.get("layer", 0)
        args.all(escape=False)
        _sequential_add(b, ref, UNKNOWN if layer is None else layer, node)
        return Const(None)
    if name == "compile":
        loss = args.get("loss", 1)
        args.all(escape=False)
        state = b.heap[ref.key]
        assert isinstance(state, ModelState)
        b.set_heap(ref.key, replace(state, loss=_loss_name(loss)))
        return Const(None)
    if name in DATA_METHODS:
        _record_input_call(b, ref, name, node, args.get("x", 0))
    if name in TRAIN_METHODS:
        targets = args.get("y", 1)
        args.all(escape=False)
        state = b.heap[ref.key]
        if isinstance(targets, Array) and isinstance(state, ModelState) and state.output is not None and b.recording:
            b.graph.train_calls.append(TrainCall(name, node, state.output, targets, state.loss))
        return UNKNOWN
    args.all(escape=name not in _READ_ONLY)
    if name not in _READ_ONLY:
        b.escape(ref)
    return UNKNOWN


def _record_input_call(b: Builder, ref: ModelRef, method: str, node: ast.Call, x: Value | None) -> None:
    """Record a call that runs the model on ``x`` when its inputs are declared and ``x`` holds
    one array of known rank for each of them (a list or tuple of them for several inputs)."""
    state = b.heap[ref.key]
    if not b.recording or not isinstance(state, ModelState) or state.inputs is None or state.output is None:
        return
    items = x.items if isinstance(x, Seq) else (x,)
    data = tuple(item for item in items if isinstance(item, Array))
    if len(data) != len(items) or len(data) != len(state.inputs):
        return
    b.graph.input_calls.append(InputCall(method, node, state.inputs, data, state.functional, state.output))


# ---------------------------------------------------------------- arrays


def _numpy_array(b: Builder, maker: str, node: ast.Call) -> Value:
    args = Args(b, node)
    if maker in ("random.rand", "random.randn"):
        shape: tuple[Dim, ...] | None = tuple(shapes.dim(args.value(a)) for a in args.positional)
        if args.starred or args.keywords:
            shape = None
    elif maker in ("zeros", "ones", "empty", "full"):
        shape = shapes.dims(args.get("shape", 0))
    elif maker in ("random.randint", "random.normal", "random.uniform"):
        shape = shapes.dims(args.get("size", 2))
    elif maker in ("array", "asarray"):
        given = args.get("a") if "a" in args.keywords else args.get("object", 0)  # asarray's name, array's
        plain = not args.starred and len(args.positional) <= 2 and set(args.keywords) <= _ARRAY_KEYWORDS
        shape = _shape_of_data(given) if plain else None
    else:
        shape = shapes.dims(args.get("size", 0))
    args.all(escape=False)
    return UNKNOWN if shape is None else Array(shape)


_ARRAY_KEYWORDS = frozenset({"object", "a", "dtype", "copy", "order"})  # none changes the shape (ndmin does)


def _shape_of_data(value: Value | None) -> tuple[Dim, ...] | None:
    """The shape ``np.array`` gives ``value``: an array's own; nested list or tuple displays of
    numbers, when every level is as long as its neighbours (known sizes only, where several
    items must agree: a ragged list is refused, or made an array of objects)."""
    if isinstance(value, Array):
        return value.shape
    if isinstance(value, Const) and type(value.value) in (int, float, bool):
        return ()
    if not isinstance(value, Seq):
        return None
    inner = [_shape_of_data(item) for item in value.items]
    if not inner:
        return (0,)
    first = inner[0]
    if first is None or any(shape != first for shape in inner):
        return None
    if len(inner) > 1 and not all(isinstance(d, int) for d in first):
        return None
    return (len(inner), *first)


def _array_method(b: Builder, array: Array, name: str, node: ast.Call) -> Value:
    args = Args(b, node)
    args.all(escape=False)
    if name in ("astype", "copy"):
        return array
    if name != "reshape" or args.starred:
        return UNKNOWN
    if len(args.positional) == 1:
        target = shapes.dims(args.value(args.positional[0]))
    else:
        target = tuple(shapes.dim(args.value(a)) for a in args.positional)
    if target is None:
        return UNKNOWN
    if target.count(-1) == 1:
        known = [d for d in array.shape if isinstance(d, int)]
        total = math.prod(known) if len(known) == len(array.shape) else None
        rest = [d for d in target if d != -1]
        sizes = [d for d in rest if isinstance(d, int) and d > 0]
        if total is not None and len(sizes) == len(rest) and total % math.prod(sizes) == 0:
            target = tuple(total // math.prod(sizes) if d == -1 else d for d in target)
        else:
            target = tuple(UNKNOWN if d == -1 else d for d in target)
    return Array(target)


def _to_categorical(b: Builder, node: ast.Call) -> Value:
    args = Args(b, node)
    labels = args.get("x", 0)
    classes = shapes.dim(args.get("num_classes", 1))
    args.all(escape=False)
    if not isinstance(labels, Array):
        return UNKNOWN
    shape = labels.shape
    if shape and len(shape) > 1:
        if shape[-1] == 1:
            shape = shape[:-1]  # Keras drops a trailing axis of size 1
        elif not isinstance(shape[-1], int):
            return UNKNOWN  # it might be 1
    return Array(shape + (classes,))


# ---------------------------------------------------------------- builtins


def _builtin(b: Builder, name: str, node: ast.Call) -> Value:
    args = Args(b, node)
    values = [args.value(a) for a in args.positional]
    if name in ("exec", "eval"):
        args.all(escape=True)
        b.forget_all()
        return UNKNOWN
    if name in ("globals", "locals", "vars") and not node.args and not node.keywords:
        return b.namespace  # writing through it, or handing it away, forgets everything
    if name in ("setattr", "delattr", "vars"):
        args.all(escape=True, layers=True)
        return UNKNOWN
    args.all(escape=False)
    if name == "dict" and not args.positional and not args.starred:
        items = tuple((key, args.value(value)) for key, value in args.keywords.items())
        return DictRef(b.alloc(DictState(items)))
    if args.starred or (args.keywords and name != "enumerate"):
        return UNKNOWN
    consts = [v.value for v in values if isinstance(v, Const)]
    all_ints = len(consts) == len(values) and all(type(c) is int for c in consts)
    if name == "len" and len(values) == 1:
        value = values[0]
        if isinstance(value, Seq):
            return Const(len(value.items))
        if isinstance(value, Const) and isinstance(value.value, str):
            return Const(len(value.value))
        if isinstance(value, Array) and value.shape and isinstance(value.shape[0], int):
            return Const(value.shape[0])
        return UNKNOWN
    if name == "range" and 1 <= len(values) <= 3 and all_ints:
        try:
            span = range(*(c for c in consts if isinstance(c, int)))  # all of them (all_ints)
        except ValueError:
            return UNKNOWN
        return Seq(tuple(Const(i) for i in span)) if len(span) <= MAX_UNROLL else UNKNOWN
    if name == "enumerate" and len(values) == 1 and isinstance(values[0], Seq):
        start = args.get("start", 1)
        offset = start.value if isinstance(start, Const) and type(start.value) is int else 0 if start is None else None
        if offset is None:
            return UNKNOWN
        return Seq(tuple(Seq((Const(offset + i), item)) for i, item in enumerate(values[0].items)))
    seqs = [v for v in values if isinstance(v, Seq)]
    if name == "zip" and values and len(seqs) == len(values):
        return Seq(tuple(Seq(items) for items in zip(*(v.items for v in seqs))))
    if name in ("list", "tuple") and len(values) == 1 and isinstance(values[0], Seq):
        return values[0]
    number = values[0].value if len(values) == 1 and isinstance(values[0], Const) else None
    if name == "int" and type(number) in (int, float, bool) and isinstance(number, (int, float)):
        return Const(int(number))
    return UNKNOWN
