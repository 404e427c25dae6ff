"""Verification with real Keras: every fixture finding is confirmed, wrong specs are refuted, and
the worker's failures (no Keras, time limit, memory limit, death) become clear ``unverified``s.

The session's worker (``conftest.keras_worker``: the worker's code on this process's Keras)
serves the module; the worker's own process is tested where it is what is tested: its limits,
its death, no Keras.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import signal
from pathlib import Path

import pytest

from kerascheck.check import analyse
from kerascheck.verify.cache import Cache
from kerascheck.verify.client import JobFailed, Worker, WorkerOptions, WorkerUnavailable
from kerascheck.verify.plans import Plan
from kerascheck.verify.session import VerifyOptions, verify_plans
from kerascheck.verify.spec import attach_plans
from tests.conftest import FIXTURES, fixture_files, keras_or_skip, line_of, run_cli

keras_or_skip()

# Fixture findings that may stay unverified, and why that is legitimate. None today: every
# finding in fixtures/ is rebuilt and confirmed.
LEGITIMATELY_UNVERIFIED: dict[tuple[str, int, str], str] = {}


@pytest.fixture(scope="module")
def worker(keras_worker: Worker) -> Worker:
    """The session's worker (conftest.keras_worker): one Keras import serves these tests too."""
    keras_worker.start()
    return keras_worker


def _plans(path: Path) -> list:
    source = path.read_text(encoding="utf-8")
    analysis = analyse(source, str(path))
    if analysis is None or not analysis.results:
        return []
    return attach_plans(analysis.findings, analysis, source)


@pytest.fixture(scope="module")
def fixture_verdicts(worker, tmp_path_factory) -> dict[str, list[tuple[object, dict]]]:
    """Every fixture finding with its verification, all in one run of the shared worker."""
    findings = [f for path in fixture_files() for f in _plans(path)]
    plans = [f.verification.plan for f in findings]
    cache = Cache(tmp_path_factory.mktemp("verify-cache"))
    verifications, _, stats = verify_plans(plans, VerifyOptions(progress=False), worker=worker, cache=cache)
    assert stats.models > 100
    by_file: dict[str, list] = {}
    for finding, verification in zip(findings, verifications):
        by_file.setdefault(Path(finding.path).name, []).append((finding, verification))
    return by_file


@pytest.mark.parametrize("path", fixture_files(), ids=[p.name for p in fixture_files()])
def test_every_fixture_finding_is_confirmed(path: Path, fixture_verdicts) -> None:
    for finding, verification in fixture_verdicts.get(path.name, []):
        where = (path.name, finding.line, finding.code)
        assert verification.status != "refuted", f"Keras disagrees with kerascheck at {where}: {verification.detail}"
        if verification.status == "unverified":
            assert where in LEGITIMATELY_UNVERIFIED, f"unverified at {where}: {verification.detail}"
            continue
        assert verification.status == "confirmed"
        assert verification.original, where
        assert verification.detail.startswith("Keras 3.")


def _verdict(fixture_verdicts, name: str, line: int, code: str) -> dict:
    return next(v for f, v in fixture_verdicts[name] if f.line == line and f.code == code)


def test_the_seed_question_as_keras_builds_it(fixture_verdicts) -> None:
    verification = _verdict(
        fixture_verdicts,
        "seed_question_timedistributed.py",
        line_of(FIXTURES / "seed_question_timedistributed.py", "TimeDistributed(keras.layers.Dense(InputSize))"),
        "KER101",
    )
    original = [(r.cls, r.output_shape, r.params) for r in verification.original]
    fixed = [(r.cls, r.output_shape, r.params) for r in verification.fixed]
    assert original[1:] == [("GRU", "(None, 64, 16)", original[1][2]), ("TimeDistributed", "(None, 64, 15)", 255)]
    assert fixed[1:] == [("GRU", "(None, 64, 16)", original[1][2]), ("Dense", "(None, 64, 15)", 255)]
    detail = verification.detail
    assert "are equal" in detail and "ms wrapped" in detail
    assert re.search(r"\(\d+\.\dx, (median of [23]|medians of [123] and [123] calls|one call each)\)$", detail), detail


