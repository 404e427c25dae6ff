"""What Keras' answer means for a finding: confirmed, refuted or unverified, and why.

- ``confirmed``: what the rule's verification strategy (``Rule.verification``) asks for holds:
  ``SAME_MODEL``, both build with the same output shape and parameter count, and the wrapper and
  the plain Dense give the same outputs with shared weights; ``REFUSED``, Keras refuses the layer
  kerascheck reports (and builds it once the fix is made), ``RESHAPED`` the same with the fix a
  layer put before it (``Reshape``, ``Flatten``); ``TARGET_RANK``, the model's output
  rank differs from the targets' (and the fix makes them agree).
- ``refuted``: Keras disagrees with kerascheck, about the finding or about a shape kerascheck
  inferred on the way to it. That is a bug in kerascheck.
- ``unverified``: nothing to compare, with the reason.
"""

from __future__ import annotations

from kerascheck.rules.base import Confirm
from kerascheck.shapes import format_shape
from kerascheck.verify.plans import Build, Environment, JobResult, Numeric, Plan, Status, SummaryRow, Verdict

CONFIRMED: Status = "confirmed"
REFUTED: Status = "refuted"
UNVERIFIED: Status = "unverified"


def keras_words(environment: Environment | None) -> str:
    return "Keras" if environment is None else environment.words()


def rows(plan: Plan, build: Build | None, fixed: bool = False) -> list[SummaryRow]:
    """A build's per-layer rows for users: where, what, Keras' class, output shape, parameters."""
    if build is None:
        return []
    out = []
    for row in build.rows:
        label = plan.labels.get(row.node)
        out.append(
            SummaryRow(
                line=None if label is None else label.line,
                layer=plan.label_text(row.node, fixed),
                cls=row.cls,
                output_shape=row.output_shape,
                params=row.params,
                error=row.error,
            )
        )
    return out


def unverified(reason: str, plan: Plan | None = None) -> Verdict:
    return Verdict(UNVERIFIED, _with_notes(reason, plan))


def _with_notes(text: str, plan: Plan | None) -> str:
    notes = [] if plan is None else plan.notes
    return text if not notes else f"{text} (rebuilt with: {'; '.join(notes)})"


def _disagreements(plan: Plan, build: Build) -> list[str]:
    """Where a shape Keras built differs from the one kerascheck inferred (rank, or a known size)."""
    found = []
    for row in build.rows:
        ours, theirs = plan.analyzer.get(row.node), row.shapes
        if not ours or not theirs:
            continue
        for mine, keras in zip(ours, theirs):
            if mine is None or keras is None:
                continue
            same = len(mine) == len(keras) and all(a == "?" or a == b for a, b in zip(mine, keras))
            if not same:
                found.append(
                    f"{plan.label(row.node)}: kerascheck infers {format_shape(mine)}, Keras builds {format_shape(keras)}"
                )
                break
    return found


def _upstream(plan: Plan, build: Build) -> str:
    if not build.substituted:
        return ""
    named = ", ".join(f"{plan.label(s.node)} ({s.type})" for s in build.substituted)
    return f"; earlier layers Keras refused as kerascheck expects, each its own finding, were replaced by the shape kerascheck infers: {named}"


def judge(plan: Plan, result: JobResult, environment: Environment | None) -> Verdict:
    """The verdict on one finding from the worker's result for its job."""
    status, detail = _judge(plan, result)
    return Verdict(
        status,
        _with_notes(f"{keras_words(environment)}: {detail}", plan),
        rows(plan, result.original),
        rows(plan, result.fixed, fixed=True),
    )


