"""Graph -> build spec: the part of a model a finding is about, as plain data a worker can build.

A *plan* is made for each finding, in the process that analysed the file (the graph holds syntax
tree nodes, which do not cross processes). It holds the *job* sent to the worker (the original spec and
the fixed one) and what the parent needs to judge the result: where each node is in the source,
the shapes kerascheck inferred, the targets' shape, and notes on every liberty taken.

A spec is JSON-able data and nothing else::

    {"inputs": [{"id": "i0", "shape": [null, 64, 15], "dtype": "float32"}],
     "layers": {"L0": {"class": "GRU", "config": {"units": 16, "return_sequences": true}},
                "L1": {"class": "Dense", "config": {"units": 15}},
                "L2": {"class": "TimeDistributed", "config": {"layer": {"$layer": "L1"}}}},
     "nodes": [{"id": "n0", "layer": "L0", "inputs": ["i0"], "style": "single"},
               {"id": "n1", "layer": "L2", "inputs": ["n0"], "style": "single"}],
     "outputs": ["n1"]}

Layer classes come from an allowlist, arguments are literals (nested layers are references), and
tensors are named ``i<k>`` (inputs), ``n<k>`` (a node's first output) or ``n<k>:<j>``. Nothing of
the user's file is in it but literal values.
"""

from __future__ import annotations

import ast
import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from kerascheck import names, rules, shapes
from kerascheck.findings import Finding
from kerascheck.graph.model import UNKNOWN, Application, Const, InputCall, Layer, Seq, Shape, Tensor, TrainCall
from kerascheck.rules.base import Confirm, Insert, Report, Verification, describe, recurrent
from kerascheck.verify.plans import Label, Pending, Plan

# The Keras layer classes a spec may name: the shape table's buildable layers (the worker is
# started with the same list, and constructs nothing else).
ALLOWLIST = shapes.BUILDABLE
# Cosmetic arguments Keras requires: a stand-in value when they are not literals.
_STAND_INS: dict[str, object] = {"rate": 0.5, "stddev": 0.1, "mask_value": 0.0}
# Never part of a spec: names (unique per model in Keras, irrelevant to shapes), Keras 2 input
# declarations (they became the spec's inputs), pretrained weights.
_ALWAYS_DROPPED = frozenset(
    {"name", "input_shape", "batch_input_shape", "batch_size", "input_length", "trainable", "weights"}
)
# Layers whose first argument is a wrapped layer and whose cells/backward layer are layers too.
_NESTED = frozenset({"layer", "backward_layer", "cell", "cells"})
# Small numbers that stand in for unknown sizes: distinct primes, so each shows up as itself.
_STAND_IN_SIZES = (7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79, 83, 89, 97)


class Unverifiable(Exception):
    """The finding cannot be rebuilt; the message says why, for the user."""


@dataclass
class _Placeholder:
    """An unknown size, numbered once the whole spec is known (see ``_number_placeholders``)."""

    what: str | None  # None: an input's axis, told by the input's own note
    value: int = 0


