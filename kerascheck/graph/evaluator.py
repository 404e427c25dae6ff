"""What the call semantics (keras_calls) need of the builder that evaluates them.

keras_calls is called by the builder and calls back into it; it knows the builder only through
this protocol, so neither module imports the other's definitions both ways.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Protocol

from kerascheck.graph.model import DictRef, Graph, HeapState, Layer, UserFunction, Value


class Evaluator(Protocol):
    """The builder, as a call's semantics see it."""

    graph: Graph  # where applications and training calls are recorded
    heap: dict[int, HeapState]  # the models and objects made so far, by key (read only here)
    recording: bool  # False: record nothing (a loop keeps only its last pass's records itself)
    namespace: Value  # what globals() gives: writing through it forgets everything

    @property
    def per_call(self) -> bool:
        """Whether a function body is being run for one call (``inline``)."""
        ...

    def ev(self, node: ast.expr) -> Value:
        """The value of an expression (evaluating it once, with its effects)."""
        ...

    def escape(self, value: Value) -> None:
        """``value`` reaches code kerascheck does not see: forget what it knew of it."""
        ...

    def unchanged(self, layer: Layer) -> bool:
        """Whether nothing may have changed the layer, or a layer it holds, since they were made."""
        ...

    def forget_layers(self, value: Value) -> None:
        """Code may change the layers reachable from ``value`` in place: forget them from here on."""
        ...

    def alloc(self, state: HeapState) -> int:
        """A new heap object, named by the call being evaluated; its key."""
        ...

    def forget_receiver(self, receiver: Value, method: str) -> None:
        """``receiver.method(...)``, a method not modelled: forget what it may change."""
        ...

    def forget_mutated(self, node: ast.expr, method: str) -> None:
        """A list display, or ``model.layers``, changed in place by ``method``."""
        ...

    def forget_all(self) -> None:
        """``exec`` and its kin: any name may be rebound, any model changed."""
        ...

    def dict_item(self, ref: DictRef, key: Value) -> Value | None:
        """The item under ``key`` of a dict display; None when the dict is known without it."""
        ...

    def set_heap(self, key: int, state: HeapState) -> None:
        """Replace a heap object's state (journaled, so that branches can undo it)."""
        ...

    def inline(self, callee: UserFunction, call: ast.Call, evaluate: Callable[[ast.expr], Value]) -> Value | None:
        """The value of a call of the module's own function, its body run with the arguments
        (``evaluate`` gives one's value, evaluated once); None when that is not certain (the caller then lets the
        arguments escape)."""
        ...
