"""``# noqa`` is looked up on the lines CPython's tokenizer counts, as flake8 does (issue 16 item 10):
characters that str.splitlines takes for line breaks, in a comment or a string, shift nothing."""

from __future__ import annotations

from pathlib import Path

from kerascheck.discovery import Target
from kerascheck.runner import check_files
from kerascheck.sources import split_lines
from tests.conftest import flake8_findings

ODD = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]

# Two findings; only the second line's is silenced. A shifted lookup silences the first one.
TEMPLATE = """\
import keras
from keras import layers
{odd}
model = keras.Sequential([
    keras.Input(shape=(30, 8)),
    layers.LSTM(32),
    layers.LSTM(16),
    layers.TimeDistributed(layers.Dense(4)),  # noqa: KER102
])
"""


def _files(tmp_path: Path) -> list[Path]:
    paths = []
    for n, char in enumerate(ODD):
        for m, odd in enumerate([f"# a comment {char} with it", f"s = 'a string {char} with it'"]):
            path = tmp_path / f"odd_{n}_{m}.py"
            path.write_bytes(TEMPLATE.format(odd=odd).encode("utf-8"))
            paths.append(path)
    return paths


def test_noqa_lookups_agree_with_flake8(tmp_path: Path) -> None:
    paths = _files(tmp_path)
    ours = {
        (Path(f.path).name, f.line, f.code)
        for r in check_files([Target(p, explicit=True) for p in paths], jobs=1)
        for f in r.findings
    }
    theirs = {(name, line, code) for name, line, _, code in flake8_findings(paths)}
    assert ours == theirs
    # Each file: the KER103 reported, the KER102 silenced.
    assert {(name, code) for name, _, code in ours} == {(p.name, "KER103") for p in paths}


def test_split_lines_ends_lines_where_the_tokenizer_does() -> None:
    text = "a\x0cb\u2028c\rd\r\ne\x85f\n"
    assert split_lines(text) == ["a\x0cb\u2028c", "d", "e\x85f"]
    assert "".join(split_lines(text, keepends=True)) == text
    assert split_lines("no end") == ["no end"] and split_lines("") == []
