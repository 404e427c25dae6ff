"""Shared helpers: run the CLI as a user would, and read the expectations fixtures carry.

A fixture states its findings in two ways, and the tests hold it to both:

- ``# expect: KER101`` on the line of each finding (``# expect: KER101, KER101`` for two on one
  line), which is what a reader of the fixture sees;
- ``<fixture>.txt`` beside it, one finding a line as ``LINE:COLUMN CODE message``, in order: the
  snapshot that pins the column and the message. ``python -m tests.expectations FILE...`` writes
  it from what kerascheck reports now; read it before you commit it.
"""

from __future__ import annotations

import contextlib
import functools
import io
import json
import os
import re
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# No findings cache (.kerascheck_cache) in the repository or beside a fixture: runs here, and the
# processes they start, read and write none. tests/test_cache.py takes this away in its own folders.
os.environ.setdefault("KERASCHECK_NO_CACHE", "1")

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>KER\d+(?:\s*,\s*KER\d+)*)")
_SNAPSHOT_LINE = re.compile(r"^(?P<line>\d+):(?P<column>\d+) (?P<code>KER\d+) (?P<message>.*)$")

Expected = tuple[int, int, str, str]  # line, column, code, message


def checkout_env() -> dict[str, str]:
    """The environment for a subprocess that must run this checkout's kerascheck, whatever its
    working folder (not whichever kerascheck is installed)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), *filter(None, [env.get("PYTHONPATH")])])
    return env


def run_cli_process(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in a subprocess: for tests of what only a process shows (a crash stays in it,
    ``python -m kerascheck`` itself, another interpreter); others use ``run_cli``."""
    return subprocess.run(
        [sys.executable, "-m", "kerascheck", *args],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=checkout_env(),
        timeout=300,
    )


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The CLI in this process, in ``cwd``, reported as a subprocess would be: exit status
    (argparse's exits included), stdout and stderr."""
    from kerascheck import cli

    out, err = io.StringIO(), io.StringIO()
    with contextlib.chdir(cwd or ROOT), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = cli.main(list(args))
        except SystemExit as done:
            status = done.code if isinstance(done.code, int) else 0 if done.code is None else 2
    return subprocess.CompletedProcess(["kerascheck", *args], status, out.getvalue(), err.getvalue())


def flake8_findings(paths: list[Path]) -> set[tuple[str, int, int, str]]:
    """What ``flake8 -j1 --select KER`` reports on ``paths``: (file name, line, column, code).

    flake8's own ``main`` in this process, which finds the plugin by its entry point as the
    command does; a process of its own would import flake8, kerascheck and libcst again (about
    0.8 s). tests/test_fixtures.py runs the command, where finding the plugin is what is tested."""
    import tempfile

    from flake8.main import cli as flake8_cli

    from kerascheck import flake8_plugin

    err = io.StringIO()
    kept, flake8_plugin._resolver = flake8_plugin._resolver, None  # the tables read as in a new process
    try:
        with tempfile.TemporaryDirectory() as folder, contextlib.chdir(ROOT), contextlib.redirect_stderr(err):
            output = Path(folder) / "flake8.txt"
            flake8_cli.main(["-j1", "--select", "KER", "--output-file", str(output), *map(str, paths)])
            stdout = output.read_text(encoding="utf-8")
    finally:
        flake8_plugin._resolver = kept
    assert "Traceback" not in err.getvalue(), err.getvalue()[-2000:]
    found = set()
    for line in stdout.splitlines():
        match = re.match(r"(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>KER\d+)", line)
        assert match, line
        found.add((Path(match["path"]).name, int(match["line"]), int(match["col"]), match["code"]))
    return found


def expected_in(text: str) -> Counter[tuple[int, str]]:
    """``(line, code)`` -> how many, from the ``# expect: KER101`` comments of a text (a file, a
    notebook's cell)."""
    found: Counter[tuple[int, str]] = Counter()
    for number, line in enumerate(text.splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group("codes").split(","))
    return found


def expectations(path: Path) -> Counter[tuple[int, str]]:
    """``(line, code)`` -> how many, from the ``# expect: KER101`` comments of a fixture."""
    return expected_in(path.read_text(encoding="utf-8"))


def snapshot_path(path: Path) -> Path:
    return path.with_suffix(".txt")


def snapshot(path: Path) -> list[Expected] | None:
    """The findings ``<fixture>.txt`` lists, in order; None when the fixture has no snapshot."""
    where = snapshot_path(path)
    if not where.exists():
        return None
    found = []
    for number, line in enumerate(where.read_text(encoding="utf-8").splitlines(), start=1):
        match = _SNAPSHOT_LINE.match(line)
        assert match, f"{where}:{number}: not LINE:COLUMN CODE message: {line!r}"
        found.append((int(match["line"]), int(match["column"]), match["code"], match["message"]))
    return found


def render_snapshot(findings: list[Expected]) -> str:
    return "".join(f"{line}:{column} {code} {message}\n" for line, column, code, message in sorted(findings))


@functools.cache
def libcst_module(path: Path) -> Any:
    """libcst's tree of a fixture, parsed once for the process: the tests that compare with
    libcst's own walks and positions read it and never change it (libcst's nodes are frozen)."""
    import libcst as cst

    return cst.parse_module(path.read_text(encoding="utf-8"))


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))


