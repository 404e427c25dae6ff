"""Verification with Keras 2 (the tf-keras package): the seed findings of every rule with a fix
are confirmed. A file of its own: its worker imports tf-keras (TensorFlow's Keras 2), not the
session's Keras 3, so it runs beside tests/test_verify_keras.py on another core.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kerascheck.check import analyse
from kerascheck.verify.cache import Cache
from kerascheck.verify.plans import Plan
from kerascheck.verify.session import VerifyOptions, verify_plans
from kerascheck.verify.spec import attach_plans
from tests.conftest import FIXTURES, line_of


def _seed_plan(name: str, line: int) -> Plan:
    """The verification plan of the finding on ``line`` of the fixture ``name``."""
    path = FIXTURES / name
    source = path.read_text(encoding="utf-8")
    analysis = analyse(source, str(path))
    assert analysis is not None
    return next(f.verification.plan for f in attach_plans(analysis.findings, analysis, source) if f.line == line)


def test_tf_keras_confirms_the_seed_findings(tmp_path: Path) -> None:
    pytest.importorskip("tf_keras", reason="tf-keras (Keras 2) is not installed")
    picks = [
        (
            "seed_question_timedistributed.py",
            line_of(FIXTURES / "seed_question_timedistributed.py", "TimeDistributed(keras.layers.Dense(InputSize))"),
        ),
        (
            "layers_embedding_masking.py",
            line_of(
                FIXTURES / "layers_embedding_masking.py",
                'layers.TimeDistributed(layers.Dense(12, activation="softmax"))(e)',
            ),
        ),
        (
            "ker102_time_distributed_on_vector.py",
            line_of(
                FIXTURES / "ker102_time_distributed_on_vector.py", "a = layers.TimeDistributed(layers.Dense(1))(a)"
            ),
        ),
        (
            "ker103_missing_return_sequences.py",
            line_of(
                FIXTURES / "ker103_missing_return_sequences.py", "l3 = layers.Bidirectional(layers.LSTM(16))(v_rnn)"
            ),
        ),
        ("ker104_per_sequence_output.py", line_of(FIXTURES / "ker104_per_sequence_output.py", "clf.fit(X, y_steps")),
        (
            "ker105_per_step_output.py",
            line_of(FIXTURES / "ker105_per_step_output.py", "wrapped.fit(X, np.random.random((N, 1)))"),
        ),
        (
            "ker106_sequence_into_repeatvector.py",
            line_of(FIXTURES / "ker106_sequence_into_repeatvector.py", "x = layers.RepeatVector(n_out)(x)"),
        ),
    ]
    plans = [_seed_plan(name, line) for name, line in picks]
    out, _, stats = verify_plans(plans, VerifyOptions(keras="tf_keras", progress=False), cache=Cache(tmp_path))
    assert stats.environment is not None and stats.environment.module == "tf_keras"
    assert {v.status for v in out} == {"confirmed"}, [v.detail for v in out if v.status != "confirmed"]
    assert all(v.detail.startswith("tf-keras 2.") for v in out)
