"""A plain walk over a libcst tree, in source order.

libcst's visitors rebuild every node they pass (with its validation), which costs about as much
as parsing again; reading the dataclass fields costs a small part of that.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import libcst as cst

# Fields that never hold an expression: whitespace, punctuation, comments.
NOT_CODE = frozenset(
    {
        "lpar", "rpar", "lbracket", "rbracket", "lbrace", "rbrace", "comma", "semicolon", "colon",
        "dot", "equal", "operator", "star", "first_colon", "second_colon", "posonly_ind",
        "asynchronous", "relative", "trailing_comma", "leading_lines", "lines_after_decorators",
        "header", "footer", "trailing_whitespace", "leading_whitespace",
    }
)  # fmt: skip

# Where libcst declares a node's fields in another order than the source has them (the order
# its own visitors use). tests/test_walk.py checks this table against libcst's code.
SOURCE_ORDER: dict[type[cst.CSTNode], tuple[str, ...]] = {
    cst.Arg: ("keyword", "value"),
    cst.IfExp: ("body", "test", "orelse"),
    cst.FunctionDef: ("decorators", "name", "type_parameters", "params", "returns", "body"),
    cst.ClassDef: ("decorators", "name", "type_parameters", "bases", "keywords", "body"),
    cst.Parameters: ("posonly_params", "params", "star_arg", "kwonly_params", "star_kwarg"),
    cst.ExceptHandler: ("type", "name", "body"),
    cst.ExceptStarHandler: ("type", "name", "body"),
    cst.MatchCase: ("pattern", "guard", "body"),
    cst.TypeAlias: ("name", "type_parameters", "value"),
}

_fields: dict[type, tuple[str, ...]] = {}
_every: dict[type, tuple[str, ...]] = {}
_is_node: dict[type, bool] = {}
_shut: dict[tuple[type, ...], dict[type, bool]] = {}  # opaque types -> class -> is one of them


def code_fields(cls: type) -> tuple[str, ...]:
    """The fields of ``cls`` that may hold code, in source order."""
    names = _fields.get(cls)
    if names is None:
        names = SOURCE_ORDER.get(cls) or tuple(
            f.name for f in dataclasses.fields(cls) if f.name not in NOT_CODE and not f.name.startswith("whitespace")
        )
        _fields[cls] = names
    return names


def every_field(cls: type) -> tuple[str, ...]:
    """All the fields of ``cls``, whitespace and comments included (in no particular order)."""
    names = _every.get(cls)
    if names is None:
        names = _every[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def walk(root: cst.CSTNode, opaque: tuple[type, ...] = (), everything: bool = False) -> Iterator[cst.CSTNode]:
    """``root`` and every node of code under it, in source order (outer before inner); with
    ``everything``, whitespace and comments too, in no particular order.

    Nodes of an ``opaque`` type below ``root`` are given but not entered. Type tests go through
    dictionaries: libcst's base classes are ABCs, and isinstance on those is slow.
    """
    table, make = (_every, every_field) if everything else (_fields, code_fields)
    is_node = _is_node
    shut = _shut.setdefault(opaque, {})
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        cls = type(node)
        if opaque and node is not root:
            closed = shut.get(cls)
            if closed is None:
                closed = shut[cls] = issubclass(cls, opaque)
            if closed:
                continue
        names = table.get(cls)
        if names is None:
            names = make(cls)
        for name in reversed(names):  # pushed last to first, so taken first to last
            value = getattr(node, name)
            kind = type(value)
            if kind is tuple or kind is list:
                for item in reversed(value):
                    known = is_node.get(type(item))
                    if known is None:
                        known = is_node[type(item)] = isinstance(item, cst.CSTNode)
                    if known:
                        stack.append(item)
            else:
                known = is_node.get(kind)
                if known is None:
                    known = is_node[kind] = isinstance(value, cst.CSTNode)
                if known:
                    stack.append(value)


Change = Callable[[cst.CSTNode], cst.CSTNode]


def rebuild(root: cst.CSTNode, changes: dict[int, Change]) -> cst.CSTNode:
    """``root`` with ``changes[id(node)]`` applied to those nodes, innermost first (a change
    gets the node with its own children changed already), as a libcst transformer would.

    Only the nodes on the way to a change are made anew; everything else is shared with
    ``root``. Recursive, like libcst's own visitors: callers raise the recursion limit.
    """
    changed: dict[str, object] = {}
    for name in code_fields(type(root)):
        value = getattr(root, name)
        kind = type(value)
        if kind is tuple or kind is list:
            items = [rebuild(v, changes) if isinstance(v, cst.CSTNode) else v for v in value]
            if any(new is not old for new, old in zip(items, value)):
                changed[name] = items
        elif isinstance(value, cst.CSTNode):
            new = rebuild(value, changes)
            if new is not value:
                changed[name] = new
    node = root.with_changes(**changed) if changed else root
    change = changes.get(id(root))
    return change(node) if change is not None else node
