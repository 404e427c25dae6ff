"""Fixes from the graph, not from spelling (issue 10 item 7): ``return_sequences`` given by
position is edited where it stands, whatever name the layer goes by; a keyword never silently
overrides a positional argument."""

from __future__ import annotations

import pytest

from kerascheck.check import check_source
from kerascheck.fix import fix_text

ALIASED = """\
import keras
from keras.layers import RNN as R, LSTMCell
model = keras.Sequential([keras.Input(shape=(30, 8)), R(LSTMCell(8), False), R(LSTMCell(4))])
"""


def test_a_positional_flag_is_edited_in_place_and_the_fixed_text_builds_in_keras() -> None:
    assert [f.code for f in check_source(ALIASED, "m.py")] == ["KER103"]
    fixed, count = fix_text(ALIASED, "m.py", unsafe=False)
    assert count == 1 and fixed == ALIASED.replace("R(LSTMCell(8), False)", "R(LSTMCell(8), True)")
    keras = pytest.importorskip("keras", reason="keras is a test dependency")
    namespace: dict[str, object] = {}
    exec(compile(fixed, "fixed.py", "exec"), namespace)  # the test's own text, in this process's Keras
    assert tuple(namespace["model"](keras.ops.zeros((1, 30, 8))).shape) == (1, 4)


def test_a_keyword_does_not_override_the_same_argument_given_by_position() -> None:
    # Python refuses `R(cell, False, return_sequences=True)`: nothing is known of that layer.
    doubled = ALIASED.replace("R(LSTMCell(8), False)", "R(LSTMCell(8), False, return_sequences=True)")
    assert check_source(doubled, "m.py") == []
