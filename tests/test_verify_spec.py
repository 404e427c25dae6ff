"""Verification, the part without Keras: findings -> plans (build specs as plain data)."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from kerascheck import shapes
from kerascheck.check import analyse
from kerascheck.findings import Finding
from kerascheck.report import Run
from kerascheck.report import text as text_report
from kerascheck.verify import worker
from kerascheck.verify.cache import Cache, key
from kerascheck.verify.client import Worker, WorkerOptions
from kerascheck.verify.plans import Environment, Plan, Verdict
from kerascheck.verify.session import Progress, VerifyOptions, verify_plans
from kerascheck.verify.spec import ALLOWLIST, attach_plans, canonical
from tests.conftest import FIXTURES, fixture_files, line_of


def plans_of(source: str, path: str = "model.py") -> list[Plan]:
    analysis = analyse(source, path)
    assert analysis is not None
    return [f.verification.plan for f in attach_plans(analysis.findings, analysis, source)]


def plan_at(path: Path, line: int, code: str | None = None) -> Plan:
    source = path.read_text(encoding="utf-8")
    analysis = analyse(source, str(path))
    assert analysis is not None
    for finding in attach_plans(analysis.findings, analysis, source):
        if finding.line == line and (code is None or finding.code == code):
            return finding.verification.plan
    raise AssertionError(f"no finding on line {line} of {path}")


def _classes(spec: dict) -> set[str]:
    return {layer["class"] for layer in spec["layers"].values()}


def test_the_worker_builds_only_the_tables_buildable_layers() -> None:
    assert {name for name, spec in shapes.TABLE.items() if spec.buildable} == ALLOWLIST
    assert "InputLayer" not in ALLOWLIST and "LSTM" in ALLOWLIST
    assert frozenset() == worker.ALLOWLIST  # until the parent says: it builds nothing it was not given
    assert f"--allow {','.join(sorted(ALLOWLIST))}" in " ".join(Worker(WorkerOptions()).command())


@pytest.mark.parametrize("path", fixture_files(), ids=[p.name for p in fixture_files()])
def test_every_fixture_finding_gets_a_plan_of_plain_data(path: Path) -> None:
    source = path.read_text(encoding="utf-8")
    analysis = analyse(source, str(path))
    if analysis is None or not analysis.results:
        return
    for finding in attach_plans(analysis.findings, analysis, source):
        plan = finding.verification.plan
        assert plan.unverified is None, (finding.line, plan.unverified)
        job = plan.job
        assert json.loads(json.dumps(job)) == job  # data only: JSON in, JSON out
        for spec in (job["original"], job["fixed"]):
            if spec is None:
                continue
            assert _classes(spec) <= ALLOWLIST
            for node in spec["nodes"]:
                assert all(isinstance(ref, str) for ref in node["inputs"])


def test_seed_question_spec() -> None:
    plan = plan_at(
        FIXTURES / "seed_question_timedistributed.py",
        line_of(FIXTURES / "seed_question_timedistributed.py", "TimeDistributed(keras.layers.Dense(InputSize))"),
    )
    job = plan.job
    original, fixed = job["original"], job["fixed"]
    assert original["inputs"] == [{"id": "i0", "shape": [None, 64, 15], "dtype": "float32"}]
    layers = {entry["class"]: entry["config"] for entry in original["layers"].values()}
    assert layers["GRU"] == {"units": 16, "return_sequences": True}
    assert layers["Dense"] == {"units": 15}
    subject = next(n for n in original["nodes"] if n["id"] == job["subject"])
    assert original["layers"][subject["layer"]]["class"] == "TimeDistributed"
    unwrapped = next(n for n in fixed["nodes"] if n["id"] == job["subject"])
    assert fixed["layers"][unwrapped["layer"]]["class"] == "Dense"
    assert job["numeric"] is True
    assert plan.notes == []


def test_fixes_flip_return_sequences_on_the_rnn_to_blame() -> None:
    ker103 = plan_at(
        FIXTURES / "ker103_missing_return_sequences.py",
        line_of(FIXTURES / "ker103_missing_return_sequences.py", "l3 = layers.Bidirectional(layers.LSTM(16))(v_rnn)"),
    ).job  # SimpleRNN(32) -> Bidirectional
    changed = [
        (lid, layer) for lid, layer in ker103["fixed"]["layers"].items() if layer != ker103["original"]["layers"][lid]
    ]
    assert [(layer["class"], layer["config"]["return_sequences"]) for _, layer in changed] == [("SimpleRNN", True)]

    ker106 = plan_at(
        FIXTURES / "ker106_sequence_into_repeatvector.py",
        line_of(FIXTURES / "ker106_sequence_into_repeatvector.py", "x = layers.RepeatVector(n_out)(x)"),
    ).job  # Bidirectional(LSTM) blamed
    changed = [layer for lid, layer in ker106["fixed"]["layers"].items() if layer != ker106["original"]["layers"][lid]]
    assert [(layer["class"], layer["config"]["return_sequences"]) for layer in changed] == [("LSTM", False)]

    ker104 = plan_at(
        FIXTURES / "ker104_per_sequence_output.py",
        line_of(FIXTURES / "ker104_per_sequence_output.py", "clf.fit(X, y_steps"),
    )
    assert ker104.targets == [256, 20, 4]
    assert ker104.fix == "return_sequences=True on LSTM(32) on line 15"


def test_a_return_sequences_false_fix_unwraps_the_time_distributed_dense_in_between() -> None:
    plan = plan_at(
        FIXTURES / "ker106_sequence_into_repeatvector.py",
        line_of(FIXTURES / "ker106_sequence_into_repeatvector.py", "y = layers.RepeatVector(n_out)(y)"),
    )
    assert (
        plan.fix
        == "return_sequences=False on SimpleRNN(16) on line 33 and TimeDistributed(Dense(8)) on line 34 unwrapped (KER101)"
    )
    fixed = plan.job["fixed"]
    assert "TimeDistributed" not in {fixed["layers"][n["layer"]]["class"] for n in fixed["nodes"]}


def test_keras2_spellings_and_arguments_are_mapped() -> None:
    cudnn = plan_at(
        FIXTURES / "spelling_cudnn.py", line_of(FIXTURES / "spelling_cudnn.py", "stacked.add(CuDNNLSTM(32))")
    )
    assert _classes(cudnn.job["original"]) == {"LSTM"}
    assert any("CuDNNLSTM" in note and "built as LSTM" in note for note in cudnn.notes)
    # input_shape= on the first layer became the spec's input, and is not a layer argument any more.
    assert cudnn.job["original"]["inputs"][0]["shape"] == [None, 100, 8]
    assert all("input_shape" not in layer["config"] for layer in cudnn.job["original"]["layers"].values())

    embedding = plan_at(
        FIXTURES / "spelling_keras2_paths.py",
        line_of(FIXTURES / "spelling_keras2_paths.py", "model.add(TimeDistributed(Dense(10)))"),
    )  # Embedding(20000, 128, input_length=80)
    configs = {layer["class"]: layer["config"] for layer in embedding.job["original"]["layers"].values()}
    assert configs["Embedding"] == {"input_dim": 20000, "output_dim": 128}
    assert embedding.job["original"]["inputs"][0]["shape"] == [None, 80]
    assert embedding.job["original"]["inputs"][0]["dtype"] == "int32"

    stateful = plan_at(
        FIXTURES / "spelling_keras2_paths.py",
        line_of(FIXTURES / "spelling_keras2_paths.py", "stateful.add(TimeDistributed(Dense(1)))"),
    )  # batch_input_shape=(16, 10, 4)
    assert stateful.job["original"]["inputs"][0]["shape"] == [16, 10, 4]

    keras1 = plans_of(
        "import keras\n"
        "m = keras.Sequential([keras.Input(shape=(5, 3)), keras.layers.LSTM(8, return_sequences=True),"
        " keras.layers.TimeDistributed(keras.layers.Dense(output_dim=2))])\n"
    )[0]
    dense = next(layer for layer in keras1.job["original"]["layers"].values() if layer["class"] == "Dense")
    assert dense["config"] == {"units": 2}


def test_unknown_sizes_become_distinct_small_numbers_and_the_detail_says_which() -> None:
    plan = plan_at(
        FIXTURES / "form_build_function.py",
        line_of(FIXTURES / "form_build_function.py", "model.add(layers.LSTM(units // 2))"),
    )  # LSTM(units) ... LSTM(units // 2), shape=(n_steps, 4)
    original = plan.job["original"]
    units = sorted(layer["config"]["units"] for layer in original["layers"].values() if layer["class"] == "LSTM")
    time_axis = original["inputs"][0]["shape"][1]
    assert len({*units, time_axis}) == 3 and all(isinstance(n, int) and 5 < n < 100 for n in [*units, time_axis])
    assert 4 not in units
    said = " ".join(plan.notes)
    for number in units:
        assert f"built with {number}" in said
    assert f"built as (None, {time_axis}, 4)" in said


def test_a_layer_kerascheck_cannot_rebuild_is_cut_off_when_it_can_be() -> None:
    plan = plan_at(
        FIXTURES / "control_custom_layer.py", line_of(FIXTURES / "control_custom_layer.py", "e = layers.LSTM(8)(e)")
    )  # LSTM(32) -> AddTimeAxis() -> LSTM(16) -> LSTM(8)
    original = plan.job["original"]
    assert _classes(original) == {"LSTM"}
    assert len(original["inputs"][0]["shape"]) == 3  # the rank LSTM(16) needs
    assert any("rank is not known statically" in note for note in plan.notes)


SOURCE_CUSTOM = """\
import keras
from keras import layers

