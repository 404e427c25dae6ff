"""Bad input: one clear line naming the file and the reason, the other files still checked,
exit status 2, and never a traceback. The CLI runs in process (an exception would fail the test
as a traceback would); the deeply nested files in a process of their own, where a crash of the
parser would stay."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_cli, run_cli_process

GOOD = """\
import keras
model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    keras.layers.GRU(16, return_sequences=True),
    keras.layers.TimeDistributed(keras.layers.Dense(15)),
])
"""
KERAS_HEADER = "import keras\nfrom keras.layers import LSTM\n"

CASES = {
    "syntax_error": ((KERAS_HEADER + "model = keras.Sequential([LSTM(4)\n").encode(), "syntax error on line 3"),
    "not_utf8": (KERAS_HEADER.encode() + b"name = '\xff\xfe caf\xe9'\n", "not UTF-8"),
    "empty": (b"", "empty file"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00keras LSTM\x00\x00", "binary file"),
    "deep_parens": ((KERAS_HEADER + "x = " + "(" * 5000 + "1" + ")" * 5000 + "\n").encode(), "too deeply nested"),
    "deep_sum": ((KERAS_HEADER + "x = " + "+".join(["1"] * 20000) + "\n").encode(), "too deeply nested"),
    "deep_elif": ((KERAS_HEADER + "if a: pass\n" + "elif a: pass\n" * 20000).encode(), "too deeply nested"),
}


DEEP = sorted(case for case in CASES if case.startswith("deep_"))


@pytest.mark.parametrize("case", sorted(set(CASES) - set(DEEP)))
def test_bad_file_gets_one_line_and_the_run_goes_on(tmp_path: Path, case: str) -> None:
    content, reason = CASES[case]
    bad = tmp_path / f"{case}.py"
    bad.write_bytes(content)
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    result = run_cli("check", "--output-format", "concise", str(bad), str(good))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(bad) in lines[0] and reason in lines[0]
    assert f"{good}:5:5: KER101" in result.stdout  # the good file was still checked


def test_deep_files_get_one_line_each_and_the_run_goes_on(tmp_path: Path) -> None:
    """The deeply nested files, each before the good one, in one process of their own (a crash
    of the parser would stay there; one process for the three, not one each)."""
    paths: list[str] = []
    for case in DEEP:
        (tmp_path / f"{case}.py").write_bytes(CASES[case][0])
        paths.append(str(tmp_path / f"{case}.py"))
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    result = run_cli_process("check", "--output-format", "concise", *paths, str(good))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(DEEP) == 3, result.stderr
    for case, line in zip(DEEP, sorted(lines)):
        assert str(tmp_path / f"{case}.py") in line and CASES[case][1] in line, (case, line)
    assert f"{good}:5:5: KER101" in result.stdout  # the good file was still checked


def test_missing_path(tmp_path: Path) -> None:
    good = tmp_path / "good.py"
    good.write_text(GOOD)
    missing = tmp_path / "nope.py"
    result = run_cli("check", str(missing), str(good))
    assert result.returncode == 2
    assert result.stderr.strip() == f"error: {missing}: no such file or directory"
    assert "KER101" in result.stdout


def test_bad_files_found_in_a_folder_are_reported_too(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(KERAS_HEADER + "def f(:\n")
    (tmp_path / "latin1.py").write_bytes(KERAS_HEADER.encode() + b"s = '\xe9'\n")
    (tmp_path / "__init__.py").write_text("")  # empty files found in a folder are normal
    (tmp_path / "good.py").write_text(GOOD)
    result = run_cli("check", str(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert sorted(line.split(":")[1].strip() for line in result.stderr.splitlines()) == sorted(
        [str(tmp_path / "broken.py"), str(tmp_path / "latin1.py")]
    )
    assert "KER101" in result.stdout


def test_usage_error_exits_2() -> None:
    result = run_cli("check", "--select", "XYZ1", ".")
    assert result.returncode == 2
    assert "unknown rule code" in result.stderr
    assert "Traceback" not in result.stderr
