"""One verification run: plans -> distinct jobs -> cache or worker -> a verdict per finding."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from kerascheck.findings import Finding
from kerascheck.verify import verdict
from kerascheck.verify.cache import Cache, key
from kerascheck.verify.client import JobFailed, Worker, WorkerOptions, WorkerUnavailable, chosen_backend
from kerascheck.verify.plans import Environment, JobResult, Pending, Plan, Verdict
from kerascheck.verify.spec import canonical
from kerascheck.verify.worker import exhausted

KERAS_MODULES = ("keras", "tf_keras")
MAX_WORKER_FAILURES = 3  # time limits or deaths before the rest of a run is left unverified


@dataclass(frozen=True)
class VerifyOptions:
    """How to verify. ``from_config`` reads the ``[tool.kerascheck]`` keys that concern it."""

    keras: str = "keras"  # "keras" (Keras 3) or "tf_keras" (Keras 2 through the tf-keras package)
    cache: bool = True
    python: str | None = None  # the Python whose Keras to use; None: this one
    backend: str | None = None  # None: KERAS_BACKEND, else ~/.keras/keras.json, else tensorflow
    timeout: float = 60.0  # per model pair
    memory_mb: int | None = 4096
    progress: bool | None = None  # None: on a terminal only

    @classmethod
    def from_config(cls, table: dict[str, Any], **overrides: Any) -> VerifyOptions:
        """Options from ``[tool.kerascheck]`` (``verify-keras``, ``verify-cache``,
        ``verify-timeout``, ``verify-python``, ``verify-memory-mb``), then ``overrides``."""
        values: dict[str, Any] = {}
        for name, attr in (
            ("verify-keras", "keras"),
            ("verify-cache", "cache"),
            ("verify-timeout", "timeout"),
            ("verify-python", "python"),
            ("verify-memory-mb", "memory_mb"),
        ):
            if name in table:
                values[attr] = table[name]
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def settings(self) -> dict[str, Any]:
        """The settings that can change what the worker answers (the cache key has them)."""
        return {"python": self.python or sys.executable, "memory_mb": self.memory_mb}

    def worker(self) -> WorkerOptions:
        return WorkerOptions(
            python=self.python or sys.executable,
            keras=self.keras,
            backend=self.backend,
            timeout=self.timeout,
            memory_mb=self.memory_mb,
        )


def config_enables_verify(table: dict[str, Any]) -> bool:
    """True when ``[tool.kerascheck]`` says ``verify = true`` (for config.py and the CLI)."""
    return table.get("verify") is True


@dataclass
class Stats:
    confirmed: int = 0
    refuted: int = 0
    unverified: int = 0
    models: int = 0  # distinct jobs (each an original model and its fixed version)
    built: int = 0  # jobs the worker ran (the rest came from the cache)
    cached: int = 0
    environment: Environment | None = None
    worker_seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    def count(self, status: str) -> None:
        setattr(self, status, getattr(self, status) + 1)


# ---------------------------------------------------------------- the environment


def _metadata(module: str, backend: str) -> dict[str, Any]:
    """Versions from package metadata (this function also runs, as source, in another Python)."""
    from importlib import metadata

    def version(*names: str) -> str | None:
        for name in names:
            try:
                return metadata.version(name)
            except Exception:
                pass
        return None

    if module == "tf_keras":
        keras, backend = version("tf-keras", "tf_keras"), "tensorflow"
    else:
        keras = version("keras")
    names = {
        "tensorflow": ("tensorflow", "tensorflow-cpu", "tensorflow-macos", "tensorflow-intel", "tf-nightly"),
        "jax": ("jax",),
        "torch": ("torch",),
    }.get(backend, ())
    return {"module": module, "keras": keras, "backend": backend, "backend_version": version(*names)}


def probe(options: VerifyOptions) -> Environment | None:
    """Keras' version and backend from package metadata, without importing Keras (a warm run
    must not pay for the import); None when that Python cannot say."""
    backend = chosen_backend(options.backend)
    python = options.python or sys.executable
    if python == sys.executable:
        return Environment.from_json(_metadata(options.keras, backend))
    script = "from __future__ import annotations\n" + inspect.getsource(_metadata)
    script += f"\nimport json\nprint(json.dumps(_metadata({options.keras!r}, {backend!r})))\n"
    try:
        done = subprocess.run([python, "-c", script], capture_output=True, text=True, timeout=30)
        data = json.loads(done.stdout) if done.returncode == 0 else None
        return Environment.from_json(data) if isinstance(data, dict) else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return None


def _exhausted(result: dict[str, Any]) -> str | None:
    """Why a result is a resource running out (memory), not Keras' answer; None when it is one."""
    for build in (result.get("original"), result.get("fixed")):
        error = build.get("error") if isinstance(build, dict) else None
        if isinstance(error, dict) and exhausted(str(error.get("type")), str(error.get("message"))):
            return f"building ran out of memory: {error.get('type')}: {str(error.get('message'))[:300]}"
    return None


# ---------------------------------------------------------------- progress


