"""The verification worker: imports Keras once, then builds the specs it is sent.

It runs as its own process, started by ``kerascheck.verify.client`` as
``python <this file> --keras keras`` (the file, not the package: it needs nothing but the standard
library and Keras, so it also runs under another Python that has Keras but not kerascheck). It
never imports or runs the code being linted: a spec is JSON data naming allowlisted Keras layer
classes and their literal arguments.

Protocol: one JSON object per line. The worker first writes ``{"hello": {...}}`` (Keras version,
backend) or ``{"fatal": "..."}`` and exits. Then, for each request ``{"id": n, "job": {...}}`` on
stdin it writes ``{"id": n, "result": {...}}``, ``{"id": n, "exhausted": "..."}`` when building
ran out of a resource (memory: that says nothing of the model), or ``{"id": n, "error": "..."}``
when the worker itself failed. Anything Keras or TensorFlow prints goes to stderr, never into the protocol.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import time
import traceback
from collections.abc import Callable
from typing import Any, NoReturn

PROTOCOL = 1

# JSON as it crosses the pipe, and Keras objects, which carry no type information.
JSON = dict[str, Any]

# The layer classes it may construct: given by the parent (``--allow``, kerascheck's shape table's
# buildable layers); it constructs no other.
ALLOWLIST: frozenset[str] = frozenset()

BATCH = 4  # rows of the random batch
FREE_AXIS = 9  # size given to an axis Keras leaves free (None) when data is made
# Each head of the KER101 comparison is timed over up to TIMING_RUNS calls, fewer once the calls
# made add up to TIMING_SECONDS: repeats steady the figure of a short call, and a call that long
# is timed well by itself (a TimeDistributed runs its Dense once per time step: 20 to 300 ms).
TIMING_RUNS = 3
TIMING_SECONDS = 0.05
MAX_ELEMENTS = 2_000_000  # no numeric check on batches larger than this
GC_YOUNG = 10_000  # allocations between collections of the young objects (``quieter_collector``)


class Failure(Exception):
    """A build step Keras refused: where, when and what it raised."""

    def __init__(self, node: str, phase: str, error: BaseException) -> None:
        super().__init__(node, phase)
        self.info: JSON = {"node": node, "phase": phase, "type": type(error).__name__, "message": _message(error)}


class Exhausted(Exception):
    """Building ran out of memory: no verdict on the model, only on the machine."""


_EXHAUSTED_TYPES = ("MemoryError", "ResourceExhaustedError", "OutOfMemoryError", "XlaRuntimeError")
_EXHAUSTED_WORDS = ("OOM when allocating", "out of memory", "Unable to allocate", "bad_alloc", "RESOURCE_EXHAUSTED")


def exhausted(error_type: str, message: str) -> bool:
    """Whether an error Keras raised is a resource running out rather than Keras refusing."""
    if error_type in _EXHAUSTED_TYPES[:3]:
        return True
    return any(word.lower() in message.lower() for word in _EXHAUSTED_WORDS)


def _message(error: BaseException) -> str:
    text = str(error).strip() or repr(error)
    return text if len(text) <= 2000 else text[:2000] + " ..."


# ---------------------------------------------------------------- Keras access


class Keras:
    """The imported Keras (``keras`` 3, or ``tf_keras`` 2), and the few calls that differ."""

    def __init__(self, module_name: str) -> None:
        if module_name == "tf_keras":
            import tf_keras as keras

            self.backend = "tensorflow"
        else:
            import keras

            self.backend = keras.backend.backend()
        self.keras = keras
        self.module = module_name
        self.version = getattr(keras, "__version__", "?")
        # Which Keras answers: the memos' keys carry it, as one process may hold two (the tests').
        self.identity = (module_name, self.version, self.backend)
        # Keras 2 (tf-keras, or an old ``keras`` 2.x): TensorFlow tensors, masks as attributes.
        self.legacy = module_name == "tf_keras" or self.version.startswith(("1.", "2."))
        import numpy

        self.np = numpy
        self._inputs: dict[tuple[tuple[int | None, ...], str], Any] = {}

    def input(self, shape: list[int | None], dtype: str) -> Any:
        """``keras.Input(batch_shape=shape, dtype=dtype)``, one for each shape and dtype in
        Keras 3: a symbolic input is only read by the layers called on it, and the models built
        on it (making its InputLayer costs about a millisecond, and the fixtures' 355 models make
        548). Keras 2 reads what was called on an input (``_outbound_nodes``): a new one each time."""
        if self.legacy:
            return self.keras.Input(batch_shape=tuple(shape), dtype=dtype)
        key = (tuple(shape), dtype)
        if key not in self._inputs:
            self._inputs[key] = self.keras.Input(batch_shape=key[0], dtype=dtype)
        return self._inputs[key]

    def release_inputs(self) -> None:
        """Forget the layers a job called on the kept inputs: Keras 3 notes each call on the
        input's layer (``_outbound_nodes``, which it never reads), which would keep every model
        built on a kept input alive for the worker's life."""
        for tensor in self._inputs.values():
            history = getattr(tensor, "_keras_history", None)
            nodes = getattr(getattr(history, "operation", None), "_outbound_nodes", None)
            if isinstance(nodes, list):
                nodes.clear()

    def hello(self) -> JSON:
        backend_version: str | None = None
        try:
            if self.backend == "tensorflow":
                import tensorflow

                backend_version = tensorflow.__version__
            elif self.backend == "jax":
                import jax

                backend_version = jax.__version__
            elif self.backend == "torch":
                import torch

                backend_version = torch.__version__
        except Exception:
            pass
        return {
            "protocol": PROTOCOL,
            "module": self.module,
            "keras": self.version,
            "backend": self.backend,
            "backend_version": backend_version,
            "python": sys.version.split()[0],
        }

    def layer_class(self, name: str) -> Any:
        if name not in ALLOWLIST:
            raise ValueError(f"{name} is not an allowlisted Keras layer")
        cls = getattr(self.keras.layers, name, None)
        if cls is None:
            raise ValueError(f"Keras {self.version} has no layer {name}")
        return cls

    def to_numpy(self, tensor: Any) -> Any:
        if hasattr(tensor, "numpy"):
            try:
                return self.np.asarray(tensor.numpy())
            except Exception:
                pass
        return self.np.asarray(self.keras.ops.convert_to_numpy(tensor))

    def get_mask(self, tensor: Any) -> Any:
        try:
            if not self.legacy:
                from keras.src.backend import get_keras_mask

                return get_keras_mask(tensor)
        except ImportError:
            pass
        return getattr(tensor, "_keras_mask", None)

    def with_mask(self, tensor: Any, mask: Any) -> Any:
        """``tensor`` carrying ``mask`` the way a Keras model passes masks between layers."""
        if mask is None:
            return tensor
        try:
            if not self.legacy:
                from keras.src.backend import set_keras_mask

                set_keras_mask(tensor, mask)
                return tensor
        except ImportError:
            pass
        tensor._keras_mask = mask
        return tensor

    @contextlib.contextmanager
    def shapes_only(self) -> Any:
        """Build with weights created but not initialized (Keras 3's ``StatelessScope``): shapes,
        parameter counts and errors are Keras' own, and a build costs about half (TensorFlow
        creating and initializing variables is most of it). The weights a job reads are given
        values afterwards (``initialize``); elsewhere (Keras 2) a plain build."""
        scope = getattr(self.keras, "StatelessScope", None)
        if self.legacy or scope is None:
            yield
            return
        from keras.src.backend.common import global_state

        pending = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
        before = len(pending)
        try:
            with scope(initialize_variables=False):
                yield
        finally:
            del pending[before:]  # never initialized later: forget them, or they pile up over a run

    def initialize(self, layer: Any) -> None:
        """Give values to the weights of ``layer`` that a ``shapes_only`` build left without."""
        for variable in getattr(layer, "variables", []) if layer is not None else []:
            if getattr(variable, "_initializer", None) is not None and getattr(variable, "_value", 0) is None:
                variable._deferred_initialize()

    def constant(self, array: Any, dtype: str) -> Any:
        if self.legacy:
            import tensorflow as tf

            return tf.constant(array, dtype=dtype)
        return self.keras.ops.convert_to_tensor(array, dtype=dtype)


