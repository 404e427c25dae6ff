"""What the interpreter knows at one program point, and how two such points merge.

Branches (``if``, ``try``, ``match``) and loops run one after another from the same state;
where their ends disagree the merged state says UNKNOWN (or, for two tensors of one rank, a
tensor of that rank), so a rule never judges a value that depends on which branch ran.

Writes go through a journal: a branch records what it changed and is undone, so its cost is
what it changes, not the size of the state (a 50,000-line module has thousands of names).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from kerascheck.graph.model import (
    UNKNOWN,
    DictState,
    HeapState,
    ModelState,
    ObjState,
    Seq,
    Shape,
    Tensor,
    Value,
)

MAX_UNROLL = 64  # loops over more items than this count as loops of unknown length
MISSING = object()  # a name not bound, an object not yet made


@dataclass
class Scope:
    """Names bound in a module or function body; functions read through to ``parent``."""

    parent: Scope | None = None
    vars: dict[str, Value] = field(default_factory=dict)  # also module attributes: "tensorflow.model"
    stars: list[str] = field(default_factory=list)  # star-imported modules, in order
    outer: set[str] = field(default_factory=set)  # names declared global/nonlocal
    # names (and module attributes) a function may rebind whenever it runs: never trusted here
    volatile: set[str] = field(default_factory=set)
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


def havoc(state: HeapState) -> HeapState:
    """The state of an object after code we cannot see may have changed it."""
    if isinstance(state, ModelState):
        return ModelState(output=Tensor(None), loss=None)
    if isinstance(state, DictState):
        return DictState(None)
    return ObjState(blocked=state.blocked)


def merge_values(a: Value, b: Value) -> Value:
    """One value for a name bound to ``a`` on one path and ``b`` on another."""
    if a == b:
        return a
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return merge_tensors(a, b)
    return UNKNOWN


def merge_tensors(a: Tensor, b: Tensor) -> Tensor:
    """Two tensors of one rank merge into a tensor of that rank; an RNN answers for it only if
    the same RNN answers for both."""
    if a is b:
        return a
    if a.shape is None or b.shape is None or len(a.shape) != len(b.shape):
        return Tensor(None)
    shape = tuple(x if (x is y or x == y) else UNKNOWN for x, y in zip(a.shape, b.shape))
    origin = a.origin if a.origin is b.origin else None
    by_rnn = origin is None and (a.by_rnn or b.by_rnn or a.origin is not None or b.origin is not None)
    return Tensor(shape, origin, by_rnn=by_rnn)


def merge_heap_states(a: HeapState, b: HeapState) -> HeapState:
    if a == b:
        return a
    if isinstance(a, ObjState) and isinstance(b, ObjState):
        names = dict.fromkeys([n for n, _ in a.attrs] + [n for n, _ in b.attrs])
        merged = ObjState(blocked=a.blocked | b.blocked)
        for name in names:
            merged = merged.set(name, merge_values(a.get(name), b.get(name)))
        return merged
    if isinstance(a, ModelState) and isinstance(b, ModelState):
        output = Tensor(None) if a.output is None or b.output is None else merge_tensors(a.output, b.output)
        same_inputs = a.inputs == b.inputs and a.functional == b.functional  # the same Input tensors
        return ModelState(
            output=output,
            loss=a.loss if a.loss == b.loss else None,
            inputs=a.inputs if same_inputs else None,
            functional=a.functional if same_inputs else False,
        )
    if isinstance(a, DictState) and isinstance(b, DictState) and a.items is not None and b.items is not None:
        if [k for k, _ in a.items] != [k for k, _ in b.items]:
            return DictState(None)
        return DictState(tuple((k, merge_values(x, y)) for (k, x), (_, y) in zip(a.items, b.items)))
    return havoc(a)


def same_value(a: object, b: object) -> bool:
    """Whether two values (or heap states) say the same, for a loop's fixpoint test: tensors by
    shape and origin, containers by their items (``==`` compares tensors by identity)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, Tensor):
        assert isinstance(b, Tensor)
        return a.origin is b.origin and a.by_rnn == b.by_rnn and _same_shape(a.shape, b.shape)
    if isinstance(a, Seq):
        assert isinstance(b, Seq)
        return len(a.items) == len(b.items) and all(same_value(x, y) for x, y in zip(a.items, b.items))
    if isinstance(a, ModelState):
        assert isinstance(b, ModelState)
        return (
            a.loss == b.loss
            and same_value(a.output, b.output)
            and a.functional == b.functional
            and same_value(a.inputs, b.inputs)
        )
    if isinstance(a, tuple):
        assert isinstance(b, tuple)
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, ObjState):
        assert isinstance(b, ObjState)
        names = {n for n, _ in a.attrs} | {n for n, _ in b.attrs}
        return a.blocked == b.blocked and all(same_value(a.get(n), b.get(n)) for n in names)
    if isinstance(a, DictState):
        assert isinstance(b, DictState)
        if a.items is None or b.items is None:
            return a.items is b.items
        return len(a.items) == len(b.items) and all(
            k == j and same_value(x, y) for (k, x), (j, y) in zip(a.items, b.items)
        )
    return a == b


