"""What Keras' answer means for a finding: confirmed, refuted or unverified, and why.

- ``confirmed``: KER101, both build with the same output shape and parameter count, and the
  wrapper and the plain Dense give the same outputs with shared weights; KER102/103/106, Keras
  refuses the layer kerascheck reports (and builds it once the fix is made); KER104/105, the
  model's output rank differs from the targets' (and the fix makes them agree).
- ``refuted``: Keras disagrees with kerascheck, about the finding or about a shape kerascheck
  inferred on the way to it. That is a bug in kerascheck.
- ``unverified``: nothing to compare, with the reason.
"""

from __future__ import annotations

from typing import Any

CONFIRMED, REFUTED, UNVERIFIED = "confirmed", "refuted", "unverified"


def keras_words(environment: dict[str, Any] | None) -> str:
    if not environment:
        return "Keras"
    name = "tf-keras" if environment.get("module") == "tf_keras" else "Keras"
    if not environment.get("keras"):
        return name
    return f"{name} {environment['keras']} ({environment.get('backend', '?')})"


def shape_text(shape: list[Any] | None) -> str:
    if shape is None:
        return "(?)"
    parts = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def label_text(plan: dict[str, Any], node: str, fixed: bool = False) -> str | None:
    """How a node's layer is written in the source (in the fixed model: after the fix)."""
    if fixed and node in (plan.get("fixed_labels") or {}):
        return str(plan["fixed_labels"][node])
    text = ((plan.get("labels") or {}).get(node) or {}).get("text")
    return None if text is None else str(text)


def rows(plan: dict[str, Any], build: dict[str, Any] | None, fixed: bool = False) -> list[dict[str, Any]]:
    """A build's per-layer rows for users: where, what, Keras' class, output shape, parameters."""
    if not build:
        return []
    labels = plan.get("labels") or {}
    out = []
    for row in build.get("rows", []):
        label = labels.get(row["node"], {})
        entry = {
            "line": label.get("line"),
            "layer": label_text(plan, row["node"], fixed),
            "class": row["class"],
            "output_shape": row.get("output_shape"),
            "params": row.get("params"),
        }
        if row.get("error"):
            entry["error"] = row["error"]
        out.append(entry)
    return out


