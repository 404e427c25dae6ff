"""CPython's tree of a module -> model graph, by abstract interpretation of the statements in order.

The interpreter knows just enough Python to follow Keras models: imports, assignments,
constants and their arithmetic, branches and loops (see ``state``), functions (a body once with
its arguments unknown, and again for each call with the call's: ``inline``) and classes
(``self`` attributes set in one method, read in another). What it cannot follow becomes UNKNOWN,
and a model handed to code it cannot see is forgotten, so the rules only ever judge what is
certain.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeGuard, cast

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
from kerascheck.graph.trace import Trace, WatchedDict, WatchedList, WatchedSet
from kerascheck.names import MERGE_FUNCTIONS, is_keras_module, keras_name

MAX_CONST_LEN = 10_000  # longest string or tuple constant arithmetic may build
MAX_PASSES = 3  # passes of a loop body before what it changes is widened to unknown
MAX_NESTED = 3  # loops nested deeper than this widen at once (the cost stays 2 passes a level)
# Calls of the file's own functions evaluated with their arguments (``Builder.inline``): how many
# may be being evaluated one inside another, how many one top-level statement may evaluate, and
# the size (syntax nodes) of a body that is.
MAX_INLINE_DEPTH = 3
MAX_INLINE_CALLS = 100
MAX_INLINE_NODES = 1500

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
_CONSTANTS = (bool, int, float, str)  # the types of the constants the analysis knows (and None)
# Builtins that read or rebind any name: after them nothing known about names or models holds.
_REFLECTIVE = frozenset({"exec", "eval", "globals", "locals", "vars"})
NAMESPACE = Builtin("<namespace>")  # what globals() and its kin return
# Decorators from these packages do not call user code at definition.
_TRUSTED_DECORATORS = frozenset({"tensorflow", "keras", "tf_keras"})

# The operators of binary operations and augmented assignments alike.
_BINARY: dict[type, Callable[[object, object], object]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_COMPARE: dict[type, Callable[[Any, Any], object]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Is: operator.is_,
    ast.IsNot: operator.is_not,
}


def build_graph(tree: ast.Module, syntax: Syntax | None = None) -> Graph:
    """The model graph of a module, from CPython's tree of it (``ast.parse``); ``syntax``, what
    is worked out of its nodes, kept by the caller for the builds of its fix checks (``replay``)."""
    builder = Builder(syntax=syntax)
    for statement in tree.body:
        builder.run(statement)
    return builder.graph


class Allocator:
    """Heap keys, by allocation site: the n-th object a call node makes since the innermost
    loop's pass began, so every pass of a loop names its objects alike. Builds of one text's
    fix checks share one (see ``replay``): an object made where it was made before has the key it
    had, and a key is never given to two sites (the sites are kept, so their ids stay theirs)."""

    def __init__(self) -> None:
        self.count = 0
        self.sites: dict[tuple[object, int], int] = {}
        self.kept: dict[int, ast.AST] = {}

    def new(self) -> int:
        self.count += 1
        return self.count

    @staticmethod
    def ident(site: ast.AST, context: Sequence[ast.AST] = ()) -> object:
        """``context``: the calls of the file's functions being evaluated (``Builder.inline``),
        outermost first: a site in a body is one site per chain of calls that runs it, so that
        each is run by one top-level statement only, as a site outside bodies is."""
        return (id(site), *map(id, context)) if context else id(site)

    def at(self, ident: object, made: int, site: ast.AST, context: Sequence[ast.AST] = ()) -> int:
        """The key of the ``made``-th object made at ``ident`` (``Allocator.ident(site, context)``)."""
        key = self.sites.get((ident, made))
        if key is None:
            key = self.sites[(ident, made)] = self.new()
            for node in (site, *context):
                self.kept[id(node)] = node
        return key


class Syntax:
    """What the syntax of a node says, worked out once per node: an inlined body, a loop's pass
    and a text's fix checks (``replay``) run the same nodes again and again. Each memo keeps its
    nodes, so their ids stay theirs."""

    def __init__(self) -> None:
        self._names: dict[int, tuple[ast.AST, tuple[str, ...]]] = {}
        self._walrus: dict[int, tuple[ast.AST, tuple[ast.expr, ...]]] = {}
        self._free: dict[int, tuple[ast.AST, tuple[str, ...]]] = {}
        self._inlinable: dict[int, tuple[ast.AST, bool]] = {}

    def names(self, node: ast.AST) -> tuple[str, ...]:
        """``_names_in(node)``."""
        found = self._names.get(id(node))
        if found is None:
            found = self._names[id(node)] = (node, tuple(_names_in(node)))
        return found[1]

    def walrus_targets(self, node: ast.AST) -> tuple[ast.expr, ...]:
        """The targets of the ``:=`` in ``node``."""
        found = self._walrus.get(id(node))
        if found is None:
            found = self._walrus[id(node)] = (
                node,
                tuple(n.target for n in walked(node) if type(n) is ast.NamedExpr),
            )
        return found[1]

    def free(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
        """The names a function's body mentions besides its parameters (``UserFunction.free``)."""
        found = self._free.get(id(node))
        if found is None:
            params = node.args
            every = [*params.posonlyargs, *params.args, *params.kwonlyargs, params.vararg, params.kwarg]
            bound = {param.arg for param in every if param is not None}
            free = tuple(dict.fromkeys(n for statement in node.body for n in self.names(statement) if n not in bound))
            found = self._free[id(node)] = (node, free)
        return found[1]

    def inlinable(self, node: ast.FunctionDef) -> bool:
        """``_inlinable(node)``."""
        found = self._inlinable.get(id(node))
        if found is None:
            found = self._inlinable[id(node)] = (node, _inlinable(node))
        return found[1]


