"""Bad configuration values (issue 16 item 15): one clear error naming the file and the key, never a
traceback, a printed warning or a silently empty selection."""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from kerascheck import config


@pytest.mark.parametrize(
    ("line", "said"),
    [
        ('exclude = ["[z-a]"]', "exclude: '[z-a]' is not a valid glob (bad character range z-a"),
        ('exclude = ["[[:alpha:]]"]', "exclude: '[[:alpha:]]' is not a valid glob (Possible nested set"),
        ('per-file-ignores = {"[z-a]" = ["KER101"]}', "per-file-ignores: '[z-a]' is not a valid glob"),
        ('ignore = [""]', "ignore: an empty rule code"),
    ],
)
def test_a_bad_value_is_one_error_naming_the_file_and_the_key(tmp_path: Path, line: str, said: str) -> None:
    path = tmp_path / "pyproject.toml"
    path.write_text(f"[tool.kerascheck]\n{line}\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(config.ConfigError) as raised:
            config.load(path)
    assert str(raised.value).startswith(f"{path}: [tool.kerascheck] ") and said in str(raised.value)


def test_select_of_no_code_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kerascheck.cli import main

    with pytest.raises(SystemExit) as raised:
        main(["check", "--select", ",", str(tmp_path)])
    assert raised.value.code == 2 and "names no rule code" in capsys.readouterr().err


def test_sarif_with_a_file_name_that_is_not_utf8(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import json
    import os

    from kerascheck.cli import main

    folder = tmp_path / "src"
    folder.mkdir()
    model = "import keras\nfrom keras import layers\nm = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])\n"
    (folder / os.fsdecode(b"caf\xe9.py")).write_text(model)
    monkeypatch.chdir(tmp_path)
    assert main(["check", "--isolated", "--format", "sarif", "src"]) == 1
    report = json.loads(capsys.readouterr().out)
    location = report["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "src/caf%E9.py"
