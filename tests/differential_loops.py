"""Differential testing for loops of unknown count and attribute-bound models (issue 10).

Loops: one layer of a generated program becomes the body of ``for units in sizes:`` inside
``def build_model(sizes)`` (an RNN's or Dense's units become the loop variable), called with
sizes from the command line, so kerascheck cannot know how often it runs. The oracle walks the stack in Keras with that layer repeated 0, 1,
2 and 3 times and keeps what the rules call for on every one of those paths: a finding at a layer
after the loop when it fires on every count, one at the loop's own layer when it fires on every
iteration of every count >= 1; for the rules that name the RNN responsible (KER103, KER106 and
the training rules) that RNN must be the same layer of the source on every path. A training
rule judges the join of the paths' outputs (dimensions that differ are unknown), as the rules'
documentation says a size that is not known is treated.

Attribute-bound models: the ``sequential_add`` rendering with the model on an attribute of an
instance of a plain class (``holder.model``) or of a module (``sys.model``): the oracle is the
one of ``sequential_add``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from tests import differential as diff

COUNTS = (0, 1, 2, 3)
_UNITS_FIRST = frozenset({"LSTM", "GRU", "SimpleRNN", "Dense"})
_ORIGIN_CODES = frozenset({"KER103", "KER106"})


def loop_body(spec: diff.Spec) -> diff.Spec:
    """The loop's layer: an RNN's or Dense's units become the loop variable ``units``."""
    if spec.kind not in _UNITS_FIRST:
        return spec
    args = list(spec.args)
    for i, (key, value) in enumerate(args):
        if key is None and type(value) is int:
            args[i] = (None, diff.Opaque("units", value))
            break
    return diff.Spec(spec.kind, tuple(args))


def bodies(program: diff.Program) -> list[int]:
    """The layers that can be a loop's body: not the one declaring the input shape."""
    if program.functional_only:
        return []
    return [i for i in range(len(program.layers)) if not (i == 0 and program.seq_input == "input_shape")]


def _join(states: Sequence[diff.TensorState]) -> diff.TensorState:
    first = states[0]
    if any(s.dims is None or first.dims is None or len(s.dims) != len(first.dims) for s in states):
        return diff.UNKNOWN_TENSOR
    dims = first.dims
    assert dims is not None
    for s in states[1:]:
        assert s.dims is not None
        dims = tuple(a if a == b else diff.UNK for a, b in zip(dims, s.dims))
    origin = first.origin if all(s.origin == first.origin for s in states) else None
    return diff.TensorState(dims, origin)


def loop_expected(program: diff.Program, start: diff.TensorState, body: int) -> set[tuple[str, diff.Anchor]] | None:
    """What the rules call for on every path; None when Keras refuses some path's sizes."""
    stack = program.stack
    spec = loop_body(stack[body])
    # per source layer: (codes, origin of the input) at each of its applications on each path
    seen: dict[int, list[tuple[set[str], int | None]]] = {}
    outputs: list[diff.TensorState] = []
    ranks: dict[int, set[int | None]] = {}
    refused: set[int] = set()
    for count in COUNTS:
        path = stack[:body] + [spec] * count + stack[body + 1 :]
        result = diff.walk(path, start)
        if result.dimension_errors:
            return None

        def source(i: int | None, count: int = count) -> int | None:
            if i is None or i < body:
                return i
            return body if i < body + count else i - count + 1

        for index, step in enumerate(result.steps):
            seen.setdefault(source(index), []).append((set(step.codes), source(step.given.origin)))  # type: ignore[arg-type]
            ranks.setdefault(source(index), set()).add(step.given.rank)  # type: ignore[arg-type]
            if step.keras.startswith("error") and not (diff.is_rnn(step.spec) or diff.is_pass_through(step.spec)):
                refused.add(source(index))  # type: ignore[arg-type]
        out = result.output
        outputs.append(diff.TensorState(out.dims, source(out.origin)))
    judged_after = {index for index in refused if index < len(stack) - 1 or program.ops}
    if any(len(ranks[index]) > 1 for index in judged_after):
        # Keras refuses a layer on some path (one whose output is then unknown: not an RNN, not
        # a pass-through layer), the paths give it inputs of different ranks (or one nothing is
        # known about), and something after it is judged: the rules take a rank that is not
        # known as one the layer accepts, so the paths on which the model does not build are not
        # held against what follows.
        return None
    found: set[tuple[str, diff.Anchor]] = set()
    for index, applications in seen.items():
        for code in set.intersection(*(codes for codes, _ in applications)):
            origins = {origin for _, origin in applications}
            if code in _ORIGIN_CODES and len(origins) != 1:
                continue
            found.add((code, diff.Anchor("td" if code in ("KER101", "KER102") else "site", index)))
    output = _join(outputs)
    loss: diff.Loss | None = None
    for index, op in enumerate(program.ops):
        if isinstance(op, diff.Compile):
            loss = op.loss
            continue
        shape = diff.target_shape(op.target)
        if shape is None or loss is None or not loss.builtin or output.dims is None or output.origin is None:
            continue
        if diff.ker104_fires(output.dims, shape):
            found.add(("KER104", diff.Anchor("train", index)))
        if diff.ker105_fires(output.dims, shape, loss.sparse):
            found.add(("KER105", diff.Anchor("train", index)))
    return found


