"""Tab indentation that libcst refuses and CPython accepts: analysed as CPython reads it, and
given no fix (libcst has no tree of it to edit)."""

from __future__ import annotations

from pathlib import Path

from kerascheck.check import analyse
from kerascheck.fix import fix_text, offers
from tests.conftest import FIXTURES, run_cli

TABS = FIXTURES / "indentation_tabs.py"


def test_findings_are_placed_in_the_text_as_written_and_no_fix_is_offered() -> None:
    text = TABS.read_text(encoding="utf-8")
    analysis = analyse(text, str(TABS))
    assert analysis is not None and analysis.editable() is None  # libcst refuses it
    lines = text.splitlines()
    for finding in analysis.findings:
        start = lines[finding.line - 1][finding.column - 1 :]
        assert start.startswith(("layers.TimeDistributed(", "layers.LSTM(4)")), (finding, start)
    assert offers(analysis, str(TABS)) == []
    assert fix_text(text, str(TABS), unsafe=True) == (text, 0)


def test_fix_leaves_the_file_byte_for_byte(tmp_path: Path) -> None:
    copy = tmp_path / TABS.name
    copy.write_bytes(TABS.read_bytes())
    result = run_cli("check", "--fix", "--unsafe-fixes", "--output-format", "concise", str(copy))
    assert result.returncode == 1
    assert result.stdout.count(" KER10") == 2
    assert copy.read_bytes() == TABS.read_bytes()


def test_tabs_libcst_reads_are_analysed_as_they_are() -> None:
    text = "import keras\nif True:\n\tm = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4)])\n"
    text += "\tm.add(keras.layers.LSTM(2))\n"
    analysis = analyse(text, "t.py")
    assert analysis is not None and analysis.editable() is not None
    assert [(f.code, f.line, f.column) for f in analysis.findings] == [("KER103", 4, 2)]
    assert offers(analysis, "t.py")