def _judge(plan: Plan, result: JobResult) -> tuple[Status, str]:
    original, fixed = result.original, result.fixed
    error = original.error
    if error is not None and error.phase == "construct":
        return UNVERIFIED, f"Keras cannot create {plan.label(error.node)}: {error.words()}"
    if fixed is not None and fixed.error is not None and fixed.error.phase == "construct":
        return UNVERIFIED, f"Keras cannot create {plan.label(fixed.error.node)}: {fixed.error.words()}"
    if error is not None and error.node != plan.subject:
        earlier = f"Keras refuses an earlier layer, {plan.label(error.node)}, which kerascheck expects to build: {error.words()}"
        # With nothing assumed, that is kerascheck reasoning on past a layer that cannot build;
        # with sizes or ranks assumed, it may be the assumption.
        return (UNVERIFIED, earlier + " (perhaps because of what was assumed)") if plan.assumed else (REFUTED, earlier)
    disagreements = _disagreements(plan, original)
    if disagreements:
        return REFUTED, "shapes differ from what kerascheck infers: " + "; ".join(disagreements)
    if plan.confirm is Confirm.SAME_MODEL:
        return _same_model(plan, original, fixed, result.numeric)
    if plan.confirm in (Confirm.REFUSED, Confirm.RESHAPED):
        return _refused(plan, original, fixed)
    if plan.confirm is Confirm.TRUTHINESS:
        return _truthiness(plan, original, fixed)
    if plan.confirm is Confirm.INPUT_REFUSED:
        return _input_refused(plan, result)
    return _target_rank(plan, original, fixed)


def _truthiness(plan: Plan, original: Build, fixed: Build | None) -> tuple[Status, str]:
    """The layer built with the literal and with its truthiness give the same outputs."""
    what = plan.label(plan.subject)
    if original.error is not None:
        return (
            UNVERIFIED,
            f"Keras refuses to build the model, at {plan.label(original.error.node)}: {original.error.words()}",
        )
    if fixed is None:
        return UNVERIFIED, "no model with the bool to compare"
    if fixed.error is not None:
        return REFUTED, f"with {plan.fix} Keras refuses {plan.label(fixed.error.node)}: {fixed.error.words()}"
    a, b = original.row(plan.subject), fixed.row(plan.subject)
    if a is None or b is None or a.shapes is None or b.shapes is None:
        return UNVERIFIED, f"{what} was not built"
    if a.shapes != b.shapes or a.params != b.params:
        return REFUTED, (
            f"{what} gives {a.output_shape} ({a.params} parameters) as written, "
            f"{b.output_shape} ({b.params} parameters) with {plan.fix}"
        )
    return CONFIRMED, f"{what} gives {a.output_shape} as written and with {plan.fix}: Keras takes the flag's truthiness"


def _same_model(plan: Plan, original: Build, fixed: Build | None, numeric: Numeric | None) -> tuple[Status, str]:
    subject = plan.subject
    what = plan.label(subject)
    if original.error is not None:
        return REFUTED, f"Keras refuses {what}: {original.error.words()}"
    if fixed is None:
        return UNVERIFIED, "no fixed model to compare"
    if fixed.error is not None:
        return REFUTED, f"without the wrapper Keras refuses {plan.label(fixed.error.node)}: {fixed.error.words()}"
    a, b = original.row(subject), fixed.row(subject)
    if a is None or b is None:
        return UNVERIFIED, "the head was not built"
    if a.shapes != b.shapes or a.params != b.params:
        return REFUTED, (
            f"{a.cls} gives {a.output_shape} with {a.params} parameters, "
            f"{b.cls} gives {b.output_shape} with {b.params} parameters"
        )
    claimed = plan.claimed_params
    if claimed is not None and claimed != a.params:
        return REFUTED, f"{what} has {a.params} parameters, kerascheck says {claimed}"
    plain = plan.label_text(subject, fixed=True) or b.cls
    text = f"{plan.label_text(subject)} and {plain} both give {a.output_shape} with {a.params} parameters"
    if numeric is None:
        return CONFIRMED, text
    if numeric.skipped is not None:
        return CONFIRMED, f"{text}; outputs not compared: {numeric.skipped}"
    batch = format_shape(numeric.batch)
    if not numeric.equal:
        return REFUTED, (
            f"{text}, but with the wrapped Dense's weights in the plain Dense their outputs on a random "
            f"batch {batch} differ (largest difference {numeric.max_abs_diff})"
        )
    text += f"; with shared weights their outputs on a random batch {batch} are equal (largest difference {numeric.max_abs_diff or 0.0:.2g})"
    if numeric.masked:
        if numeric.mask == "equal":
            text += "; a mask reaches the head, and both pass the same mask on"
        else:
            text += f"; a mask reaches the head, and the masks they pass on differ: {numeric.mask}"
    seconds = numeric.seconds
    if seconds and len(seconds) == 2 and seconds[1] > 0:
        wrapped, unwrapped = seconds
        text += (
            f"; one forward pass takes {wrapped * 1000:.2f} ms wrapped and {unwrapped * 1000:.2f} ms plain "
            f"({wrapped / unwrapped:.1f}x, {_timed_over(numeric.runs or [3, 3])})"
        )
    return CONFIRMED, text


