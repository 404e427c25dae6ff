"""KER109's fix: the bool its author meant, safe only where Keras already reads the literal so."""

from __future__ import annotations

import pytest

from kerascheck.check import analyse
from kerascheck.fix import fix_text, offers

TEMPLATE = """\
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 6)),
    keras.layers.GRU(4, go_backwards={value}),
])
"""


@pytest.mark.parametrize(
    ("value", "fixed", "applicability"),
    [
        ('"True"', "True", "safe"),
        ("1", "True", "safe"),
        ("2.5", "True", "safe"),
        ("0", "False", "safe"),
        ('""', "False", "safe"),
        ("None", "False", "safe"),
        ('"False"', "False", "unsafe"),
        ('"0"', "False", "unsafe"),
        ('"no"', "False", "unsafe"),
        ('"backwards"', None, None),
    ],
)
def test_fix_and_its_applicability(value: str, fixed: str | None, applicability: str | None) -> None:
    text = TEMPLATE.format(value=value)
    analysis = analyse(text, "m.py")
    assert analysis is not None
    assert [f.code for f in analysis.findings] == ["KER109"]
    offered = offers(analysis, "m.py")
    if fixed is None:
        assert offered == []
        return
    assert [o.fix.applicability for o in offered] == [applicability]
    assert fix_text(text, "m.py", unsafe=True)[0] == TEMPLATE.format(value=fixed)
    assert fix_text(text, "m.py", unsafe=False)[1] == (1 if applicability == "safe" else 0)


@pytest.mark.parametrize("value", ["True", "False", "flag", "bool(1)", "not flag"])
def test_bools_and_expressions_are_silent(value: str) -> None:
    analysis = analyse("flag = 'x'\n" + TEMPLATE.format(value=value), "m.py")
    assert analysis is None or analysis.findings == []
