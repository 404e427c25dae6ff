"""Robustness: mutated fixtures, random bytes and pathological input never give a traceback,
and what cannot be parsed gets one clear line. (Times for the pathological cases are in
README's Performance section, measured by benchmarks/, not asserted here.)"""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from kerascheck.discovery import Target
from kerascheck.runner import check_files
from tests.conftest import fixture_files, run_cli, run_cli_process

SOURCES = [p.read_text(encoding="utf-8") for p in fixture_files()]


def _mutate(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    for _ in range(rng.randint(1, 4)):
        if not lines:
            break
        i = rng.randrange(len(lines))
        action = rng.choice(["drop", "duplicate", "truncate", "swap", "indent", "splice"])
        if action == "drop":
            del lines[i]
        elif action == "duplicate":
            lines.insert(i, lines[i])
        elif action == "truncate":
            lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
        elif action == "swap":
            tokens = lines[i].split(" ")
            if len(tokens) > 1:
                a, b = rng.randrange(len(tokens)), rng.randrange(len(tokens))
                tokens[a], tokens[b] = tokens[b], tokens[a]
            lines[i] = " ".join(tokens)
        elif action == "indent":
            lines[i] = "    " + lines[i]
        else:
            other = rng.choice(SOURCES).splitlines(keepends=True)
            if other:
                lines[i] = rng.choice(other)
    return "".join(lines)


def _check_all(paths: list[Path]) -> None:
    results = check_files([Target(p, explicit=True) for p in paths], jobs=1, fix="unsafe")
    for result in results:
        if result.error is not None:
            reason = result.error.reason
            assert "internal error" not in reason, (result.path, reason)
            assert "\n" not in reason and reason.strip()


def test_mutated_fixtures(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    paths = []
    for n in range(300):
        path = tmp_path / f"m{n}.py"
        path.write_text(_mutate(rng.choice(SOURCES), rng), encoding="utf-8")
        paths.append(path)
    _check_all(paths)


def test_random_bytes(tmp_path: Path) -> None:
    rng = random.Random(7)
    paths = []
    for n in range(200):
        path = tmp_path / f"b{n}.py"
        size = rng.choice([0, 1, 16, 256, 4096])
        data = bytes(rng.randrange(256) for _ in range(size))
        if n % 2:  # half of them look like Keras code at first, so they get past the prefilter
            data = b"import keras\nfrom keras.layers import LSTM\n" + data
        path.write_bytes(data)
        paths.append(path)
    _check_all(paths)


def test_cli_on_a_folder_of_garbage(tmp_path: Path) -> None:
    rng = random.Random(11)
    for n in range(20):
        (tmp_path / f"g{n}.py").write_bytes(b"import keras\nLSTM = 1\n" + bytes(rng.randrange(256) for _ in range(64)))
    (tmp_path / "nb.ipynb").write_bytes(b"{not json")
    result = run_cli_process("check", "--jobs", "2", str(tmp_path))
    assert "Traceback" not in result.stderr and result.returncode == 2
    assert all(line.startswith("error: ") for line in result.stderr.splitlines())


@pytest.mark.parametrize(
    "source",
    [
        "import keras\nfrom keras import layers\nm = keras.Sequential([\n    keras.Input(shape=(10, 4)),\n"
        "    layers.LSTM(4, return_sequences=True),\n" + "    layers.Dense(4),\n" * 5000 + "])\n",
        "import keras\nfrom keras import layers\nx = keras.Input(shape=(10, 4))\ny = "
        + "layers.Dense(4)(" * 150
        + "layers.LSTM(4, return_sequences=True)(x)"
        + ")" * 150
        + "\n",
        "import keras\nfrom keras import layers\nm = keras.Sequential()\n"
        + "if m:\n    m.add(layers.LSTM(4))\n" * 3000,
    ],
    ids=["5000-layer Sequential", "150 nested calls", "3000 branches"],
)
def test_pathological_input(tmp_path: Path, source: str) -> None:
    path = tmp_path / "big.py"
    path.write_text(source)
    result = run_cli("check", str(path))  # in this process: an exception fails the test, as a traceback would
    assert result.returncode in (0, 1) and result.stderr == ""