class Mine(layers.Layer):
    pass

inp = keras.Input(shape=(10, 3))
x = layers.LSTM(8)(inp)
x = layers.TimeDistributed(Mine())(x)
options = load_options()  # a dict from code the analysis cannot see
y = layers.LSTM(8, **options)(inp)
"""


def test_what_cannot_be_rebuilt_is_unverified_with_the_reason() -> None:
    source = SOURCE_CUSTOM + "y = layers.LSTM(4)(y)\n"
    # LSTM(8, **options) has a hidden return_sequences: no finding there at all (precision first).
    plans = plans_of(source)
    assert [p.code for p in plans] == ["KER102"]
    assert (
        plans[0].unverified == "the layer TimeDistributed(...) on line 9 wraps is not a Keras layer kerascheck rebuilds"
    )
    assert plans[0].job is None


def test_a_blamed_rnn_with_a_non_literal_argument_that_matters_is_unverified() -> None:
    source = "import keras\nfrom keras import layers\nimport os\nbias = os.environ['B'] == '1'\n"
    source += "m = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(8, use_bias=bias), layers.LSTM(4)])\n"
    (plan,) = plans_of(source)
    assert plan.unverified == "use_bias= of LSTM(8) on line 5 is not a literal"


def test_cosmetic_arguments_that_are_not_literals_are_left_out_and_said() -> None:
    source = "import keras\nfrom keras import layers\nimport os\nact = os.environ['ACT']\n"
    source += "m = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(8, activation=act), layers.LSTM(4)])\n"
    (plan,) = plans_of(source)
    assert plan.unverified is None
    assert "activation= of LSTM(8) on line 5 is not a literal: left out (it does not change shapes)" in plan.notes


def test_equal_models_make_equal_jobs() -> None:
    one = "import keras\nfrom keras import layers\nm = keras.Sequential([keras.Input(shape=(10, 3)), layers.LSTM(8), layers.LSTM(4)])\n"
    two = "\n\nimport keras\nfrom keras import layers\nx = keras.Input((10, 3))\nx = layers.LSTM(8)(x)\ny = layers.LSTM(4)(x)\n"
    (a,), (b,) = plans_of(one), plans_of(two)
    assert canonical(a.job) == canonical(b.job)
    environment = Environment("keras", "3", "tensorflow", "2")
    assert key(canonical(a.job), environment) != key(canonical(a.job), replace(environment, keras="3.1"))
    assert key(canonical(a.job), environment) != key(canonical(a.job), replace(environment, backend="jax"))


def test_unverified_plans_need_no_worker(tmp_path: Path) -> None:
    plans = plans_of(SOURCE_CUSTOM + "y = layers.LSTM(4)(y)\n")

    class NoWorker:
        def start(self) -> dict:
            raise AssertionError("the worker was started for nothing")

    out, results, stats = verify_plans(plans, VerifyOptions(progress=False), worker=NoWorker(), cache=Cache(tmp_path))  # type: ignore[arg-type]
    assert [v.status for v in out] == ["unverified"]
    assert results == [None] and stats.unverified == 1 and stats.models == 0


def test_text_output_says_the_verdict_after_the_message() -> None:
    finding = Finding("m.py", 3, 1, 3, 9, "KER101", "redundant-time-distributed", "TimeDistributed(Dense(1)) ...")
    verified = replace(finding, verification=Verdict("confirmed", ""))
    assert text_report.render(Run([finding])).splitlines()[0].endswith("TimeDistributed(Dense(1)) ...")
    assert text_report.render(Run([verified])).splitlines()[0].endswith("TimeDistributed(Dense(1)) ... [confirmed]")


class _Stream:
    def __init__(self, tty: bool) -> None:
        self.tty, self.text = tty, ""

    def isatty(self) -> bool:
        return self.tty

    def write(self, text: str) -> None:
        self.text += text

    def flush(self) -> None:
        pass


def test_progress_shows_on_a_terminal_only() -> None:
    terminal, pipe = _Stream(True), _Stream(False)
    for stream in (terminal, pipe):
        progress = Progress(None, stream)  # type: ignore[arg-type]
        progress.say("kerascheck: verifying 1/2 models")
        progress.done()
    assert "verifying 1/2 models" in terminal.text and terminal.text.endswith("\r\x1b[2K")
    assert pipe.text == ""


def test_options_from_configuration() -> None:
    options = VerifyOptions.from_config({"verify": True, "verify-keras": "tf_keras", "verify-timeout": 5}, cache=False)
    assert (options.keras, options.timeout, options.cache) == ("tf_keras", 5, False)


def test_a_flag_from_a_dict_display_is_rebuilt_with_its_value() -> None:
    """``LSTM(8, **options)`` with ``options`` a literal dict: the layer is built from the dict's
    items, so the stacked-LSTM finding it causes is verified like any other."""
    source = "import keras\nfrom keras import layers\ninp = keras.Input(shape=(10, 3))\n"
    source += 'options = {"return_sequences": False, "dropout": 0.1}\n'
    source += "y = layers.LSTM(4)(layers.LSTM(8, **options)(inp))\n"
    (plan,) = plans_of(source)
    assert plan.code == "KER103"
    assert plan.unverified is None and plan.job is not None
    (lstm8,) = [layer for layer in plan.job["original"]["layers"].values() if layer["config"].get("units") == 8]
    assert lstm8["config"]["dropout"] == 0.1


@pytest.mark.parametrize(("seconds", "calls"), [(0.2, 1), (0.03, 2), (0.001, 3)])
def test_a_head_is_timed_over_three_calls_or_fewer_that_add_up_to_enough(
    monkeypatch: pytest.MonkeyPatch, seconds: float, calls: int
) -> None:
    """KER101's timing: repeats where a call is short, one call where it is long (a clock that
    advances ``seconds`` per call, never a real timing); the output is the first call's."""
    clock = iter(range(100))
    monkeypatch.setattr(worker.time, "perf_counter", lambda: next(clock) * seconds)
    made: list[int] = []

    def call() -> int:
        made.append(len(made))
        return len(made)

    output, median, runs = worker._timed(call, worker.TIMING_RUNS, worker.TIMING_SECONDS)
    assert (output, runs, len(made)) == (1, calls, calls)
    assert median == pytest.approx(seconds)  # a call's readings are one tick apart