def unverified(reason: str, plan: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": UNVERIFIED, "detail": _with_notes(reason, plan), "original": [], "fixed": []}


def _with_notes(text: str, plan: dict[str, Any] | None) -> str:
    notes = (plan or {}).get("notes") or []
    return text if not notes else f"{text} (rebuilt with: {'; '.join(notes)})"


def _label(plan: dict[str, Any], node: str) -> str:
    label = (plan.get("labels") or {}).get(node, {})
    text = label.get("text") or node
    where = label.get("where") or label.get("line")
    return f"{text} on line {where}" if where is not None else text


def _first_line(message: str) -> str:
    line = message.strip().splitlines()[0] if message.strip() else message
    return line if len(line) <= 300 else line[:300] + " ..."


def _keras_error(error: dict[str, Any]) -> str:
    return f"{error['type']}: {_first_line(error['message'])}"


def _disagreements(plan: dict[str, Any], build: dict[str, Any]) -> list[str]:
    """Where a shape Keras built differs from the one kerascheck inferred (rank, or a known size)."""
    analyzer = plan.get("analyzer") or {}
    found = []
    for row in build.get("rows", []):
        ours, theirs = analyzer.get(row["node"]), row.get("shapes")
        if not ours or not theirs:
            continue
        for mine, keras in zip(ours, theirs):
            if mine is None or keras is None:
                continue
            same = len(mine) == len(keras) and all(a == "?" or a == b for a, b in zip(mine, keras))
            if not same:
                found.append(
                    f"{_label(plan, row['node'])}: kerascheck infers {_ours(mine)}, Keras builds {shape_text(keras)}"
                )
                break
    return found


def _ours(shape: list[Any]) -> str:
    parts = ["None" if d is None else str(d) for d in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _upstream(plan: dict[str, Any], build: dict[str, Any]) -> str:
    subs = build.get("substituted") or []
    if not subs:
        return ""
    named = ", ".join(f"{_label(plan, s['node'])} ({s['type']})" for s in subs)
    return f"; earlier layers Keras refused as kerascheck expects, each its own finding, were replaced by the shape kerascheck infers: {named}"


def judge(plan: dict[str, Any], result: dict[str, Any], environment: dict[str, Any] | None) -> dict[str, Any]:
    """The verification object of one finding from the worker's result for its job."""
    status, detail = _judge(plan, result)
    return {
        "status": status,
        "detail": _with_notes(f"{keras_words(environment)}: {detail}", plan),
        "original": rows(plan, result.get("original")),
        "fixed": rows(plan, result.get("fixed"), fixed=True),
    }


def _judge(plan: dict[str, Any], result: dict[str, Any]) -> tuple[str, str]:
    original = result["original"]
    fixed = result.get("fixed")
    subject = plan["subject"]
    code = plan["code"]
    error = original.get("error")
    if error is not None and error["phase"] == "construct":
        return UNVERIFIED, f"Keras cannot create {_label(plan, error['node'])}: {_keras_error(error)}"
    if fixed and fixed.get("error") and fixed["error"]["phase"] == "construct":
        return UNVERIFIED, f"Keras cannot create {_label(plan, fixed['error']['node'])}: {_keras_error(fixed['error'])}"
    if error is not None and error["node"] != subject:
        earlier = f"Keras refuses an earlier layer, {_label(plan, error['node'])}, which kerascheck expects to build: {_keras_error(error)}"
        # With nothing assumed, that is kerascheck reasoning on past a layer that cannot build;
        # with sizes or ranks assumed, it may be the assumption.
        return (
            (UNVERIFIED, earlier + " (perhaps because of what was assumed)")
            if plan.get("assumed")
            else (REFUTED, earlier)
        )
    disagreements = _disagreements(plan, original)
    if disagreements:
        return REFUTED, "shapes differ from what kerascheck infers: " + "; ".join(disagreements)
    if code == "KER101":
        return _ker101(plan, original, fixed, result.get("numeric"))
    if code in ("KER102", "KER103", "KER106"):
        return _rank_error(plan, original, fixed)
    return _targets(plan, original, fixed)


def _row(build: dict[str, Any] | None, node: str) -> dict[str, Any] | None:
    for row in (build or {}).get("rows", []):
        if row["node"] == node:
            return dict(row)
    return None


def _ker101(
    plan: dict[str, Any], original: dict[str, Any], fixed: dict[str, Any] | None, numeric: Any
) -> tuple[str, str]:
    subject = plan["subject"]
    what = _label(plan, subject)
    if original.get("error") is not None:
        return REFUTED, f"Keras refuses {what}: {_keras_error(original['error'])}"
    if not fixed:
        return UNVERIFIED, "no fixed model to compare"
    if fixed.get("error") is not None:
        return (
            REFUTED,
            f"without the wrapper Keras refuses {_label(plan, fixed['error']['node'])}: {_keras_error(fixed['error'])}",
        )
    a, b = _row(original, subject), _row(fixed, subject)
    if a is None or b is None:
        return UNVERIFIED, "the head was not built"
    if a.get("shapes") != b.get("shapes") or a.get("params") != b.get("params"):
        return REFUTED, (
            f"{a['class']} gives {a['output_shape']} with {a['params']} parameters, "
            f"{b['class']} gives {b['output_shape']} with {b['params']} parameters"
        )
    claimed = plan.get("claimed_params")
    if claimed is not None and claimed != a.get("params"):
        return REFUTED, f"{what} has {a['params']} parameters, kerascheck says {claimed}"
    plain = label_text(plan, subject, fixed=True) or b["class"]
    text = f"{label_text(plan, subject)} and {plain} both give {a['output_shape']} with {a['params']} parameters"
    if not isinstance(numeric, dict):
        return CONFIRMED, text
    if "skipped" in numeric:
        return CONFIRMED, f"{text}; outputs not compared: {numeric['skipped']}"
    batch = shape_text(numeric.get("batch"))
    if not numeric.get("equal"):
        diff = numeric.get("max_abs_diff")
        return REFUTED, (
            f"{text}, but with the wrapped Dense's weights in the plain Dense their outputs on a random "
            f"batch {batch} differ (largest difference {diff})"
        )
    text += f"; with shared weights their outputs on a random batch {batch} are equal (largest difference {numeric.get('max_abs_diff'):.2g})"
    mask = numeric.get("mask")
    if numeric.get("masked"):
        if mask == "equal":
            text += "; a mask reaches the head, and both pass the same mask on"
        else:
            text += f"; a mask reaches the head, and the masks they pass on differ: {mask}"
    seconds = numeric.get("seconds")
    if seconds and len(seconds) == 2 and seconds[1] > 0:
        wrapped, plain = seconds
        text += (
            f"; one forward pass takes {wrapped * 1000:.2f} ms wrapped and {plain * 1000:.2f} ms plain "
            f"({wrapped / plain:.1f}x, median of 3)"
        )
    return CONFIRMED, text


def _rank_error(plan: dict[str, Any], original: dict[str, Any], fixed: dict[str, Any] | None) -> tuple[str, str]:
    subject = plan["subject"]
    what = _label(plan, subject)
    error = original.get("error")
    expected = plan.get("subject_input")
    if error is None:
        row = _row(original, subject)
        built = row["output_shape"] if row else "?"
        return (
            REFUTED,
            f"Keras builds {what} on {_ours(expected) if expected else 'its input'} without an error: {built}",
        )
    got = (error.get("input_shapes") or [None])[0]
    if expected is not None and got is not None and len(expected) != len(got):
        return REFUTED, f"{what} gets {shape_text(got)} in Keras, kerascheck infers {_ours(expected)}"
    text = f"Keras refuses {what} on {shape_text(got)}: {_keras_error(error)}{_upstream(plan, original)}"
    fix = plan.get("fix")
    if fixed is None:
        return CONFIRMED, f"{text}; no fix to build (no RNN answers for the rank)"
    if fixed.get("error") is not None:
        return (
            REFUTED,
            f"{text}; but with {fix} Keras still refuses {_label(plan, fixed['error']['node'])}: {_keras_error(fixed['error'])}",
        )
    row = _row(fixed, subject)
    built = row["output_shape"] if row else "?"
    return CONFIRMED, f"{text}; with {fix} it builds: {built}"


def _targets(plan: dict[str, Any], original: dict[str, Any], fixed: dict[str, Any] | None) -> tuple[str, str]:
    if original.get("error") is not None:
        error = original["error"]
        return UNVERIFIED, f"Keras refuses to build the model, at {_label(plan, error['node'])}: {_keras_error(error)}"
    targets = plan.get("targets") or []
    outputs = original.get("outputs") or []
    if not outputs:
        return UNVERIFIED, "the model's output was not built"
    out = outputs[0]
    tshape = _ours(targets)
    if len(out) == len(targets):
        return REFUTED, f"the model outputs {shape_text(out)}, the same rank as the targets {tshape}"
    text = (
        f"the model outputs {shape_text(out)} (rank {len(out)}) and {plan.get('method', 'fit')} gets targets "
        f"{tshape} (rank {len(targets)})"
    )
    fix = plan.get("fix")
    if not fixed:
        return CONFIRMED, text
    if fixed.get("error") is not None:
        return (
            REFUTED,
            f"{text}; but with {fix} Keras refuses {_label(plan, fixed['error']['node'])}: {_keras_error(fixed['error'])}",
        )
    fouts = fixed.get("outputs") or []
    if not fouts:
        return UNVERIFIED, f"{text}; the fixed model's output was not built"
    if len(fouts[0]) != len(targets):
        return REFUTED, f"{text}; but with {fix} it outputs {shape_text(fouts[0])}, still not the targets' rank"
    return CONFIRMED, f"{text}; with {fix} it outputs {shape_text(fouts[0])}"
