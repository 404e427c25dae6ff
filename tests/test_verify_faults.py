"""``--verify`` never takes its own limits for Keras' answer (issue 16 items 11 to 14): memory
running out, a time limit, a killed worker, a corrupted cache, another backend are `unverified`
with the reason, never refuted, never cached, never a traceback.

The worker is the real one, over a stub ``keras`` that imports in no time and whose layers do
what the test file says (raise TensorFlow's out-of-memory error, MemoryError, hang, die).
"""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from kerascheck.check import analyse
from kerascheck.shapes import BUILDABLE
from kerascheck.verify.cache import Cache, key, well_formed
from kerascheck.verify.client import JobFailed, Worker, WorkerUnavailable
from kerascheck.verify.plans import Environment, Pending, Plan
from kerascheck.verify.session import VerifyOptions, probe, verify_plans
from kerascheck.verify.spec import attach_plans, canonical
from tests.conftest import FIXTURES

STUB = """\
import os, signal, time
__version__ = "0.0-stub"

class backend:
    @staticmethod
    def backend():
        return "stub"

class ResourceExhaustedError(Exception):
    pass

class _Tensor:
    def __init__(self, shape):
        self.shape = shape

def Input(batch_shape=None, dtype=None, **kwargs):
    return _Tensor(tuple(batch_shape))

class Layer:
    def __init__(self, *args, **kwargs):
        mode = open(os.environ["KERASCHECK_STUB_MODE"]).read().strip()
        if mode == "oom":
            raise ResourceExhaustedError("OOM when allocating tensor with shape[800000,200000] and type float")
        if mode == "memory":
            raise MemoryError()
        if mode == "sleep":
            time.sleep(60)
        if mode == "kill":
            os.kill(os.getpid(), signal.SIGKILL)

class layers:
    pass

for _name in NAMES:
    setattr(layers, _name, type(_name, (Layer,), {}))
layers.Layer = Layer
"""


def _plans(name: str) -> list[Plan]:
    path = FIXTURES / name
    source = path.read_text(encoding="utf-8")
    analysis = analyse(source, str(path))
    assert analysis is not None and analysis.results
    pending = [f.verification for f in attach_plans(analysis.findings, analysis, source)]
    return [p.plan for p in pending if isinstance(p, Pending)]


@pytest.fixture
def stub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The stub keras on PYTHONPATH; returns the file whose text says what its layers do."""
    package = tmp_path / "stub" / "keras"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(STUB.replace("NAMES", repr(sorted(BUILDABLE))))
    mode = tmp_path / "mode"
    mode.write_text("oom")
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "stub"))
    monkeypatch.setenv("KERASCHECK_STUB_MODE", str(mode))
    return mode


def _entries(root: Path) -> list[Path]:
    return list(root.rglob("*.json"))


def test_resource_limits_are_unverified_and_never_cached(stub: Path, tmp_path: Path) -> None:
    plans = _plans("seed_question_timedistributed.py")
    cache_root = tmp_path / "cache"
    options = VerifyOptions(progress=False, timeout=2.0)
    with Worker(options.worker()) as worker:
        for mode, reason in [
            ("oom", "ran out of memory: ResourceExhaustedError: OOM when allocating"),
            ("memory", "building ran out of memory: MemoryError"),
            ("sleep", "took longer than 2 s, the time limit"),
            ("kill", "killed by SIGKILL"),
        ]:
            stub.write_text(mode)
            out, _, stats = verify_plans(plans, options, worker=worker, cache=Cache(cache_root))
            assert [v.status for v in out] == ["unverified"] * len(plans), (mode, out)
            assert all(reason in v.detail for v in out), (mode, [v.detail for v in out])
            assert stats.refuted == 0 and _entries(cache_root) == [], mode
        assert worker.starts == 2  # one more after the time limit (the killed one is never replaced here)


def test_a_bad_cache_entry_is_a_miss(tmp_path: Path) -> None:
    plans = _plans("seed_question_timedistributed.py")
    options = VerifyOptions(progress=False)
    environment = probe(options)
    assert environment is not None
    cache = Cache(tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    bad: list[Any] = [{}, [], {"original": None}, {"original": {"rows": "x"}}, {"original": {"rows": [{}]}}]
    for entry in [*map(json.dumps, bad), deep, "{not json", ""]:
        for plan in plans:
            path = cache._path(key(canonical(plan.job), environment, options.settings()))
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(entry)
        out, _, stats = verify_plans(plans, options, worker=_FailingWorker(environment), cache=Cache(tmp_path))  # type: ignore[arg-type]
        assert stats.cached == 0 and [v.status for v in out] == ["unverified"], entry[:40]
    assert not well_formed({}) and not well_formed({"original": {"rows": [{"node": 1}]}})


class _FailingWorker:
    """A worker that starts and fails every job (a cache miss reaches it)."""

    def __init__(self, environment: Environment) -> None:
        self.hello: dict[str, Any] = asdict(environment)

    def start(self) -> dict[str, Any]:
        return self.hello

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        raise JobFailed("the job was tried")

    def close(self) -> None:
        pass


def test_the_key_has_the_backend_the_keras_and_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    text = canonical(_plans("seed_question_timedistributed.py")[0].job)
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    tensorflow = probe(VerifyOptions())
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    jax = probe(VerifyOptions())
    assert tensorflow is not None and jax is not None
    assert (tensorflow.backend, jax.backend) == ("tensorflow", "jax")
    settings = VerifyOptions().settings()
    keys = {
        key(text, tensorflow, settings),
        key(text, jax, settings),
        key(text, replace(tensorflow, keras="0.0"), settings),
        key(text, tensorflow, VerifyOptions(memory_mb=12000).settings()),
        key(text, tensorflow, VerifyOptions(python="/other/python").settings()),
    }
    assert len(keys) == 5


def test_a_cache_warmed_by_another_backend_serves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plans = _plans("seed_question_timedistributed.py")
    monkeypatch.setenv("KERAS_BACKEND", "tensorflow")
    options = VerifyOptions(progress=False)
    warm = probe(options)
    assert warm is not None
    cache = Cache(tmp_path)
    for plan in plans:
        cache.put(key(canonical(plan.job), warm, options.settings()), {"original": {"rows": []}, "fixed": None})
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    unavailable = _Unavailable()
    out, _, stats = verify_plans(plans, options, worker=unavailable, cache=Cache(tmp_path))  # type: ignore[arg-type]
    assert stats.cached == 0 and unavailable.started
    assert [v.status for v in out] == ["unverified"] and "jax" in out[0].detail


class _Unavailable:
    started = False

    def start(self) -> dict[str, Any]:
        self.started = True
        raise WorkerUnavailable("jax is not installed")

    def close(self) -> None:
        pass


def test_a_time_limit_of_nan_or_inf_is_refused(tmp_path: Path) -> None:
    from kerascheck import config
    from kerascheck.cli import main

    for value in ("nan", "inf", "-1", "soon"):
        with pytest.raises(SystemExit) as raised:
            main(["check", "--verify-timeout", value, str(FIXTURES / "noqa.py")])
        assert raised.value.code == 2
    for value in ("inf", "nan"):
        path = tmp_path / "pyproject.toml"
        path.write_text(f"[tool.kerascheck]\nverify-timeout = {value}\n")
        with pytest.raises(config.ConfigError, match="verify-timeout: must be a number of seconds above 0"):
            config.load(path)