# ---------------------------------------------------------------- building


def _snake(name: str) -> str:
    out: list[str] = []
    for i, char in enumerate(name):
        if char.isupper() and i and (not name[i - 1].isupper() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(char.lower())
    return "".join(out)


def _shape(tensor: Any) -> list[int | None]:
    return [None if d is None else int(d) for d in tuple(tensor.shape)]


def _layer_ids(spec: JSON, lid: str) -> set[str]:
    """``lid`` and the layers its configuration names (a wrapper's layer), and theirs."""
    found, todo = set(), [lid]
    while todo:
        current = todo.pop()
        if current in found:
            continue
        found.add(current)
        todo += _named_layers(spec["layers"][current]["config"])
    return found


def _named_layers(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [value["$layer"]] if "$layer" in value else [n for v in value.values() for n in _named_layers(v)]
    if isinstance(value, list):
        return [n for v in value for n in _named_layers(v)]
    return []


def shared_prefix(original: Build, spec: JSON) -> int:
    """How many of ``spec``'s first nodes are ``original``'s, applied to the same inputs: the same
    node, the same layers (their configurations, and those of the layers they wrap), built
    without an error or a stand-in, and with none of those layers used by a later node. A fixed
    model differs from the original from its first changed node on; before it, building again
    would make the same layers, give the same tensors and the same rows."""
    if spec["inputs"] != original.spec["inputs"]:
        return 0
    nodes, before = spec["nodes"], original.spec["nodes"]
    count = 0
    for node, was in zip(nodes, before):
        same_layers = all(
            spec["layers"].get(lid) == original.spec["layers"].get(lid) for lid in _layer_ids(spec, node["layer"])
        )
        if node != was or not same_layers or node["id"] not in original.layer_of:
            break
        count += 1
    while count:  # a layer called again after the shared nodes: shared no more
        later = {lid for node in nodes[count:] for lid in _layer_ids(spec, node["layer"])}
        clash = [i for i, node in enumerate(nodes[:count]) if _layer_ids(spec, node["layer"]) & later]
        if not clash:
            break
        count = clash[0]
    return count


class Build:
    """One spec built with symbolic inputs: per-node rows, and the first error Keras raised.

    ``reuse``: a build of a model this one shares its first nodes with (the original model of a
    fixed one, see ``shared_prefix``); those nodes are taken from it instead of built again."""

    def __init__(self, k: Keras, spec: JSON, subject: str | None, reuse: Build | None = None) -> None:
        self.k = k
        self.spec = spec
        self.subject = subject
        self.objects: dict[str, Any] = {}  # layer id -> Keras layer
        self.tensors: dict[str, Any] = {}  # tensor ref -> symbolic tensor
        self.rows: list[JSON] = []
        self.error: JSON | None = None
        self.substituted: list[JSON] = []
        self.outputs: list[list[int | None]] | None = None
        self.layer_of: dict[str, Any] = {}  # node id -> Keras layer
        self.inputs_of: dict[str, list[Any]] = {}  # node id -> its symbolic inputs
        self.reused = 0  # nodes taken from ``reuse``
        self._run(reuse)

    def _take(self, reuse: Build, count: int) -> None:
        """The inputs and the first ``count`` nodes, with their layers, tensors and rows, from ``reuse``."""
        for spec in self.spec["inputs"]:
            self.tensors[spec["id"]] = reuse.tensors[spec["id"]]
        rows = {row["node"]: row for row in reuse.rows}
        self.rows += [dict(rows[spec["id"]]) for spec in self.spec["inputs"]]
        for node in self.spec["nodes"][:count]:
            nid = node["id"]
            for lid in _layer_ids(self.spec, node["layer"]):
                self.objects[lid] = reuse.objects[lid]
            self.layer_of[nid] = reuse.layer_of[nid]
            self.inputs_of[nid] = reuse.inputs_of[nid]
            for ref, tensor in reuse.tensors.items():
                if ref == nid or ref.startswith(f"{nid}:"):
                    self.tensors[ref] = tensor
            self.rows.append(dict(rows[nid]))
        self.reused = count

    def layer(self, lid: str) -> Any:
        if lid in self.objects:
            return self.objects[lid]
        entry = self.spec["layers"][lid]
        cls = self.k.layer_class(entry["class"])
        config = {key: self._value(value) for key, value in entry["config"].items()}
        # A name of our own, so that what Keras says does not depend on what it built before.
        config.setdefault("name", f"{_snake(entry['class'])}_{lid[1:]}")
        obj = cls(**config)
        self.objects[lid] = obj
        return obj

    def _value(self, value: Any) -> Any:
        if isinstance(value, dict) and "$layer" in value:
            return self.layer(value["$layer"])
        if isinstance(value, list):
            items = [self._value(v) for v in value]
            return items if any(isinstance(v, self.k.keras.layers.Layer) for v in items) else tuple(items)
        return value

    def _input(self, spec: JSON) -> Any:
        return self.k.input(spec["shape"], spec.get("dtype", "float32"))

    def _run(self, reuse: Build | None) -> None:
        keras = self.k.keras
        count = shared_prefix(reuse, self.spec) if reuse is not None else 0
        if reuse is not None and count:
            self._take(reuse, count)
        for spec in self.spec["inputs"] if not count else []:
            tensor = self._input(spec)
            self.tensors[spec["id"]] = tensor
            shape = _shape(tensor)
            self.rows.append(
                {
                    "node": spec["id"],
                    "class": "InputLayer",
                    "params": 0,
                    "shapes": [shape],
                }
            )
        for node in self.spec["nodes"][count:]:
            nid = node["id"]
            try:
                layer = self.layer(node["layer"])
            except Exception as error:
                self._fail(nid, "construct", error, node)
                return
            args = [self.tensors[ref] for ref in node["inputs"]]
            self.inputs_of[nid] = args
            try:
                if node["style"] == "list":
                    out = layer(args)
                elif node["style"] == "args":
                    out = layer(*args)
                else:
                    out = layer(args[0])
            except Exception as error:
                if nid != self.subject and node.get("fallback") and all(node["fallback"]):
                    # Expected to fail (its own finding): go on with the shape kerascheck infers.
                    info = Failure(nid, "call", error).info
                    if isinstance(error, MemoryError) or exhausted(info["type"], info["message"]):
                        raise Exhausted(
                            f"building ran out of memory: {info['type']}: {info['message'][:300]}"
                        ) from None
                    self.substituted.append(info)
                    outs = [keras.Input(batch_shape=tuple(shape)) for shape in node["fallback"]]
                    self.rows.append(self._row(nid, layer, None, info))
                    self._bind(nid, outs)
                    continue
                self._fail(nid, "call", error, node, layer)
                return
            outs = list(out) if isinstance(out, (list, tuple)) else [out]
            self.layer_of[nid] = layer
            self._bind(nid, outs)
            self.rows.append(self._row(nid, layer, outs))
        self.outputs = [_shape(self.tensors[ref]) for ref in self.spec["outputs"] if ref in self.tensors]

    def _bind(self, nid: str, outs: list[Any]) -> None:
        for i, tensor in enumerate(outs):
            self.tensors[nid if i == 0 else f"{nid}:{i}"] = tensor

    def _row(self, nid: str, layer: Any, outs: list[Any] | None, error: JSON | None = None) -> JSON:
        row: JSON = {"node": nid, "class": type(layer).__name__}
        if outs is None:
            row.update(params=None, error=f"{error['type']}: {error['message']}" if error else None)
            return row
        try:
            params = int(layer.count_params())
        except Exception:
            params = None
        shapes = [_shape(t) for t in outs]
        row.update(params=params, shapes=shapes)
        return row

    def _fail(self, nid: str, phase: str, error: BaseException, node: JSON, layer: Any = None) -> None:
        info = Failure(nid, phase, error).info
        if isinstance(error, MemoryError) or exhausted(info["type"], info["message"]):
            raise Exhausted(f"building ran out of memory: {info['type']}: {info['message'][:300]}") from None
        self.error = info
        info["input_shapes"] = [_shape(self.tensors[r]) for r in node["inputs"] if r in self.tensors]
        cls = type(layer).__name__ if layer is not None else self.spec["layers"][node["layer"]]["class"]
        self.rows.append(
            {
                "node": nid,
                "class": cls,
                "params": None,
                "error": f"{info['type']}: {info['message']}",
            }
        )

    def total_params(self) -> int | None:
        seen: set[int] = set()
        total = 0
        for layer in self.layer_of.values():
            if id(layer) in seen:
                continue
            seen.add(id(layer))
            try:
                total += int(layer.count_params())
            except Exception:
                return None
        return total

    def report(self) -> JSON:
        return {
            "rows": self.rows,
            "error": self.error,
            "substituted": self.substituted,
            "outputs": self.outputs,
            "total_params": self.total_params() if self.error is None else None,
        }


# ---------------------------------------------------------------- the KER101 comparison

# The comparison's answer for each head compared so far (``head_key``): the same wrapper and
# Dense on an input of the same shape, dtype and masking, in another model or for another
# finding, give the same answer, whatever the layers before them (in the fixtures, 100 heads
# compared, 78 distinct).
_HEADS: dict[str, JSON] = {}


def head_key(original: Build, fixed: Build, subject: str) -> str | None:
    """What the comparison of ``subject``'s two heads depends on: the Keras that runs it, the
    layers of the wrapper and of the Dense (their classes and arguments), its input's shape and
    dtype, whether a mask reaches it, and the timing settings; None when the heads were not both
    built."""
    wrapper, dense = original.layer_of.get(subject), fixed.layer_of.get(subject)
    if wrapper is None or dense is None:
        return None
    symbolic = original.inputs_of[subject][0]
    heads = []
    for build in (original, fixed):
        node = next(node for node in build.spec["nodes"] if node["id"] == subject)
        heads.append({lid: build.spec["layers"][lid] for lid in _layer_ids(build.spec, node["layer"])})
    masked = original.k.get_mask(symbolic) is not None
    dtype = str(getattr(symbolic, "dtype", ""))
    return json.dumps(
        [original.k.identity, heads, _shape(symbolic), dtype, masked, TIMING_RUNS, TIMING_SECONDS], sort_keys=True
    )


def compared_heads(k: Keras, original: Build, fixed: Build, subject: str) -> JSON:
    """``compare_heads``, once for each head (``head_key``)."""
    key = head_key(original, fixed, subject)
    if key is None:
        return compare_heads(k, original, fixed, subject)
    if key not in _HEADS:
        _HEADS[key] = compare_heads(k, original, fixed, subject)
    answer: JSON = json.loads(json.dumps(_HEADS[key]))  # a copy: the caller's to change
    return answer


def _timed(call: Callable[[], Any], runs: int, enough: float) -> tuple[Any, float, int]:
    """The output of ``call`` (the first call's: the comparison needs no call of its own), the
    median of the timed calls and their number: ``runs`` calls, or fewer once they add up to
    ``enough`` seconds."""
    times: list[float] = []
    output = None
    while len(times) < runs and sum(times) < enough:
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
        if len(times) == 1:
            output = result
    times.sort()
    return output, times[len(times) // 2], len(times)


def compare_heads(k: Keras, original: Build, fixed: Build, subject: str) -> JSON:
    """TimeDistributed(Dense) against the Dense it wraps, on one random batch of its input.

    The layers before it are the same in both models (same classes, same arguments, same
    weights), so the models' outputs are equal exactly when the two heads' outputs are equal
    for the same input and mask. The Dense gets the wrapped Dense's weights; both heads get the
    same batch and, when a mask reaches the wrapper in the built model, the same mask.
    """
    np = k.np
    wrapper, dense = original.layer_of.get(subject), fixed.layer_of.get(subject)
    if wrapper is None or dense is None:
        return {"skipped": "the head was not built"}
    dense.set_weights(wrapper.get_weights())
    symbolic = original.inputs_of[subject][0]
    shape = _shape(symbolic)
    concrete = [BATCH if i == 0 and d is None else FREE_AXIS if d is None else d for i, d in enumerate(shape)]
    if math.prod(concrete) > MAX_ELEMENTS:
        return {"skipped": f"the wrapper's input {tuple(concrete)} is too large to run"}
    rng = np.random.default_rng(0)
    x_data = rng.standard_normal(concrete).astype("float32")
    mask_data = None
    if k.get_mask(symbolic) is not None:
        mask_data = np.ones(concrete[:2], dtype=bool)
        mask_data[: concrete[0] // 2, -(concrete[1] // 3 or 1) :] = False

    def run(layer: Any) -> Any:
        x = k.constant(x_data, "float32")
        mask = None if mask_data is None else k.constant(mask_data, "bool")
        return layer(k.with_mask(x, mask))

    (y1, wrapped_seconds, wrapped_runs), (y2, plain_seconds, plain_runs) = (
        _timed(lambda: run(wrapper), TIMING_RUNS, TIMING_SECONDS),
        _timed(lambda: run(dense), TIMING_RUNS, TIMING_SECONDS),
    )
    a, b = k.to_numpy(y1), k.to_numpy(y2)
    result: JSON = {"batch": list(concrete), "masked": mask_data is not None}
    if a.shape != b.shape:
        result.update(equal=False, max_abs_diff=None, shapes=[list(a.shape), list(b.shape)])
    else:
        diff = float(np.max(np.abs(a - b))) if a.size else 0.0
        result.update(equal=bool(np.allclose(a, b, rtol=1e-5, atol=1e-5)), max_abs_diff=diff)
    m1, m2 = k.get_mask(y1), k.get_mask(y2)
    if m1 is None and m2 is None:
        result["mask"] = "none" if mask_data is None else "dropped by both"
    elif m1 is None or m2 is None:
        result["mask"] = f"only the {'Dense' if m1 is None else 'TimeDistributed'} passes a mask on"
    else:
        same = k.to_numpy(m1).shape == k.to_numpy(m2).shape and bool(np.all(k.to_numpy(m1) == k.to_numpy(m2)))
        result["mask"] = "equal" if same else "different"
    result["seconds"] = [wrapped_seconds, plain_seconds]
    result["runs"] = [wrapped_runs, plain_runs]
    return result


# ---------------------------------------------------------------- the KER108 run


# The control's answer for each model run so far (its Keras, its spec, its inputs, Sequential or not): a
# model fit, evaluated and predicted on in several places is run on zeros of its own shapes once.
_CONTROLS: dict[str, JSON | None] = {}


def call_on_zeros(k: Keras, build: Build, call: JSON) -> JSON:
    """Run the built model on zeros of its own input shapes (a control), then on zeros of the
    data's shapes. A Sequential model is rebuilt as a ``keras.Sequential`` of the same layers,
    since Keras checks a Sequential's input otherwise than a functional model's."""
    keras, np = k.keras, k.np
    if build.error is not None or build.substituted:
        return {"skipped": "the model did not build as it is written"}
    specs = {spec["id"]: spec for spec in build.spec["inputs"]}
    refs, data = call["inputs"], call["data"]
    if any(math.prod(shape) > MAX_ELEMENTS for shape in data):
        return {"skipped": "the data is too large to run"}
    outputs = [build.tensors[ref] for ref in build.spec["outputs"]]
    if call.get("sequential"):
        nodes = build.spec["nodes"]
        if len(refs) != 1 or any(
            node["inputs"] != [prev] for node, prev in zip(nodes, refs + [n["id"] for n in nodes])
        ):
            return {"skipped": "the Sequential model is not one chain of layers"}
        first = keras.Input(batch_shape=tuple(specs[refs[0]]["shape"]), dtype=specs[refs[0]].get("dtype", "float32"))
        model = keras.Sequential([first] + [build.layer_of[node["id"]] for node in nodes])
    else:
        inputs = [build.tensors[ref] for ref in refs]
        model = keras.Model(inputs[0] if len(inputs) == 1 else inputs, outputs[0] if len(outputs) == 1 else outputs)

    def run(shapes: list[list[Any]]) -> JSON | None:
        arrays = [np.zeros(shape, dtype=specs[ref].get("dtype", "float32")) for ref, shape in zip(refs, shapes)]
        try:
            model(arrays[0] if len(arrays) == 1 else arrays)
        except Exception as error:
            info = Failure("model", "run", error).info
            if isinstance(error, MemoryError) or exhausted(info["type"], info["message"]):
                raise Exhausted(f"running ran out of memory: {info['type']}: {info['message'][:300]}") from None
            return info
        return None

    own = [[BATCH if d is None else d for d in specs[ref]["shape"]] for ref in refs]
    own = [[BATCH if i == 0 else d for i, d in enumerate(shape)] for shape in own]
    model_key = json.dumps([k.identity, build.spec, refs, bool(call.get("sequential"))], sort_keys=True)
    if model_key not in _CONTROLS:
        _CONTROLS[model_key] = run(own)
    return {"control": _CONTROLS[model_key], "error": run(data)}


# ---------------------------------------------------------------- jobs


def _builds(k: Keras, job: JSON, subject: str | None) -> tuple[Build, Build | None]:
    original = Build(k, job["original"], subject)
    fixed = Build(k, job["fixed"], None, reuse=original) if job.get("fixed") is not None else None
    return original, fixed


def _stateless_refusal(build: Build) -> bool:
    """Whether Keras refused a layer only because its weights were not to be initialized (a
    layer that makes a variable from a value): that build is redone the usual way."""
    errors = [build.error, *build.substituted]
    return any("stateless scope" in str(error.get("message", "")) for error in errors if error)


def run_job(k: Keras, job: JSON) -> JSON:
    try:
        return _run_job(k, job)
    finally:
        k.release_inputs()


def _run_job(k: Keras, job: JSON) -> JSON:
    if "sleep" in job:  # used by the tests of the time limit
        time.sleep(float(job["sleep"]))
        return {}
    if "allocate_mb" in job:  # used by the tests of the memory limit
        hold = bytearray(int(job["allocate_mb"]) << 20)
        return {"allocated": len(hold)}
    subject = job.get("subject")
    original = fixed = None
    if job.get("call") is None:
        # Only shapes, parameter counts and errors are read, and the numeric comparison's two
        # heads, whose weights are given values afterwards: no other weight needs one.
        with k.shapes_only():
            original, fixed = _builds(k, job, subject)
        if any(_stateless_refusal(build) for build in (original, fixed) if build is not None):
            original = fixed = None
        elif job.get("numeric") and subject is not None and fixed is not None:
            for build in (original, fixed):
                k.initialize(build.layer_of.get(subject))
    if original is None:
        original, fixed = _builds(k, job, subject)
    result: JSON = {"original": original.report(), "fixed": fixed.report() if fixed is not None else None}
    if (
        job.get("numeric")
        and subject is not None
        and fixed is not None
        and original.error is None
        and fixed.error is None
    ):
        try:
            result["numeric"] = compared_heads(k, original, fixed, subject)
        except Exception as error:
            result["numeric"] = {"skipped": f"{type(error).__name__}: {_message(error)}"}
    if job.get("call") is not None:
        result["call"] = call_on_zeros(k, original, job["call"])
    return result


def quieter_collector() -> None:
    """The young objects collected every ``GC_YOUNG`` allocations instead of every 700, from
    before Keras is imported: importing it and building a layer allocate many thousands of objects
    that reference counting frees, and at Python's default the collector ran every 700 of them,
    mostly for nothing (a third of its time in an import of Keras and TensorFlow, half of it in
    verifying the fixtures' models)."""
    import gc

    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG), middle, old)


def _limit(memory_mb: int | None, cpu_seconds: int | None) -> None:
    try:
        import resource
    except ImportError:  # not on this platform
        return
    if memory_mb:
        # RLIMIT_DATA (Linux 4.7+) counts the memory the process writes to, not the address space
        # that shared libraries or GPU drivers map; elsewhere RLIMIT_AS is the closest there is.
        which = resource.RLIMIT_DATA if sys.platform.startswith("linux") else resource.RLIMIT_AS
        limit = memory_mb << 20
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(which, (limit, limit))
    if cpu_seconds:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 5))