def render_loop(program: diff.Program, body: int, sizes: Sequence[int]) -> tuple[str, dict[diff.Anchor, int]]:
    """``def build_model(sizes)`` adding the layers, layer ``body`` in ``for units in sizes:``."""
    r = diff.Renderer(program)
    kinds = set().union(*(s.kinds() for s in program.stack))
    w = diff.Writer()
    r.header(w, kinds)
    lines: dict[diff.Anchor, int] = {}
    w.add("def build_model(sizes):")
    w.indent = "    "
    w.add(f"model = {r.model_prefix}Sequential()")
    if program.seq_input == "Input":
        w.add(f"model.add({r.input_call()})")
    for index, layer in enumerate(program.layers):
        extra = r._input_shape_kw(index)
        if index == body:
            w.add("for units in sizes:")
            at = w.add(f"    model.add({r.layer(loop_body(layer.spec), extra)})")
        else:
            at = w.add(f"model.add({r.layer(layer.spec, extra)})")
        lines[diff.Anchor("site", index)] = lines[diff.Anchor("td", index)] = at
    w.add("return model")
    w.indent = ""
    w.add("")
    w.add("")
    # A call runs the body with its arguments: sizes the file does not fix keep the count unknown.
    w.add(f"model = build_model([int(arg) for arg in sys.argv[2:]] or {list(sizes)!r})")
    _ops(r, w, lines)
    return "\n".join(w.lines) + "\n", lines


def _ops(r: diff.Renderer, w: diff.Writer, lines: dict[diff.Anchor, int]) -> None:
    program = r.program
    w.add("")
    w.add(f"X = np.zeros((N,) + {r.value(program.input_dims)})")
    for index, op in enumerate(program.ops):
        if isinstance(op, diff.Compile):
            w.add(f'model.compile(optimizer="adam", loss={op.loss.source})')
        else:
            lines[diff.Anchor("train", index)] = w.add(f"model.{op.method}(X, {op.target})")


ATTRIBUTE_FORMS = ("instance", "module")


def render_attribute(program: diff.Program, form: str) -> tuple[str, dict[diff.Anchor, int]]:
    """``sequential_add`` with the model on ``holder.model`` (a plain class's instance) or on
    ``sys.model``; ``model`` names the same object for the training calls."""
    source, lines = diff.render(program, "sequential_add")
    text = source.split("\n")
    first = next(i for i, line in enumerate(text) if line.startswith("model = "))
    place = "holder.model" if form == "instance" else "sys.model"
    out = text[:first]
    added: list[str] = []
    if form == "instance":
        added = ["class Holder:", "    pass", "", "", "holder = Holder()"]
    out += added
    for line in text[first:]:
        bound = line.startswith("model = ")
        out.append(f"{place} = {line}" if bound else line.replace("model.add(", f"{place}.add("))
    shift = len(added)
    return "\n".join(out), {anchor: at + shift if at > first else at for anchor, at in lines.items()}


def compare(program: diff.Program, rng: random.Random) -> list[diff.Case]:
    """Every loop body and attribute form of ``program``, each against its oracle."""
    cases = []
    start = diff.start_of(program, "sequential_add")
    for body in bodies(program):
        wanted = loop_expected(program, start, body)
        if wanted is None:
            continue
        sizes = [rng.randint(1, 8) for _ in range(rng.randint(0, 3))]
        source, lines = render_loop(program, body, sizes)
        reported = set(diff.reported(source, "<loop>"))
        expected = {(code, lines[anchor]) for code, anchor in wanted}
        cases.append(
            diff.Case(program, f"loop over layer {body}", source, diff.walk(program.stack, start), expected, reported)
        )
    if not program.functional_only:
        result, found = diff.expected(program, start)
        for form in ATTRIBUTE_FORMS:
            source, lines = render_attribute(program, form)
            reported = set(diff.reported(source, "<attribute>"))
            expected = {(code, lines[anchor]) for code, anchor in found}
            cases.append(diff.Case(program, f"attribute {form}", source, result, expected, reported))
    return cases