def test_the_timings_say_how_many_calls_they_are_medians_of(worker, tmp_path: Path, monkeypatch) -> None:
    """The session's worker times each head once (conftest.InProcessWorker); here with the
    worker's own repeats, and the detail for each way the calls can add up."""
    from dataclasses import replace

    from kerascheck.verify import verdict
    from kerascheck.verify import worker as worker_module

    monkeypatch.setattr(worker, "TIMING_RUNS", worker_module.TIMING_RUNS)
    plan = _seed_plan()
    (seed,), (result,), _ = verify_plans([plan], VerifyOptions(progress=False), worker=worker, cache=Cache(tmp_path))
    assert result is not None and result.numeric is not None and result.numeric.runs is not None
    assert all(1 <= runs <= worker_module.TIMING_RUNS for runs in result.numeric.runs), result.numeric
    assert seed.status == "confirmed" and "ms wrapped" in seed.detail
    for runs, words in [([3, 3], "median of 3"), ([1, 1], "one call each"), ([1, 3], "medians of 1 and 3 calls")]:
        timed = replace(result, numeric=replace(result.numeric, runs=runs))
        assert verdict.judge(plan, timed, None).detail.endswith(f"x, {words})"), (runs, words)


def test_masks_are_compared_where_one_reaches_the_wrapper(fixture_verdicts) -> None:
    masked = _verdict(
        fixture_verdicts,
        "layers_embedding_masking.py",
        line_of(
            FIXTURES / "layers_embedding_masking.py",
            'layers.TimeDistributed(layers.Dense(12, activation="softmax"))(e)',
        ),
        "KER101",
    )  # Embedding(mask_zero=True)
    assert "a mask reaches the head, and both pass the same mask on" in masked.detail
    plain = _verdict(
        fixture_verdicts,
        "layers_embedding_masking.py",
        line_of(FIXTURES / "layers_embedding_masking.py", "emb_td = layers.TimeDistributed(layers.Dense(8))"),
        "KER101",
    )  # no mask_zero
    assert "mask" not in plain.detail


def test_rank_errors_quote_keras(fixture_verdicts) -> None:
    verification = _verdict(
        fixture_verdicts,
        "ker103_missing_return_sequences.py",
        line_of(FIXTURES / "ker103_missing_return_sequences.py", "l1 = layers.LSTM(16)(v_lstm)"),
        "KER103",
    )
    assert "expected ndim=3, found ndim=2" in verification.detail
    assert verification.original[-1].error.startswith("ValueError")
    assert verification.fixed[-1].output_shape == "(None, 16)"


def test_a_rank_mismatch_builds_with_the_layer_its_message_suggests(fixture_verdicts) -> None:
    name = "ker107_rank_mismatch.py"
    sequence = _verdict(
        fixture_verdicts, name, line_of(FIXTURES / name, "layers.LSTM(16),  # expect: KER107"), "KER107"
    )
    assert "expected ndim=3, found ndim=2" in sequence.detail
    assert "with Reshape((15, 1)) before LSTM(16) on line" in sequence.detail
    assert [(r.layer, r.output_shape) for r in sequence.fixed[-2:]] == [
        ("Reshape((15, 1))", "(None, 15, 1)"),
        ("LSTM(16)", "(None, 16)"),
    ]
    vector = _verdict(fixture_verdicts, name, line_of(FIXTURES / name, "layers.RepeatVector(3)(seq_in)"), "KER107")
    assert "expected ndim=2, found ndim=3" in vector.detail
    assert vector.fixed[-1].output_shape == "(None, 3, 40)"  # RepeatVector(3) after Flatten() of (10, 4)


def _seed_plan(name: str = "seed_question_timedistributed.py", line: int | None = None) -> Plan:
    if line is None:
        line = line_of(FIXTURES / "seed_question_timedistributed.py", "TimeDistributed(keras.layers.Dense(InputSize))")
    return next(f.verification.plan for f in _plans(FIXTURES / name) if f.line == line)