def main(argv: list[str] | None = None) -> int:
    # Never import from the folder this file is in, nor from the current folder.
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if p not in ("", ".", here, os.getcwd())]
    parser = argparse.ArgumentParser()
    parser.add_argument("--keras", default="keras", choices=["keras", "tf_keras"])
    parser.add_argument("--memory-mb", type=int, default=None)
    parser.add_argument("--cpu-seconds", type=int, default=None)
    parser.add_argument("--allow", default="", help="the layer classes it may construct, comma-separated")
    args = parser.parse_args(argv)
    global ALLOWLIST
    ALLOWLIST = frozenset(name for name in args.allow.split(",") if name)
    _limit(args.memory_mb, args.cpu_seconds)

    # The protocol keeps the real stdout; everything else that writes to stdout goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", encoding="utf-8", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(message: JSON) -> None:
        protocol.write(json.dumps(message) + "\n")
        protocol.flush()

    quieter_collector()
    try:
        k = Keras(args.keras)
        hello = k.hello()
    except MemoryError:
        send({"fatal": f"importing {args.keras} ran out of memory (limit {args.memory_mb} MB)"})
        return 3
    except ImportError as error:
        missing = isinstance(error, ModuleNotFoundError) and (error.name or "").split(".")[0] in (args.keras, "keras")
        limit = f" (the worker's memory limit is {args.memory_mb} MB)" if args.memory_mb and not missing else ""
        send({"fatal": f"{args.keras} cannot be imported: {error}{limit}", "missing": missing})
        return 3
    except BaseException as error:
        send({"fatal": f"importing {args.keras} failed: {type(error).__name__}: {_message(error)}"})
        return 3
    send({"hello": hello})
    for line in sys.stdin:
        if line.strip():
            send(answer(k, json.loads(line), args.memory_mb))
    return 0


def answer(k: Keras, request: JSON, memory_mb: int | None = None) -> JSON:
    """The message that answers one request: its result, or why there is none."""
    try:
        return {"id": request["id"], "result": run_job(k, request["job"])}
    except Exhausted as why:
        limit = f" (the worker's memory limit is {memory_mb} MB)" if memory_mb else ""
        return {"id": request["id"], "exhausted": f"{why}{limit}"}
    except MemoryError:
        return {"id": request["id"], "exhausted": f"out of memory (limit {memory_mb} MB)"}
    except Exception:
        return {"id": request["id"], "error": traceback.format_exc(limit=8)}


def _exit(status: int) -> NoReturn:
    """End the process without the interpreter's teardown. A worker writes nothing but its
    answers, all flushed by then; tearing down TensorFlow and Keras took about 1.5 s of CPU after
    the last answer, and the parent waits for the worker to end (``client.Worker.close``)."""
    sys.stderr.flush()
    os._exit(status)


if __name__ == "__main__":
    _exit(main())
