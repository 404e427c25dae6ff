"""The model graph: plain data the builder produces and the rules read.

Values here are what the abstract interpreter knows about a Python expression. Anything it
cannot know is ``UNKNOWN``, which is also the marker for a dimension that is not known
statically (Keras' own ``None`` dimensions stay ``None``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field


class _Unknown:
    """Singleton for 'not known statically': a value, a dimension, a rank."""

    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()

Dim = int | None | _Unknown
# A shape includes the batch axis. ``None`` as a whole shape means the rank is unknown.
Shape = tuple[Dim, ...] | None


@dataclass(frozen=True)
class Const:
    """A Python constant: int, float, str, bool or None."""

    value: object


@dataclass(frozen=True)
class Seq:
    """A tuple or list display whose length is known; items may be UNKNOWN."""

    items: tuple[Value, ...]


@dataclass(frozen=True)
class Module:
    """A reference into an imported module: ``keras.layers``, ``numpy.random.rand`` ..."""

    path: str


@dataclass(eq=False)
class Layer:
    """A constructed Keras object (almost always a layer), with its evaluated arguments.

    Positional arguments are stored under their parameter names (from the shape table), so
    ``GRU(16)`` and ``GRU(units=16)`` read the same. ``opaque`` is set when ``*args``/``**kw``
    or extra positional arguments hide some arguments: then an absent one is UNKNOWN, not its
    default.
    """

    kind: str  # canonical class name, e.g. "GRU" for CuDNNGRU
    spelled: str  # the name as written, e.g. "CuDNNGRU"
    kwargs: dict[str, Value]
    call: ast.Call  # where it was constructed
    opaque: bool = False
    # Arguments given through ``**config`` from a dict the analysis knows: their values are in
    # ``kwargs``, but no argument of ``call`` holds them, so no fix can edit them there.
    unpacked: frozenset[str] = frozenset()
    # Made in a function body run for one call (``Builder.inline``): what is known of it holds for
    # that call, while its construction is the code of every call, so no fix edits it.
    per_call: bool = False
    # Whether code may have changed the object since it was made (an attribute set on it,
    # ``setattr``, a function of unseen code handed it) is the builder's to know, at each point
    # of the program (``Builder.unchanged``): a layer is a value, shared by later builds.

    def arg(self, name: str, default: Value | None = None) -> Value | None:
        """The argument ``name``; ``default`` when it was not passed."""
        if name in self.kwargs:
            return self.kwargs[name]
        return UNKNOWN if self.opaque else default

    @property
    def inner(self) -> Layer | None:
        """The wrapped layer of ``TimeDistributed``/``Bidirectional``, when it is known."""
        if self.kind not in ("TimeDistributed", "Bidirectional"):
            return None
        value = self.arg("layer")
        return value if isinstance(value, Layer) else None


@dataclass(eq=False)
class Tensor:
    """A symbolic tensor. ``origin`` is the RNN whose ``return_sequences`` fixed its rank;
    ``producer`` the application that made it (None for inputs and unknown tensors).
    ``by_rnn``: an RNN fixed its rank on some path, though not one RNN on all of them (paths
    joined after a branch or a loop), so no rule may say that no RNN answers for it."""

    shape: Shape
    origin: Layer | None = None
    producer: Application | None = None
    by_rnn: bool = False


@dataclass(frozen=True)
class Array:
    """A NumPy array whose rank is known (dimensions may be UNKNOWN)."""

    shape: tuple[Dim, ...]


@dataclass(frozen=True)
class ModelRef:
    """A Keras model; its mutable state lives in the builder's heap under ``key``."""

    key: int


@dataclass(frozen=True)
class ObjRef:
    """An object whose attributes are places (``self`` of a class being analysed, an instance of
    a class of the file); its attributes live in the heap under ``key``."""

    key: int


@dataclass(frozen=True)
class DictRef:
    """A dict made by a display with string keys (``{"units": 8}``); what it holds lives in the
    heap under ``key``, so every name bound to it sees a change made through any of them."""

    key: int


@dataclass(frozen=True)
class UserFunction:
    """A function defined in the file; ``returns`` is what every call gives back. ``free`` are
    the names its body reads that it does not bind as parameters: a call (or unseen code handed
    the function) may change what they hold."""

    name: str
    returns: Value
    free: tuple[str, ...] = ()
    # A module-level function whose calls are evaluated with their arguments (``Builder.inline``):
    # its definition, and the defaults it was given when they are immutable (others: UNKNOWN).
    node: ast.FunctionDef | None = None
    defaults: tuple[tuple[str, Value], ...] = ()


