"""Differential testing against real Keras (issue 6): generated layer stacks, rendered in every
model form, must get exactly the findings the rules call for, as an oracle derives them from the
shapes and errors the installed Keras gives. See tests/differential.py for the generator, the
renderer and the oracle.

The suite runs a fixed-seed sample. The long run is behind an environment variable:

    KERASCHECK_DIFFERENTIAL_EXAMPLES=5000 python -m pytest -q tests/test_differential.py -k long

(``KERASCHECK_DIFFERENTIAL_SEED=<int>`` makes it reproducible; without it every run explores anew.)
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

pytest.importorskip("hypothesis", reason="hypothesis is a test dependency")

from hypothesis import HealthCheck, given, seed, settings

from tests import differential as diff
from tests.conftest import keras_or_skip

keras_or_skip()

SUITE_EXAMPLES = 300
RANK_EXAMPLES = 100  # KER107's programs (diff.rank_programs)
LONG_EXAMPLES = int(os.environ.get("KERASCHECK_DIFFERENTIAL_EXAMPLES", "0") or 0)
LONG_SEED = os.environ.get("KERASCHECK_DIFFERENTIAL_SEED")

_SETTINGS = {
    "deadline": None,
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
}


@pytest.fixture(scope="module", autouse=True)
def keras_imported() -> None:
    """Import Keras before hypothesis starts drawing (the generator asks Keras for shapes)."""
    diff.keras_module()


def assert_agrees(program: diff.Program) -> None:
    wrong = [case for case in diff.compare(program) if not case.agrees]
    assert not wrong, "kerascheck and the Keras oracle disagree:\n\n" + "\n\n".join(c.explain() for c in wrong)


@settings(derandomize=True, max_examples=SUITE_EXAMPLES, **_SETTINGS)
@given(diff.programs())
def test_kerascheck_agrees_with_keras(program: diff.Program) -> None:
    assert_agrees(program)


@settings(derandomize=True, max_examples=RANK_EXAMPLES, **_SETTINGS)
@given(diff.rank_programs())
def test_kerascheck_agrees_with_keras_on_input_ranks(program: diff.Program) -> None:
    """Inputs of rank 2 to 4, Flatten, Dense and pooling before layers that need a sequence (KER107)."""
    assert_agrees(program)


@pytest.mark.skipif(not LONG_EXAMPLES, reason="long run: set KERASCHECK_DIFFERENTIAL_EXAMPLES (e.g. 5000)")
def test_kerascheck_agrees_with_keras_long_run() -> None:
    run = given(diff.programs())(assert_agrees)
    run = settings(max_examples=LONG_EXAMPLES, **_SETTINGS)(run)
    if LONG_SEED is not None:
        run = seed(int(LONG_SEED))(run)
    run()


KER108_EXAMPLES = 30


def test_ker108_agrees_with_keras_on_random_fit_inputs() -> None:
    """Random arrays given to fit (tests/differential.py, KER108 section): reported wherever
    Keras refuses the model's input, never where the fit runs."""
    import random

    rng = random.Random(int(LONG_SEED) if LONG_SEED is not None else 108)
    count = max(KER108_EXAMPLES, LONG_EXAMPLES // 10)
    method = "fit" if LONG_EXAMPLES else "train_on_batch"  # the long run fits
    cases = [diff.compare_input_program(diff.generate_input_program(rng), method) for _ in range(count)]
    wrong = [case for case in cases if not case.agrees]
    assert not wrong, "KER108 and Keras disagree:\n\n" + "\n\n".join(case.explain() for case in wrong)
    assert any(case.reported for case in cases) and not all(case.reported for case in cases)


# The first programs of the test above, each also fit: they run, and are refused at the input and further in.
KER108_FITS = 4


def test_ker108s_oracle_trains_on_a_batch_as_fit_does() -> None:
    """The random-fit oracle's ``train_on_batch`` answers as ``fit`` does on the same programs: the
    fit runs, or Keras refuses it at the model's input, or further in, with the same message."""
    import random
    import re

    def answer(error: str | None) -> tuple[str, str]:
        if error is None:
            return "runs", ""
        where = "the input" if diff.InputCase.refused_at_input(error) else "further in"
        # What Keras says, without the repr of the arguments it got (fit's are tensors by then)
        # and the numbers of the names Keras gives layers (each model here has new ones).
        said = re.split(r"\n\s*Arguments received by", error)[0]
        return where, re.sub(r"'([A-Za-z][\w]*?)(?:_\d+)?'", r"'\1'", said)

    rng = random.Random(108)
    seen = set()
    for _ in range(KER108_FITS):
        program = diff.generate_input_program(rng)
        fits = {k: answer(e) for k, e in diff.fit_answers(program, "fit").items()}
        steps = {k: answer(e) for k, e in diff.fit_answers(program, "train_on_batch").items()}
        assert steps == fits, program.source()
        seen |= {where for where, _ in fits.values()}
    assert seen == {"runs", "the input", "further in"}, seen


# ---------------------------------------------------------------- the oracle itself


def test_the_oracle_derives_registered_rules_where_they_report() -> None:
    from kerascheck import rules

    assert set(diff.ORACLE_CODES) <= {rule.code for rule in rules.all_rules()}
    for code in diff.ORACLE_CODES:
        rule = rules.get(code)
        assert rule is not None and rule.reported_at in ("layer", "site", "train")


S = diff.Spec


def _program(input_dims, *specs, ops=()) -> diff.Program:
    return diff.Program(input_dims=input_dims, layers=[diff.Layer(s) for s in specs], ops=list(ops))


def _codes(program: diff.Program, start_known: bool = True) -> list[tuple[str, str, int]]:
    start = diff.TensorState((None,) + program.input_dims) if start_known else diff.UNKNOWN_TENSOR
    _, found = diff.expected(program, start)
    return [(code, anchor.kind, anchor.index) for code, anchor in found]


GRU16 = S("GRU", ((None, 16),))
GRU16_SEQ = S("GRU", ((None, 16), ("return_sequences", True)))
TD_DENSE = S("TimeDistributed", ((None, S("Dense", ((None, 15),))),))


def test_oracle_on_the_seed_question() -> None:
    # DESIGN.md: GRU(16, return_sequences=True) then TimeDistributed(Dense(15)) on (64, 15) inputs.
    assert _codes(_program((64, 15), GRU16_SEQ, TD_DENSE)) == [("KER101", "td", 1)]
    # return_sequences=False: the wrapper gets a vector.
    assert _codes(_program((64, 15), GRU16, TD_DENSE)) == [("KER102", "td", 1)]
    # Per-sequence output, per-step targets.
    fit = [diff.Compile(diff.LOSSES[0]), diff.Train("fit", "np.zeros((N, 64, 8))")]
    assert _codes(_program((64, 15), GRU16, S("Dense", ((None, 8),)), ops=fit)) == [("KER104", "train", 1)]


def test_oracle_keeps_judging_after_an_error() -> None:
    # The second GRU is refused (KER103), yet its own return_sequences fixes its output: the
    # third GRU gets a vector again (KER103), and the wrapper after it one more (KER102).
    program = _program((10, 3), GRU16, GRU16, GRU16, S("Dropout", ((None, 0.1),)), TD_DENSE)
    assert _codes(program) == [("KER103", "site", 1), ("KER103", "site", 2), ("KER102", "td", 4)]
    # After a layer other than an RNN is refused, nothing is known until a layer fixes the rank.
    program = _program((10, 3), GRU16_SEQ, S("RepeatVector", ((None, 2),)), S("Dense", ((None, 2),)), TD_DENSE)
    assert _codes(program) == [("KER106", "site", 1)]
    program = _program((10, 3), GRU16_SEQ, S("RepeatVector", ((None, 2),)), GRU16_SEQ, TD_DENSE)
    assert _codes(program) == [("KER106", "site", 1), ("KER101", "td", 3)]


def test_oracle_on_an_unknown_input() -> None:
    # A subclassed model's input is unknown: a Dense keeps whatever rank it gets, Flatten fixes 2.
    assert _codes(_program((10, 3), S("Dense", ((None, 4),)), TD_DENSE), start_known=False) == []
    assert _codes(_program((10, 3), S("Flatten"), TD_DENSE), start_known=False) == [("KER102", "td", 1)]


def test_oracle_follows_the_documented_target_conditions() -> None:
    seq_out = _program((10, 3), S("LSTM", ((None, 4), ("return_sequences", True))), S("Dense", ((None, 1),)))
    vec_out = _program((10, 3), S("LSTM", ((None, 4),)), S("Dense", ((None, 5),)))
    mse, sparse, custom = diff.LOSSES[0], diff.LOSSES[5], diff.LOSSES[-1]

    def with_ops(program, loss, target):
        return replace(program, ops=[diff.Compile(loss), diff.Train("fit", target)])

    assert _codes(with_ops(seq_out, mse, "np.zeros((N, 1))")) == [("KER105", "train", 1)]
    assert _codes(with_ops(seq_out, mse, "np.zeros((N, 10))")) == []  # one scalar per step
    assert _codes(with_ops(seq_out, custom, "np.zeros((N, 1))")) == []  # not a built-in loss
    assert _codes(with_ops(seq_out, sparse, "np.zeros((N, 1))")) == []  # sparse labels
    assert _codes(with_ops(vec_out, mse, "np.zeros((N, 10, 1))")) == [("KER104", "train", 1)]
    assert _codes(with_ops(vec_out, mse, "np.zeros((N, 5, 1))")) == []  # a Dense(5) forecast
    assert _codes(with_ops(vec_out, mse, 'np.load("y.npy")')) == []  # targets unknown
    # to_categorical drops a trailing axis of 1 before adding the classes: the oracle asks NumPy.
    target = "keras.utils.to_categorical(np.random.randint(0, 5, size=(N, 10, 1)), 5)"
    assert diff.target_shape(target) == (diff.N_SAMPLES, 10, 5)
    assert _codes(with_ops(vec_out, sparse, target)) == [("KER104", "train", 1)]


def test_rendered_lines_point_at_the_reported_nodes() -> None:
    program = _program((64, 15), GRU16, TD_DENSE)
    program.layers[1].split = True
    for form in diff.FORMS:
        source, lines = diff.render(program, form)
        text = source.splitlines()
        assert "TimeDistributed(" in text[lines[diff.Anchor("td", 1)] - 1], form
        site = text[lines[diff.Anchor("site", 1)] - 1]
        assert "layer1(" in site or "TimeDistributed(" in site or ".add(" in site, form


# ---------------------------------------------------------------- what it found

_MSE_FIT = [diff.Compile(diff.LOSSES[0]), diff.Train("fit", "np.zeros((N, 1))")]

FOUND = {
    # The programs the differential test found kerascheck wrong on, shrunk; each has a fixture
    # fixtures/differential_<name>.py.
    "spatial_dropout_rank": _program((5, 3), S("SpatialDropout1D", ((None, 0.1),)), TD_DENSE),
    "permute_rank": _program((6,), S("Permute", ((None, (2, 1)),)), S("Dropout", ((None, 0.1),)), TD_DENSE),
    "padding_time_steps": _program(
        (5, 2),
        S("ZeroPadding1D", ((None, (1, 0)),)),
        S("SimpleRNN", ((None, 1), ("return_sequences", True))),
        ops=_MSE_FIT,
    ),
    "upsampling_time_steps": _program(
        (1, 1),
        S("RepeatVector", ((None, 1),)),
        S("UpSampling1D", ((None, 2),)),
        S("LSTM", ((None, diff.HIDDEN), ("return_sequences", True))),
        S("Dense", ((None, 1),)),
        ops=_MSE_FIT,
    ),
    "reshape_inferred_axis": _program(
        (3, 3),
        S("LSTM", ((None, 4),)),
        S("Reshape", ((None, (-1, 2)),)),
        S("LSTM", ((None, 2), ("return_sequences", True))),
        ops=[diff.Compile(diff.LOSSES[0]), diff.Train("fit", "np.zeros((N, 2))")],
    ),
}


@pytest.mark.parametrize("name", sorted(FOUND))
def test_what_differential_testing_found(name: str) -> None:
    assert_agrees(FOUND[name])
