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