def test_a_deliberately_wrong_spec_is_refuted(worker, tmp_path: Path) -> None:
    # KER101 with a "fix" that is not the inner Dense: shapes and parameters differ.
    wrong = copy.deepcopy(_seed_plan())
    for layer in wrong.job["fixed"]["layers"].values():
        if layer["class"] == "Dense":
            layer["config"]["units"] = 14
    # KER103 whose original already returns sequences: Keras builds it, no rank error.
    stacked = copy.deepcopy(
        _seed_plan(
            "ker103_missing_return_sequences.py",
            line_of(FIXTURES / "ker103_missing_return_sequences.py", "l1 = layers.LSTM(16)(v_lstm)"),
        )
    )
    for layer in stacked.job["original"]["layers"].values():
        if layer["class"] == "LSTM" and layer["config"]["units"] == 32:
            layer["config"]["return_sequences"] = True
    # KER104 with targets of the model's own rank.
    targets = copy.deepcopy(
        _seed_plan(
            "ker104_per_sequence_output.py", line_of(FIXTURES / "ker104_per_sequence_output.py", "clf.fit(X, y_steps")
        )
    )
    targets.targets = [256, 4]
    # A shape kerascheck claims that Keras does not build.
    shapes = copy.deepcopy(_seed_plan())
    shapes.analyzer[shapes.subject] = [[None, 64, 16]]
    # An earlier layer Keras refuses while kerascheck reasons on past it (nothing assumed).
    earlier = copy.deepcopy(_seed_plan())
    for spec in (earlier.job["original"], earlier.job["fixed"]):
        spec["inputs"][0]["shape"] = [None, 15]
    plans = [wrong, stacked, targets, shapes, earlier]
    out, _, _ = verify_plans(plans, VerifyOptions(progress=False), worker=worker, cache=Cache(tmp_path))
    assert [v.status for v in out] == ["refuted"] * 5, [v.detail for v in out]
    assert "Keras refuses an earlier layer, GRU(16) on line 11, which kerascheck expects to build" in out[4].detail
    assert "with 255 parameters, Dense gives (None, 64, 14) with 238 parameters" in out[0].detail
    assert "Keras builds (None, 60, 32)" in out[1].detail  # LSTM(32) now returns the sequence
    assert "the same rank as the targets" in out[2].detail
    assert "kerascheck infers (None, 64, 16), Keras builds (None, 64, 15)" in out[3].detail


def test_ker108_data_of_the_models_own_shape_is_refuted(worker, tmp_path: Path) -> None:
    # The model rebuilt from its declared input is run on zeros of the data's shape: changed to
    # the model's own shape, Keras runs it, and the finding is refuted.
    path = FIXTURES / "ker108_input_rank_mismatch.py"
    by_line = {f.line: f.verification.plan for f in _plans(path) if f.code == "KER108"}
    sequential = by_line[line_of(path, "listed.fit(X_flat, y, epochs=2)")]
    functional = by_line[line_of(path, "functional.predict(np.zeros((N, T, 16)))")]
    assert sequential.call["sequential"] and not functional.call["sequential"]
    plans = [sequential, functional]
    wrong = []
    for plan in plans:
        fixed = copy.deepcopy(plan)
        own = fixed.job["original"]["inputs"][0]["shape"]
        fixed.job["call"]["data"] = [[8, *own[1:]]]
        fixed.call = fixed.job["call"]
        wrong.append(fixed)
    out, _, _ = verify_plans(plans + wrong, VerifyOptions(progress=False), worker=worker, cache=Cache(tmp_path))
    assert [v.status for v in out] == ["confirmed", "confirmed", "refuted", "refuted"], [v.detail for v in out]
    assert "refuses zeros of shape (8, 15)" in out[0].detail
    assert "runs the model on zeros of shape (8, 64, 15) without an error" in out[2].detail