class Progress:
    """``verifying 12/40 models`` on one line of a terminal; silent elsewhere."""

    def __init__(self, enabled: bool | None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self._shown = False

    def say(self, text: str) -> None:
        if self.enabled:
            self.stream.write(f"\r\x1b[2K{text}")
            self.stream.flush()
            self._shown = True

    def done(self) -> None:
        if self.enabled and self._shown:
            self.stream.write("\r\x1b[2K")
            self.stream.flush()
            self._shown = False


# ---------------------------------------------------------------- the run


def verify_plans(
    plans: list[Plan],
    options: VerifyOptions,
    worker: Worker | None = None,
    cache: Cache | None = None,
    progress: Progress | None = None,
) -> tuple[list[Verdict], list[JobResult | None], Stats]:
    """A verification object per plan, the worker result behind each (None where there was
    none), and the run's figures. ``worker`` and ``cache`` may be given (tests share them)."""
    stats = Stats()
    cache = cache or Cache(enabled=options.cache)
    progress = progress or Progress(options.progress)
    texts: dict[str, dict[str, Any]] = {}
    for plan in plans:
        if plan.job is not None:
            texts.setdefault(canonical(plan.job), plan.job)
    stats.models = len(texts)
    results: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    environment = probe(options) if texts else None
    known = environment if environment is not None and environment.keras else None
    settings = options.settings()
    if known is not None:
        for text in texts:
            hit = cache.get(key(text, known, settings))
            if hit is not None:
                results[text] = hit
        stats.cached = len(results)
    pending = [text for text in texts if text not in results]
    own_worker = worker is None
    if pending:
        worker = worker or Worker(options.worker())
        start = time.perf_counter()
        try:
            progress.say(f"kerascheck: starting {options.keras} to verify {len(pending)} model(s)...")
            hello = Environment.from_json(worker.start())
            environment = hello
            keyed = known if known is not None and known.same_keras(hello) else hello
            if keyed is hello and known is not None:
                # The metadata did not tell the truth (a Keras on PYTHONPATH ...): trust the worker.
                results = {t: r for t, r in ((t, cache.get(key(t, hello, settings))) for t in texts) if r is not None}
                stats.cached = len(results)
                pending = [text for text in texts if text not in results]
            failed = 0
            for number, text in enumerate(pending, start=1):
                if failed >= MAX_WORKER_FAILURES:
                    failures[text] = f"not tried: the worker failed {failed} times in this run"
                    continue
                progress.say(f"kerascheck: verifying {number}/{len(pending)} models with {verdict.keras_words(hello)}")
                try:
                    result = worker.run(texts[text])
                except JobFailed as why:
                    failures[text] = str(why)
                    failed += 1
                    continue
                reason = _exhausted(result)
                if reason is not None:  # the machine's limit, not Keras' answer: never a verdict
                    failures[text] = reason
                    failed += 1
                    continue
                results[text] = result
                stats.built += 1
                cache.put(key(text, keyed, settings), result)
        except WorkerUnavailable as why:
            for text in pending:
                failures.setdefault(text, str(why))
        finally:
            stats.worker_seconds = time.perf_counter() - start
            progress.done()
            if own_worker and worker is not None:
                worker.close()
    stats.environment = environment
    out: list[Verdict] = []
    behind: list[JobResult | None] = []
    for plan in plans:
        found: JobResult | None = None
        if plan.job is None:
            verification = verdict.unverified(plan.unverified or "nothing to rebuild", plan)
        else:
            text = canonical(plan.job)
            answer = results.get(text)
            if answer is None:
                verification = verdict.unverified(failures.get(text, "no result"), plan)
            else:
                try:
                    found = JobResult.from_json(answer)
                    verification = verdict.judge(plan, found, environment)
                except (KeyError, TypeError, ValueError, AttributeError, IndexError) as error:
                    found = None
                    unreadable = f"the worker's result cannot be read ({type(error).__name__}: {error})"
                    verification = verdict.unverified(unreadable, plan)
        stats.count(verification.status)
        out.append(verification)
        behind.append(found)
    return out, behind, stats


def verify_findings(findings: Iterable[Finding], options: VerifyOptions, **kwargs: Any) -> tuple[list[Finding], Stats]:
    """Findings carrying their plans (``Pending``) -> verified."""
    findings = list(findings)
    pending = [(i, v.plan) for i, f in enumerate(findings) if isinstance(v := f.verification, Pending)]
    indexes = [i for i, _ in pending]
    plans = [plan for _, plan in pending]
    verifications, _, stats = verify_plans(plans, options, **kwargs)
    for i, verification in zip(indexes, verifications):
        findings[i] = replace(findings[i], verification=verification)
    return findings, stats


def verify_results(results: list[Any], options: VerifyOptions, **kwargs: Any) -> Stats:
    """The CLI's entry point: verify the findings of every file result, in place."""
    everything = [f for r in results for f in r.findings]
    verified, stats = verify_findings(everything, options, **kwargs)
    done = iter(verified)
    for r in results:
        r.findings = [next(done) for _ in r.findings]
    return stats


def summary_line(stats: Stats) -> str:
    """One line for stderr: what was verified, with which Keras, and how it went."""
    parts = [f"{stats.confirmed} confirmed", f"{stats.refuted} refuted", f"{stats.unverified} unverified"]
    models = f"{stats.models} model{'s' if stats.models != 1 else ''} ({stats.cached} from the cache)"
    if not stats.built and not stats.cached:
        return f"Could not verify with {verdict.keras_words(stats.environment)}: {', '.join(parts)}."
    return f"Verified with {verdict.keras_words(stats.environment)}: {', '.join(parts)}; {models}."