class Builder:
    def __init__(
        self, trace: Trace | None = None, allocator: Allocator | None = None, syntax: Syntax | None = None
    ) -> None:
        """``trace``: note what each top-level statement reads and writes of the module's state
        (see ``trace``); ``allocator``: the heap keys of builds before this one; ``syntax``: what
        they worked out of the nodes."""
        self.graph = Graph()
        self.syntax = syntax or Syntax()
        if trace is None:
            self.heap: dict[int, HeapState] = {}
            self.scope = Scope()
            self.places: set[str] = set()  # module attributes ever assigned ("tensorflow.model")
            self.own_methods: dict[int, frozenset[str] | None] = {}  # self objects -> their methods
            # Layers code may have changed since they were made, by id (never cleared: a path
            # that did not change one joins one that did): applied from then on, nothing is
            # known of them. What was applied before keeps what it knew.
            self.changed: dict[int, Layer] = {}
        else:
            self.heap = WatchedDict(trace, "heap")
            self.scope = Scope(
                vars=WatchedDict(trace, "name"),
                stars=WatchedList(trace, "star"),
                outer=WatchedSet(trace, "outer"),
                volatile=WatchedSet(trace, "volatile"),
            )
            self.places = WatchedSet(trace, "place")
            self.own_methods = WatchedDict(trace, "methods")
            self.changed = WatchedDict(trace, "changed")
        # The journal's test holds the heap and the module scope, not the builder: a builder
        # and its journal referring to each other would keep every graph (and, through it, the
        # syntax tree) alive until the cyclic collector walks it (see check.collector_off).
        self.journal = Journal(self.heap, _unbound_fails(self.heap, self.scope))
        self.recording = True
        self.statement: ast.stmt | None = None  # the statement being run
        self.allocator = allocator or Allocator()
        self._calls: list[ast.AST] = []  # calls being evaluated, innermost last
        self._made: dict[object, int] = {}  # site (see ``Allocator.at``) -> objects made there so far
        self._made_trail: list[tuple[object, int]] = []
        self._loops: list[_Loop] = []
        self._outer_loops = 0  # loops around the calls being inlined (their bodies' loops are their own)
        self._inlined: list[ast.Call] = []  # the calls being inlined, outermost first
        self._frames: list[_Frame] = []  # their bodies being run
        self._inline_calls = 0  # calls inlined since the top-level statement began
        self.namespace: Value = NAMESPACE  # what globals() gives: writing through it forgets everything

    def containers(self) -> dict[str, dict[Any, Any] | set[Any] | list[Any]]:
        """The module's state by the tags ``trace`` names it with."""
        scope = self.scope
        return {
            "heap": self.heap,
            "name": scope.vars,
            "star": scope.stars,
            "outer": scope.outer,
            "volatile": scope.volatile,
            "place": self.places,
            "methods": self.own_methods,
            "changed": self.changed,
        }

    # ------------------------------------------------------------ heap and state

    def alloc(self, state: HeapState, site: ast.AST | None = None) -> int:
        """A heap key for a new object made at ``site`` (by default the call being evaluated)."""
        if site is None and self._calls:
            site = self._calls[-1]
        if site is None:
            key = self.allocator.new()
        else:
            context = self._inlined
            ident = Allocator.ident(site, context)
            count = self._made.get(ident, 0)
            self._made[ident] = count + 1
            if self._loops or self._outer_loops:
                self._made_trail.append((ident, count))
            key = self.allocator.at(ident, count, site, context)
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
        if type(value) in _INERT:
            return
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
                    self.forget_list(name)  # the function may change a list it reads in place
        elif value is NAMESPACE:
            self.forget_all()

    def forget_layers(self, value: Value, seen: set[int] | None = None) -> None:
        """Code may change the layers reachable from ``value`` in place (an attribute set on one,
        a function handed one): each is ``changed`` from here on (see ``unchanged``)."""
        if not isinstance(value, (Layer, Seq, ObjRef, DictRef)):
            return  # nothing held
        seen = set() if seen is None else seen
        if id(value) in seen:
            return
        seen.add(id(value))
        held: tuple[Value, ...] = ()
        if isinstance(value, Layer):
            self.changed[id(value)] = value
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

    def unchanged(self, layer: Layer) -> bool:
        """Whether nothing may have changed this layer, or a layer it holds (a wrapper's layer, an
        RNN's cells), since they were made."""
        if id(layer) in self.changed:
            return False
        for value in layer.kwargs.values():
            held = value.items if isinstance(value, Seq) else (value,)
            if any(isinstance(item, Layer) and not self.unchanged(item) for item in held):
                return False
        return True

    def hand_over(self, values: Sequence[Value]) -> None:
        """An operator hands ``values`` to an object the analysis does not know (its ``__getitem__``,
        ``__add__``, ``__contains__`` ...): unseen code, which may change them as a function
        handed them may (``registry[rnn]`` may set ``rnn.return_sequences``)."""
        for value in values:
            self.escape(value)
            self.forget_layers(value)

    def mutated(self, target: ast.expr, base: Value, attr: str) -> None:
        """``target.attr`` set or deleted where ``base`` is what ``target`` evaluated to: when that
        is not known, whatever the expression starts from (``holder[0].cell.units = 4``)."""
        if base is UNKNOWN:
            root = target
            while isinstance(root, (ast.Attribute, ast.Subscript, ast.Call)):
                root = root.func if isinstance(root, ast.Call) else root.value
            base = self.lookup(root.id) if isinstance(root, ast.Name) else UNKNOWN
        self.escape(base)
        if attr not in _HARMLESS_ATTRS:
            self.forget_layers(base)

    def escape_names(self, node: ast.AST) -> None:
        """Escape every model named inside an expression we do not evaluate (lambda, ...); a
        name it binds (``:=``) is unknown after it."""
        syntax = self.syntax
        for name in syntax.names(node):
            self.escape(self.lookup(name))
        for target in syntax.walrus_targets(node):
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

    def forget_mutated(self, node: ast.expr, method: str) -> None:
        """``sizes.append(...)``: a list display is a value here, so the name holding it is unknown
        after a method that may change it. ``model.layers.pop()`` changes the model in Keras 1."""
        if method in _PURE_SEQ_METHODS:
            return
        if isinstance(node, ast.Name):
            self.forget_list(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)):
            self.escape(self.ev(node.value))

    def forget_list(self, name: str) -> None:
        """A list display is a value here: after code that may change the list ``name`` holds
        (``sizes.append(...)``, ``rs[0] = True``, in a function too), the name is unknown, in the
        scope that binds it (a function changes a module's list in place)."""
        scope: Scope | None = self.scope.parent if name in self.scope.outer else self.scope
        while scope is not None and name not in scope.vars:
            scope = scope.parent
        if scope is not None and isinstance(scope.vars[name], Seq):
            self.journal.write(scope.vars, name, UNKNOWN)

    # ------------------------------------------------------------ names

    def lookup(self, name: str) -> Value:
        scope = self.scope
        if name in scope.outer:
            return UNKNOWN
        value = scope.vars.get(name)  # a value is never None (None is Const(None))
        if value is not None:  # ``_trusted``, spelled out: the most common lookup
            if name in scope.volatile:
                self.escape(value)  # a function of the file rebinds it when it runs
                return UNKNOWN
            return value
        outer = scope.parent
        while outer is not None:
            value = outer.vars.get(name)
            if value is not None:
                value = self._trusted(outer, name, value)
                if isinstance(value, (ModelRef, ObjRef)):
                    # A function may run any time later and change the model: forget it.
                    self.escape(value)
                    return UNKNOWN
                return value
            outer = outer.parent
        return self._star_or_builtin(name)

    def _trusted(self, scope: Scope, name: str, value: Value) -> Value:
        """``value``, bound to ``name`` in ``scope``, unless a function of the file rebinds it."""
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

    def bind(self, target: ast.expr, value: Value) -> None:
        if isinstance(target, ast.Name):
            self.bind_name(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            elements = target.elts
            starred = any(isinstance(e, ast.Starred) for e in elements)
            items = value.items if isinstance(value, Seq) and not starred else None
            if items is not None and len(items) != len(elements):
                items = None
            if items is None:
                self.escape(value)
            for i, element in enumerate(elements):
                self.bind(_unstarred(element), items[i] if items is not None else UNKNOWN)
        elif isinstance(target, ast.Attribute):
            base = self.ev(target.value)
            attr = target.attr
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
        elif isinstance(target, ast.Subscript) and self._set_item(target, value):
            pass
        else:
            if isinstance(target, ast.Subscript):
                self.escape(self.ev(target.value))
                self.forget_mutated(target.value, "__setitem__")
                for index in _subscripts(target):
                    self.escape_names(index)
            else:
                self.ev(target)
            self.escape(value)

    def bind_name(self, name: str, value: Value) -> None:
        if name in self.scope.outer:
            self.escape(value)
        else:
            self.set_var(name, value)

    def _set_item(self, target: ast.Subscript, value: Value) -> bool:
        """``config["units"] = 8`` on a dict the analysis knows: the item is set; False when the
        target is anything else (then the container is handed to unseen code)."""
        index = target.slice
        if isinstance(index, ast.Slice) or _bare_tuple(index):
            return False
        base = self.ev(target.value)
        if not isinstance(base, DictRef):
            return False
        state = self.heap[base.key]
        key = self.ev(index)
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

    def run_block(self, statements: Sequence[ast.stmt]) -> None:
        for statement in statements:
            self.run(statement)

    def run(self, node: ast.stmt) -> None:
        handler = _STATEMENTS.get(type(node))
        outer, self.statement = self.statement, node
        if outer is None:
            self._inline_calls = 0  # the budget is a top-level statement's: replay copies whole ones
        if handler is not None:
            handler(self, node)
        elif not isinstance(node, _INERT_STATEMENTS):
            self.escape_names(node)  # a statement not modelled forgets what it names
        self.statement = outer

    def _expr(self, node: ast.Expr) -> None:
        self.ev(node.value)

    def _assign(self, node: ast.Assign) -> None:
        value = self.ev(node.value)
        for target in node.targets:
            self.bind(target, value)

    def _ann_assign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.bind(node.target, self.ev(node.value))

    def _aug_assign(self, node: ast.AugAssign) -> None:
        value = self.ev(node.value)
        if isinstance(node.target, ast.Name):
            old = self.lookup(node.target.id)
            if isinstance(old, DictRef):
                self.escape(old)  # ``config |= other`` changes the dict in place
                self.escape(value)
            self.bind(node.target, self._arith(_BINARY.get(type(node.op)), old, value))
        else:
            self.bind(node.target, UNKNOWN)
            self.hand_over([value])  # ``registry.total += rnn``: its ``__iadd__``, or its setter

    def _return(self, node: ast.Return) -> None:
        self.scope.returns.append(UNKNOWN if node.value is None else self.ev(node.value))
        self._leaves(node)

    def _del(self, node: ast.Delete) -> None:
        for target in node.targets:
            self._del_target(target)

    def _del_target(self, expr: ast.expr) -> None:
        if isinstance(expr, ast.Name):
            if expr.id in self.scope.outer:
                return
            self.del_var(expr.id)
        elif isinstance(expr, (ast.Tuple, ast.List)):
            for element in expr.elts:
                self._del_target(_unstarred(element))
        elif isinstance(expr, ast.Attribute):
            base = self.ev(expr.value)
            if isinstance(base, ObjRef):
                state = self.heap[base.key]
                assert isinstance(state, ObjState)
                self.set_heap(base.key, state.without(expr.attr))
            elif isinstance(base, Module):
                self.set_place(f"{base.path}.{expr.attr}", UNKNOWN)
            else:
                self.mutated(expr.value, base, expr.attr)
        else:
            # ``del model.layers[-1]``, ``del sizes[0]``: the object it came from changes.
            self.bind(expr, UNKNOWN)

    def _assert(self, node: ast.Assert) -> None:
        self.ev(node.test)
        if node.msg is not None:
            self.ev(node.msg)

    def _raise(self, node: ast.Raise) -> None:
        for part in (node.exc, node.cause):
            if part is not None:
                self.ev(part)
        self._leaves(node)

    def _leaves(self, node: ast.Return | ast.Raise) -> None:
        """A ``return`` before the end of a body being run for a call (``inline``), or a
        ``raise``: a path leaves the body early, and what follows is not the call's."""
        frame = self._frames[-1] if self._frames else None
        early = isinstance(node, ast.Raise) or (frame is not None and node is not frame.function.body[-1])
        if frame is not None and frame.scope is self.scope and early:
            frame.left = True

    def _global(self, node: ast.Global | ast.Nonlocal) -> None:
        """A function that rebinds an outer name may run at any later time: the name is not
        trusted from here on, in the scope that holds it."""
        for name in node.names:
            self.scope.outer.add(name)
            self.del_var(name)
            holder = self.scope.root
            if isinstance(node, ast.Nonlocal):
                outer = self.scope.parent
                while outer is not None and outer.parent is not None and name not in outer.vars:
                    outer = outer.parent
                holder = outer if outer is not None else holder
            holder.volatile.add(name)

    def _import(self, node: ast.Import) -> None:
        for alias in node.names:
            path = alias.name
            if alias.asname is not None:
                self.bind_name(alias.asname, Module(path))
            else:
                first = path.split(".")[0]
                self.set_var(first, Module(first))

    def _import_from(self, node: ast.ImportFrom) -> None:
        relative = node.level > 0
        path = node.module or ""
        if node.names[0].name == "*":
            self.scope.root.stars.append("." + path if relative else path)
            return
        for alias in node.names:
            name = alias.name
            value: Value = UNKNOWN if relative else Module(f"{path}.{name}")
            self.bind_name(alias.asname if alias.asname is not None else name, value)

    def _if(self, node: ast.If) -> None:
        truth = _truth(self.ev(node.test))
        if truth is True:
            self.run_block(node.body)
            return
        if truth is False:
            self.run_block(node.orelse)
            return
        self.journal.branch([lambda: self.run_block(node.body), lambda: self.run_block(node.orelse)])

    def _for(self, node: ast.For | ast.AsyncFor) -> None:
        items = self.ev(node.iter)
        orelse = node.orelse
        if isinstance(items, Seq) and len(items.items) <= MAX_UNROLL and not _jumps(node.body):
            for each in items.items:
                self.bind(node.target, each)
                self.run_block(node.body)
            self.run_block(orelse)
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
            self.run_block(node.body)

        self._unknown_loop(body, (lambda: self.run_block(orelse)) if orelse else None)

    def _while(self, node: ast.While) -> None:
        def body() -> None:
            self.ev(node.test)
            self.run_block(node.body)

        orelse = node.orelse
        self._unknown_loop(body, (lambda: self.run_block(orelse)) if orelse else None)

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
        kept = graph.mark()
        head: Changes = {}
        passes = 1 if len(self._loops) > MAX_NESTED else MAX_PASSES
        for number in range(1, MAX_PASSES + 4):
            graph.cut(kept)
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
            graph.cut(kept)
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

    def _jump(self, node: ast.Break | ast.Continue) -> None:
        if self._loops:
            loop = self._loops[-1]
            ends = loop.breaks if isinstance(node, ast.Break) else loop.continues
            ends.append(self.journal.changes(loop.mark))

    def _try(self, node: ast.Try | ast.TryStar) -> None:
        journal = self.journal
        mark = journal.mark()
        self.run_block(node.body)
        done = journal.changes(mark)
        ends = []
        for handler in node.handlers:
            # The handler may start anywhere in the body: from what the body may have changed.
            journal.undo(mark)
            journal.merge_into_current([{}, done])
            if handler.name is not None:
                self.bind_name(handler.name, UNKNOWN)
            self.run_block(handler.body)
            ends.append(journal.changes(mark))
        journal.undo(mark)
        journal.apply(done)
        self.run_block(node.orelse)
        ends.insert(0, journal.changes(mark))
        journal.undo(mark)
        journal.release()
        journal.merge_into_current(ends)
        self.run_block(node.finalbody)

    def _with(self, node: ast.With | ast.AsyncWith) -> None:
        for item in node.items:
            self.escape(self.ev(item.context_expr))  # __enter__ and __exit__ are code we do not see
            if item.optional_vars is not None:
                self.bind(item.optional_vars, UNKNOWN)
        self.run_block(node.body)

    def _match(self, node: ast.Match) -> None:
        self.ev(node.subject)

        def run_case(case: ast.match_case) -> None:
            self.escape_names(case.pattern)
            for name in self.syntax.names(case.pattern):
                self.set_var(name, UNKNOWN)
            self.run_block(case.body)

        self.journal.branch([None, *(lambda case=case: run_case(case) for case in node.cases)])

    def _function_def(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        value = self.define_function(node, None)
        self.bind_name(node.name, value if self.decorated_safely(node.decorator_list, value) else UNKNOWN)

    def decorated_safely(self, decorators: Sequence[ast.expr], value: Value) -> bool:
        """Evaluate the decorators (they run at definition); the decorated name keeps ``value``
        only when every decorator is Keras' or TensorFlow's own (``tf.function`` ...)."""
        safe = True
        for expr in decorators:
            if isinstance(expr, ast.Call):  # ``@register_keras_serializable(package="x")``
                found = self.ev(expr.func)
                for arg in _source_args(expr):
                    self.escape(self.ev(arg))
            else:
                found = self.ev(expr)
            if not (isinstance(found, Module) and found.path.split(".")[0] in _TRUSTED_DECORATORS):
                safe = False
                self.escape(value)  # the decorator gets the function and may call it
        return safe

    def define_function(self, node: ast.FunctionDef | ast.AsyncFunctionDef, self_obj: ObjRef | None) -> Value:
        """Analyse a function body once, its arguments unknown; return what calls give.

        Defaults and annotations run at definition, in the enclosing scope, parameter by
        parameter (positional ones, keyword-only ones, then ``*args`` and ``**kwargs``)."""
        params = node.args
        positional = [*params.posonlyargs, *params.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(params.defaults))
        every = list(zip(positional, [*defaults, *params.defaults]))
        every += zip(params.kwonlyargs, params.kw_defaults)
        every += [(extra, None) for extra in (params.vararg, params.kwarg) if extra is not None]
        given: list[tuple[str, Value]] = []
        for param, default in every:
            if default is not None:
                value = self.ev(default)
                self.escape(value)
                given.append((param.arg, value if _immutable(value) else UNKNOWN))
            if param.annotation is not None:
                self.escape_names(param.annotation)
        if node.returns is not None:
            self.escape_names(node.returns)
        scope = Scope(parent=self.scope)
        loops, self._loops = self._loops, []  # a break in the body is the body's own
        for i, (param, _) in enumerate(every):
            scope.vars[param.arg] = self_obj if (i == 0 and self_obj is not None) else UNKNOWN
        saved, self.scope = self.scope, scope
        try:
            self.run_block(node.body)
        finally:
            self.scope = saved
            self._loops = loops
        returns = scope.returns[0] if len(scope.returns) == 1 else UNKNOWN
        if self_obj is not None:
            # A method is never a value (its class is): only what it returns is read, and its
            # body is not walked again for the names it reads.
            return UserFunction(node.name, returns)
        free = self.syntax.free(node)
        if isinstance(node, ast.FunctionDef) and not self.scope.is_function and self.syntax.inlinable(node):
            return UserFunction(node.name, returns, free, node, tuple(given))
        return UserFunction(node.name, returns, free)

    @property
    def per_call(self) -> bool:
        """Whether a function body is being run for one call (see ``inline``)."""
        return bool(self._inlined)

    def inline(self, callee: UserFunction, call: ast.Call, evaluate: Callable[[ast.expr], Value]) -> Value | None:
        """``f(seq)``, ``f`` a function of the module: run its body now, its parameters bound to
        the call's arguments, in a scope of its own, and give what it returns. None when that is
        not certain (see ``_inlinable``; the call spreads ``*args`` or ``**kwargs``, its
        arguments do not bind, the function is being evaluated already, the calls nest deeper
        than ``MAX_INLINE_DEPTH``, the statement has evaluated ``MAX_INLINE_CALLS``): then the
        caller does what it does for any function, its arguments escaping (``evaluate`` gives an
        argument and keeps what it gives: each is evaluated once).

        The body runs in the state of the call, so what it does to an argument (``model.add``,
        an attribute set) is followed as written; the module's names it reads are read as any
        function body reads them (a model or object of the module is forgotten)."""
        function = callee.node
        if (
            function is None
            or any(function is frame.function for frame in self._frames)
            or len(self._inlined) >= MAX_INLINE_DEPTH
            or self._inline_calls >= MAX_INLINE_CALLS
        ):
            return None
        binding = _bind(function.args, call)
        if binding is None:
            return None
        self._inline_calls += 1
        values = {id(arg): evaluate(arg) for arg in [*call.args, *(k.value for k in call.keywords)]}
        defaults = dict(callee.defaults)
        scope = Scope(parent=self.scope.root)
        for name, given in binding.items():
            if isinstance(given, list):  # ``*args``: a tuple
                value: Value = Seq(tuple(values[id(arg)] for arg in given))
            elif isinstance(given, dict):  # ``**kwargs``: a new dict
                items = tuple((key, values[id(arg)]) for key, arg in given.items())
                value = DictRef(self.alloc(DictState(items), call))
            elif given is None:
                value = defaults.get(name, UNKNOWN)
            else:
                value = values[id(given)]
            scope.vars[name] = value
        graph, journal = self.graph, self.journal
        kept = graph.mark()
        mark = journal.mark()
        saved, self.scope = self.scope, scope
        loops, self._loops = self._loops, []  # a break in the body is the body's own
        outer_loops = self._outer_loops
        self._outer_loops += len(loops)
        frame = _Frame(function, scope)
        self._inlined.append(call)
        self._frames.append(frame)
        try:
            self.run_block(function.body)
        finally:
            self.scope = saved
            self._loops = loops
            self._outer_loops = outer_loops
            self._inlined.pop()
            self._frames.pop()
        if frame.left:
            # A return before the end, or a raise, ran: the interpreter went on where Python
            # would not. Nothing the run did is kept (what it made, what it recorded).
            journal.undo(mark)
            journal.release()
            graph.cut(kept)
            return None
        journal.keep(mark)
        return scope.returns[-1] if scope.returns else Const(None)

    def _class_def(self, node: ast.ClassDef) -> None:
        """Methods run with one ``self`` whose attributes ``__init__`` and ``build`` set first.

        A ``keras.Model`` subclass whose ``call`` returns one known tensor becomes a model
        class: instances have that output (its rank is known even though the inputs are not).
        """
        bases = [self.ev(_unstarred(base)) for base in node.bases]
        for keyword in node.keywords:
            self.escape(self.ev(keyword.value))
        is_model = any(isinstance(b, Module) and _keras_class(b.path) == "Model" for b in bases)
        keras_base = all(isinstance(b, Module) and is_keras_module(b.path.rsplit(".", 1)[0]) for b in bases)
        plain = all(b == Builtin("object") for b in bases)
        methods = [s for s in node.body if isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef))]
        blocked = _descriptor_names(node)
        obj = ObjRef(self.alloc(ObjState(blocked=blocked), node))
        names = frozenset(m.name for m in methods)
        # Calls to the class's own methods are run in order below; with a Keras base, Keras'
        # methods too; with a base we cannot see, any method may change ``self``.
        self.own_methods[obj.key] = None if bases and keras_base else names
        first = {"__init__": 0, "build": 1}
        value: Value = UserClass(node.name, blocked | names) if plain and not _hooks(names) else UNKNOWN
        for method in sorted(methods, key=lambda m: first.get(m.name, 2)):
            result = self.define_function(method, obj)
            if (
                is_model
                and method.name == "call"
                and isinstance(result, UserFunction)
                and isinstance(result.returns, Tensor)
            ):
                value = ModelClass(node.name, result.returns)
        self.bind_name(node.name, value if self.decorated_safely(node.decorator_list, value) else UNKNOWN)

    # ------------------------------------------------------------ expressions

    def ev(self, node: ast.expr) -> Value:
        kind = type(node)
        if kind is ast.Name:  # the most common expression by far: no handler between
            return self.lookup(cast(ast.Name, node).id)
        if kind is ast.Constant:  # the next most common: ``_constant`` spelled out
            value = cast(ast.Constant, node).value
            return Const(value) if value is None or type(value) in _CONSTANTS else UNKNOWN
        handler = _EXPRESSIONS.get(kind)
        if handler is None:
            self.escape_names(node)
            return UNKNOWN
        return handler(self, node)

    def _name(self, node: ast.Name) -> Value:
        return self.lookup(node.id)

    def _constant(self, node: ast.Constant) -> Value:
        value = node.value
        if value is None or type(value) in _CONSTANTS:
            return Const(value)
        return UNKNOWN  # bytes, complex numbers, ``...``

    def _formatted(self, node: ast.JoinedStr) -> Value:
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                self.ev(part.value)
        return UNKNOWN

    def _dict(self, node: ast.Dict) -> Value:
        """A dict display with string keys is an object in the heap (``LSTM(**config)`` reads
        it); any other dict display is unknown, and a model stored in it may be changed
        through it later."""
        if all(key is not None for key in node.keys):
            items: dict[str, Value] = {}
            known = True
            values: list[Value] = []
            for key_node, value_node in zip(node.keys, node.values):
                assert key_node is not None  # all keys are there
                key = self.ev(key_node)
                value = self.ev(value_node)
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
        for key_node, value_node in zip(node.keys, node.values):
            if key_node is not None:
                self.ev(key_node)
            self.escape(self.ev(value_node))
        return UNKNOWN

    def _set(self, node: ast.Set) -> Value:
        for element in node.elts:
            self.escape(self.ev(_unstarred(element)))
        return UNKNOWN

    def _sequence(self, node: ast.Tuple | ast.List) -> Value:
        if any(isinstance(e, ast.Starred) for e in node.elts):
            for e in node.elts:
                self.escape(self.ev(_unstarred(e)))
            return UNKNOWN
        return Seq(tuple(self.ev(e) for e in node.elts))

    def _attribute(self, node: ast.Attribute) -> Value:
        base = self.ev(node.value)
        attr = node.attr
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

    def _subscript(self, node: ast.Subscript) -> Value:
        base = self.ev(node.value)
        index = node.slice
        if _bare_tuple(index):  # ``x[:, 0]``: several subscripts
            for element in _subscripts(node):
                self.escape_names(element)
                if _opaque(base):
                    self.hand_over([self.lookup(name) for name in self.syntax.names(element)])
            return UNKNOWN
        if not isinstance(index, ast.Slice):
            key = self.ev(index)
            if _opaque(base):
                self.hand_over([key])
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
        bounds = [None if part is None else self.ev(part) for part in (index.lower, index.upper, index.step)]
        if _opaque(base):
            self.hand_over([bound for bound in bounds if bound is not None])
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

    def _binary(self, node: ast.BinOp) -> Value:
        left, right = self.ev(node.left), self.ev(node.right)
        if _opaque(left) or _opaque(right):
            self.hand_over([left, right])
        if isinstance(node.op, ast.Pow):
            if isinstance(left, Const) and isinstance(right, Const) and _small_int(right.value) and _number(left.value):
                return Const(left.value**right.value)
            return UNKNOWN
        return self._arith(_BINARY.get(type(node.op)), left, right)

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

    def _unary(self, node: ast.UnaryOp) -> Value:
        value = self.ev(node.operand)
        if not isinstance(value, Const):
            return UNKNOWN
        if isinstance(node.op, ast.Not):
            return Const(not value.value)
        if not _number(value.value):
            return UNKNOWN
        if isinstance(node.op, ast.USub):
            return Const(-value.value)
        if isinstance(node.op, ast.UAdd):
            return value
        return UNKNOWN

    def _boolean(self, node: ast.BoolOp) -> Value:
        """``a and b and c`` as ``(a and b) and c``: a known truth that decides leaves the rest
        unevaluated; an unknown one evaluates the rest, to an unknown result."""
        is_and = isinstance(node.op, ast.And)
        left = self.ev(node.values[0])
        for right in node.values[1:]:
            truth = _truth(left)
            if truth is None:
                self.ev(right)
                left = UNKNOWN
            elif truth is is_and:
                left = self.ev(right)
            # else ``False and x``, ``True or x``: ``left`` it is
        return left

    def _comparison(self, node: ast.Compare) -> Value:
        left = self.ev(node.left)
        result: Value = Const(True)
        for operator_node, comparator in zip(node.ops, node.comparators):
            right = self.ev(comparator)
            if _opaque(left) or _opaque(right):
                self.hand_over([left, right])  # ``rnn in registry`` runs its ``__contains__``
            op = _COMPARE.get(type(operator_node))
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

    def _if_exp(self, node: ast.IfExp) -> Value:
        truth = _truth(self.ev(node.test))
        if truth is True:
            return self.ev(node.body)
        if truth is False:
            return self.ev(node.orelse)
        body, orelse = self.ev(node.body), self.ev(node.orelse)
        return body if body == orelse else UNKNOWN

    def _named(self, node: ast.NamedExpr) -> Value:
        value = self.ev(node.value)
        self.bind(node.target, value)
        return value

    def _call(self, node: ast.Call) -> Value:
        ident = id(node)
        self.graph.statement_of[ident] = self.statement
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


