"""The real-code corpus's entries are well-formed (benchmarks/corpus/README.md); no mirror needed."""

from __future__ import annotations

import hashlib
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from kerascheck import rules

ROOT = Path(__file__).resolve().parent.parent


def _corpus() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_bench", ROOT / "benchmarks" / "corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


corpus = _corpus()


def test_every_entry_is_well_formed() -> None:
    entries, errors = corpus.load_entries(corpus.ENTRIES)
    assert errors == []
    assert entries, "the corpus has no entries"
    # A new rule needs no change here: the corpus measures the rules it has labels for.
    assert set(corpus.CODES) <= {r.code for r in rules.all_rules()}, "the script's codes are kerascheck's rules"
    repos = [entry.repo for entry in entries]
    assert len(repos) == len(set(repos)), "one entry file per repository"


def test_labels_are_places_a_rule_can_report() -> None:
    entries, _ = corpus.load_entries(corpus.ENTRIES)
    for entry in entries:
        for file in entry.files:
            for label in file.labels:
                assert rules.get(label.code) is not None
                assert (label.cell is not None) == file.is_notebook, f"{entry.repo} {file.path}"


def _write(tmp_path: Path, text: str, name: str = "own__repo.toml") -> Path:
    (tmp_path / name).write_text(text, encoding="utf-8")
    return tmp_path


GOOD = """
repo = "own/repo"
commit = "0123456789abcdef0123456789abcdef01234567"
source = "tutorial"
[[file]]
path = "a.ipynb"
sha256 = "%s"
findings = [{ code = "KER101", cell = 3, line = 4, why = "TimeDistributed(Dense) after LSTM(return_sequences=True)" }]
""" % ("ab" * 32)


def test_a_good_entry_loads(tmp_path: Path) -> None:
    entries, errors = corpus.load_entries(_write(tmp_path, GOOD))
    assert errors == []
    (entry,) = entries
    assert entry.files[0].labels[0] == corpus.Label("KER101", 4, 3, entry.files[0].labels[0].why)
    assert entry.local(entry.files[0]) == "own__repo/a.ipynb"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("KER101", "KER199"), "unknown code"),
        (("ab" * 32, "ab" * 31), "sha256"),
        (("0123456789abcdef0123456789abcdef01234567", "0123456"), "commit"),
        (('"tutorial"', '"blog"'), "source"),
        (("cell = 3, ", ""), "needs cell"),
        (('why = "TimeDistributed(Dense) after LSTM(return_sequences=True)"', 'why = ""'), "needs a why"),
        (('path = "a.ipynb"', 'path = "a.txt"'), ".py or .ipynb"),
        (('repo = "own/repo"', 'repo = "own/other"'), "must be named own__other.toml"),
        (("findings = [", "expected = 1\nfindings = ["), "unknown key"),
    ],
)
def test_a_bad_entry_is_one_clear_line(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    entries, errors = corpus.load_entries(_write(tmp_path, GOOD.replace(*change)))
    assert entries == []
    assert len(errors) == 1 and message in errors[0], errors


def test_a_path_listed_twice_is_refused(tmp_path: Path) -> None:
    twice = GOOD + GOOD[GOOD.index("[[file]]") :]
    _, errors = corpus.load_entries(_write(tmp_path, twice))
    assert len(errors) == 1 and "listed twice" in errors[0]


def test_labels_and_findings_compare_in_both_directions(tmp_path: Path) -> None:
    (entry,) = corpus.load_entries(_write(tmp_path, GOOD))[0]
    found = [
        corpus.Reported("own__repo/a.ipynb", 3, 9, "KER101", "reported where no label is"),
        corpus.Reported("own__repo/a.ipynb", 4, 4, "KER101", "another cell, same line"),
    ]
    result = corpus.compare([entry], ["own__repo/a.ipynb"], found)
    assert (result.total.tp, result.total.fp, result.total.fn) == (0, 2, 1)
    assert [m["line"] for m in result.misses] == [4]
    found.append(corpus.Reported("own__repo/a.ipynb", 3, 4, "KER101", "the labelled place"))
    result = corpus.compare([entry], ["own__repo/a.ipynb"], found)
    assert (result.total.tp, result.total.fp, result.total.fn) == (1, 2, 0)
    assert result.total.precision == pytest.approx(1 / 3)


def test_a_missing_mirror_is_counted_not_raised(tmp_path: Path) -> None:
    (entry,) = corpus.load_entries(_write(tmp_path, GOOD))[0]
    written, problems = corpus.materialize([entry], tmp_path / "no-mirrors", tmp_path / "out")
    assert written == [] and len(problems) == 1 and "no mirror" in problems[0].reason


def test_materialize_checks_each_files_sha256(tmp_path: Path) -> None:
    work = tmp_path / "mirrors" / "own+repo"
    work.mkdir(parents=True)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (work / "a.py").write_bytes(b"import keras\n")
    (work / "b.py").write_bytes(b"import keras  # changed since it was labelled\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    good = hashlib.sha256(b"import keras\n").hexdigest()
    text = f'repo = "own/repo"\ncommit = "{commit}"\nsource = "book"\n'
    for path, sha in (("a.py", good), ("b.py", good), ("c.py", good)):
        text += f'[[file]]\npath = "{path}"\nsha256 = "{sha}"\nfindings = []\n'
    (tmp_path / "entries").mkdir()
    (entry,) = corpus.load_entries(_write(tmp_path / "entries", text))[0]
    written, problems = corpus.materialize([entry], tmp_path / "mirrors", tmp_path / "out")
    assert written == ["own__repo/a.py"]
    assert (tmp_path / "out" / "own__repo" / "a.py").read_bytes() == b"import keras\n"
    reasons = {p.path: p.reason for p in problems}
    assert reasons.keys() == {"b.py", "c.py"}
    assert "sha256 mismatch" in reasons["b.py"] and "not in the mirror" in reasons["c.py"]


MODEL = b"""import keras
from keras import layers

inputs = keras.Input(shape=(64, 15))
x = layers.GRU(16, return_sequences=True)(inputs)
x = layers.TimeDistributed(layers.Dense(15))(x)
y = layers.LSTM(4)(layers.LSTM(8)(inputs))
"""


def test_measure_runs_kerascheck_on_the_materialized_files(tmp_path: Path) -> None:
    """The whole way, without Keras: mirror -> file -> kerascheck check --format json -> counts."""
    work = tmp_path / "mirrors" / "own+repo"
    (work / "src").mkdir(parents=True)
    git = ["git", "-C", str(work), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    (work / "src" / "model.py").write_bytes(MODEL)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    commit = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    (tmp_path / "entries").mkdir()
    _write(
        tmp_path / "entries",
        f'repo = "own/repo"\ncommit = "{commit}"\nsource = "tutorial"\n[[file]]\npath = "src/model.py"\n'
        f'sha256 = "{hashlib.sha256(MODEL).hexdigest()}"\n'
        'findings = [{ code = "KER101", line = 6, why = "TimeDistributed(Dense) after GRU(return_sequences=True)" },'
        ' { code = "KER103", line = 8, why = "an LSTM that is not there: a miss on purpose" }]\n',
    )
    (entry,) = corpus.load_entries(tmp_path / "entries")[0]
    result = corpus.measure([entry], tmp_path / "mirrors", tmp_path / "out", jobs=1)
    assert result.failed == [] and result.problems == []
    assert (result.per_code["KER101"].tp, result.per_code["KER103"].tp) == (1, 0)
    assert [(m["line"], m["code"]) for m in result.misses] == [(8, "KER103")]
    assert [(f["line"], f["code"]) for f in result.false_positives] == [(7, "KER103")]