@dataclass(frozen=True)
class UserClass:
    """A class of the file that is not a Keras model: calling it makes an object whose
    attributes are places. ``blocked`` are names the class defines that may be descriptors
    (properties ...): reading or writing them runs code."""

    name: str
    blocked: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ModelClass:
    """A subclass of ``keras.Model`` defined in the file; ``output`` is what its ``call`` returns."""

    name: str
    output: Tensor


@dataclass(frozen=True)
class Builtin:
    name: str


Value = (
    _Unknown
    | Const
    | Seq
    | Module
    | Layer
    | Tensor
    | Array
    | ModelRef
    | ObjRef
    | DictRef
    | UserFunction
    | UserClass
    | ModelClass
    | Builtin
)


@dataclass(frozen=True)
class ModelState:
    """What a model is at one program point. Immutable: every change makes a new state."""

    output: Tensor | None  # None: a Sequential with no layer yet
    loss: str | None = None  # canonical built-in loss given to compile(), if known
    # The model's inputs as Keras 3 declares them (``Input(...)``, ``input_shape=`` on a
    # Sequential's first layer), in order; None when unknown (a Sequential that builds on its
    # first batch, a subclassed model, a model unseen code may have changed).
    inputs: tuple[Tensor, ...] | None = None
    functional: bool = False  # ``Model(inputs, outputs)``: Keras checks each input's axes too


@dataclass(frozen=True)
class ObjState:
    """An object's attributes; one never set reads UNKNOWN. ``blocked`` names are never places."""

    attrs: tuple[tuple[str, Value], ...] = ()
    blocked: frozenset[str] = frozenset()

    def get(self, name: str) -> Value:
        for key, value in self.attrs:
            if key == name:
                return value
        return UNKNOWN

    def set(self, name: str, value: Value) -> ObjState:
        kept = tuple((k, v) for k, v in self.attrs if k != name)
        if name in self.blocked:
            return ObjState(kept, self.blocked)
        return ObjState(kept + ((name, value),), self.blocked)

    def without(self, name: str) -> ObjState:
        return ObjState(tuple((k, v) for k, v in self.attrs if k != name), self.blocked)


@dataclass(frozen=True)
class DictState:
    """A dict's items, in order; None once code we cannot follow may have changed it."""

    items: tuple[tuple[str, Value], ...] | None

    def get(self, key: str) -> Value | None:
        """The value under ``key``; None when the dict is unknown or has no such key."""
        for name, value in self.items or ():
            if name == key:
                return value
        return None


HeapState = ModelState | ObjState | DictState


@dataclass(eq=False)
class Application:
    """One application of a layer to tensors: a node of the graph."""

    layer: Layer
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    site: ast.expr  # where the layer is applied (list element, ``.add(``, ``layer(x)``)
    error: str | None  # why Keras would refuse the input's rank, if it would
    # The keywords of the call that applies it (``layer(x, initial_state=s)``), as evaluated.
    call_kwargs: dict[str, Value] = field(default_factory=dict)


@dataclass(eq=False)
class TrainCall:
    """``model.fit(x, y)`` and its kin, where the targets' rank is known."""

    method: str
    call: ast.Call
    output: Tensor
    targets: Array
    loss: str | None


@dataclass(eq=False)
class InputCall:
    """``model.fit(x, ...)``, ``predict(x)``, ``model(x)`` and their kin, where the model's inputs
    are declared and every array of ``x`` has a known rank (one array per model input)."""

    method: str  # "fit", ..., or "call" for ``model(x)``
    call: ast.Call
    inputs: tuple[Tensor, ...]  # the model's inputs
    data: tuple[Array, ...]  # what the call gives each of them
    functional: bool
    output: Tensor


@dataclass
class Graph:
    applications: list[Application] = field(default_factory=list)
    train_calls: list[TrainCall] = field(default_factory=list)
    input_calls: list[InputCall] = field(default_factory=list)
    # id of each call evaluated -> the statement whose own code holds it (fixes find libcst's
    # twin of a call there, see ``twins``)
    statement_of: dict[int, ast.stmt | None] = field(default_factory=dict)

    def mark(self) -> tuple[int, int, int]:
        """How many applications, training calls and input calls the graph holds: what ``cut``
        goes back to (a loop's pass, a call's body undone)."""
        return len(self.applications), len(self.train_calls), len(self.input_calls)

    def cut(self, mark: tuple[int, int, int]) -> None:
        """Drop what was recorded since ``mark``."""
        del self.applications[mark[0] :], self.train_calls[mark[1] :], self.input_calls[mark[2] :]