# How a call binds a parameter: to the argument's node, to its default (None), or, for ``*args``
# and ``**kwargs``, to the nodes of the arguments they collect.
_Given = ast.expr | None | list[ast.expr] | dict[str, ast.expr]


def _bind(params: ast.arguments, call: ast.Call) -> dict[str, _Given] | None:
    """Python's binding of a call's arguments to a signature, by the call's nodes: None when the
    call spreads ``*`` or ``**`` (their items are not certain) or Python would refuse it
    (too many arguments, a missing one, one given twice, an unexpected keyword)."""
    if any(isinstance(arg, ast.Starred) for arg in call.args) or any(k.arg is None for k in call.keywords):
        return None
    positional = [*params.posonlyargs, *params.args]
    if len(call.args) > len(positional) and params.vararg is None:
        return None
    bound: dict[str, _Given] = {p.arg: arg for p, arg in zip(positional, call.args)}
    extra: dict[str, ast.expr] = {}
    by_name = {p.arg for p in [*params.args, *params.kwonlyargs]}
    for keyword in call.keywords:
        name = keyword.arg
        assert name is not None  # ``**`` refused above
        if name in by_name:
            if name in bound:
                return None  # given twice
            bound[name] = keyword.value
        elif params.kwarg is not None:
            extra[name] = keyword.value  # a positional-only name given by keyword lands here too
        else:
            return None
    optional = {p.arg for p in positional[len(positional) - len(params.defaults) :]}
    optional |= {p.arg for p, default in zip(params.kwonlyargs, params.kw_defaults) if default is not None}
    for param in [*positional, *params.kwonlyargs]:
        if param.arg not in bound:
            if param.arg not in optional:
                return None  # missing
            bound[param.arg] = None
    if params.vararg is not None:
        bound[params.vararg.arg] = list(call.args[len(positional) :])
    if params.kwarg is not None:
        bound[params.kwarg.arg] = extra
    return bound


