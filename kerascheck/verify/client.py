"""The parent's side of the worker: start it, send it jobs, enforce its limits, survive its death."""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerascheck import shapes

WORKER = Path(__file__).with_name("worker.py")


@dataclass(frozen=True)
class WorkerOptions:
    python: str = sys.executable
    keras: str = "keras"  # the module the worker imports: "keras" or "tf_keras"
    backend: str | None = None  # KERAS_BACKEND for the worker; None: the user's setting or tensorflow
    timeout: float = 60.0  # seconds one job may take
    start_timeout: float = 180.0  # seconds importing Keras may take
    memory_mb: int | None = 4096  # address space limit of the worker
    cpu_seconds: int | None = None


class WorkerUnavailable(Exception):
    """The worker cannot serve at all (Keras missing, import failed, no Python): the reason."""


class JobFailed(Exception):
    """One job did not give a result (time limit, the worker died): the reason."""


def worker_env(options: WorkerOptions) -> dict[str, str]:
    env = dict(os.environ)
    env["KERAS_BACKEND"] = chosen_backend(options.backend)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    env.setdefault("PYTHONSAFEPATH", "1")  # Python 3.11+: no script or current folder on sys.path
    env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    env.pop("PYTHONSTARTUP", None)
    return env


def chosen_backend(backend: str | None = None) -> str:
    """The backend the worker runs: the one asked for, else KERAS_BACKEND, else keras.json's."""
    return backend or os.environ.get("KERAS_BACKEND") or default_backend()


def default_backend() -> str:
    """The backend Keras would pick without KERAS_BACKEND: keras.json's, else tensorflow."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json"), encoding="utf-8") as handle:
            backend = json.load(handle).get("backend")
        if isinstance(backend, str) and backend:
            return backend
    except (OSError, ValueError, AttributeError):
        pass
    return "tensorflow"


class Worker:
    """One worker process; ``run`` restarts it after a death, ``close`` ends it."""

    def __init__(self, options: WorkerOptions) -> None:
        self.options = options
        self.hello: dict[str, Any] | None = None
        self.fatal: str | None = None
        self.starts = 0
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._stderr: Any = None
        self._next_id = 0

    # ------------------------------------------------------------ process

    def command(self) -> list[str]:
        """The worker's command line; it may build the shape table's buildable layers only."""
        command = [self.options.python, str(WORKER), "--keras", self.options.keras]
        command += ["--allow", ",".join(sorted(shapes.BUILDABLE))]
        if self.options.memory_mb:
            command += ["--memory-mb", str(self.options.memory_mb)]
        if self.options.cpu_seconds:
            command += ["--cpu-seconds", str(self.options.cpu_seconds)]
        return command

    def start(self) -> dict[str, Any]:
        """Start the worker and wait for its hello; raises WorkerUnavailable with the reason."""
        if self.fatal is not None:
            raise WorkerUnavailable(self.fatal)
        if self._proc is not None:
            assert self.hello is not None
            return self.hello
        self.starts += 1
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 (read and closed when the worker stops)
        try:
            self._proc = subprocess.Popen(
                self.command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                cwd=tempfile.gettempdir(),
                env=worker_env(self.options),
                start_new_session=True,
            )
        except OSError as error:
            self.fatal = f"cannot run {self.options.python}: {error.strerror or error}"
            raise WorkerUnavailable(self.fatal) from None
        self._buffer = b""
        try:
            message = self._read(self.options.start_timeout)
        except JobFailed as why:
            self.fatal = f"the worker did not start: {why}"
            self.close()
            raise WorkerUnavailable(self.fatal) from None
        if "fatal" in message:
            self.fatal = str(message["fatal"])
            if message.get("missing"):
                self.fatal = f"{self.options.keras} is not installed for {self.options.python} ({self.fatal})"
            self.close()
            raise WorkerUnavailable(self.fatal)
        self.hello = message.get("hello") or {}
        return self.hello

    def close(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            try:
                if proc.stdin:
                    proc.stdin.close()
                proc.wait(timeout=2)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
            if proc.stdout:
                proc.stdout.close()
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None

    def _kill(self) -> None:
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        self.close()

    def _stderr_tail(self) -> str:
        if self._stderr is None:
            return ""
        try:
            self._stderr.seek(0)
            lines = [line for line in self._stderr.read().decode("utf-8", "replace").splitlines() if line.strip()]
        except OSError:
            return ""
        return lines[-1].strip()[:300] if lines else ""

    def _death(self) -> str:
        proc = self._proc
        code = proc.poll() if proc is not None else None
        if code is None:
            return "the worker closed its output"
        if code < 0:
            import signal

            try:
                name = signal.Signals(-code).name
            except ValueError:
                name = f"signal {-code}"
            what = f"the worker was killed by {name}"
            if name in ("SIGKILL", "SIGSEGV", "SIGABRT") and self.options.memory_mb:
                what += f" (out of memory? its limit is {self.options.memory_mb} MB)"
        else:
            what = f"the worker exited with status {code}"
        tail = self._stderr_tail()
        return f"{what}: {tail}" if tail else what

    def _read(self, timeout: float) -> dict[str, Any]:
        """The next protocol message, within ``timeout`` seconds."""
        proc = self._proc
        assert proc is not None and proc.stdout is not None
        deadline = time.monotonic() + timeout
        fd = proc.stdout.fileno()
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._buffer:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise JobFailed(f"Keras took longer than {timeout:g} s, the time limit, and was stopped")
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    proc.wait()
                    raise JobFailed(self._death())
                self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message: dict[str, Any] = json.loads(line)
            return message
        except ValueError:
            raise JobFailed(f"the worker said something that is not JSON: {line[:200]!r}") from None

    # ------------------------------------------------------------ jobs

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        """The worker's result for ``job``; raises JobFailed (the worker is then restarted on
        the next job) or WorkerUnavailable."""
        self.start()
        proc = self._proc
        assert proc is not None and proc.stdin is not None
        self._next_id += 1
        request = json.dumps({"id": self._next_id, "job": job}) + "\n"
        try:
            proc.stdin.write(request.encode("utf-8"))
            proc.stdin.flush()
        except OSError:
            proc.wait()
            reason = self._death()
            self._kill()
            raise JobFailed(reason) from None
        try:
            while True:
                message = self._read(timeout or self.options.timeout)
                if message.get("id") == self._next_id:
                    break
        except JobFailed:
            self._kill()
            raise
        return result_of(message)

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc: object) -> None:
        self._kill() if exc[0] is not None else self.close()


def result_of(message: dict[str, Any]) -> dict[str, Any]:
    """The result in a worker's answer to a job; raises JobFailed for an answer without one."""
    if "exhausted" in message:
        raise JobFailed(str(message["exhausted"]))
    if "error" in message:
        raise JobFailed(f"the worker failed: {message['error'].strip().splitlines()[-1]}")
    result: dict[str, Any] = message["result"]
    return result