def _same_shape(a: Shape, b: Shape) -> bool:
    if a is None or b is None:
        return a is b
    return len(a) == len(b) and all(x is y or x == y for x, y in zip(a, b))


def same_changes(a: Changes, b: Changes) -> bool:
    """Whether two sets of changes since the current state lead to the same state."""
    for ident in a.keys() | b.keys():
        mapping, key, _ = a[ident] if ident in a else b[ident]
        base = mapping.get(key, MISSING)
        if not same_value(a[ident][2] if ident in a else base, b[ident][2] if ident in b else base):
            return False
    return True


Key = tuple[int, object]  # (id of the dict, key in it)
Changes = dict[Key, tuple[dict[Any, Any], object, object]]  # key -> (dict, key, value at the end)


class Journal:
    """Every write to the heap and to scopes, recorded while some branch may undo it.

    ``unbound_fails(mapping, key)`` says whether reading a key that is not bound raises (a
    local or module name without a star import): then a name bound on one path only keeps
    that path's value, since reading it on the other path stops the program."""

    def __init__(
        self, heap: dict[int, HeapState], unbound_fails: Callable[[dict[Any, Any], object], bool] | None = None
    ) -> None:
        self.heap = heap
        self.unbound_fails = unbound_fails
        self._trail: list[tuple[dict[Any, Any], object, object]] = []
        self._marks = 0

    def write(self, mapping: dict[Any, Any], key: object, value: object) -> None:
        if self._marks:
            # dict's own get: keeping the old value to undo to is no read (see ``trace``)
            self._trail.append((mapping, key, dict.get(mapping, key, MISSING)))
        if value is MISSING:
            mapping.pop(key, None)
        else:
            mapping[key] = value

    def mark(self) -> int:
        self._marks += 1
        return len(self._trail)

    def release(self) -> None:
        self._marks -= 1

    def keep(self, mark: int) -> None:
        """Release ``mark``, keeping what was written since: the writes stay in the trail only
        while an earlier mark may undo them."""
        self._marks -= 1
        if not self._marks:
            del self._trail[mark:]

    def changes(self, mark: int) -> Changes:
        """What was written since ``mark``, with the values it has now."""
        found: Changes = {}
        for mapping, key, _ in self._trail[mark:]:
            found[(id(mapping), key)] = (mapping, key, mapping.get(key, MISSING))
        return found

    def undo(self, mark: int) -> None:
        while len(self._trail) > mark:
            mapping, key, old = self._trail.pop()
            if old is MISSING:
                mapping.pop(key, None)
            else:
                mapping[key] = old

    def apply(self, changes: Changes) -> None:
        for mapping, key, value in changes.values():
            self.write(mapping, key, value)

    def merge_into_current(self, ends: Iterable[Changes]) -> None:
        """Continue from the merge of several ends reached from the current state."""
        ends = list(ends)
        keys: dict[Key, tuple[dict[Any, Any], object]] = {}
        for end in ends:
            for ident, (mapping, key, _) in end.items():
                keys.setdefault(ident, (mapping, key))
        for ident, (mapping, key) in keys.items():
            base = mapping.get(key, MISSING)
            values = [end[ident][2] if ident in end else base for end in ends]
            merged = values[0]
            for value in values[1:]:
                if value is not merged:  # a value merged with itself is itself
                    merged = self._merge(mapping, key, merged, value)
            if merged is not base:
                self.write(mapping, key, merged)

    def _merge(self, mapping: dict[Any, Any], key: object, a: object, b: object) -> object:
        if a is MISSING or b is MISSING:
            if mapping is self.heap:
                return b if a is MISSING else a  # an object made on one path only
            if a is b:
                return MISSING
            if self.unbound_fails is not None and self.unbound_fails(mapping, key):
                return b if a is MISSING else a
            return UNKNOWN
        if mapping is self.heap:
            return merge_heap_states(cast(HeapState, a), cast(HeapState, b))  # the heap holds HeapStates
        return merge_values(cast(Value, a), cast(Value, b))  # scopes hold Values

    def branch(self, bodies: Iterable[Callable[[], None] | None]) -> None:
        """Run each body from the current state, then continue from the merge of their ends."""
        mark = self.mark()
        ends = []
        for body in bodies:
            if body is not None:
                body()
            ends.append(self.changes(mark))
            self.undo(mark)
        self.release()
        self.merge_into_current(ends)
