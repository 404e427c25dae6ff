"""KER109 non-boolean-flag: an RNN's boolean argument given a literal that is not a bool.

Keras never checks these flags: it takes their truthiness, so ``return_sequences="False"``
returns the whole sequence. Only a literal written in the argument itself is reported (a
variable may hold a bool, and the fix replaces the literal).
"""

from __future__ import annotations

import ast
import dataclasses
from collections.abc import Iterator

from kerascheck import shapes
from kerascheck.edits import Edit, SetFlag
from kerascheck.graph.model import Application, Const, Graph, Layer
from kerascheck.rules.base import Confirm, Example, MessagePart, Report, Rule, Verification, describe

CODE = "KER109"

FLAGS = ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")
# Recurrent layers that take the flags (Bidirectional has none of its own: its layers do).
RECURRENT = frozenset({"SimpleRNN", "LSTM", "GRU", "RNN", "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"})
# Strings that read as a bool to their author: what the fix writes, and whether Keras agrees.
READS_TRUE = frozenset({"true", "yes", "y", "t", "on", "1"})
READS_FALSE = frozenset({"false", "no", "n", "f", "off", "0", "none", ""})

# Literal values (a string, a number, None); a bool is no mistake, complex numbers and ``...`` no flag.
_LITERALS = (str, bytes, int, float, type(None))


def flag_arg(call: ast.Call, keyword: str) -> ast.keyword | None:
    """The ``keyword=`` argument of ``call`` when it is written as a literal there."""
    for arg in call.keywords:
        if arg.arg == keyword:
            value = arg.value
            if isinstance(value, ast.UnaryOp) and isinstance(value.op, (ast.USub, ast.UAdd)):
                value = value.operand
            literal = isinstance(value, ast.Constant) and type(value.value) in _LITERALS
            return arg if literal else None
    return None


def meant(value: object) -> tuple[bool, bool] | None:
    """The bool the author meant by ``value`` and whether Keras reads it so; None when unclear."""
    if value is None or isinstance(value, (int, float)):
        return bool(value), True
    if isinstance(value, str):
        word = value.strip().lower()
        if word in READS_TRUE:
            return True, bool(value)
        if word in READS_FALSE:
            return False, not value
    return None


def _layers(app: Application) -> Iterator[Layer]:
    """The recurrent layers of an application: the layer applied, or those a Bidirectional holds."""
    layer = app.layer
    if layer.kind in RECURRENT:
        yield layer
    elif layer.kind == "Bidirectional":
        for inner in (layer.inner, layer.kwargs.get("backward_layer")):
            if isinstance(inner, Layer) and inner.kind in RECURRENT:
                yield inner


def _output(app: Application, rnn: Layer, flag: str, truth: bool) -> str:
    """What the layer gives on its input with the flag's truthiness, when the shapes say."""
    applied = app.layer
    if flag not in ("return_sequences", "return_state") or not app.inputs or app.inputs[0].shape is None:
        return ""
    fixed_rnn = dataclasses.replace(rnn, kwargs={**rnn.kwargs, flag: Const(truth)})
    fixed = fixed_rnn
    if applied is not rnn:
        slot = "backward_layer" if applied.kwargs.get("backward_layer") is rnn else "layer"
        fixed = dataclasses.replace(applied, kwargs={**applied.kwargs, slot: fixed_rnn})
    inference, error = shapes.infer(fixed, [app.inputs[0].shape], {})
    outs = inference.outputs
    if error is not None or not outs or any(s is None for s in outs):
        return ""
    return f"; on {shapes.format_shape(app.inputs[0].shape)} {describe(applied)} gives {shapes.format_shapes(outs)}"


def check(graph: Graph) -> Iterator[Report]:
    for app in graph.applications:
        for rnn in _layers(app):
            for flag in FLAGS:
                arg = flag_arg(rnn.call, flag)
                value = rnn.kwargs.get(flag)
                if arg is None or not isinstance(value, Const) or isinstance(value.value, bool):
                    continue
                truth = bool(value.value)
                what = "None" if value.value is None else "a string" if isinstance(value.value, str) else "a number"
                text = f"{flag}={value.value!r} of {describe(rnn)} is {what}, not a bool: Keras takes it as {truth}"
                reading = meant(value.value)
                text += f", not the {reading[0]} it reads as" if reading is not None and reading[0] != truth else ""
                message: list[MessagePart] = [text + _output(app, rnn, flag, truth)]
                yield Report(CODE, arg, tuple(message), app, rnn)


def fix(report: Report) -> Edit | None:
    arg, rnn = report.node, report.rnn
    if not isinstance(arg, ast.keyword) or arg.arg is None or rnn is None:
        return None
    value = rnn.kwargs.get(arg.arg)
    if not isinstance(value, Const):
        return None
    reading = meant(value.value)
    if reading is None:
        return None
    return SetFlag(rnn.call, arg.arg, reading[0], reading[1])


RULE = Rule(
    code=CODE,
    name="non-boolean-flag",
    summary="A recurrent layer's boolean flag given a string, a number or None, whose truthiness Keras takes",
    words=FLAGS,
    what="""\
Finds `return_sequences`, `return_state`, `go_backwards`, `stateful` or `unroll` of a Keras RNN
(`LSTM`, `GRU`, `SimpleRNN`, `RNN`, `ConvLSTM1D/2D/3D`, or one inside `Bidirectional`) written as a
literal that is not a bool: a string (`"True"`, `"False"`), a number or `None`.
""",
    why="""\
Keras does not check these flags: it takes their truthiness. Every non-empty string is true, so
`return_sequences="False"` returns the whole sequence and `go_backwards="no"` reads the sequence
backwards: the layer does the opposite of what its author wrote, and nothing says so. `"True"` and
`1` work, by luck, as `True` does.
""",
    example=Example(
        bad="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(16, return_sequences="True"),  # a string: true by luck
    keras.layers.LSTM(8),
])
""",
        good="""\
import keras

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.LSTM(16, return_sequences=True),  # a string: true by luck
    keras.layers.LSTM(8),
])
""",
        line=5,
        column=27,
        message="return_sequences='True' of LSTM(16) is a string, not a bool: Keras takes it as True; "
        "on (None, 64, 15) LSTM(16) gives (None, 64, 16)",
    ),
    fix_text="""\
Replace the literal by the bool its author meant: `True` for `"True"` and non-zero numbers, `False`
for `0`, `""` and `None` (and for `"False"`, `"0"`, `"no"`); other strings get no fix.""",
    fix_applicability="safe",
    fix_safety="""\
where Keras already reads the literal as the bool written (`"True"`, `1`, `0`, `""`, `None`), the
layer does what it did. The fix of a true string that reads false (`"False"`, `"0"`, `"no"`) to
`False` is unsafe: it changes what the layer does, to what its author wrote.""",
    verification=Verification(Confirm.TRUTHINESS),
    reported_at="argument",
    check=check,
    fix=fix,
)