def test_a_model_called_on_in_several_places_is_run_on_its_own_shapes_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """KER108's control (the model on zeros of its own input shape) depends on the model alone:
    one run for every call on that model, the same answers as a run each."""
    from kerascheck import shapes
    from kerascheck.verify import worker as in_process

    monkeypatch.setattr(in_process, "ALLOWLIST", shapes.BUILDABLE)
    controls: dict[str, object] = {}
    monkeypatch.setattr(in_process, "_CONTROLS", controls)
    path = FIXTURES / "ker108_input_rank_mismatch.py"
    listed = [
        f.verification.plan.job
        for f in _plans(path)
        if f.code == "KER108" and f.line <= line_of(path, "listed(np.zeros((8, T)))")
    ]
    assert len(listed) >= 3 and len({json.dumps(job["call"]["data"]) for job in listed}) >= 2
    k = in_process.Keras("keras")
    once = [in_process.run_job(k, job) for job in listed]
    assert len(controls) == 1
    # A run of its own for each data shape the calls give (the calls with the same data ask the
    # same question: a control run each would add nothing but the control's cost).
    first = {json.dumps(job["call"]["data"]): i for i, job in reversed(list(enumerate(listed)))}
    each = {}
    for i in sorted(first.values()):
        controls.clear()
        each[i] = in_process.run_job(k, listed[i])
    assert 0 in each and len(each) >= 2
    assert [r["call"]["control"] for r in once] == [None] * len(listed)
    assert [each[i]["call"]["control"] for i in each] == [None] * len(each)

    def refused(result: dict) -> list[object]:
        return [(result["call"]["error"] or {}).get(key) for key in ("node", "phase", "type")]

    assert [refused(once[i]) for i in each] == [refused(r) for r in each.values()]
    assert all(refused(r) == ["model", "run", "ValueError"] for r in once)  # Keras' names differ from run to run


def test_a_fixed_model_takes_the_nodes_it_shares_with_the_original_from_its_build(monkeypatch) -> None:
    """The fixed model's nodes before its first change are the original's (``shared_prefix``):
    taken from the original's build, they give the report a build of their own gives."""
    from kerascheck import shapes
    from kerascheck.verify import worker as in_process

    monkeypatch.setattr(in_process, "ALLOWLIST", shapes.BUILDABLE)
    k = in_process.Keras("keras")
    seed = _seed_plan().job  # GRU, then the wrapper the fix unwraps: the GRU is shared
    stacked = _seed_plan(  # the fix changes the first LSTM: nothing is shared
        "ker103_missing_return_sequences.py",
        line_of(FIXTURES / "ker103_missing_return_sequences.py", "l3 = layers.Bidirectional(layers.LSTM(16))(v_rnn)"),
    ).job
    for job, shared in [(seed, True), (stacked, False)]:
        with k.shapes_only():
            original = in_process.Build(k, job["original"], job["subject"])
            taken = in_process.Build(k, job["fixed"], None, reuse=original)
            own = in_process.Build(k, job["fixed"], None)
        assert (taken.reused > 0) is shared and own.reused == 0
        assert taken.report() == own.report()
        for nid in list(taken.layer_of)[: taken.reused]:
            assert taken.layer_of[nid] is original.layer_of[nid]