def _inlinable(node: ast.FunctionDef) -> bool:
    """Whether the body of a function can be run for a call as the interpreter runs a block: not
    decorated (what a decorator gives is not the function), no ``yield`` (a generator), no
    ``global`` or ``nonlocal`` (they rebind names outside), and small (``MAX_INLINE_NODES``). A
    ``return`` before the end, or a ``raise``, is refused when a call runs it (see ``inline``).

    Worked out for every function the module defines: ``ast.iter_child_nodes`` spelled out (the
    same children), types compared with ``is``, as ``deep.nesting`` does."""
    if node.decorator_list:
        return False
    count = 0
    pending: list[tuple[ast.AST, bool]] = [(statement, False) for statement in node.body]
    pop, push = pending.pop, pending.append
    node_type = ast.AST
    while pending:
        current, nested = pop()  # nested: in a function, lambda or class of the body
        count += 1
        kind = type(current)
        if count > MAX_INLINE_NODES or kind in _REBINDING:
            return False
        if not nested and kind in _SUSPENDING:
            return False
        inner = nested or kind in _OWN_SCOPES
        for name in kind._fields:
            value = getattr(current, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        push((item, inner))
            elif isinstance(value, node_type):
                push((value, inner))
    return True


_REBINDING: frozenset[type] = frozenset({ast.Global, ast.Nonlocal})
_SUSPENDING: frozenset[type] = frozenset({ast.Yield, ast.YieldFrom, ast.Await})
_OWN_SCOPES: frozenset[type] = frozenset({ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef})


def _immutable(value: Value) -> bool:
    """Whether a default value is the same at every call: a constant, a module or a builtin (a
    list is one object for every call, which a call may change for the next)."""
    return isinstance(value, (Const, Module, Builtin))


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


def _opaque(value: Value) -> bool:
    """Whether ``value``'s operators may run code the analysis does not follow: an unknown value,
    an unseen module's object, or an object, class or function of the file (a dunder method of
    its own). Constants, lists, dicts, arrays, tensors and layers have Python's, NumPy's or Keras'."""
    return value is UNKNOWN or isinstance(value, (ObjRef, Module, UserClass, UserFunction))


def _unstarred(node: ast.expr) -> ast.expr:
    """The expression a ``*`` spreads (``*rest`` in a display or a target), else ``node``."""
    return node.value if isinstance(node, ast.Starred) else node


def _bare_tuple(index: ast.expr) -> bool:
    """Whether a subscript is a tuple written without parentheses (``x[:, 0]``, ``x[1,]``): its
    elements are several subscripts, not one tuple key. A tuple in parentheses starts at its
    parenthesis, before its first element."""
    if not isinstance(index, ast.Tuple) or not index.elts:
        return False
    first = index.elts[0]
    return (index.lineno, index.col_offset) == (first.lineno, first.col_offset)


def _subscripts(node: ast.Subscript) -> list[ast.expr]:
    """The subscripts of ``node``: the elements of a bare tuple, else the one slice."""
    index = node.slice
    return list(index.elts) if isinstance(index, ast.Tuple) and _bare_tuple(index) else [index]


def _source_args(call: ast.Call) -> list[ast.expr]:
    """The values a call is given, positional ones (``*args`` spread) then keywords'."""
    return [_unstarred(a) for a in call.args] + [k.value for k in call.keywords]


def walked(root: ast.AST) -> list[ast.AST]:
    """``list(ast.walk(root))``, in its order (breadth first, each node's children in the order
    of its fields), with ``ast.iter_child_nodes`` spelled out as ``_inlinable`` does."""
    nodes = [root]
    add, node_type = nodes.append, ast.AST
    i = 0
    while i < len(nodes):
        node = nodes[i]
        i += 1
        for name in node._fields:
            value = getattr(node, name, None)
            if type(value) is list:
                for item in value:
                    if isinstance(item, node_type):
                        add(item)
            elif isinstance(value, node_type):
                add(value)
    return nodes


def _names_in(node: ast.AST) -> list[str]:
    """The names code mentions, bound or read (``a`` of ``a.b``, not ``b``): every name a
    function of it may read or rebind, parameters, keyword names, imported and defined names
    included (a name counted that is not read only makes the analysis forget more)."""
    names: list[str] = []
    add, extend = names.append, names.extend
    for n in walked(node):
        kind = type(n)
        if kind is ast.Name:
            add(cast(ast.Name, n).id)
        elif kind is ast.arg:
            add(cast(ast.arg, n).arg)
        elif kind is ast.keyword:
            if cast(ast.keyword, n).arg is not None:
                add(cast(str, cast(ast.keyword, n).arg))
        elif kind is ast.alias:
            alias = cast(ast.alias, n)
            add(alias.name.split(".")[0])
            if alias.asname is not None:
                add(alias.asname)
        elif kind in _NAMED:
            name = getattr(n, "name", None)
            if isinstance(name, str):
                add(name)
        elif kind is ast.ImportFrom:
            module = cast(ast.ImportFrom, n).module
            if module is not None:
                add(module.split(".")[0])
        elif kind is ast.Global or kind is ast.Nonlocal:
            extend(cast(ast.Global, n).names)
        elif kind is ast.MatchMapping:
            rest = cast(ast.MatchMapping, n).rest
            if rest is not None:
                add(rest)
        elif kind is ast.MatchClass:
            extend(cast(ast.MatchClass, n).kwd_attrs)
    return names


# Nodes that bind a name of their own, as a string: definitions, ``except ... as e``, captures.
_NAMED: frozenset[type] = frozenset(
    {
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.ExceptHandler,
        ast.MatchAs,
        ast.MatchStar,
        *(getattr(ast, kind) for kind in ("TypeVar", "ParamSpec", "TypeVarTuple") if hasattr(ast, kind)),
    }
)


def _havocked(state: ModelState) -> bool:
    return state.output is not None and state.output.shape is None and state.loss is None


def _descriptor_names(node: ast.ClassDef) -> frozenset[str]:
    """Names a class body binds to something that may be a descriptor: decorated functions
    (``@property``) and class attributes set to anything but a name or a literal number or
    string (``-1`` and ``...`` are not taken for one)."""
    names = set()
    for statement in node.body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and statement.decorator_list:
            names.add(statement.name)
        elif isinstance(statement, ast.Assign) and not _plain(statement.value):
            for target in statement.targets:
                names.update(_names_in(target))
    return frozenset(names)


def _plain(value: ast.expr) -> bool:
    """A name, or one literal number, string or bytes (strings written one after the other
    are one constant here: no string is a descriptor)."""
    if isinstance(value, ast.Name):
        return True
    return isinstance(value, ast.Constant) and type(value.value) not in (complex, type(...))


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
_INERT_STATEMENTS = (ast.Pass,)
# Values that hold no model, object, module or function: unseen code handed one changes nothing known.
_INERT: frozenset[type] = frozenset({type(UNKNOWN), Const, Array, Tensor, Layer, UserClass, ModelClass})


@dataclass
class _Frame:
    """A function body being run for a call (``Builder.inline``); ``left``: a return before its
    end, or a raise, ran in it."""

    function: ast.FunctionDef
    scope: Scope
    left: bool = False


@dataclass
class _Loop:
    """A loop being interpreted: the journal mark of its entry, and the states (as changes
    since the entry) at each ``break`` and ``continue`` of the current pass."""

    mark: int
    breaks: list[Changes] = field(default_factory=list)
    continues: list[Changes] = field(default_factory=list)


_JUMPS = (ast.Break, ast.Continue, ast.Return)
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _jumps(body: Sequence[ast.stmt]) -> bool:
    """True when a loop body may leave an iteration early (then its count is unknown).

    Only statements can jump, so only statements are scanned, not expressions; a jump in a
    nested loop counts too.
    """
    for statement in body:
        if isinstance(statement, _JUMPS):
            return True
        if isinstance(statement, _DEFINITIONS):
            continue
        blocks: list[Sequence[ast.stmt]] = [getattr(statement, part, ()) for part in ("body", "orelse", "finalbody")]
        blocks += [h.body for h in getattr(statement, "handlers", ())]
        blocks += [c.body for c in getattr(statement, "cases", ())]
        if any(_jumps(block) for block in blocks):
            return True
    return False


# Each handler takes the node type it is keyed by, which a dict's type cannot say: Any.
_STATEMENTS: dict[type, Callable[[Builder, Any], None]] = {
    ast.Expr: Builder._expr,
    ast.Assign: Builder._assign,
    ast.AnnAssign: Builder._ann_assign,
    ast.AugAssign: Builder._aug_assign,
    ast.Return: Builder._return,
    ast.Delete: Builder._del,
    ast.Global: Builder._global,
    ast.Assert: Builder._assert,
    ast.Break: Builder._jump,
    ast.Continue: Builder._jump,
    ast.Raise: Builder._raise,
    ast.Nonlocal: Builder._global,
    ast.Import: Builder._import,
    ast.ImportFrom: Builder._import_from,
    ast.If: Builder._if,
    ast.For: Builder._for,
    ast.AsyncFor: Builder._for,
    ast.While: Builder._while,
    ast.Try: Builder._try,
    ast.TryStar: Builder._try,
    ast.With: Builder._with,
    ast.AsyncWith: Builder._with,
    ast.Match: Builder._match,
    ast.FunctionDef: Builder._function_def,
    ast.AsyncFunctionDef: Builder._function_def,
    ast.ClassDef: Builder._class_def,
}

_EXPRESSIONS: dict[type, Callable[[Builder, Any], Value]] = {
    ast.Name: Builder._name,
    ast.Constant: Builder._constant,
    ast.JoinedStr: Builder._formatted,
    ast.Dict: Builder._dict,
    ast.Set: Builder._set,
    ast.Tuple: Builder._sequence,
    ast.List: Builder._sequence,
    ast.Attribute: Builder._attribute,
    ast.Subscript: Builder._subscript,
    ast.BinOp: Builder._binary,
    ast.UnaryOp: Builder._unary,
    ast.BoolOp: Builder._boolean,
    ast.Compare: Builder._comparison,
    ast.IfExp: Builder._if_exp,
    ast.NamedExpr: Builder._named,
    ast.Call: Builder._call,
}
