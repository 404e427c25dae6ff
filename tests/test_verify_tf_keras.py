"""Verification with Keras 2 (the tf-keras package): the seed findings of every rule with a fix
are confirmed.

The worker's code runs in this process (``conftest.InProcessWorker`` on tf-keras), which has
imported TensorFlow already for the session's Keras 3: a worker process would import TensorFlow a
second time, for 5 to 10 s. What only the process shows for Keras 2 (``--keras tf_keras`` on its
command line, its import, its hello) is tested on a real worker with a stub tf-keras.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kerascheck.check import analyse
from kerascheck.verify import session
from kerascheck.verify.cache import Cache
from kerascheck.verify.client import Worker, WorkerOptions
from kerascheck.verify.plans import Plan
from kerascheck.verify.session import VerifyOptions, verify_plans
from kerascheck.verify.spec import attach_plans
from tests.conftest import FIXTURES, InProcessWorker, line_of


def _seed_plan(name: str, line: int) -> Plan:
    """The verification plan of the finding on ``line`` of the fixture ``name``."""
    path = FIXTURES / name
    source = path.read_text(encoding="utf-8")
    analysis = analyse(source, str(path))
    assert analysis is not None
    return next(f.verification.plan for f in attach_plans(analysis.findings, analysis, source) if f.line == line)


def test_tf_keras_confirms_the_seed_findings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
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
    started: list[WorkerOptions] = []

    def in_process(options: WorkerOptions) -> InProcessWorker:
        started.append(options)
        return InProcessWorker(options)

    monkeypatch.setattr(session, "Worker", in_process)  # the worker the session starts for these options
    out, _, stats = verify_plans(plans, VerifyOptions(keras="tf_keras", progress=False), cache=Cache(tmp_path))
    assert [options.keras for options in started] == ["tf_keras"]
    assert stats.environment is not None and stats.environment.module == "tf_keras"
    assert {v.status for v in out} == {"confirmed"}, [v.detail for v in out if v.status != "confirmed"]
    assert all(v.detail.startswith("tf-keras 2.") for v in out)
    # The KER101 heads compared by tf-keras itself, not taken from the session's Keras 3, which
    # compared the same heads (worker.head_key).
    from kerascheck.verify import worker

    assert sum(json.loads(key)[0][0] == "tf_keras" for key in worker._HEADS) == 2


def test_a_tf_keras_worker_process_imports_tf_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--keras tf_keras``: the worker process imports tf_keras (here a stub, and a stub
    TensorFlow beside it, so that nothing heavy is imported) and says so in its hello."""
    stub = tmp_path / "stub"
    for package, text in [
        ("tf_keras", "__version__ = '2.0-stub'\n"),
        ("tensorflow", "__version__ = '0.0-stub'\n"),
        ("keras", "raise ImportError('the Keras 2 worker imported Keras 3')\n"),
    ]:
        (stub / package).mkdir(parents=True)
        (stub / package / "__init__.py").write_text(text)
    monkeypatch.setenv("PYTHONPATH", str(stub))
    with Worker(WorkerOptions(keras="tf_keras")) as worker:
        assert "--keras tf_keras" in " ".join(worker.command())
        hello: dict[str, Any] = worker.start()
        assert (hello["module"], hello["keras"], hello["backend"]) == ("tf_keras", "2.0-stub", "tensorflow")
        assert hello["backend_version"] == "0.0-stub"
        assert worker.run({"sleep": 0}) == {}
