"""What the interpreter knows at one program point, and how two such points merge.

Branches (``if``, ``try``, ``match``) and loops run on copies of the state; where the copies
disagree afterwards the merged state says UNKNOWN, so a rule never judges a value that depends
on which branch ran.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kerascheck.graph.model import (
    UNKNOWN,
    HeapState,
    ModelState,
    ObjState,
    Tensor,
    Value,
)

MAX_UNROLL = 64  # loops over more items than this count as loops of unknown length


@dataclass
class Scope:
    """Names bound in a module or function body; functions read through to ``parent``."""

    parent: Scope | None = None
    vars: dict[str, Value] = field(default_factory=dict)
    stars: list[str] = field(default_factory=list)  # star-imported modules, in order
    outer: set[str] = field(default_factory=set)  # names declared global/nonlocal
    returns: list[Value] = field(default_factory=list)

    @property
    def is_function(self) -> bool:
        return self.parent is not None

    @property
    def root(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope


@dataclass(frozen=True)
class Snapshot:
    vars: dict[str, Value]
    heap: dict[int, HeapState]


def havoc(state: HeapState) -> HeapState:
    """The state of an object after code we cannot see may have changed it."""
    if isinstance(state, ModelState):
        return ModelState(output=Tensor(None), loss=None)
    return ObjState(tuple((name, UNKNOWN) for name, _ in state.attrs))


def _merge_heap_state(a: HeapState, b: HeapState) -> HeapState:
    if a == b:
        return a
    if isinstance(a, ObjState) and isinstance(b, ObjState):
        names = dict.fromkeys([n for n, _ in a.attrs] + [n for n, _ in b.attrs])
        merged = ObjState()
        for name in names:
            va, vb = a.get(name), b.get(name)
            merged = merged.set(name, va if va == vb else UNKNOWN)
        return merged
    if isinstance(a, ModelState) and isinstance(b, ModelState):
        return ModelState(output=Tensor(None), loss=a.loss if a.loss == b.loss else None)
    return havoc(a)


def merge(a: Snapshot, b: Snapshot) -> Snapshot:
    """The state after a point reached from either ``a`` or ``b``."""
    variables: dict[str, Value] = {}
    for name in a.vars.keys() | b.vars.keys():
        va, vb = a.vars.get(name, UNKNOWN), b.vars.get(name, UNKNOWN)
        variables[name] = va if va == vb else UNKNOWN
    heap: dict[int, HeapState] = dict(a.heap)
    for key, state in b.heap.items():
        heap[key] = _merge_heap_state(heap[key], state) if key in heap else state
    return Snapshot(variables, heap)


def changed(before: Snapshot, after: Snapshot) -> tuple[set[str], set[int]]:
    """Names and heap objects whose value differs between two snapshots."""
    names = {n for n in after.vars if before.vars.get(n, UNKNOWN) != after.vars[n]}
    keys = {k for k in after.heap if k in before.heap and before.heap[k] != after.heap[k]}
    return names, keys
