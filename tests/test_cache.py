"""The findings cache (issue 15, goal 3): a warm run gives what a cold run and ``--no-cache`` give,
without analysing a file again; an entry is a file's bytes, its rules and kerascheck's version; a
broken entry is a miss; errors are never kept; ``clean`` removes it; ``--fix``, ``--diff`` and
``--verify`` use it only where it is their whole answer.

Analyses are counted (``runner._run`` is what analyses a file), never timed. The suite runs with
KERASCHECK_NO_CACHE set (conftest): these tests take it away, in their own temporary folders.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kerascheck import cache, runner
from kerascheck.findings import Finding, Fix
from tests.conftest import FIXTURES, checkout_env, run_cli

CHOSEN = [
    "ker101_redundant_time_distributed.py",  # unsafe fixes
    "ker103_missing_return_sequences.py",  # safe fixes
    "noqa_file.py",  # the prefilter's no: a file-level noqa
    "notebook_ipython_cleanup.ipynb",  # findings on cells
]
ANALYSED = sorted(set(CHOSEN) - {"noqa_file.py"})  # its file-level noqa: the prefilter's no
MENTIONS = "# keras is mentioned here, and nothing else a rule looks for\nprint(1)\n"
BROKEN = "import keras\nlayer = keras.layers.TimeDistributed(keras.layers.LSTM(4, return_sequences=True)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("KERASCHECK_NO_CACHE", raising=False)
    root = tmp_path / "project"
    (root / "src").mkdir(parents=True)
    for name in CHOSEN:
        shutil.copy(FIXTURES / name, root / "src" / name)
    (root / "src" / "mentions.py").write_text(MENTIONS, encoding="utf-8")
    (root / "src" / "plain.py").write_text("print('no deep learning here')\n", encoding="utf-8")
    (root / "pyproject.toml").write_text("[project]\nname = 'x'\n", encoding="utf-8")  # the project root
    return root


@pytest.fixture
def analysed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths analysed (``--jobs 1``: in this process)."""
    paths: list[str] = []
    real = runner._run

    def counting(job: runner.Job) -> runner.FileResult:
        paths.append(Path(job.path).name)
        return real(job)

    monkeypatch.setattr(runner, "_run", counting)
    return paths