def _timed_over(runs: list[int]) -> str:
    """How many calls the two timings are medians of: ``median of 3``, ``one call each``,
    ``medians of 1 and 3 calls`` (a call that takes long is timed once, see the worker)."""
    if len(set(runs)) == 1:
        return "one call each" if runs[0] == 1 else f"median of {runs[0]}"
    return f"medians of {' and '.join(map(str, runs))} calls"


def _refused(plan: Plan, original: Build, fixed: Build | None) -> tuple[Status, str]:
    subject = plan.subject
    what = plan.label(subject)
    error = original.error
    expected = plan.subject_input
    if error is None:
        row = original.row(subject)
        built = row.output_shape if row else "?"
        return (
            REFUTED,
            f"Keras builds {what} on {format_shape(expected) if expected else 'its input'} without an error: {built}",
        )
    got = error.input_shapes[0] if error.input_shapes else None
    if expected is not None and got is not None and len(expected) != len(got):
        return REFUTED, f"{what} gets {format_shape(got)} in Keras, kerascheck infers {format_shape(expected)}"
    text = f"Keras refuses {what} on {format_shape(got)}: {error.words()}{_upstream(plan, original)}"
    if fixed is None:
        return CONFIRMED, f"{text}; no fix to build (no RNN answers for the rank)"
    if fixed.error is not None:
        return (
            REFUTED,
            f"{text}; but with {plan.fix} Keras still refuses {plan.label(fixed.error.node)}: {fixed.error.words()}",
        )
    row = fixed.row(subject)
    built = row.output_shape if row else "?"
    return CONFIRMED, f"{text}; with {plan.fix} it builds: {built}"


def _target_rank(plan: Plan, original: Build, fixed: Build | None) -> tuple[Status, str]:
    if original.error is not None:
        error = original.error
        return UNVERIFIED, f"Keras refuses to build the model, at {plan.label(error.node)}: {error.words()}"
    targets = plan.targets or []
    if not original.outputs:
        return UNVERIFIED, "the model's output was not built"
    out = original.outputs[0]
    tshape = format_shape(targets)
    if len(out) == len(targets):
        return REFUTED, f"the model outputs {format_shape(out)}, the same rank as the targets {tshape}"
    text = (
        f"the model outputs {format_shape(out)} (rank {len(out)}) and {plan.method} gets targets "
        f"{tshape} (rank {len(targets)})"
    )
    if fixed is None:
        return CONFIRMED, text
    if fixed.error is not None:
        return (
            REFUTED,
            f"{text}; but with {plan.fix} Keras refuses {plan.label(fixed.error.node)}: {fixed.error.words()}",
        )
    if not fixed.outputs:
        return UNVERIFIED, f"{text}; the fixed model's output was not built"
    if len(fixed.outputs[0]) != len(targets):
        return (
            REFUTED,
            f"{text}; but with {plan.fix} it outputs {format_shape(fixed.outputs[0])}, still not the targets' rank",
        )
    return CONFIRMED, f"{text}; with {plan.fix} it outputs {format_shape(fixed.outputs[0])}"


def _input_refused(plan: Plan, result: JobResult) -> tuple[Status, str]:
    """KER108: the model runs on zeros of its own inputs' shapes and not on the data's."""
    if result.original.error is not None:
        error = result.original.error
        return UNVERIFIED, f"Keras refuses to build the model, at {plan.label(error.node)}: {error.words()}"
    run, call = result.run, plan.call or {}
    if run is None or run.skipped is not None:
        return UNVERIFIED, f"the model was not run: {run.skipped if run else 'no answer'}"
    if run.control is not None:
        return UNVERIFIED, f"Keras does not run the model on zeros of its own input shape: {run.control.words()}"
    data = ", ".join(format_shape(shape) for shape in call.get("data", []))
    if run.error is None:
        return REFUTED, f"Keras runs the model on zeros of shape {data} without an error"
    return (
        CONFIRMED,
        f"Keras runs the model on zeros of its own input shape and refuses zeros of shape {data}: {run.error.words()}",
    )
