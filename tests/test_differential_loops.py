"""Differential testing against real Keras for loops of unknown count and attribute-bound models
(see tests/differential_loops.py for the renderings and the oracle over loop counts)."""

from __future__ import annotations

import random

import pytest

pytest.importorskip("hypothesis", reason="hypothesis is a test dependency")

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import differential as diff
from tests import differential_loops as loops
from tests.conftest import keras_or_skip

keras_or_skip()

SUITE_EXAMPLES = 150


@pytest.fixture(scope="module", autouse=True)
def keras_imported() -> None:
    diff.keras_module()


@settings(
    derandomize=True,
    max_examples=SUITE_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
@given(diff.programs(), st.integers(0, 2**32))
def test_loops_and_attributes_agree_with_keras(program: diff.Program, seed: int) -> None:
    wrong = [case for case in loops.compare(program, random.Random(seed)) if not case.agrees]
    assert not wrong, "kerascheck and the Keras oracle disagree:\n\n" + "\n\n".join(c.explain() for c in wrong)


S = diff.Spec
LSTM8_SEQ = S("LSTM", ((None, 8), ("return_sequences", True)))
LSTM8 = S("LSTM", ((None, 8),))
TD_DENSE = S("TimeDistributed", ((None, S("Dense", ((None, 3),))),))


def _program(*specs: diff.Spec) -> diff.Program:
    return diff.Program(input_dims=(10, 3), layers=[diff.Layer(s) for s in specs], ops=[])


def _found(program: diff.Program, body: int) -> set[tuple[str, int]]:
    start = diff.start_of(program, "sequential_add")
    found = loops.loop_expected(program, start, body)
    assert found is not None
    return {(code, anchor.index) for code, anchor in found}


def test_oracle_over_loop_counts() -> None:
    # Rank 3 on every count: the wrapper after the loop is redundant whether the loop runs or not.
    assert _found(_program(LSTM8_SEQ, LSTM8_SEQ, TD_DENSE), 1) == {("KER101", 2)}
    # A vector-making RNN in the loop: zero passes leave a sequence, so nothing after it is sure.
    assert _found(_program(LSTM8_SEQ, LSTM8, TD_DENSE), 1) == set()
    # ... and the loop's own RNN gets a sequence on the first pass, a vector on the next ones.
    assert _found(_program(LSTM8, LSTM8, LSTM8), 1) == set()
    # A pass-through layer in the loop: the RNN before it answers on every path.
    dropout = S("Dropout", ((None, 0.1),))
    assert _found(_program(LSTM8, dropout, LSTM8), 1) == {("KER103", 2)}


def test_rendered_loop_reads_as_a_function_of_the_sizes() -> None:
    program = _program(LSTM8_SEQ, LSTM8_SEQ, TD_DENSE)
    source, lines = loops.render_loop(program, 1, [4, 5])
    text = source.splitlines()
    assert "for units in sizes:" in text[lines[diff.Anchor("site", 1)] - 2]
    assert "LSTM(units" in text[lines[diff.Anchor("site", 1)] - 1]
    assert "build_model([int(arg) for arg in sys.argv[2:]] or [4, 5])" in source
    for form in loops.ATTRIBUTE_FORMS:
        source, lines = loops.render_attribute(program, form)
        assert "TimeDistributed(" in source.splitlines()[lines[diff.Anchor("td", 2)] - 1], form