def test_the_same_head_is_compared_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """KER101's comparison depends on the head alone (``worker.head_key``): the seed's wrapper
    after an LSTM instead of its GRU is compared once for both models, with the answer a run of
    its own gives (the numbers drawn and the times aside); another Dense is compared again."""
    from kerascheck import shapes
    from kerascheck.verify import worker as in_process

    monkeypatch.setattr(in_process, "ALLOWLIST", shapes.BUILDABLE)
    monkeypatch.setattr(in_process, "_HEADS", {})
    runs: list[str] = []
    compare = in_process.compare_heads

    def counted(k, original, fixed, subject):
        runs.append(subject)
        return compare(k, original, fixed, subject)

    monkeypatch.setattr(in_process, "compare_heads", counted)
    seed = _seed_plan().job
    lstm, wider = copy.deepcopy(seed), copy.deepcopy(seed)
    for side in ("original", "fixed"):
        for layer in lstm[side]["layers"].values():
            if layer["class"] == "GRU":
                layer["class"] = "LSTM"
        for layer in wider[side]["layers"].values():
            if layer["class"] == "Dense":
                layer["config"]["units"] += 1
    k = in_process.Keras("keras")
    answers = [in_process.run_job(k, job)["numeric"] for job in (seed, lstm, wider)]
    assert len(runs) == 2 and len(in_process._HEADS) == 2
    in_process._HEADS.clear()
    own = in_process.run_job(k, lstm)["numeric"]
    assert len(runs) == 3

    def answer(numeric: dict) -> dict:
        return {key: value for key, value in numeric.items() if key not in ("max_abs_diff", "seconds")}

    assert answer(answers[0]) == answer(answers[1]) == answer(own) and answers[1]["equal"] is True
    assert answers[2]["batch"] == answers[0]["batch"] and answers[2]["equal"] is True


def test_models_on_inputs_of_one_shape_share_one_keras_input(monkeypatch: pytest.MonkeyPatch) -> None:
    """``Keras.input``: one symbolic input for each shape and dtype, read by every model built on
    it; the builds report what builds on inputs of their own report."""
    from kerascheck import shapes
    from kerascheck.verify import worker as in_process

    monkeypatch.setattr(in_process, "ALLOWLIST", shapes.BUILDABLE)
    seed = _seed_plan().job
    k = in_process.Keras("keras")
    with k.shapes_only():
        first, second = (in_process.Build(k, seed[side], seed["subject"]) for side in ("original", "fixed"))
    assert first.tensors["i0"] is second.tensors["i0"] and len(k._inputs) == 1
    for build, side in [(first, "original"), (second, "fixed")]:
        own = in_process.Keras("keras")
        with own.shapes_only():
            assert in_process.Build(own, seed[side], seed["subject"]).report() == build.report()
    # A job done, the input keeps none of the layers called on it (they would live on).
    in_process.run_job(k, seed)
    assert all(not t._keras_history.operation._outbound_nodes for t in k._inputs.values())


def test_a_layer_that_needs_initialized_weights_is_built_the_usual_way(monkeypatch: pytest.MonkeyPatch) -> None:
    """A job that reads only shapes and parameters is built without initializing weights (Keras
    3's StatelessScope); a layer that makes a weight from a value is refused there, so that job is
    built again the usual way, and nothing the scope registered is kept."""
    import keras
    import numpy as np
    from keras.src.backend.common import global_state

    from kerascheck.verify import worker as in_process

    class ValueWeights(keras.layers.Layer):
        def build(self, input_shape: tuple) -> None:
            self.offset = keras.Variable(np.zeros(input_shape[-1:], "float32"))

        def call(self, x: object) -> object:
            return x + self.offset

    monkeypatch.setattr(keras.layers, "ValueWeights", ValueWeights, raising=False)
    monkeypatch.setattr(in_process, "ALLOWLIST", frozenset({"ValueWeights", "LSTM"}))
    spec = {
        "inputs": [{"id": "i0", "shape": [None, 5, 3], "dtype": "float32"}],
        "layers": {"L0": {"class": "LSTM", "config": {"units": 4}}, "L1": {"class": "ValueWeights", "config": {}}},
        "nodes": [
            {"id": "n0", "layer": "L0", "inputs": ["i0"], "style": "single"},
            {"id": "n1", "layer": "L1", "inputs": ["n0"], "style": "single"},
        ],
        "outputs": ["n1"],
    }
    k = in_process.Keras("keras")
    pending = global_state.get_global_attribute("uninitialized_variables", [], set_to_default=True)
    before = len(pending)
    with k.shapes_only():
        refused = in_process.Build(k, spec, None)
    assert refused.error is not None and "stateless scope" in refused.error["message"]
    assert len(pending) == before
    result = in_process.run_job(k, {"original": spec, "fixed": spec, "subject": "n1"})
    for build in (result["original"], result["fixed"]):
        assert build["error"] is None
        assert [(row["class"], row["shapes"], row["params"]) for row in build["rows"][1:]] == [
            ("LSTM", [[None, 4]], 128),
            ("ValueWeights", [[None, 4]], 4),
        ]
    assert len(pending) == before