def _check(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("check", "--jobs", "1", "--output-format", "json", *args, "src", cwd=root)


def _entries(root: Path) -> list[Path]:
    return sorted((root / cache.FOLDER / "findings").rglob("*.json"))


def test_a_warm_run_analyses_nothing_and_reports_the_same(project: Path, analysed: list[str]) -> None:
    cold = _check(project)
    assert cold.returncode == 1, cold.stderr
    assert sorted(analysed) == ANALYSED
    folder = project / cache.FOLDER
    assert (
        (folder / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith("Signature: 8a477f597d28d172789f06886806bc55")
    )
    assert (folder / ".gitignore").read_text(encoding="utf-8").splitlines()[-1] == "*"
    # An entry for each file that mentions Keras, the prefilter's no kept too (not plain.py's).
    assert len(_entries(project)) == len(CHOSEN) + 1
    analysed.clear()
    warm = _check(project)
    assert analysed == [] and (warm.returncode, warm.stdout, warm.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    uncached = _check(project, "--no-cache")
    assert sorted(analysed) == ANALYSED and uncached.stdout == cold.stdout
    for form in ("full", "concise", "sarif"):  # every report reads the same from the cache
        assert (
            run_cli("check", "--output-format", form, "src", cwd=project).stdout
            == run_cli("check", "--output-format", form, "--no-cache", "src", cwd=project).stdout
        )


def test_a_warm_run_imports_no_parser(project: Path) -> None:
    # A table that names codes: they are checked against the rule codes the cache keeps.
    (project / "pyproject.toml").write_text("[tool.kerascheck]\nselect = ['KER1']\n", encoding="utf-8")
    assert _check(project).returncode == 1
    probe = (
        "import contextlib, io, sys; from kerascheck.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()): main(['check', 'src'])\n"
        "print('libcst' in sys.modules, 'kerascheck.rules' in sys.modules)"
    )
    env = {k: v for k, v in checkout_env().items() if k != "KERASCHECK_NO_CACHE"}
    done = subprocess.run([sys.executable, "-c", probe], cwd=project, env=env, capture_output=True, text=True)
    assert done.stdout.split() == ["False", "False"], done.stderr
    (project / "pyproject.toml").write_text("[tool.kerascheck]\nselect = ['KER9']\n", encoding="utf-8")
    bad = _check(project)  # still checked, against the kept codes
    assert bad.returncode == 2 and "select: unknown rule code or prefix 'KER9' (known: KER101" in bad.stderr


def test_an_edited_file_or_other_settings_are_a_miss(project: Path, analysed: list[str]) -> None:
    _check(project)
    analysed.clear()
    target = project / "src" / "ker103_missing_return_sequences.py"
    target.write_text(target.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
    _check(project)
    assert analysed == [target.name]
    analysed.clear()
    narrowed = _check(project, "--select", "KER101")
    assert sorted(analysed) == ANALYSED  # other rules: other entries
    assert {f["code"] for f in json.loads(narrowed.stdout)} == {"KER101"}
    analysed.clear()
    (project / "src" / "pyproject.toml").write_text("[tool.kerascheck]\nignore = ['KER103']\n", encoding="utf-8")
    configured = _check(project)
    assert sorted(analysed) == ANALYSED and "KER103" not in {f["code"] for f in json.loads(configured.stdout)}
    # Beside the nearest configuration now, not at the project root.
    assert (project / "src" / cache.FOLDER / "CACHEDIR.TAG").is_file()
    assert configured.stdout == _check(project, "--no-cache").stdout


def test_a_damaged_entry_is_a_miss_and_is_written_again(project: Path, analysed: list[str]) -> None:
    cold = _check(project)
    for entry in _entries(project):
        entry.write_text(entry.read_text(encoding="utf-8")[:20], encoding="utf-8")  # cut short
    analysed.clear()
    again = _check(project)
    assert sorted(analysed) == ANALYSED
    assert (again.returncode, again.stdout, again.stderr) == (cold.returncode, cold.stdout, cold.stderr)
    analysed.clear()
    assert _check(project).stdout == cold.stdout and analysed == []  # rewritten whole


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],
        lambda text: "not json",
        lambda text: json.dumps({**json.loads(text), "format": 0}),
        lambda text: json.dumps({**json.loads(text), "digest": "0" * 64}),
        lambda text: json.dumps({**json.loads(text), "findings": [{"line": "x"}]}),
        lambda text: json.dumps({**json.loads(text), "findings": [{**json.loads(text)["findings"][0], "line": True}]}),
        lambda text: json.dumps({**json.loads(text), "findings": [{**json.loads(text)["findings"][0], "extra": 1}]}),
        lambda text: json.dumps({**json.loads(text), "findings": "[]"}),
        lambda text: "[" * 100_000,
        lambda text: "\udcff",
    ],
    ids=[
        "truncated",
        "not-json",
        "old-format",
        "other-bytes",
        "bad-finding",
        "bool-line",
        "extra-key",
        "bad-list",
        "deep",
        "bad-text",
    ],
)
def test_an_entry_not_exactly_as_written_is_a_miss(tmp_path: Path, damage: object) -> None:
    store = cache.Cache(lambda path: tmp_path, lambda path: [])
    found = [Finding("m.py", 3, 5, 3, 9, "KER101", "redundant", "a message", fix=Fix("unsafe", "Unwrap"), cell=2)]
    entry = store.entry("m.py", b"import keras\n", False, ())
    store.put(entry, found)
    assert store.get(entry, "m.py") == found and store.hits == 1
    assert store.get(store.entry("m.py", b"import keras  \n", False, ()), "m.py") is None  # other bytes
    text = entry.path.read_text(encoding="utf-8")
    entry.path.write_text(damage(text), encoding="utf-8", errors="surrogateescape")  # type: ignore[operator]
    assert store.get(entry, "m.py") is None and store.misses == 2


def test_files_that_cannot_be_checked_are_never_kept(project: Path, analysed: list[str]) -> None:
    (project / "src" / "broken.py").write_text(BROKEN, encoding="utf-8")
    (project / "src" / "latin.py").write_bytes(b"import keras\n# caf\xe9\n")
    first = _check(project)
    assert first.returncode == 2 and "broken.py: syntax error" in first.stderr and "latin.py: not UTF-8" in first.stderr
    analysed.clear()
    second = _check(project)
    assert analysed == ["broken.py"] and second.stderr == first.stderr


def test_no_cache_and_the_environment_write_nothing(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _check(project, "--no-cache").returncode == 1
    monkeypatch.setenv("KERASCHECK_NO_CACHE", "1")
    assert _check(project).returncode == 1
    assert not (project / cache.FOLDER).exists()
    monkeypatch.setenv("KERASCHECK_NO_CACHE", "0")
    assert _check(project).returncode == 1 and (project / cache.FOLDER).exists()


def test_clean_removes_the_caches_and_only_them(project: Path) -> None:
    _check(project)
    (project / "src" / "pyproject.toml").write_text("[tool.kerascheck]\n", encoding="utf-8")
    _check(project)
    mine = project / "other" / cache.FOLDER  # a folder of the name that kerascheck did not make
    mine.mkdir(parents=True)
    (mine / "keep.txt").write_text("mine", encoding="utf-8")
    done = run_cli("clean", cwd=project)
    assert done.returncode == 0 and done.stdout.splitlines() == [
        f"Removed {cache.FOLDER}",
        f"Removed src/{cache.FOLDER}",
    ]
    assert not (project / cache.FOLDER).exists() and not (project / "src" / cache.FOLDER).exists()
    assert (mine / "keep.txt").is_file()
    from_below = run_cli("clean", cwd=project / "src")  # from a subfolder: its project's cache too
    assert from_below.returncode == 0 and from_below.stdout == ""


def test_fix_and_diff_use_only_entries_with_nothing_to_fix(project: Path, analysed: list[str]) -> None:
    cold = json.loads(_check(project).stdout)
    fixable = {Path(f["path"]).name for f in cold if f["fix"] and f["fix"]["applicability"] == "safe"}
    assert fixable, "the chosen fixtures have safe fixes"
    analysed.clear()
    diff = run_cli("check", "--jobs", "1", "--diff", "src", cwd=project)
    assert set(analysed) == fixable and diff.returncode == 1
    assert diff.stdout == run_cli("check", "--jobs", "1", "--diff", "--no-cache", "src", cwd=project).stdout
    analysed.clear()
    fixed = run_cli("check", "--jobs", "1", "--fix", "src", cwd=project)
    assert set(analysed) == fixable and fixed.returncode in (0, 1), fixed.stderr
    analysed.clear()
    after = _check(project)  # the fixed files changed: analysed again, the rest from the cache
    assert set(analysed) == fixable and after.stdout == _check(project, "--no-cache").stdout


def test_what_the_cache_serves_under_fix_and_verify() -> None:
    def finding(fix: Fix | None) -> Finding:
        return Finding("m.py", 1, 1, 1, 2, "KER101", "name", "message", fix=fix)

    safe, unsafe = finding(Fix("safe", "Unwrap")), finding(Fix("unsafe", "Set"))
    assert runner._served([safe, unsafe], None, False)  # a check: always
    assert not runner._served([safe], "safe", False) and runner._served([unsafe, finding(None)], "safe", False)
    assert not runner._served([unsafe], "unsafe", False) and runner._served([], "unsafe", False)
    assert not runner._served([finding(None)], None, True) and runner._served([], None, True)


def test_two_runs_at_once_leave_whole_entries(project: Path) -> None:
    env = {k: v for k, v in checkout_env().items() if k != "KERASCHECK_NO_CACHE"}
    command = [sys.executable, "-m", "kerascheck", "check", "--jobs", "1", "--output-format", "json", "src"]
    runs = [subprocess.Popen(command, cwd=project, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=600)[0] for run in runs]
    assert outputs[0] == outputs[1] and json.loads(outputs[0])
    for entry in _entries(project):
        assert set(json.loads(entry.read_text(encoding="utf-8"))) == {"format", "digest", "findings"}
    assert not [p for p in (project / cache.FOLDER).rglob(".tmp-*")]
    assert _check(project).stdout == outputs[0]