@dataclass
class _Walk:
    """The state of one spec being made."""

    lines: Mapping[ast.AST, int]
    label: Callable[[int], str] = str  # a line as messages write it ("4 of cell 3" in notebooks)
    layer_ids: dict[int, str] = field(default_factory=dict)  # id(Layer) -> "L<k>"
    layers: dict[str, dict[str, Any]] = field(default_factory=dict)
    refs: dict[int, str] = field(default_factory=dict)  # id(Tensor) -> "i<k>" / "n<k>[:<j>]"
    inputs: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)
    apps: dict[str, Application] = field(default_factory=dict)
    app_ids: dict[int, str] = field(default_factory=dict)  # id(Application) -> "n<k>"
    labels: dict[str, Label] = field(default_factory=dict)
    analyzer: dict[str, list[list[Any] | None]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    placeholders: list[_Placeholder] = field(default_factory=list)
    shape_notes: list[tuple[str, list[Any]]] = field(default_factory=list)  # "{shape}" templates
    required: frozenset[int] = frozenset()  # id(Layer)s that must be rebuilt, never cut
    assumed: bool = False  # something not in the file was assumed (a size, a rank, a cut)

    def line(self, node: ast.AST | None) -> int | None:
        return self.lines.get(node) if node is not None else None

    def where(self, node: ast.AST | None) -> str:
        line = self.line(node)
        return "?" if line is None else self.label(line)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def placeholder(self, what: str | None) -> _Placeholder:
        self.assumed = True
        token = _Placeholder(what)
        self.placeholders.append(token)
        return token


# ---------------------------------------------------------------- arguments


def _literal(value: Any) -> tuple[bool, Any]:
    """A JSON-able literal for a Const or a Seq of them."""
    if isinstance(value, Const):
        v = value.value
        if v is None or isinstance(v, (bool, int, float, str)):
            return True, v
        return False, None
    if isinstance(value, Seq):
        items = []
        for item in value.items:
            ok, v = _literal(item)
            if not ok:
                return False, None
            items.append(v)
        return True, items
    return False, None


def _where(walk: _Walk, layer: Layer) -> str:
    line = walk.line(layer.call)
    return f"{describe(layer)} on line {walk.label(line)}" if line is not None else describe(layer)


def _layer_ref(walk: _Walk, layer: Layer) -> str:
    """The id of ``layer`` in the spec's layer table, adding it (and what it nests) first."""
    key = id(layer)
    if key in walk.layer_ids:
        return walk.layer_ids[key]
    spec = shapes.TABLE.get(layer.kind)
    if spec is None or not spec.buildable:
        raise Unverifiable(f"{_where(walk, layer)} is not a layer kerascheck rebuilds ({layer.kind})")
    if layer.opaque:
        raise Unverifiable(f"the arguments of {_where(walk, layer)} are hidden in *args or **kwargs")
    config: dict[str, Any] = {}
    for raw_name, value in layer.kwargs.items():
        name = spec.keras1.get(raw_name, raw_name)
        if name != raw_name:
            walk.note(f"{raw_name}= of {_where(walk, layer)} is passed as {name}=, its name since Keras 2")
        if name in _ALWAYS_DROPPED or (name == "input_dim" and name not in spec.sizes):
            continue  # input_dim= declares the input (Keras 2), unless it is the layer's own size
        if name == "time_major":
            if isinstance(value, Const) and value.value is False:
                continue
            raise Unverifiable(f"{_where(walk, layer)} uses time_major=, which Keras 3 does not have")
        if isinstance(value, Layer) and name in _NESTED:
            config[name] = {"$layer": _layer_ref(walk, value)}
            continue
        if isinstance(value, Seq) and name in _NESTED and all(isinstance(v, Layer) for v in value.items):
            config[name] = [{"$layer": _layer_ref(walk, v)} for v in value.items if isinstance(v, Layer)]
            continue
        if name in _NESTED:
            what = "cell" if name in ("cell", "cells") else "layer"
            raise Unverifiable(f"the {what} {_where(walk, layer)} wraps is not a Keras {what} kerascheck rebuilds")
        ok, literal = _literal(value)
        if ok:
            config[name] = literal
        elif name in spec.sizes:
            config[name] = walk.placeholder(f"{name}= of {_where(walk, layer)}")
        elif name in _STAND_INS:
            config[name] = _STAND_INS[name]
            walk.note(f"{name}= of {_where(walk, layer)} is not a literal: built with {_STAND_INS[name]}")
        elif spec.never_shapes(name):
            walk.note(f"{name}= of {_where(walk, layer)} is not a literal: left out (it does not change shapes)")
        else:
            raise Unverifiable(f"{name}= of {_where(walk, layer)} is not a literal")
    if spec.params[:1] == ("layer",) and "layer" not in config:  # a wrapper
        raise Unverifiable(f"the layer {_where(walk, layer)} wraps is not a Keras layer kerascheck rebuilds")
    if spec.params[:1] == ("cell",) and "cell" not in config:
        raise Unverifiable(f"the cell of {_where(walk, layer)} is not a Keras cell kerascheck rebuilds")
    if layer.spelled in names.GPU_ONLY:
        walk.note(f"{layer.spelled} on line {walk.where(layer.call)} is built as {layer.kind}, its Keras 3 name")
    lid = f"L{len(walk.layers)}"
    walk.layer_ids[key] = lid
    walk.layers[lid] = {"class": layer.kind, "config": config}
    return lid


# ---------------------------------------------------------------- shapes


def _shape_json(shape: Shape) -> list[Any] | None:
    """A shape as JSON: ints, null for Keras' None, "?" where kerascheck does not know the size."""
    if shape is None:
        return None
    return ["?" if d is UNKNOWN else d for d in shape]


def _required_rank(layer: Layer, out_rank: int | None) -> int | None:
    """The rank an input of ``layer`` must have for Keras to build it, when that is fixed."""
    spec = shapes.spec_of(layer)
    if spec is not None and spec.input_rank is not None:
        return spec.input_rank(layer, out_rank)
    if spec is not None and spec.ranks is not None and spec.ranks[0] == spec.ranks[1]:
        return spec.ranks[0]
    if shapes.role_of(layer) is shapes.Role.PASS:
        return out_rank
    return None


def _input(walk: _Walk, tensor: Tensor, rank: int | None, consumer: Application, why: str) -> str:
    """``tensor`` becomes an input of the spec: the model's own input, or a cut."""
    where = _where(walk, consumer.layer)
    shape: list[Any]
    if tensor.shape is not None:
        shape = list(tensor.shape)
        unknown = [axis for axis, d in enumerate(shape) if d is UNKNOWN]
        if unknown:
            axes = " and ".join(str(a) for a in unknown)
            walk.shape_notes.append(
                (f"the input to {where} is built as {{shape}} (axis {axes} not known statically)", shape)
            )
    elif rank is not None:
        walk.assumed = True
        shape = [None] + [UNKNOWN] * (rank - 1)
        walk.shape_notes.append(
            (
                f"the input to {where} is built as {{shape}} (its rank is not known statically: "
                f"rank {rank} is the one {consumer.layer.kind} can take here)",
                shape,
            )
        )
    else:
        raise Unverifiable(f"the rank of the input to {where} is not known statically{why}")
    for axis, d in enumerate(shape):
        if d is UNKNOWN:
            shape[axis] = walk.placeholder(None)
    ref = f"i{len(walk.inputs)}"
    walk.inputs.append({"id": ref, "shape": shape, "dtype": "float32"})
    walk.refs[id(tensor)] = ref
    walk.labels[ref] = Label(None, None, "Input")
    walk.analyzer[ref] = [_shape_json(tensor.shape)]
    return ref


def _cut_reason(walk: _Walk, app: Application) -> str | None:
    """Why ``app`` cannot be rebuilt (then its outputs become inputs), or None when it can."""
    trial = _Walk(walk.lines, walk.label)
    try:
        _layer_ref(trial, app.layer)
    except Unverifiable as why:
        return str(why)
    return None


def _tensor(walk: _Walk, tensor: Tensor, rank: int | None, consumer: Application) -> str:
    """The spec's reference to ``tensor``, adding its producer (and its ancestors) first."""
    key = id(tensor)
    if key in walk.refs:
        return walk.refs[key]
    app = tensor.producer
    if app is None:
        return _input(walk, tensor, rank, consumer, "")
    inner = app.layer.inner
    required = id(app.layer) in walk.required or (inner is not None and id(inner) in walk.required)
    reason = None if required else _cut_reason(walk, app)
    if reason is None and not required and app.error is not None and tensor.shape is None:
        # Keras refuses it (kerascheck knows: its own finding, or nothing is said after it) and
        # kerascheck does not know what it gives: the rest is rebuilt from its output on.
        reason = f"Keras refuses {_where(walk, app.layer)} ({app.error})"
    if reason is not None:
        walk.assumed = True
        walk.note(f"rebuilt from the output of {_where(walk, app.layer)} on, taken as an input: {reason}")
        return _input(walk, tensor, rank, consumer, f" ({reason})")
    _node(walk, app, rank if tensor is app.outputs[0] else None)
    return walk.refs[key]


def _node(walk: _Walk, app: Application, out_rank: int | None = None) -> str:
    if id(app) in walk.app_ids:
        return walk.app_ids[id(app)]
    lid = _layer_ref(walk, app.layer)
    need = _required_rank(app.layer, out_rank)
    refs = [_tensor(walk, t, need if i == 0 else None, app) for i, t in enumerate(app.inputs[1:], start=1)]
    first = app.inputs[0] if app.inputs else None
    if first is not None and need is not None and _broken_fix_target(walk, app, first, need):
        refs.insert(0, _repaired_input(walk, app, first, need))
    elif first is not None:
        refs.insert(0, _tensor(walk, first, need, app))
    nid = f"n{len(walk.nodes)}"
    spec = shapes.spec_of(app.layer)
    style = {"one": "single", "list": "list", "args": "args"}[spec.inputs if spec is not None else "one"]
    walk.nodes.append({"id": nid, "layer": lid, "inputs": refs, "style": style})
    walk.apps[nid] = app
    walk.app_ids[id(app)] = nid
    for i, out in enumerate(app.outputs):
        walk.refs[id(out)] = nid if i == 0 else f"{nid}:{i}"
    walk.labels[nid] = Label(walk.line(app.site), walk.where(app.site), describe(app.layer))
    walk.analyzer[nid] = [_shape_json(out.shape) for out in app.outputs]
    left_out = _call_keywords(app)
    if left_out:
        names = ", ".join(f"{k}=" for k in left_out)
        walk.note(f"the call of {describe(app.layer)} on line {walk.where(app.site)} is rebuilt without {names}")
    return nid


def _broken_fix_target(walk: _Walk, app: Application, x: Tensor, need: int | None) -> bool:
    """The RNN to fix is itself fed the wrong rank (its own finding, fixed on its own)."""
    inner = app.layer.inner
    required = id(app.layer) in walk.required or (inner is not None and id(inner) in walk.required)
    return required and app.error is not None and need is not None and x.shape is not None and len(x.shape) != need


def _repaired_input(walk: _Walk, app: Application, x: Tensor, need: int) -> str:
    """An input of the rank the RNN to fix needs, for it to be judged apart from its own finding."""
    assert x.shape is not None
    shape: list[Any] = [x.shape[0]] + [UNKNOWN] * (need - 2) + [x.shape[-1]]
    where = _where(walk, app.layer)
    for axis, d in enumerate(shape):
        if d is UNKNOWN:
            shape[axis] = walk.placeholder(None)
    ref = f"i{len(walk.inputs)}"
    walk.inputs.append({"id": ref, "shape": shape, "dtype": "float32"})
    walk.labels[ref] = Label(None, None, "Input")
    walk.analyzer[ref] = [None]
    walk.shape_notes.append(
        (f"{where} is itself given rank {len(x.shape)} (its own finding): it is rebuilt on an input {{shape}}", shape)
    )
    return ref


def _call_keywords(app: Application) -> list[str]:
    """Keywords given where the layer is applied (``layer(x, initial_state=...)``), if any, as
    the builder saw them (``training=`` and ``mask=`` change no shape)."""
    return [name for name in app.call_kwargs if name not in ("training", "mask")]


# ---------------------------------------------------------------- placeholders and dtypes


def _ints(value: Any, into: set[int]) -> None:
    if isinstance(value, bool):
        return
    if isinstance(value, int):
        into.add(value)
    elif isinstance(value, dict):
        for v in value.values():
            _ints(v, into)
    elif isinstance(value, list):
        for v in value:
            _ints(v, into)


def _number_placeholders(walk: _Walk) -> None:
    """Give each unknown size a distinct small prime that appears nowhere else in the spec."""
    taken: set[int] = set()
    _ints({"l": walk.layers, "i": [i["shape"] for i in walk.inputs]}, taken)
    free = (n for n in _STAND_IN_SIZES if n not in taken)
    said: list[str] = []
    for number, token in enumerate(walk.placeholders):
        token.value = next(free, 101 + number)
        if token.what is not None:
            said.append(f"{token.what} is not known statically: built with {token.value}")
    shaped = [template.format(shape=shapes.format_shape(_resolve(shape))) for template, shape in walk.shape_notes]
    walk.notes[:0] = shaped + said


def _resolve(value: Any) -> Any:
    if isinstance(value, _Placeholder):
        return value.value
    if isinstance(value, dict):
        return {k: _resolve(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v) for v in value]
    return value


def _dtypes(walk: _Walk) -> None:
    """Inputs get the dtype the table says the layer reading them takes (an Embedding's: token ids)."""
    for node in walk.nodes:
        layer = shapes.TABLE.get(walk.layers[node["layer"]]["class"])
        if layer is not None and layer.input_dtype != "float32":
            for spec in walk.inputs:
                if spec["id"] in node["inputs"]:
                    spec["dtype"] = layer.input_dtype


# ---------------------------------------------------------------- plans


def _subject_app(report: Report) -> Application | None:
    return report.subject if isinstance(report.subject, Application) else None


def _fix_targets(report: Report) -> list[Layer]:
    """The layers whose ``return_sequences`` the fix flips (both directions of a Bidirectional)."""
    if report.rnn is None:
        return []
    targets = [recurrent(report.rnn)]
    spec = shapes.spec_of(report.rnn)
    if spec is not None and spec.backward is not None:
        backward = report.rnn.arg(spec.backward)
        if isinstance(backward, Layer):
            targets.append(backward)
    return targets


def strategy(code: str) -> Verification:
    """How Keras confirms findings of ``code``: its rule says (``Rule.verification``)."""
    rule = rules.get(code)
    assert rule is not None  # findings come from registered rules
    return rule.verification


def _downstream(spec: dict[str, Any], start: set[str]) -> set[str]:
    """Node ids at or after the nodes in ``start`` (the nodes are in topological order)."""
    hit = set(start)
    for node in spec["nodes"]:
        if any(ref.split(":")[0] in hit for ref in node["inputs"]):
            hit.add(node["id"])
    return hit


def make_plan(report: Report, lines: Mapping[ast.AST, int], label: Callable[[int], str] = str) -> Plan:
    """The plan for one finding: the job for the worker and what judging its result needs."""
    code = report.code
    how = strategy(code)
    plan = Plan(code, how.confirm)
    required = {id(layer) for layer in _fix_targets(report)}
    if report.rnn is not None:
        required.add(id(report.rnn))
    walk = _Walk(lines, label, required=frozenset(required))
    app = _subject_app(report)
    try:
        if app is not None:
            subject = _node(walk, app)
            outputs = [walk.refs[id(app.outputs[0])]] if app.outputs else [subject]
        elif isinstance(report.subject, InputCall):
            subject, outputs = _input_call(walk, report.subject, plan)
        else:
            train = report.subject
            assert isinstance(train, TrainCall)
            producer = train.output.producer
            if producer is None:
                raise Unverifiable("the model's output is its input")
            _node(walk, producer)
            subject = walk.app_ids[id(producer)]
            outputs = [walk.refs[id(train.output)]]
            plan.targets = _shape_json(train.targets.shape)
            plan.method = train.method
        original: dict[str, Any] = {
            "inputs": walk.inputs,
            "layers": walk.layers,
            "nodes": walk.nodes,
            "outputs": outputs,
        }
        fixed = _fixed(how, report, walk, original, subject)
    except Unverifiable as why:
        plan.unverified = str(why)
        plan.notes = walk.notes
        return plan
    _dtypes(walk)
    # Upstream layers that kerascheck expects to fail (their own findings) are replaced by their
    # inferred output, so each finding is judged on its own; never the subject, never what the fix
    # changes (in the fixed spec).
    for node in original["nodes"]:
        error = walk.apps[node["id"]].error
        if error is not None and node["id"] != subject:
            node["fallback"] = [
                _fallback_shape(walk, walk.apps[node["id"]], out) for out in walk.apps[node["id"]].outputs
            ]
    also: list[str] = []
    relabel: dict[str, str] = {}
    if fixed is not None:
        keep = {id(token): token for token in walk.placeholders}  # deepcopy keeps placeholders shared
        fixed["inputs"] = copy.deepcopy(original["inputs"], dict(keep))
        fixed["nodes"] = copy.deepcopy(original["nodes"], dict(keep))
        if how.confirm is Confirm.RESHAPED:
            _put_before(walk, fixed, subject, _insert(how, report))
        changed = {n["id"] for n in fixed["nodes"] if n["layer"] in plan_changed_layers(fixed, original)}
        if how.return_sequences is None and how.confirm is Confirm.SAME_MODEL:  # the fix unwraps the subject
            changed.add(subject)
            _unwrap(fixed, original, subject)
            relabel[subject] = _describe_inner(walk.apps[subject].layer)
        after = _downstream(fixed, changed)
        for node in fixed["nodes"]:
            if node["id"] in after:
                node.pop("fallback", None)
        if how.return_sequences is False:
            # A sequence turned into a vector: a TimeDistributed(Dense) after the RNN, which
            # kerascheck takes as the Dense it is (KER101), must become that Dense to build.
            for node in fixed["nodes"]:
                if (
                    node["id"] in after - changed
                    and (node["id"] != subject or app is None)
                    and _unwrap(fixed, original, node["id"])
                ):
                    relabel[node["id"]] = _describe_inner(walk.apps[node["id"]].layer)
                    unwrapped = walk.labels[node["id"]]
                    also.append(f"{unwrapped.text} on line {unwrapped.where} unwrapped (KER101)")
    _number_placeholders(walk)
    plan.notes = walk.notes
    numeric = how.confirm is Confirm.SAME_MODEL
    plan.job = _resolve({"original": original, "fixed": fixed, "subject": subject, "numeric": numeric})
    if plan.call is not None:
        plan.call = plan.job["call"] = _resolve(plan.call)
    plan.labels = walk.labels
    plan.assumed = walk.assumed
    plan.fixed_labels = relabel
    plan.analyzer = walk.analyzer
    plan.subject = subject
    plan.fix = _fix_words(how, report, walk)
    if also and plan.fix:
        plan.fix += " and " + ", ".join(also)
    if app is not None and app.inputs:
        plan.subject_input = _shape_json(app.inputs[0].shape)
        inner, x = app.layer.inner, app.inputs[0].shape
        if numeric and inner is not None and x is not None:
            plan.claimed_params = shapes.dense_parameters(inner, x[-1])
    return plan


# Rows of the zeros a KER108 model is run on: Keras never checks the batch axis (Keras 3.15
# runs an ``Input(batch_size=4)`` model on 8 rows), so no more are made than this.
_CALL_ROWS = 8


def _input_call(walk: _Walk, call: InputCall, plan: Plan) -> tuple[str, list[str]]:
    """The model of ``call`` from its declared inputs to its output, and the job's ``call``: the
    model is run on zeros of the data's shape (KER108)."""
    producer = call.output.producer
    if producer is None:
        raise Unverifiable("the model's output is its input")
    _node(walk, producer)
    refs = [walk.refs.get(id(tensor)) for tensor in call.inputs]
    if any(ref is None for ref in refs) or len(walk.inputs) != len(refs):
        raise Unverifiable("the model is not rebuilt from its declared inputs alone")
    data: list[list[Any]] = []
    for array in call.data:
        shape: list[Any] = [_CALL_ROWS]
        for d in array.shape[1:]:
            shape.append(d if isinstance(d, int) else walk.placeholder("a size of the data"))
        data.append(shape)
    if any(isinstance(d, int) and d > _CALL_ROWS for d in (a.shape[0] for a in call.data if a.shape)):
        walk.note(f"the data is given {_CALL_ROWS} rows (Keras never checks the batch axis)")
    plan.method = call.method
    plan.call = {"inputs": refs, "data": data, "sequential": not call.functional}
    return walk.app_ids[id(producer)], [walk.refs[id(call.output)]]


def _fallback_shape(walk: _Walk, app: Application, tensor: Tensor) -> list[Any] | None:
    if tensor.shape is None:
        return None
    what = f"a size of the output kerascheck infers for {_where(walk, app.layer)}"
    return [walk.placeholder(what) if d is UNKNOWN else d for d in tensor.shape]


def _unwrap(fixed: dict[str, Any], original: dict[str, Any], nid: str) -> bool:
    """Make node ``nid`` of the fixed spec apply the Dense its TimeDistributed wraps."""
    node = next(n for n in fixed["nodes"] if n["id"] == nid)
    layer = original["layers"][node["layer"]]
    inner = layer["config"].get("layer")
    if layer["class"] != "TimeDistributed" or not isinstance(inner, dict):
        return False
    if original["layers"][inner["$layer"]]["class"] != "Dense":
        return False
    node["layer"] = inner["$layer"]
    return True


def plan_changed_layers(fixed: dict[str, Any], original: dict[str, Any]) -> set[str]:
    return {lid for lid, layer in fixed["layers"].items() if layer != original["layers"].get(lid)}


def _fixed(
    how: Verification, report: Report, walk: _Walk, original: dict[str, Any], subject: str
) -> dict[str, Any] | None:
    """The fixed spec's layer table (inputs and nodes are copied in by the caller)."""
    if how.confirm is Confirm.INPUT_REFUSED:
        return None  # no fix: the model is run on the data's shape as it is
    layers = copy.deepcopy(original["layers"], {id(token): token for token in walk.placeholders})
    value = how.return_sequences
    if how.confirm is Confirm.RESHAPED:  # a layer put before the subject (by the caller)
        return None if _insert(how, report) is None else {"layers": layers, "outputs": list(original["outputs"])}
    if how.confirm is Confirm.TRUTHINESS:  # the flag as the bool Keras takes it for
        arg, rnn = report.node, report.rnn
        lid = None if rnn is None else walk.layer_ids.get(id(rnn))
        if not isinstance(arg, ast.keyword) or arg.arg is None or lid is None:
            raise Unverifiable("the layer with the flag is not part of the rebuilt model")
        config = layers[lid]["config"]
        config[arg.arg] = bool(config.get(arg.arg))
        return {"layers": layers, "outputs": list(original["outputs"])}
    if value is None:  # the subject is unwrapped (by the caller)
        return {"layers": layers, "outputs": list(original["outputs"])}
    targets = _fix_targets(report)
    if not targets:
        return None
    for layer in targets:
        lid = walk.layer_ids.get(id(layer))
        if lid is None:
            raise Unverifiable(f"{_where(walk, layer)}, the RNN to fix, is not part of the rebuilt model")
        layers[lid]["config"]["return_sequences"] = value
    return {"layers": layers, "outputs": list(original["outputs"])}


def _insert(how: Verification, report: Report) -> Insert | None:
    return None if how.insert is None else how.insert(report)


def _put_before(walk: _Walk, fixed: dict[str, Any], subject: str, insert: Insert | None) -> None:
    """The fixed model of a rank mismatch: ``insert`` applied to the subject's first input, and
    the subject to its output."""
    assert insert is not None  # _fixed makes no fixed model without one
    lid = f"L{len(fixed['layers'])}"
    fixed["layers"][lid] = {"class": insert.cls, "config": dict(insert.config)}
    nid = f"n{len(fixed['nodes'])}"
    at = next(i for i, node in enumerate(fixed["nodes"]) if node["id"] == subject)
    target = fixed["nodes"][at]
    fixed["nodes"].insert(at, {"id": nid, "layer": lid, "inputs": target["inputs"][:1], "style": "single"})
    target["inputs"][0] = nid
    walk.labels[nid] = Label(None, None, insert.text)


def _fix_words(how: Verification, report: Report, walk: _Walk) -> str | None:
    value = how.return_sequences
    if how.confirm is Confirm.RESHAPED:
        insert, app = _insert(how, report), _subject_app(report)
        return None if insert is None or app is None else f"{insert.text} before {_where(walk, app.layer)}"
    if how.confirm is Confirm.TRUTHINESS:
        arg = report.node
        if isinstance(arg, ast.keyword) and arg.arg is not None and report.rnn is not None:
            given = report.rnn.kwargs.get(arg.arg)
            if isinstance(given, Const):
                return f"{arg.arg}={bool(given.value)} on {_where(walk, report.rnn)}"
        return None
    if value is None:
        app = _subject_app(report)
        inner = app.layer.inner if app is not None else None
        return f"unwrapped to {describe(inner)}" if inner is not None else None
    if report.rnn is None:
        return None
    return f"return_sequences={value} on {_where(walk, report.rnn)}"


def plans_for(
    results: Iterable[tuple[Any, Report]], lines: Mapping[ast.AST, int], label: Callable[[int], str] = str
) -> list[Plan]:
    """One plan per finding of an analysis."""
    plans = []
    for _, report in results:
        try:
            plans.append(make_plan(report, lines, label))
        except Exception as error:  # a bug of ours: the finding stays, unverified, and says so
            reason = f"internal error while planning, please report: {type(error).__name__}: {error}"
            plans.append(Plan(report.code, strategy(report.code).confirm, unverified=reason))
    return plans


def node_lines(analysis: Any, text: str) -> Mapping[ast.AST, int]:
    """Start lines of every node a plan may name: layers, where they are applied, fit calls."""
    wanted: list[ast.expr] = []
    for app in analysis.graph.applications:
        wanted += [app.site, app.layer.call]
        wanted += [v.call for v in app.layer.kwargs.values() if isinstance(v, Layer)]
    wanted += [train.call for train in analysis.graph.train_calls]
    return {node: node.lineno for node in wanted}  # expressions: CPython's tree knows where each starts


def attach_plans(findings: list[Finding], analysis: Any, text: str) -> list[Finding]:
    """``findings`` (those of ``analysis``, in its order), each carrying its plan until verified."""
    lines = node_lines(analysis, text)
    plans = plans_for(analysis.results, lines, getattr(analysis, "line_label", str))
    return [replace(f, verification=Pending(p)) for f, p in zip(findings, plans)]


def canonical(job: dict[str, Any]) -> str:
    """The job as one canonical JSON text: equal jobs give equal texts (and cache keys)."""
    return json.dumps(job, sort_keys=True, separators=(",", ":"))


def _describe_inner(wrapper: Layer) -> str:
    """The layer a TimeDistributed wraps, as the fixed model writes it once unwrapped."""
    assert wrapper.inner is not None  # only wrappers are unwrapped
    return describe(wrapper.inner)
