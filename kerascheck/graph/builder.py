"""libcst module -> model graph, by abstract interpretation of the statements in order.

The interpreter knows just enough Python to follow Keras models: imports, assignments,
constants and their arithmetic, branches and loops (see ``state``), functions (their arguments
are unknown) and classes (``self`` attributes set in one method, read in another). What it
cannot follow becomes UNKNOWN, and a model handed to code it cannot see is forgotten, so the
rules only ever judge what is certain.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import libcst as cst

from kerascheck.graph import keras_calls
from kerascheck.graph.model import (
    UNKNOWN,
    Array,
    Builtin,
    Const,
    DictRef,
    DictState,
    Graph,
    HeapState,
    Layer,
    ModelClass,
    ModelRef,
    ModelState,
    Module,
    ObjRef,
    ObjState,
    Seq,
    Tensor,
    UserClass,
    UserFunction,
    Value,
)
from kerascheck.graph.state import (
    MAX_UNROLL,
    MISSING,
    Changes,
    Journal,
    Scope,
    havoc,
    merge_values,
    same_changes,
)
from kerascheck.names import MERGE_FUNCTIONS, is_keras_module, keras_name
from kerascheck.walk import walk

MAX_CONST_LEN = 10_000  # longest string or tuple constant arithmetic may build
MAX_PASSES = 3  # passes of a loop body before what it changes is widened to unknown
MAX_NESTED = 3  # loops nested deeper than this widen at once (the cost stays 2 passes a level)

_BUILTINS = frozenset(
    {
        "range",
        "len",
        "enumerate",
        "zip",
        "list",
        "tuple",
        "int",
        "print",
        "isinstance",
        "float",
        "str",
        "min",
        "max",
        "abs",
        "sum",
        "sorted",
        "reversed",
        "bool",
        "round",
        "super",
        "type",
        "object",
        "dict",
    }
)
# Builtins that read or rebind any name: after them nothing known about names or models holds.
_REFLECTIVE = frozenset({"exec", "eval", "globals", "locals", "vars"})
NAMESPACE = Builtin("<namespace>")  # what globals() and its kin return
# Decorators from these packages do not call user code at definition.
_TRUSTED_DECORATORS = frozenset({"tensorflow", "keras", "tf_keras"})

_BINARY: dict[type, Callable[[object, object], object]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.FloorDivide: operator.floordiv,
    cst.Divide: operator.truediv,
    cst.Modulo: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], object]] = {
    cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le,
    cst.GreaterThan: operator.gt,
    cst.GreaterThanEqual: operator.ge,
    cst.Equal: operator.eq,
    cst.NotEqual: operator.ne,
    cst.Is: operator.is_,
    cst.IsNot: operator.is_not,
}


def build_graph(module: cst.Module) -> Graph:
    builder = Builder()
    for i, statement in enumerate(module.body):
        builder.top = i
        builder.run(statement)
    return builder.graph


class Builder:
    def __init__(self) -> None:
        self.graph = Graph()
        self.heap: dict[int, HeapState] = {}
        self.scope = Scope()
        # The journal's test holds the heap and the module scope, not the builder: a builder
        # and its journal referring to each other would keep every graph (and, through it, the
        # libcst tree) alive until the cyclic collector walks it (see check.collector_off).
        self.journal = Journal(self.heap, _unbound_fails(self.heap, self.scope))
        self.recording = True
        self.statement: cst.CSTNode | None = None  # the statement being run
        self.top = 0  # the index of the module's top-level statement being run
        self._keys = 0
        # Objects are named by allocation site: the n-th object a call node makes since the
        # innermost loop's pass began, so every pass of a loop names its objects alike.
        self._calls: list[cst.CSTNode] = []  # calls being evaluated, innermost last
        self._site_keys: dict[tuple[int, int], int] = {}
        self._made: dict[int, int] = {}  # id(site) -> objects made there so far
        self._made_trail: list[tuple[int, int]] = []
        self._loops: list[_Loop] = []
        self.places: set[str] = set()  # module attributes ever assigned ("tensorflow.model")
        self.own_methods: dict[int, frozenset[str] | None] = {}  # self objects -> their methods
        self.namespace: Value = NAMESPACE  # what globals() gives: writing through it forgets everything

    # ------------------------------------------------------------ heap and state

    def alloc(self, state: HeapState, site: cst.CSTNode | None = None) -> int:
        """A heap key for a new object made at ``site`` (by default the call being evaluated)."""
        if site is None and self._calls:
            site = self._calls[-1]
        if site is None:
            self._keys += 1
            key = self._keys
        else:
            ident = id(site)
            count = self._made.get(ident, 0)
            self._made[ident] = count + 1
            if self._loops:
                self._made_trail.append((ident, count))
            known = self._site_keys.get((ident, count))
            if known is None:
                self._keys += 1
                known = self._site_keys[(ident, count)] = self._keys
            key = known
        self.set_heap(key, state)
        return key

    def set_heap(self, key: int, state: HeapState) -> None:
        self.journal.write(self.heap, key, state)

    def set_var(self, name: str, value: Value) -> None:
        self.journal.write(self.scope.vars, name, value)

    def del_var(self, name: str) -> None:
        self.journal.write(self.scope.vars, name, MISSING)

    def escape(self, value: Value, seen: set[int] | None = None) -> None:
        """Code we cannot see receives ``value``: forget what we knew of the models and objects
        reachable from it (an object's attributes, a module's assigned attributes, the names a
        function of the file reads)."""
        if isinstance(value, ModelRef):
            state = self.heap[value.key]
            if not (isinstance(state, ModelState) and _havocked(state)):
                self.set_heap(value.key, havoc(state))
        elif isinstance(value, ObjRef):
            state = self.heap[value.key]
            if isinstance(state, ObjState) and state.attrs:
                self.set_heap(value.key, havoc(state))  # first: a cycle stops here
                for _, held in state.attrs:
                    self.escape(held, seen)
        elif isinstance(value, Seq):
            for item in value.items:
                self.escape(item, seen)
        elif isinstance(value, DictRef):
            state = self.heap[value.key]
            if isinstance(state, DictState) and state.items is not None:
                self.set_heap(value.key, havoc(state))  # first: a cycle stops here
                for _, held in state.items:
                    self.escape(held, seen)
        elif isinstance(value, Module):
            self.forget_places(value.path)
        elif isinstance(value, UserFunction):
            seen = set() if seen is None else seen
            if id(value) not in seen:
                seen.add(id(value))
                for name in value.free:
                    self.escape(self.lookup(name), seen)
        elif value is NAMESPACE:
            self.forget_all()

    def forget_layers(self, value: Value, seen: set[int] | None = None) -> None:
        """Code may change the layers reachable from ``value`` in place (an attribute set on one,
        a function handed one): each is ``changed`` from here on (see ``Layer.changed``)."""
        seen = set() if seen is None else seen
        if id(value) in seen:
            return
        seen.add(id(value))
        held: tuple[Value, ...] = ()
        if isinstance(value, Layer):
            value.changed = True
            held = tuple(value.kwargs.values())
        elif isinstance(value, Seq):
            held = value.items
        elif isinstance(value, (ObjRef, DictRef)):
            state = self.heap[value.key]
            pairs = (
                state.attrs if isinstance(state, ObjState) else state.items if isinstance(state, DictState) else None
            )
            held = tuple(item for _, item in pairs or ())
        for item in held:
            self.forget_layers(item, seen)

    def mutated(self, target: cst.BaseExpression, base: Value, attr: str) -> None:
        """``target.attr`` set or deleted where ``base`` is what ``target`` evaluated to: when that
        is not known, whatever the expression starts from (``holder[0].cell.units = 4``)."""
        if base is UNKNOWN:
            root = target
            while isinstance(root, (cst.Attribute, cst.Subscript, cst.Call)):
                root = root.func if isinstance(root, cst.Call) else root.value
            base = self.lookup(root.value) if isinstance(root, cst.Name) else UNKNOWN
        self.escape(base)
        if attr not in _HARMLESS_ATTRS:
            self.forget_layers(base)

    def escape_names(self, node: cst.CSTNode) -> None:
        """Escape every model named inside an expression we do not evaluate (lambda, ...); a
        name it binds (``:=``) is unknown after it."""
        for name in _names_in(node):
            self.escape(self.lookup(name))
        for target in _walrus_targets(node):
            self.bind(target, UNKNOWN)

    def forget_places(self, path: str) -> None:
        """Unseen code got the module ``path``: what its assigned attributes held is unknown."""
        prefix = path + "."
        for key in [k for k in self.places if k.startswith(prefix)]:
            scope: Scope | None = self.scope
            while scope is not None:
                if key in scope.vars:
                    held = scope.vars[key]
                    self.journal.write(scope.vars, key, UNKNOWN)
                    self.escape(held)
                scope = scope.parent

    def forget_all(self) -> None:
        """``exec``, ``globals()`` ...: any name may be rebound, any model changed."""
        scope: Scope | None = self.scope
        while scope is not None:
            for name in list(scope.vars):
                if scope.vars[name] is not UNKNOWN:
                    self.journal.write(scope.vars, name, UNKNOWN)
            scope = scope.parent
        for key, state in list(self.heap.items()):
            self.set_heap(key, havoc(state))

    def forget_receiver(self, receiver: Value, method: str) -> None:
        """``receiver.method(...)``, a method kerascheck does not model: it may change what the
        receiver holds. A class's own methods run in the class's own sequence (``_class_def``),
        and Keras' methods do not rebind a model subclass's attributes."""
        if isinstance(receiver, ObjRef) and receiver.key in self.own_methods:
            methods = self.own_methods[receiver.key]
            if methods is None or method in methods:
                return
        self.escape(receiver)

    def forget_mutated(self, node: cst.BaseExpression, method: str) -> None:
        """``sizes.append(...)``: a list display is a value here, so the name holding it is unknown
        after a method that may change it. ``model.layers.pop()`` changes the model in Keras 1."""
        if method in _PURE_SEQ_METHODS:
            return
        if isinstance(node, cst.Name):
            if isinstance(self.scope.vars.get(node.value), Seq):
                self.set_var(node.value, UNKNOWN)
        elif isinstance(node, cst.Attribute) and isinstance(node.value, (cst.Name, cst.Attribute)):
            self.escape(self.ev(node.value))

    # ------------------------------------------------------------ names

    def lookup(self, name: str) -> Value:
        scope = self.scope
        if name in scope.outer:
            return UNKNOWN
        if name in scope.vars:
            return self._trusted(scope, name)
        outer = scope.parent
        while outer is not None:
            if name in outer.vars:
                value = self._trusted(outer, name)
                if isinstance(value, (ModelRef, ObjRef)):
                    # A function may run any time later and change the model: forget it.
                    self.escape(value)
                    return UNKNOWN
                return value
            outer = outer.parent
        return self._star_or_builtin(name)

    def _trusted(self, scope: Scope, name: str) -> Value:
        value = scope.vars[name]
        if name in scope.volatile:
            self.escape(value)  # a function of the file rebinds it when it runs
            return UNKNOWN
        return value

    def _bound(self, name: str) -> bool:
        scope: Scope | None = self.scope
        while scope is not None:
            if name in scope.vars:
                return True
            scope = scope.parent
        return False

    def _star_or_builtin(self, name: str) -> Value:
        if name in _REFLECTIVE or name in ("setattr", "delattr"):
            return Builtin(name)  # whatever a star import gives, it is treated as the worst case
        for path in reversed(self.scope.root.stars):
            if not is_keras_module(path):
                return UNKNOWN  # anything may come from there
            if name[:1].isupper() or name in ("to_categorical",) or name in MERGE_FUNCTIONS:
                return Module(f"{path}.{name}")
        if name in _BUILTINS:
            return Builtin(name)
        return UNKNOWN

    def bind(self, target: cst.BaseExpression, value: Value) -> None:
        if isinstance(target, cst.Name):
            if target.value in self.scope.outer:
                self.escape(value)
            else:
                self.set_var(target.value, value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            elements = target.elements
            starred = any(isinstance(e, cst.StarredElement) for e in elements)
            items = value.items if isinstance(value, Seq) and not starred else None
            if items is not None and len(items) != len(elements):
                items = None
            if items is None:
                self.escape(value)
            for i, element in enumerate(elements):
                self.bind(element.value, items[i] if items is not None else UNKNOWN)
        elif isinstance(target, cst.Attribute):
            base = self.ev(target.value)
            attr = target.attr.value
            if isinstance(base, ObjRef):
                state = self.heap[base.key]
                assert isinstance(state, ObjState)
                if attr in state.blocked:
                    self.escape(value)
                self.set_heap(base.key, state.set(attr, value))
            elif isinstance(base, Module):
                self.set_place(f"{base.path}.{attr}", value)
            else:
                self.mutated(target.value, base, attr)
                self.escape(value)
        elif isinstance(target, cst.Subscript) and self._set_item(target, value):
            pass
        else:
            if isinstance(target, cst.Subscript):
                self.escape(self.ev(target.value))
                self.forget_mutated(target.value, "__setitem__")
                for index in target.slice:
                    self.escape_names(index)
            else:
                self.ev(target)
            self.escape(value)

    def _set_item(self, target: cst.Subscript, value: Value) -> bool:
        """``config["units"] = 8`` on a dict the analysis knows: the item is set; False when the
        target is anything else (then the container is handed to unseen code)."""
        if len(target.slice) != 1 or not isinstance(target.slice[0].slice, cst.Index):
            return False
        base = self.ev(target.value)
        if not isinstance(base, DictRef):
            return False
        state = self.heap[base.key]
        key = self.ev(target.slice[0].slice.value)
        if not (isinstance(state, DictState) and state.items is not None):
            self.escape(value)
            return True
        if not (isinstance(key, Const) and isinstance(key.value, str)):
            self.escape(base)
            self.escape(value)
            return True
        items = dict(state.items)
        items[key.value] = value
        self.set_heap(base.key, DictState(tuple(items.items())))
        return True

    def dict_item(self, ref: DictRef, key: Value) -> Value | None:
        """The item under ``key`` of a dict display (``config["units"]``, ``config.get("units")``):
        None when the dict is known and has no such key, UNKNOWN when the dict or the key is not
        known (a key not known may read any item: they all escape)."""
        if not (isinstance(key, Const) and isinstance(key.value, str)):
            self.escape(ref)
            return UNKNOWN
        state = self.heap[ref.key]
        if not (isinstance(state, DictState) and state.items is not None):
            return UNKNOWN
        return state.get(key.value)

    def set_place(self, key: str, value: Value) -> None:
        """``tf.model = value``: a module attribute is a place like a name. Set in a function,
        it may change whenever the function runs, so outside it the place is not trusted."""
        self.places.add(key)
        self.set_var(key, value)
        if self.scope.is_function:
            self.scope.root.volatile.add(key)

    def get_place(self, key: str) -> Value:
        return self.lookup(key) if key in self.places and self._bound(key) else Module(key)

    # ------------------------------------------------------------ statements

    def run_block(self, statements: Sequence[cst.CSTNode]) -> None:
        for statement in statements:
            self.run(statement)

    def run_suite(self, suite: cst.BaseSuite) -> None:
        self.run_block(suite.body)

    def run(self, node: cst.CSTNode) -> None:
        handler = _STATEMENTS.get(type(node))
        outer, self.statement = self.statement, node
        if handler is not None:
            handler(self, node)
        elif not isinstance(node, _INERT):
            self.escape_names(node)  # a statement not modelled forgets what it names
        self.statement = outer

    def _simple_line(self, node: cst.SimpleStatementLine) -> None:
        self.run_block(node.body)

    def _expr(self, node: cst.Expr) -> None:
        self.ev(node.value)

    def _assign(self, node: cst.Assign) -> None:
        value = self.ev(node.value)
        for target in node.targets:
            self.bind(target.target, value)

    def _ann_assign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self.bind(node.target, self.ev(node.value))

    def _aug_assign(self, node: cst.AugAssign) -> None:
        value = self.ev(node.value)
        if isinstance(node.target, cst.Name):
            old = self.lookup(node.target.value)
            if isinstance(old, DictRef):
                self.escape(old)  # ``config |= other`` changes the dict in place
                self.escape(value)
            self.bind(node.target, self._arith(_AUG.get(type(node.operator)), old, value))
        else:
            self.bind(node.target, UNKNOWN)
            self.escape(value)

    def _return(self, node: cst.Return) -> None:
        self.scope.returns.append(UNKNOWN if node.value is None else self.ev(node.value))

    def _del(self, node: cst.Del) -> None:
        targets = node.target.elements if isinstance(node.target, (cst.Tuple, cst.List)) else [node.target]
        for target in targets:
            expr = target.value if isinstance(target, cst.BaseElement) else target
            self._del_target(expr)

    def _del_target(self, expr: cst.BaseExpression) -> None:
        if isinstance(expr, cst.Name):
            if expr.value in self.scope.outer:
                return
            self.del_var(expr.value)
        elif isinstance(expr, (cst.Tuple, cst.List)):
            for element in expr.elements:
                self._del_target(element.value)
        elif isinstance(expr, cst.Attribute):
            base = self.ev(expr.value)
            if isinstance(base, ObjRef):
                state = self.heap[base.key]
                assert isinstance(state, ObjState)
                self.set_heap(base.key, state.without(expr.attr.value))
            elif isinstance(base, Module):
                self.set_place(f"{base.path}.{expr.attr.value}", UNKNOWN)
            else:
                self.mutated(expr.value, base, expr.attr.value)
        else:
            # ``del model.layers[-1]``, ``del sizes[0]``: the object it came from changes.
            self.bind(expr, UNKNOWN)

    def _assert(self, node: cst.Assert) -> None:
        self.ev(node.test)
        if node.msg is not None:
            self.ev(node.msg)

    def _raise(self, node: cst.Raise) -> None:
        for part in (node.exc, None if node.cause is None else node.cause.item):
            if part is not None:
                self.ev(part)

    def _global(self, node: cst.Global | cst.Nonlocal) -> None:
        """A function that rebinds an outer name may run at any later time: the name is not
        trusted from here on, in the scope that holds it."""
        for item in node.names:
            name = item.name.value
            self.scope.outer.add(name)
            self.del_var(name)
            holder = self.scope.root
            if isinstance(node, cst.Nonlocal):
                outer = self.scope.parent
                while outer is not None and outer.parent is not None and name not in outer.vars:
                    outer = outer.parent
                holder = outer if outer is not None else holder
            holder.volatile.add(name)

    def _import(self, node: cst.Import) -> None:
        for alias in node.names:
            path = _dotted(alias.name)
            if alias.asname is not None:
                self.bind(alias.asname.name, Module(path))
            else:
                first = path.split(".")[0]
                self.set_var(first, Module(first))

    def _import_from(self, node: cst.ImportFrom) -> None:
        relative = len(node.relative) > 0
        path = "" if node.module is None else _dotted(node.module)
        if isinstance(node.names, cst.ImportStar):
            self.scope.root.stars.append("." + path if relative else path)
            return
        for alias in node.names:
            name = _dotted(alias.name)
            value: Value = UNKNOWN if relative else Module(f"{path}.{name}")
            target = alias.asname.name if alias.asname is not None else alias.name
            self.bind(target, value)

    def _if(self, node: cst.If) -> None:
        truth = _truth(self.ev(node.test))
        if truth is True:
            self.run_suite(node.body)
            return
        if truth is False:
            self._orelse(node.orelse)
            return
        self.journal.branch([lambda: self.run_suite(node.body), lambda: self._orelse(node.orelse)])

    def _orelse(self, orelse: cst.If | cst.Else | None) -> None:
        if isinstance(orelse, cst.If):
            self.run(orelse)
        elif isinstance(orelse, cst.Else):
            self.run_suite(orelse.body)

    def _for(self, node: cst.For) -> None:
        items = self.ev(node.iter)
        orelse = node.orelse
        if isinstance(items, Seq) and len(items.items) <= MAX_UNROLL and not _jumps(node.body):
            for each in items.items:
                self.bind(node.target, each)
                self.run_suite(node.body)
            if orelse is not None:
                self.run_suite(orelse.body)
            return
        # Each pass takes any item: the join of the items when they are known.
        joined: Value = UNKNOWN
        if isinstance(items, Seq) and items.items:
            joined = items.items[0]
            for other in items.items[1:]:
                joined = merge_values(joined, other)
        else:
            self.escape(items)

        def body() -> None:
            self.bind(node.target, joined)
            self.run_suite(node.body)

        self._unknown_loop(body, None if orelse is None else (lambda: self.run_suite(orelse.body)))

    def _while(self, node: cst.While) -> None:
        def body() -> None:
            self.ev(node.test)
            self.run_suite(node.body)

        orelse = node.orelse
        self._unknown_loop(body, None if orelse is None else (lambda: self.run_suite(orelse.body)))

    def _unknown_loop(self, body: Callable[[], None], orelse: Callable[[], None] | None) -> None:
        """A loop that may run any number of times, interpreted to a fixpoint.

        The head state starts as the entry; each pass runs the body from the head, and the new
        head is the join of the old one, the body's end and every ``continue``. When a pass
        leaves the head as it was, that pass ran from a state that holds on every iteration: the
        graph nodes it recorded are kept (those of earlier passes are dropped), so a finding in
        the body holds on every pass. Joins widen (sizes, ranks, a model's output become
        unknown where passes differ), so this takes two or three passes; after ``MAX_PASSES``,
        or when loops nest deeper than ``MAX_NESTED``, everything the body changed is made
        unknown and one more pass runs from there. After the loop: the head (run zero or more
        times; ``else`` runs from it) joined with the states at every ``break``.
        """
        journal, graph = self.journal, self.graph
        mark = journal.mark()
        loop = _Loop(mark)
        self._loops.append(loop)
        made = len(self._made_trail)
        kept = (len(graph.applications), len(graph.train_calls), len(graph.input_calls))
        head: Changes = {}
        passes = 1 if len(self._loops) > MAX_NESTED else MAX_PASSES
        for number in range(1, MAX_PASSES + 4):
            del graph.applications[kept[0] :], graph.train_calls[kept[1] :], graph.input_calls[kept[2] :]
            self._rewind_sites(made)
            loop.breaks, loop.continues = [], []
            journal.apply(head)
            body()
            end = journal.changes(mark)
            journal.undo(mark)
            journal.merge_into_current([{}, head, end, *loop.continues])
            joined = journal.changes(mark)
            journal.undo(mark)
            if same_changes(joined, head):
                break
            head = joined if number < passes else self._widen(joined)
        else:
            # Not settled even when widened (each pass reached new names): keep nothing the
            # body recorded, and what it changed is unknown.
            del graph.applications[kept[0] :], graph.train_calls[kept[1] :], graph.input_calls[kept[2] :]
            head = self._widen(head)
        self._loops.pop()
        journal.apply(head)
        if orelse is not None:
            orelse()
        normal = journal.changes(mark)
        journal.undo(mark)
        journal.release()
        journal.merge_into_current([normal, *loop.breaks])

    def _widen(self, head: Changes) -> Changes:
        """Everything a loop that did not settle changes is unknown."""
        widened: Changes = {}
        for ident, (mapping, key, value) in head.items():
            if mapping is self.heap:
                if value is not MISSING:
                    value = havoc(value)  # type: ignore[arg-type]
            elif value is not MISSING:
                value = UNKNOWN
            widened[ident] = (mapping, key, value)
        return widened

    def _rewind_sites(self, length: int) -> None:
        """A new pass of a loop names the objects it makes as the last pass did."""
        trail = self._made_trail
        while len(trail) > length:
            ident, count = trail.pop()
            self._made[ident] = count

    def _jump(self, node: cst.Break | cst.Continue) -> None:
        if self._loops:
            loop = self._loops[-1]
            ends = loop.breaks if isinstance(node, cst.Break) else loop.continues
            ends.append(self.journal.changes(loop.mark))

    def _try(self, node: cst.Try | cst.TryStar) -> None:
        journal = self.journal
        mark = journal.mark()
        self.run_suite(node.body)
        done = journal.changes(mark)
        ends = []
        for handler in node.handlers:
            # The handler may start anywhere in the body: from what the body may have changed.
            journal.undo(mark)
            journal.merge_into_current([{}, done])
            if handler.name is not None:
                self.bind(handler.name.name, UNKNOWN)
            self.run_suite(handler.body)
            ends.append(journal.changes(mark))
        journal.undo(mark)
        journal.apply(done)
        if node.orelse is not None:
            self.run_suite(node.orelse.body)
        ends.insert(0, journal.changes(mark))
        journal.undo(mark)
        journal.release()
        journal.merge_into_current(ends)
        if node.finalbody is not None:
            self.run_suite(node.finalbody.body)

    def _with(self, node: cst.With) -> None:
        for item in node.items:
            self.escape(self.ev(item.item))  # __enter__ and __exit__ are code we do not see
            if item.asname is not None:
                self.bind(item.asname.name, UNKNOWN)
        self.run_suite(node.body)

    def _match(self, node: cst.Match) -> None:
        self.ev(node.subject)

        def run_case(case: cst.MatchCase) -> None:
            self.escape_names(case.pattern)
            for name in _names_in(case.pattern):
                self.set_var(name, UNKNOWN)
            self.run_suite(case.body)

        self.journal.branch([None, *(lambda case=case: run_case(case) for case in node.cases)])

    def _function_def(self, node: cst.FunctionDef) -> None:
        value = self.define_function(node, None)
        self.bind(node.name, value if self.decorated_safely(node.decorators, value) else UNKNOWN)

    def decorated_safely(self, decorators: Sequence[cst.Decorator], value: Value) -> bool:
        """Evaluate the decorators (they run at definition); the decorated name keeps ``value``
        only when every decorator is Keras' or TensorFlow's own (``tf.function`` ...)."""
        safe = True
        for decorator in decorators:
            expr = decorator.decorator
            if isinstance(expr, cst.Call):  # ``@register_keras_serializable(package="x")``
                found = self.ev(expr.func)
                for arg in expr.args:
                    self.escape(self.ev(arg.value))
            else:
                found = self.ev(expr)
            if not (isinstance(found, Module) and found.path.split(".")[0] in _TRUSTED_DECORATORS):
                safe = False
                self.escape(value)  # the decorator gets the function and may call it
        return safe

    def define_function(self, node: cst.FunctionDef, self_obj: ObjRef | None) -> Value:
        """Analyse a function body once, its arguments unknown; return what calls give.

        Defaults and annotations run at definition, in the enclosing scope."""
        params = node.params
        every = [*params.posonly_params, *params.params, *params.kwonly_params]
        for extra in (params.star_arg, params.star_kwarg):
            if isinstance(extra, cst.Param):
                every.append(extra)
        for param in every:
            if param.default is not None:
                self.escape(self.ev(param.default))
            if param.annotation is not None:
                self.escape_names(param.annotation)
        if node.returns is not None:
            self.escape_names(node.returns)
        scope = Scope(parent=self.scope)
        loops, self._loops = self._loops, []  # a break in the body is the body's own
        for i, param in enumerate(every):
            scope.vars[param.name.value] = self_obj if (i == 0 and self_obj is not None) else UNKNOWN
        saved, self.scope = self.scope, scope
        try:
            self.run_suite(node.body)
        finally:
            self.scope = saved
            self._loops = loops
        returns = scope.returns[0] if len(scope.returns) == 1 else UNKNOWN
        if self_obj is not None:
            # A method is never a value (its class is): only what it returns is read, and its
            # body is not walked again for the names it reads.
            return UserFunction(node.name.value, returns)
        bound = {param.name.value for param in every}
        free = tuple(dict.fromkeys(n for n in _names_in(node.body) if n not in bound))
        return UserFunction(node.name.value, returns, free)

    def _class_def(self, node: cst.ClassDef) -> None:
        """Methods run with one ``self`` whose attributes ``__init__`` and ``build`` set first.

        A ``keras.Model`` subclass whose ``call`` returns one known tensor becomes a model
        class: instances have that output (its rank is known even though the inputs are not).
        """
        bases = [self.ev(base.value) for base in node.bases]
        for keyword in node.keywords:
            self.escape(self.ev(keyword.value))
        is_model = any(isinstance(b, Module) and _keras_class(b.path) == "Model" for b in bases)
        keras_base = all(isinstance(b, Module) and is_keras_module(b.path.rsplit(".", 1)[0]) for b in bases)
        plain = all(b == Builtin("object") for b in bases)
        methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        blocked = _descriptor_names(node)
        obj = ObjRef(self.alloc(ObjState(blocked=blocked), node))
        names = frozenset(m.name.value for m in methods)
        # Calls to the class's own methods are run in order below; with a Keras base, Keras'
        # methods too; with a base we cannot see, any method may change ``self``.
        self.own_methods[obj.key] = None if bases and keras_base else names
        first = {"__init__": 0, "build": 1}
        value: Value = UserClass(node.name.value, blocked | names) if plain and not _hooks(names) else UNKNOWN
        for method in sorted(methods, key=lambda m: first.get(m.name.value, 2)):
            result = self.define_function(method, obj)
            if (
                is_model
                and method.name.value == "call"
                and isinstance(result, UserFunction)
                and isinstance(result.returns, Tensor)
            ):
                value = ModelClass(node.name.value, result.returns)
        self.bind(node.name, value if self.decorated_safely(node.decorators, value) else UNKNOWN)

    # ------------------------------------------------------------ expressions

    def ev(self, node: cst.BaseExpression) -> Value:
        handler = _EXPRESSIONS.get(type(node))
        if handler is None:
            self.escape_names(node)
            return UNKNOWN
        return handler(self, node)

    def _name(self, node: cst.Name) -> Value:
        if node.value in ("True", "False", "None"):
            return Const({"True": True, "False": False, "None": None}[node.value])
        return self.lookup(node.value)

    def _integer(self, node: cst.Integer) -> Value:
        # libcst's evaluated_value runs ast.literal_eval: too slow for every literal.
        return Const(int(node.value.replace("_", ""), 0))

    def _float(self, node: cst.Float) -> Value:
        return Const(float(node.value.replace("_", "")))

    def _string(self, node: cst.SimpleString | cst.ConcatenatedString) -> Value:
        if isinstance(node, cst.SimpleString):
            prefix = node.prefix.lower()
            if "b" in prefix:
                return UNKNOWN
            if "r" in prefix or "\\" not in node.value:
                return Const(node.raw_value)
        value = node.evaluated_value
        return Const(value) if isinstance(value, str) else UNKNOWN

    def _formatted(self, node: cst.FormattedString) -> Value:
        for part in node.parts:
            if isinstance(part, cst.FormattedStringExpression):
                self.ev(part.expression)
        return UNKNOWN

    def _dict(self, node: cst.Dict | cst.Set) -> Value:
        """A dict display with string keys is an object in the heap (``LSTM(**config)`` reads
        it); any other dict or set display is unknown, and a model stored in it may be changed
        through it later."""
        if isinstance(node, cst.Dict) and all(isinstance(e, cst.DictElement) for e in node.elements):
            items: dict[str, Value] = {}
            known = True
            values: list[Value] = []
            for pair in node.elements:
                assert isinstance(pair, cst.DictElement)
                key = self.ev(pair.key)
                value = self.ev(pair.value)
                values.append(value)
                if isinstance(key, Const) and isinstance(key.value, str):
                    items[key.value] = value
                else:
                    known = False
            if known:
                return DictRef(self.alloc(DictState(tuple(items.items())), node))
            for value in values:
                self.escape(value)
            return UNKNOWN
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                self.ev(element.key)
            self.escape(self.ev(element.value))
        return UNKNOWN

    def _sequence(self, node: cst.Tuple | cst.List) -> Value:
        if any(isinstance(e, cst.StarredElement) for e in node.elements):
            for e in node.elements:
                self.escape(self.ev(e.value))
            return UNKNOWN
        return Seq(tuple(self.ev(e.value) for e in node.elements))

    def _attribute(self, node: cst.Attribute) -> Value:
        base = self.ev(node.value)
        attr = node.attr.value
        if isinstance(base, Module):
            return self.get_place(f"{base.path}.{attr}")
        if isinstance(base, ObjRef):
            state = self.heap[base.key]
            return state.get(attr) if isinstance(state, ObjState) else UNKNOWN
        if isinstance(base, Array):
            if attr == "shape":
                return Seq(tuple(Const(d) if isinstance(d, int) else UNKNOWN for d in base.shape))
            if attr == "T":
                return Array(tuple(reversed(base.shape)))
        if isinstance(base, DictRef):
            self.escape(base)  # ``update = config.update``: a method that may change it, called later
            return UNKNOWN
        if isinstance(base, Layer) and attr in _LAYER_PARTS:
            self.forget_layers(base)  # ``cell = rnn.cell``: changed through a name not followed
            return UNKNOWN
        if isinstance(base, ModelRef):
            state = self.heap[base.key]
            if attr == "output" and isinstance(state, ModelState) and state.output is not None:
                return state.output
            if attr not in _MODEL_READS:
                self.escape(base)
        return UNKNOWN

    def _subscript(self, node: cst.Subscript) -> Value:
        base = self.ev(node.value)
        if len(node.slice) != 1:
            for element in node.slice:
                self.escape_names(element)
            return UNKNOWN
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            key = self.ev(index.value)
            if isinstance(base, DictRef):
                item = self.dict_item(base, key)
                return UNKNOWN if item is None else item  # a missing key raises
            if (
                isinstance(base, Seq)
                and isinstance(key, Const)
                and type(key.value) is int
                and -len(base.items) <= key.value < len(base.items)
            ):
                return base.items[key.value]
            self.escape(base)
            return UNKNOWN
        assert isinstance(index, cst.Slice)  # libcst's only other BaseSlice
        bounds = [None if part is None else self.ev(part) for part in (index.lower, index.upper, index.step)]
        ints: list[int | None] = []
        for bound in bounds:
            if bound is None or (isinstance(bound, Const) and bound.value is None):
                ints.append(None)
            elif isinstance(bound, Const) and type(bound.value) is int:
                ints.append(bound.value)
            else:
                return UNKNOWN
        lower, upper, step = ints
        if isinstance(base, Seq):
            return Seq(base.items[lower:upper:step])
        if isinstance(base, Array) and base.shape:
            # A slice of the first axis keeps the rank (``Y[:800]``).
            return Array((UNKNOWN,) + base.shape[1:])
        self.escape(base)
        return UNKNOWN

    def _binary(self, node: cst.BinaryOperation) -> Value:
        left, right = self.ev(node.left), self.ev(node.right)
        if isinstance(node.operator, cst.Power):
            if isinstance(left, Const) and isinstance(right, Const) and _small_int(right.value) and _number(left.value):
                return Const(left.value**right.value)
            return UNKNOWN
        return self._arith(_BINARY.get(type(node.operator)), left, right)

    def _arith(self, op: Callable[[object, object], object] | None, left: Value, right: Value) -> Value:
        if op is None:
            return UNKNOWN
        if isinstance(left, Seq) and isinstance(right, Seq) and op is operator.add:
            return Seq(left.items + right.items)
        if isinstance(left, Seq) and isinstance(right, Const) and op is operator.mul and _small_int(right.value):
            if len(left.items) * max(0, right.value) <= MAX_CONST_LEN:
                return Seq(left.items * right.value)
            return UNKNOWN
        if not (isinstance(left, Const) and isinstance(right, Const)):
            return UNKNOWN
        a, b = left.value, right.value
        if isinstance(a, str) or isinstance(b, str):
            if op is operator.add and isinstance(a, str) and isinstance(b, str):
                return Const(a + b) if len(a) + len(b) <= MAX_CONST_LEN else UNKNOWN
            if op is operator.mul and isinstance(a, str) and _small_int(b) and len(a) * max(0, b) <= MAX_CONST_LEN:
                return Const(a * b)
            return UNKNOWN
        if not (_number(a) and _number(b)):
            return UNKNOWN
        try:
            return Const(op(a, b))
        except (ArithmeticError, ValueError):
            return UNKNOWN

    def _unary(self, node: cst.UnaryOperation) -> Value:
        value = self.ev(node.expression)
        if not isinstance(value, Const):
            return UNKNOWN
        if isinstance(node.operator, cst.Not):
            return Const(not value.value)
        if not _number(value.value):
            return UNKNOWN
        if isinstance(node.operator, cst.Minus):
            return Const(-value.value)
        if isinstance(node.operator, cst.Plus):
            return value
        return UNKNOWN

    def _boolean(self, node: cst.BooleanOperation) -> Value:
        left = self.ev(node.left)
        truth = _truth(left)
        is_and = isinstance(node.operator, cst.And)
        if truth is None:
            self.ev(node.right)
            return UNKNOWN
        if truth is not is_and:
            return left  # ``False and x``, ``True or x``
        return self.ev(node.right)

    def _comparison(self, node: cst.Comparison) -> Value:
        left = self.ev(node.left)
        result: Value = Const(True)
        for target in node.comparisons:
            right = self.ev(target.comparator)
            op = _COMPARE.get(type(target.operator))
            if op is None or not (isinstance(left, Const) and isinstance(right, Const)):
                result = UNKNOWN
            elif result is not UNKNOWN:
                try:
                    if not op(left.value, right.value):
                        result = Const(False)
                except TypeError:
                    result = UNKNOWN
            left = right
        return result

    def _if_exp(self, node: cst.IfExp) -> Value:
        truth = _truth(self.ev(node.test))
        if truth is True:
            return self.ev(node.body)
        if truth is False:
            return self.ev(node.orelse)
        body, orelse = self.ev(node.body), self.ev(node.orelse)
        return body if body == orelse else UNKNOWN

    def _named(self, node: cst.NamedExpr) -> Value:
        value = self.ev(node.value)
        self.bind(node.target, value)
        return value

    def _call(self, node: cst.Call) -> Value:
        ident = id(node)
        self.graph.statement_of[ident] = self.statement
        self.graph.top_of[ident] = self.top
        self._calls.append(node)
        try:
            return keras_calls.call(self, node)
        finally:
            self._calls.pop()


def _unbound_fails(heap: dict[int, HeapState], root: Scope) -> Callable[[dict[Any, Any], object], bool]:
    """Whether reading ``key`` of ``mapping`` when it is not bound raises: then a name bound
    on one path only has that path's value wherever it is read (a module attribute may exist
    anyway, a name may come from a star import or the builtins)."""

    def fails(mapping: dict[Any, Any], key: object) -> bool:
        if mapping is heap or not isinstance(key, str) or "." in key:
            return False
        if mapping is root.vars:
            return not root.stars and key not in _BUILTINS and key not in _REFLECTIVE
        return True

    return fails


def _keras_class(path: str) -> str | None:
    name = keras_name(path)
    return None if name is None else name.name


def _small_int(value: object) -> TypeGuard[int]:
    return type(value) is int and -MAX_CONST_LEN <= value <= MAX_CONST_LEN


def _number(value: object) -> TypeGuard[int | float]:
    return type(value) in (int, float)


def _truth(value: Value) -> bool | None:
    if isinstance(value, Const):
        return bool(value.value)
    return None


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def _names_in(node: cst.CSTNode) -> list[str]:
    """The names an expression reads (``a`` of ``a.b``, not ``b``)."""
    nodes = list(walk(node))
    attributes = {id(n.attr) for n in nodes if type(n) is cst.Attribute}
    return [n.value for n in nodes if type(n) is cst.Name and id(n) not in attributes]


def _walrus_targets(node: cst.CSTNode) -> list[cst.BaseExpression]:
    return [n.target for n in walk(node) if type(n) is cst.NamedExpr]


def _havocked(state: ModelState) -> bool:
    return state.output is not None and state.output.shape is None and state.loss is None


def _descriptor_names(node: cst.ClassDef) -> frozenset[str]:
    """Names a class body binds to something that may be a descriptor: decorated functions
    (``@property``) and class attributes set to anything but a constant."""
    names = set()
    for statement in node.body.body:
        if isinstance(statement, cst.FunctionDef) and statement.decorators:
            names.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign) and not isinstance(
                    small.value, (cst.Integer, cst.Float, cst.SimpleString, cst.Name)
                ):
                    for target in small.targets:
                        names.update(_names_in(target.target))
    return frozenset(names)


def _hooks(methods: frozenset[str]) -> bool:
    """Whether a class changes what attribute access does: then its attributes are not places."""
    return bool(methods & {"__setattr__", "__getattr__", "__getattribute__", "__delattr__", "__init_subclass__"})


# Model attributes whose reading changes nothing (``len(model.layers)``; changing the list they
# give is caught by ``forget_mutated``).
# Attributes whose setting changes no shape and no flag: a layer keeps what is known of it.
_HARMLESS_ATTRS = frozenset({"trainable", "name", "_name"})
# Attributes of a layer that are objects of their own, which code may change through another name.
_LAYER_PARTS = frozenset({"cell", "cells", "layer", "forward_layer", "backward_layer", "__dict__"})
_MODEL_READS = frozenset({"layers", "name", "inputs", "outputs", "input", "input_shape", "output_shape"})
_PURE_SEQ_METHODS = frozenset({"index", "count", "copy", "__len__", "__getitem__"})
_INERT = (cst.Pass,)


@dataclass
class _Loop:
    """A loop being interpreted: the journal mark of its entry, and the states (as changes
    since the entry) at each ``break`` and ``continue`` of the current pass."""

    mark: int
    breaks: list[Changes] = field(default_factory=list)
    continues: list[Changes] = field(default_factory=list)


_JUMPS = (cst.Break, cst.Continue, cst.Return)


def _jumps(body: cst.BaseSuite) -> bool:
    """True when a loop body may leave an iteration early (then its count is unknown).

    Only statements can jump, so only statements are scanned, not expressions.
    """
    for statement in body.body:
        if isinstance(statement, _JUMPS):  # in a one-line suite
            return True
        if isinstance(statement, cst.SimpleStatementLine):
            if any(isinstance(small, _JUMPS) for small in statement.body):
                return True
        elif isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
            continue
        elif isinstance(statement, cst.BaseCompoundStatement) and _compound_jumps(statement):
            return True
    return False


def _compound_jumps(statement: cst.BaseCompoundStatement) -> bool:
    suites: list[cst.BaseSuite] = [statement.body]
    for part in ("orelse", "finalbody"):
        extra = getattr(statement, part, None)
        while isinstance(extra, cst.If):  # elif chains
            suites.append(extra.body)
            extra = extra.orelse
        if extra is not None:
            suites.append(extra.body)
    suites += [h.body for h in getattr(statement, "handlers", ())]
    suites += [c.body for c in getattr(statement, "cases", ())]
    return any(_jumps(suite) for suite in suites)


_AUG: dict[type, Callable[[object, object], object]] = {
    cst.AddAssign: operator.add,
    cst.SubtractAssign: operator.sub,
    cst.MultiplyAssign: operator.mul,
    cst.FloorDivideAssign: operator.floordiv,
    cst.DivideAssign: operator.truediv,
    cst.ModuloAssign: operator.mod,
}

# Each handler takes the node type it is keyed by, which a dict's type cannot say: Any.
_STATEMENTS: dict[type, Callable[[Builder, Any], None]] = {
    cst.SimpleStatementLine: Builder._simple_line,
    cst.Expr: Builder._expr,
    cst.Assign: Builder._assign,
    cst.AnnAssign: Builder._ann_assign,
    cst.AugAssign: Builder._aug_assign,
    cst.Return: Builder._return,
    cst.Del: Builder._del,
    cst.Global: Builder._global,
    cst.Assert: Builder._assert,
    cst.Break: Builder._jump,
    cst.Continue: Builder._jump,
    cst.Raise: Builder._raise,
    cst.Nonlocal: Builder._global,
    cst.Import: Builder._import,
    cst.ImportFrom: Builder._import_from,
    cst.If: Builder._if,
    cst.For: Builder._for,
    cst.While: Builder._while,
    cst.Try: Builder._try,
    cst.TryStar: Builder._try,
    cst.With: Builder._with,
    cst.Match: Builder._match,
    cst.FunctionDef: Builder._function_def,
    cst.ClassDef: Builder._class_def,
}

_EXPRESSIONS: dict[type, Callable[[Builder, Any], Value]] = {
    cst.Name: Builder._name,
    cst.Integer: Builder._integer,
    cst.Float: Builder._float,
    cst.FormattedString: Builder._formatted,
    cst.Dict: Builder._dict,
    cst.Set: Builder._dict,
    cst.SimpleString: Builder._string,
    cst.ConcatenatedString: Builder._string,
    cst.Tuple: Builder._sequence,
    cst.List: Builder._sequence,
    cst.Attribute: Builder._attribute,
    cst.Subscript: Builder._subscript,
    cst.BinaryOperation: Builder._binary,
    cst.UnaryOperation: Builder._unary,
    cst.BooleanOperation: Builder._boolean,
    cst.Comparison: Builder._comparison,
    cst.IfExp: Builder._if_exp,
    cst.NamedExpr: Builder._named,
    cst.Call: Builder._call,
}
