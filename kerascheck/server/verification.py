"""Verification on demand: plans go to ``kerascheck.verify`` in one background thread, which keeps
its Keras worker between requests (Keras is imported once per server, in the worker process).

Linting never waits for it: the lint thread only makes the plans. Verdicts are remembered by the
model they are about (the plan's job), so an edit elsewhere in the file does not lose them.
"""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from kerascheck.findings import Finding
from kerascheck.verify import verdict
from kerascheck.verify.cache import Cache
from kerascheck.verify.client import Worker, WorkerOptions
from kerascheck.verify.plans import JobResult, Plan, Verdict
from kerascheck.verify.session import VerifyOptions, verify_plans
from kerascheck.verify.spec import canonical


@dataclass(frozen=True)
class Verified:
    plan: Plan
    verification: Verdict
    result: JobResult | None  # the worker's builds, when Keras built anything

    @property
    def status(self) -> str:
        return self.verification.status

    @property
    def detail(self) -> str:
        return self.verification.detail


def _key(plan: Plan, options: VerifyOptions) -> str | None:
    job = plan.job
    return None if job is None else f"{options.keras}\0{options.python}\0{canonical(job)}"


class Verifier:
    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kerascheck-verify")
        self._workers: dict[WorkerOptions, Worker] = {}
        self._known: dict[str, Verified] = {}
        self._lock = threading.Lock()
        self._closed = False

    def known(self, plan: Plan, options: VerifyOptions) -> Verified | None:
        key = _key(plan, options)
        with self._lock:
            return None if key is None else self._known.get(key)

    def has_verdicts(self) -> bool:
        with self._lock:
            return bool(self._known)

    def submit(self, plans: list[Plan], options: VerifyOptions) -> Future[list[Verified]]:
        """Verify ``plans`` in the background; what is known already is not asked again."""
        return self._pool.submit(self._verify, plans, options)

    def _verify(self, plans: list[Plan], options: VerifyOptions) -> list[Verified]:
        known = [self.known(plan, options) for plan in plans]
        out = [k if k is not None and k.status != verdict.UNVERIFIED else None for k in known]
        todo = [i for i, known in enumerate(out) if known is None]
        if todo and not self._closed:
            wanted = [plans[i] for i in todo]
            worker_options = options.worker()
            worker = self._workers.get(worker_options)
            if worker is None:
                worker = self._workers[worker_options] = Worker(worker_options)
            try:
                verifications, results, _ = verify_plans(
                    wanted, options, worker=worker, cache=Cache(enabled=options.cache)
                )
            except Exception as error:  # the worker closed under us at shutdown, or a bug of ours
                reason = f"verification failed: {type(error).__name__}: {error}"
                verifications, results = [verdict.unverified(reason, p) for p in wanted], [None] * len(wanted)
            for i, plan, verification, result in zip(todo, wanted, verifications, results):
                done = Verified(plan, verification, result)
                out[i] = done
                key = _key(plan, options)
                if key is not None:
                    with self._lock:
                        self._known[key] = done
        for i in range(len(out)):
            if out[i] is None:
                out[i] = Verified(plans[i], verdict.unverified("the server is shutting down", plans[i]), None)
        return [v for v in out if v is not None]

    def close(self) -> None:
        """Stop the workers; a verification under way ends unverified."""
        self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        for worker in list(self._workers.values()):
            with contextlib.suppress(Exception):
                worker.close()


def explanation(finding: Finding, verified: Verified) -> str:
    """The two summaries side by side, as ``kerascheck explain`` prints them."""
    from kerascheck.verify.cli import render_explanation

    return render_explanation(finding, verified.plan, verified.verification, verified.result, width=160)