def fixture_key(path: Path) -> str:
    """A fixture's name relative to fixtures/ (two folders may hold the same file name)."""
    return Path(path).resolve().relative_to(FIXTURES).as_posix()


def line_of(path: Path, text: str) -> int:
    """The line of the one line of ``path`` that contains ``text``: tests name a fixture's finding
    by what is written there, never by a line number that an edit of the fixture would move."""
    lines = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line]
    assert len(lines) == 1, f"{text!r} is on {len(lines)} lines of {path.name}, not one"
    return lines[0]


def once_per_run(name: str, tmp_path_factory: pytest.TempPathFactory, make: Callable[[], Any]) -> Any:
    """``make()``'s JSON value, made once for the whole run: the first test process to ask makes
    it and leaves it in the run's temporary folder, the others (``pytest -n``) read it there, and
    wait for it while it is being made. Only for what comes out the same in every process."""
    try:
        import fcntl
    except ImportError:  # not on this platform: each process makes its own
        return make()
    if os.environ.get("PYTEST_XDIST_WORKER") is None:
        return make()
    where = tmp_path_factory.getbasetemp().parent / f"once-{name}.json"
    with open(where.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if where.exists():
            return json.loads(where.read_text(encoding="utf-8"))
        value = make()
        where.write_text(json.dumps(value), encoding="utf-8")
        return value


@pytest.fixture(scope="session")
def cli_fixture_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """``kerascheck check --format json --jobs 1 fixtures/``, in process, once for the run (the
    fixture tests and the CLI's may run in two processes)."""

    def run() -> list[Any]:
        done = run_cli("check", "--format", "json", "--jobs", "1", str(FIXTURES))
        return [done.args, done.returncode, done.stdout, done.stderr]

    args, status, stdout, stderr = once_per_run("cli-fixture-run", tmp_path_factory, run)
    return subprocess.CompletedProcess(args, status, stdout, stderr)


@pytest.fixture(scope="session")
def cli_fixture_findings(cli_fixture_run: subprocess.CompletedProcess[str]) -> dict[str, list[dict]]:
    """The CLI's JSON findings over the whole fixtures folder, by fixture (``fixture_key``)."""
    result = cli_fixture_run
    assert result.returncode == 1, result.stderr  # the fixtures have findings
    by_file: dict[str, list[dict]] = {}
    for finding in json.loads(result.stdout):
        by_file.setdefault(fixture_key(Path(finding["path"])), []).append(finding)
    return by_file


# ---------------------------------------------------------------- the order of the files

# The files that run Keras in the test process. They import it when a test first needs it, never
# when they are collected, and ``pytest -n`` gives them all to one worker, as one unit of work
# (``KERAS_UNITS``): the files that verify (the session's worker, ``keras_worker``, serves them
# all) and the files that ask Keras as an oracle. A process that imports Keras and TensorFlow
# spends 5 to 10 s of CPU on it: one such process, not every worker. The unit is about half of
# the suite's CPU; should it grow past what the other workers run beside it, split it in two.
KERAS_UNITS = {
    "the files that run Keras": frozenset(
        {
            "test_differential.py",
            "test_differential_loops.py",
            "test_fix_positional.py",
            "test_inline_keras.py",
            "test_ker108.py",
            "test_readme.py",
            "test_rules.py",
            "test_server.py",
            "test_shapes_keras.py",
            "test_unseen_layer_changes.py",
            "test_verify_keras.py",
            "test_verify_tf_keras.py",
        }
    ),
}
KERAS_FILES = frozenset().union(*KERAS_UNITS.values())
_KERAS_UNIT_OF = {name: unit for unit, names in KERAS_UNITS.items() for name in names}

# The files that take longest, longest first (CPU per file, measured on 2 cores). With
# ``--dist loadfile`` each file runs on one worker (the Keras files in their unit, which the first
# file here starts; the first file outside it starts the other worker) and a worker takes the next
# file when it is done: started first, the long ones run beside the many short ones instead of
# after them.
LONGEST_FIRST = (
    "test_verify_keras.py",
    "test_differential.py",
    "test_fix.py",
    "test_server.py",
    "test_robustness.py",
    "test_precommit.py",
    "test_deep.py",
    "test_fix_replay.py",
    "test_fix_work.py",
    "test_shared_work.py",
    "test_keras_package.py",
    "test_positions.py",
    "test_cache.py",
    "test_fuzz.py",
)


def _distributes(config: pytest.Config) -> bool:
    """Whether this process is xdist's controller, which hands the tests to its workers and runs
    none of them (xdist's own test: a distribution mode and workers to give them to)."""
    if hasattr(config, "workerinput") or config.getvalue("collectonly"):
        return False
    return config.getoption("dist", "no") != "no" and bool(config.getoption("tx", None))


def pytest_configure(config: pytest.Config) -> None:
    """Compile the checkout's package once, before the workers start. The suite starts hundreds of
    Python processes that import kerascheck (the CLI, flake8, the server, verify workers); where
    PYTHONDONTWRITEBYTECODE is set, as on the machines this suite was measured on, none of them writes what it
    compiles, and each compiled the package from source again: 37 s of the suite's CPU on 2 cores
    (245 s → 208 s). ``compileall`` writes whatever that variable says and skips files already
    compiled, so a second run costs a stat per file."""
    if not _distributes(config):
        # pytest-lsp's hooks (the server's log in a failing server test's report), in the
        # processes that run tests: named in pyproject.toml's addopts, xdist's controller, which
        # runs none, would import it (lsprotocol's types, 0.7 s) before it starts the workers.
        config.pluginmanager.import_plugin("pytest_lsp")
    if hasattr(config, "workerinput"):  # an xdist worker: the controller has done it
        count, index = config.workerinput.get("workercount", 1), int(config.workerinput["workerid"][2:] or 0)
        cache_rewritten_tests(config, lambda n: n % count == index)  # the workers share the work
        return
    if not _distributes(config):
        cache_rewritten_tests(config, lambda n: True)
    import compileall

    for folder in (ROOT / "kerascheck", ROOT / "tests"):
        compileall.compile_dir(folder, quiet=1, rx=re.compile(r"[/\\]test_[^/\\]*\.py$"))


def rewritten_pyc(path: Path) -> Path:
    """Where pytest keeps a test module with its asserts rewritten (beside it, in __pycache__)."""
    from _pytest.assertion import rewrite

    return rewrite.get_cache_dir(path) / (path.name[:-3] + rewrite.PYC_TAIL)


def cache_rewritten_tests(config: pytest.Config, mine: Callable[[int], bool]) -> None:
    """Write pytest's rewritten test modules (``rewritten_pyc``), those of them ``mine`` picks.

    pytest rewrites a test module's asserts when it imports it, and keeps the result for the next
    process, except where PYTHONDONTWRITEBYTECODE is set: then every pytest process rewrote every
    test module from source, 1.5 s of CPU each (a third of what a worker does before its first
    test). Written here whatever that variable says, as ``compileall`` writes the package; the
    workers of ``pytest -n`` each write a share, at the same time, before they collect (pytest
    reads a cached module whose source hash matches, and writes each in one step: a module the
    other worker has not written yet is rewritten again, never read half written). pytest's own
    functions, private: should they change, nothing is written and the suite runs as before."""
    try:
        from _pytest.assertion import rewrite

        state = config.stash[rewrite.assertstate_key]
        for n, path in enumerate(sorted((ROOT / "tests").glob("test_*.py"))):
            pyc = rewritten_pyc(path)
            if mine(n) and rewrite._read_pyc(path, pyc) is None:
                source_hash, code = rewrite._rewrite_test(path, config)
                pyc.parent.mkdir(exist_ok=True)
                rewrite._write_pyc(state, code, source_hash, pyc)
    except (ImportError, AttributeError, KeyError, TypeError, OSError):
        return


# The Keras packages that collecting the test files imported (``pytest_collection_finish``):
# every pytest process collects every file, so one that imports Keras when collected makes each
# process import it (5 to 10 s of CPU), not only the one running the Keras files.
# tests/test_structure.py holds it empty.
IMPORTED_WHEN_COLLECTED: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    """Note the Keras packages collecting imported; then leave what the process holds now (its
    imports, the collected tests) to the collector's permanent generation, and collect the young
    generation every 10,000 allocations, not 700, as the CLI does (``cli.GC_YOUNG``): each
    collection of the old generation walked all of it again. test_fix, test_robustness,
    test_shared_work, test_positions and test_fix_replay in one process, four runs alternating at
    load 5: 37.4 s of CPU on average without this, 33.6 s with it. tests/test_graph_work.py
    unfreezes it all for its own count."""
    import gc

    from kerascheck.cli import GC_YOUNG

    IMPORTED_WHEN_COLLECTED[:] = [name for name in ("keras", "tensorflow", "tf_keras") if name in sys.modules]
    gc.collect()
    gc.freeze()
    young, middle, old = gc.get_threshold()
    gc.set_threshold(max(young, GC_YOUNG), middle, old)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """An xdist worker ends here, once it has sent its results (``workerfinished``, in its
    ``pytest_sessionfinish``) and every plugin has unconfigured, without the interpreter's teardown:
    the controller waits for each worker process to end, and tearing down a process that imported
    TensorFlow and Keras took 1 to 2 s of CPU at the end of the suite, which nothing reads."""
    if hasattr(config, "workerinput"):
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(0)


_KERAS_MODULES = ("keras", "tensorflow", "tf_keras")
_KERAS_BEFORE: list[bool] = []  # whether this process had imported Keras when the test started


def pytest_runtest_setup(item: pytest.Item) -> None:
    _KERAS_BEFORE[:] = [any(name in sys.modules for name in _KERAS_MODULES)]


def pytest_runtest_teardown(item: pytest.Item) -> None:
    """A test outside KERAS_FILES that imports Keras makes its worker import it too (5 to 10 s of
    CPU, beside the Keras units' own): an error in its teardown names the file to move."""
    if _KERAS_BEFORE == [False] and item.path.name not in KERAS_FILES:
        imported = [name for name in _KERAS_MODULES if name in sys.modules]
        if imported:
            raise AssertionError(
                f"{item.path.name} imports {imported} in the test process: add it to a unit of KERAS_UNITS"
            )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The longest files first (``LONGEST_FIRST``), the others in their usual order; each file's
    tests stay together and in their order."""
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile``, with the Keras files in their unit of work (``KERAS_UNITS``)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class KerasTogether(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            path = nodeid.split("::", 1)[0]
            return _KERAS_UNIT_OF.get(path.rsplit("/", 1)[-1], path)

    return KerasTogether(config, log)


def keras_or_skip(name: str = "keras") -> Any:
    """``name`` (keras, tf_keras) for a test module, imported when a test first reads it, never
    at collection; the module is skipped when it is not installed."""
    import importlib
    import importlib.util

    from kerascheck.verify.worker import quieter_collector

    if importlib.util.find_spec(name) is None:
        pytest.skip(f"{name} is a test dependency", allow_module_level=True)

    class Lazy:
        def __getattr__(self, attribute: str) -> Any:
            if attribute.startswith("_"):  # what collection asks of every name in a module
                raise AttributeError(attribute)
            quieter_collector()  # before the import, as a worker process
            return getattr(importlib.import_module(name), attribute)

    return Lazy()


# ---------------------------------------------------------------- one Keras worker for the session


class InProcessWorker:
    """The worker's own code (``verify/worker.py``: ``answer``, then the client's ``result_of``)
    run in this process, which has imported Keras already (the Keras test modules import it when
    they are collected): a worker process would import it a second time, for 5 to 10 s. Jobs and
    answers go through JSON as they would through the pipe. What only a process shows (its start,
    its limits, its death, the protocol on a pipe) is tested on real worker processes.

    It times KER101's two heads over one call each (``worker.TIMING_RUNS``): no test reads the
    figures, and the repeats cost a third of the fixture batch. How many calls the worker makes
    and how the detail words them are tested without Keras, on a clock of their own
    (tests/test_verify_spec.py)."""

    TIMING_RUNS = 1

    def __init__(self, options: Any) -> None:
        self.options = options
        self.hello: dict[str, Any] | None = None
        self.starts = 0
        self._keras: Any = None
        self._next_id = 0
        self._lock = threading.Lock()

    def start(self) -> dict[str, Any]:
        from kerascheck.verify import worker

        if self._keras is None:
            worker.quieter_collector()  # before the import, as a worker process
            self._keras = worker.Keras(self.options.keras)
            self.hello = self._keras.hello()
            self.starts += 1
        assert self.hello is not None
        return self.hello

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        from kerascheck.verify import client

        self._next_id += 1
        return client.result_of(self.answer({"id": self._next_id, "job": job}))

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        """The worker's message answering ``request`` (``worker.answer``), through JSON both ways;
        one request at a time, whichever thread asks (tests/keras_pipe.py serves a process)."""
        import random
        import warnings

        from kerascheck import shapes
        from kerascheck.verify import worker

        self.start()
        with self._lock:
            request = json.loads(json.dumps(request))
            allowed, runs, state = worker.ALLOWLIST, worker.TIMING_RUNS, random.getstate()
            worker.ALLOWLIST = frozenset(shapes.BUILDABLE)  # what the parent gives a worker (``--allow``)
            worker.TIMING_RUNS = self.TIMING_RUNS
            try:
                with warnings.catch_warnings():  # a worker's warnings go to its stderr, which is not read
                    warnings.simplefilter("ignore")
                    message: dict[str, Any] = json.loads(
                        json.dumps(worker.answer(self._keras, request, self.options.memory_mb))
                    )
            finally:
                worker.ALLOWLIST, worker.TIMING_RUNS = allowed, runs
                random.setstate(state)  # Keras draws unseeded weights from it; hypothesis wants it left alone
        return message

    def close(self) -> None:
        pass


class _SharedWorker:
    """The session's worker, lent to a verification run that would start its own: ``close`` gives
    it back instead of ending it (a death or a time limit still restarts it, as for any worker)."""

    def __init__(self, worker: Any) -> None:
        self._worker = worker

    def start(self) -> dict[str, Any]:
        hello: dict[str, Any] = self._worker.start()
        return hello

    def run(self, job: dict[str, Any], timeout: float | None = None) -> dict[str, Any]:
        result: dict[str, Any] = self._worker.run(job, timeout)
        return result

    def close(self) -> None:
        pass


def _worker_key(options: Any) -> tuple[Any, ...]:
    """What makes two workers answer alike (the time limit does not): their settings, the backend
    they run, as the worker chooses it (KERAS_BACKEND set to the default it stood for changes no
    worker: tests/differential.py sets it), and the path they import Keras from."""
    from kerascheck.verify.client import chosen_backend

    where = os.environ.get("PYTHONPATH")
    backend = chosen_backend(options.backend)
    return (options.python, options.keras, backend, options.memory_mb, options.cpu_seconds, where)


_SHARED_KEY: list[tuple[Any, ...]] = []


@pytest.fixture(scope="session")
def keras_worker() -> Iterator[Any]:
    """One Keras 3 worker in this process (``InProcessWorker``: this process's Keras import) for
    every test that verifies and does not test the worker's own start, limits or death."""
    pytest.importorskip("keras", reason="keras is a test dependency")
    from kerascheck.verify.client import WorkerOptions, chosen_backend

    worker = InProcessWorker(WorkerOptions(timeout=120))
    _SHARED_KEY.append(_worker_key(worker.options))  # the environment it starts in, now
    worker.start()
    assert worker.hello is not None and worker.hello["backend"] == chosen_backend(), worker.hello
    yield worker
    _SHARED_KEY.clear()


@pytest.fixture
def shared_worker(keras_worker: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Verification in this process (``run_cli("check", "--verify", ...)``) uses ``keras_worker``
    when it would start a worker of the same settings; other settings get their own."""
    from kerascheck.verify import client, session

    def worker(options: Any) -> Any:
        if _worker_key(options) == _SHARED_KEY[0]:
            return _SharedWorker(keras_worker)
        return client.Worker(options)

    monkeypatch.setattr(session, "Worker", worker)
    return keras_worker