class _Built:
    """What ``worker.shared_prefix`` reads of the original's build: its spec, the nodes it built."""

    def __init__(self, spec: dict, built: list[str]) -> None:
        self.spec, self.layer_of = spec, dict.fromkeys(built)


def _chain(*layers: tuple[str, dict]) -> dict:
    """A spec applying ``layers`` (class, config) one after the other; ``{"$layer": "L0"}`` in a
    config names the layer of the first node, "L1" the second's."""
    return {
        "inputs": [{"id": "i0", "shape": [None, 10, 3]}],
        "layers": {f"L{i}": {"class": cls, "config": config} for i, (cls, config) in enumerate(layers)},
        "nodes": [
            {"id": f"n{i}", "layer": f"L{i}", "inputs": ["i0" if i == 0 else f"n{i - 1}"], "style": "single"}
            for i in range(len(layers))
        ],
        "outputs": [f"n{len(layers) - 1}"],
    }


def test_a_fixed_model_shares_the_nodes_before_its_first_change() -> None:
    lstm, dense = ("LSTM", {"units": 4, "return_sequences": True}), ("Dense", {"units": 2})
    original = _chain(lstm, lstm, ("TimeDistributed", {"layer": {"$layer": "L3"}}), dense)
    built = _Built(original, ["n0", "n1", "n2", "n3"])
    assert worker.shared_prefix(built, original) == 4
    fixed = json.loads(json.dumps(original))
    fixed["layers"]["L1"]["config"]["units"] = 8  # the second layer changed
    assert worker.shared_prefix(built, fixed) == 1
    unwrapped = json.loads(json.dumps(original))
    unwrapped["nodes"][2]["layer"] = "L3"  # the wrapper's node applies the Dense it wrapped
    assert worker.shared_prefix(built, unwrapped) == 2
    inner = json.loads(json.dumps(original))
    inner["layers"]["L3"]["config"]["units"] = 3  # what the wrapper wraps changed
    assert worker.shared_prefix(built, inner) == 2
    assert worker.shared_prefix(_Built(original, ["n0"]), original) == 1  # not built past n0 (an error)
    other_input = json.loads(json.dumps(original))
    other_input["inputs"][0]["shape"] = [None, 10, 4]
    assert worker.shared_prefix(built, other_input) == 0


def test_a_layer_called_again_after_the_shared_nodes_is_not_shared() -> None:
    lstm = ("LSTM", {"units": 3, "return_sequences": True})
    original = _chain(lstm, ("GRU", {"units": 3, "return_sequences": True}), ("Dense", {"units": 3}))
    original["nodes"][2]["layer"] = "L0"  # the first LSTM again, on the GRU's output
    built = _Built(original, ["n0", "n1", "n2"])
    fixed = json.loads(json.dumps(original))
    fixed["layers"]["L1"]["config"]["units"] = 5
    # Only n0 is the same, and its LSTM is called again by n2, which is built anew: the fixed
    # build makes one LSTM of its own for both calls, so n0 is not taken from the original.
    assert worker.shared_prefix(built, fixed) == 0