class _NoWorker:
    def start(self) -> dict:
        raise AssertionError("the worker was started although everything was cached")

    def run(self, job: dict, timeout: float | None = None) -> dict:
        raise AssertionError("the worker was used although everything was cached")


def test_the_cache_is_hit_on_the_second_run(worker, tmp_path: Path) -> None:
    plans = [f.verification.plan for f in _plans(FIXTURES / "form_functional.py")]
    cache = Cache(tmp_path)
    first, _, cold = verify_plans(plans, VerifyOptions(progress=False), worker=worker, cache=cache)
    assert cold.built == cold.models > 0 and cold.cached == 0
    second, _, warm = verify_plans(plans, VerifyOptions(progress=False), worker=_NoWorker(), cache=Cache(tmp_path))  # type: ignore[arg-type]
    assert warm.cached == warm.models == cold.models and warm.built == 0
    assert [v.status for v in second] == [v.status for v in first]
    assert [v.original for v in second] == [v.original for v in first]
    _again, _, nocache = verify_plans(
        plans, VerifyOptions(progress=False), worker=worker, cache=Cache(tmp_path, enabled=False)
    )
    assert nocache.cached == 0 and nocache.built == cold.models


# ---------------------------------------------------------------- the worker's limits


@pytest.fixture
def stub_keras(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``keras`` that imports in no time, so that limits are tested on the real worker cheaply."""
    package = tmp_path / "stub" / "keras"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "__version__ = '0.0-stub'\nclass backend:\n    @staticmethod\n    def backend():\n        return 'stub'\n"
    )
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stub"))


def test_the_time_limit_stops_a_build_that_hangs(stub_keras) -> None:
    with Worker(WorkerOptions(timeout=1.0)) as stub:
        assert stub.start()["keras"] == "0.0-stub"
        with pytest.raises(JobFailed, match=r"took longer than 1 s, the time limit"):
            stub.run({"sleep": 30})
        assert stub.run({"sleep": 0}) == {}  # a fresh worker serves the next job
        assert stub.starts == 2


def test_the_memory_limit_applies_to_the_worker(stub_keras) -> None:
    with Worker(WorkerOptions(memory_mb=1024)) as stub:
        with pytest.raises(JobFailed, match=r"out of memory \(limit 1024 MB\)"):
            stub.run({"allocate_mb": 2048})
        assert stub.run({"allocate_mb": 16}) == {"allocated": 16 << 20}  # and it goes on


def test_a_worker_that_dies_is_reported_and_replaced(stub_keras) -> None:
    with Worker(WorkerOptions()) as stub:
        stub.start()
        os.kill(stub._proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
        stub._proc.wait()  # type: ignore[union-attr]
        with pytest.raises(JobFailed, match="killed by SIGKILL"):
            stub.run({"sleep": 0})
        assert stub.run({"sleep": 0}) == {}


def test_no_keras_means_unverified_with_the_reason(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "keras.py").write_text("raise ModuleNotFoundError(\"No module named 'keras'\", name='keras')\n")
    monkeypatch.setenv("PYTHONPATH", str(blocker))
    with pytest.raises(WorkerUnavailable, match="keras is not installed"):
        Worker(WorkerOptions()).start()
    plans = [f.verification.plan for f in _plans(FIXTURES / "seed_question_timedistributed.py")]
    out, _, stats = verify_plans(plans, VerifyOptions(progress=False), cache=Cache(tmp_path, enabled=False))
    assert [v.status for v in out] == ["unverified"]
    assert "keras is not installed for" in out[0].detail
    assert stats.unverified == 1


# ---------------------------------------------------------------- the command line


def test_verification_in_process_is_served_by_the_sessions_worker(
    shared_worker: Worker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``--verify`` in a test gets the session's worker (conftest.shared_worker) whether
    KERAS_BACKEND names the default backend or is unset; another backend gets a worker of its own
    (made, not started). A mismatch would start a Keras process for every such test."""
    from kerascheck.verify import client, session

    options = VerifyOptions().worker()
    for backend in (None, client.chosen_backend()):
        if backend is None:
            monkeypatch.delenv("KERAS_BACKEND", raising=False)
        else:
            monkeypatch.setenv("KERAS_BACKEND", backend)
        assert not isinstance(session.Worker(options), Worker), backend
    monkeypatch.setenv("KERAS_BACKEND", "jax" if client.chosen_backend() != "jax" else "tensorflow")
    assert isinstance(session.Worker(options), Worker)


def test_cli_verify_never_imports_the_file_and_caches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_worker: Worker
) -> None:
    source = FIXTURES / "verify_import_side_effects.py"
    work = tmp_path / "project"
    work.mkdir()
    copy_ = work / source.name
    shutil.copy(source, copy_)
    marker = copy_.with_suffix(".imported")
    monkeypatch.setenv("KERASCHECK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("KERASCHECK_NO_CACHE", raising=False)  # the warm run below is served by --verify's cache

    cold = run_cli("check", "--verify", "--format", "json", copy_.name, cwd=work)
    assert cold.returncode == 1, cold.stderr
    findings = json.loads(cold.stdout)
    assert [(f["line"], f["code"], f["verification"]["status"]) for f in findings] == [
        (12, "KER101", "confirmed"),
        (18, "KER103", "confirmed"),
    ]
    assert set(findings[0]["verification"]) == {"status", "detail", "original", "fixed"}
    assert findings[1]["verification"]["original"][-1]["error"].startswith("ValueError")
    assert "Verified with Keras 3" in cold.stderr and "(0 from the cache)" in cold.stderr
    assert not marker.exists(), "the linted file was imported or run"
    assert not (work / "__pycache__").exists()

    warm = run_cli("check", "--verify", "--output-format", "concise", copy_.name, cwd=work)
    assert warm.returncode == 1
    assert [line.rsplit(" ", 1)[-1] for line in warm.stdout.splitlines()[:2]] == ["[confirmed]", "[confirmed]"]
    assert "(2 from the cache)" in warm.stderr

    explained = run_cli("explain", f"{copy_.name}:12", cwd=work)
    assert explained.returncode == 0, explained.stderr
    out = explained.stdout
    assert "original" in out and "fixed: unwrapped to Dense(4)" in out
    assert "TimeDistributed(Dense(4))" in out and "Dense(4)" in out and "(None, 20, 4)" in out
    assert out.strip().splitlines()[-1].startswith("confirmed: Keras 3")
    assert not marker.exists()

    (work / "pyproject.toml").write_text("[tool.kerascheck]\nverify = true\n", encoding="utf-8")
    configured = run_cli("check", copy_.name, cwd=work)  # verify = true, no --verify
    assert configured.stdout.splitlines()[0].endswith("[confirmed]"), configured.stderr
    (work / "pyproject.toml").unlink()

    missing = run_cli("explain", f"{copy_.name}:3", cwd=work)
    assert (
        missing.returncode == 2
        and "no finding on line 3" in missing.stderr
        and re.search(r"\(findings at: 12:\d+, 18:\d+\)", missing.stderr)
    )

    blocker = tmp_path / "blocker"
    blocker.mkdir()
    (blocker / "keras.py").write_text("raise ModuleNotFoundError(\"No module named 'keras'\", name='keras')\n")
    monkeypatch.setenv("PYTHONPATH", f"{blocker}{os.pathsep}{os.environ.get('PYTHONPATH', '')}")
    without = run_cli("check", "--verify", "--no-cache", copy_.name, cwd=work)  # a worker of its own
    assert without.returncode == 1
    assert without.stdout.splitlines()[0].endswith("[unverified]")
    assert "could not verify: keras is not installed" in without.stderr
    assert "to get it: pip install 'kerascheck[verify]'" in without.stderr  # and how to get it
