"""The server's parts that need no client: minimal edits, LSP columns, ``# noqa`` writing, the
notebook as one program and back, client settings. (tests/test_server.py drives the whole.)"""

from __future__ import annotations

import ast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kerascheck import rules
from kerascheck.check import check_source
from kerascheck.findings import Finding
from kerascheck.server import convert, text
from kerascheck.server.documents import CODE, MARKDOWN, Cell, notebook_source
from kerascheck.server.settings import ClientSettings
from kerascheck.server.silence import add_noqa

PIECES = st.sampled_from(["a", "b", " ", "\n", "\r\n", "\r", "é", "😀", "x = f(y)\n", "\t"])
TEXTS = st.lists(PIECES, max_size=12).map("".join)


@settings(max_examples=400, deadline=None)
@given(TEXTS, TEXTS)
def test_replacements_turn_the_old_text_into_the_new(old: str, new: str) -> None:
    edits = text.replacements(old, new)
    assert text.apply(old, edits) == new
    offsets = text.Offsets(old)
    for edit in edits:
        for where in (edit.start, edit.end):
            at = offsets.starts[where.line] + where.column
            assert not (0 < at < len(old) and old[at - 1] == "\r" and old[at] == "\n")  # never inside a break


def test_replacements_are_as_small_as_the_change() -> None:
    old = "a = 1\nx = GRU(16)(x)\nb = 2\ny = LSTM(4)(y)\n"
    new = old.replace("GRU(16)", "GRU(16, return_sequences=True)").replace("LSTM(4)", "LSTM(4, return_sequences=True)")
    edits = text.replacements(old, new)
    assert edits == [
        text.Replacement(text.Position(1, 10), text.Position(1, 10), ", return_sequences=True"),
        text.Replacement(text.Position(3, 10), text.Position(3, 10), ", return_sequences=True"),
    ]
    assert text.replacements(old, old) == []


def test_columns_in_each_encoding() -> None:
    line = 'é = "😀"; x'
    at = line.index("x")  # 9 code points
    assert text.column(line, at, text.UTF32) == 9
    assert text.column(line, at, text.UTF16) == 10  # the emoji is two UTF-16 units
    assert text.column(line, at, text.UTF8) == len(line[:at].encode("utf-8")) == 13
    for encoding in (text.UTF8, text.UTF16, text.UTF32):
        assert text.code_points(line, text.column(line, at, encoding), encoding) == at
    assert text.lines("a\r\nb\rc\nd\x0ce") == ["a", "b", "c", "d\x0ce"]  # LSP's breaks only


def test_a_finding_after_non_ascii_text_in_each_encoding() -> None:
    line = 'label = "héllo 😀"; x = layers.TimeDistributed(layers.Dense(15))(x)'
    start = line.index("layers.TimeDistributed")
    end = start + len("layers.TimeDistributed(layers.Dense(15))")
    finding = Finding("m.py", 2, start + 1, 2, end + 1, "KER101", "name", "message")  # 1-based, code points
    lines = ["import keras", line]
    for encoding, count in (
        (text.UTF16, lambda s: len(s.encode("utf-16-le")) // 2),
        (text.UTF8, lambda s: len(s.encode("utf-8"))),
        (text.UTF32, len),
    ):
        where = convert.finding_range(finding, lines, encoding)
        assert (where.start.line, where.end.line) == (1, 1)
        assert (where.start.character, where.end.character) == (count(line[:start]), count(line[:end]))


def _finding(line: int, code: str = "KER101") -> Finding:
    return Finding("m.py", line, 1, line, 2, code, "name", "message")


@pytest.mark.parametrize(
    ("before", "line", "after"),
    [
        ("y = f(x)\n", 1, "y = f(x)  # noqa: KER101\n"),
        ("y = f(x)   # a note\n", 1, "y = f(x)   # a note  # noqa: KER101\n"),
        ("y = f(x)  # noqa: KER102\n", 1, "y = f(x)  # noqa: KER102,KER101\n"),
        ("y = f(x)  # NOQA:KER102, KER103\n", 1, "y = f(x)  # NOQA:KER102, KER103,KER101\n"),
        ("y = f(x, '''a\nb''')\n", 1, "y = f(x, '''a\nb''')  # noqa: KER101\n"),  # past the string
        ("y = f(x) \\\n    + 1\n", 1, "y = f(x) \\\n    + 1  # noqa: KER101\n"),  # past the backslash
        ("y = f(\n    x,\n)\n", 2, "y = f(\n    x,  # noqa: KER101\n)\n"),  # brackets: the line itself
        ("if a:\r\n    y = f(x)\r\n", 2, "if a:\r\n    y = f(x)  # noqa: KER101\r\n"),
        ("y = f(x)", 1, "y = f(x)  # noqa: KER101"),
    ],
)
def test_noqa_is_written_where_it_counts(before: str, line: int, after: str) -> None:
    assert add_noqa(before, _finding(line)) == after
    ast.parse(after)


def test_noqa_silences_a_real_finding() -> None:
    source = (
        "import keras\nfrom keras import layers\n"
        "inputs = keras.Input(shape=(64, 15))\n"
        "x = layers.GRU(16, return_sequences=True)(inputs)\n"
        "x = layers.TimeDistributed(\n    layers.Dense(15)\n)(x)\n"
    )
    (finding,) = check_source(source)
    silenced = add_noqa(source, finding)
    assert silenced is not None and check_source(silenced) == []


def test_notebook_cells_make_one_program_and_changes_go_back_to_their_cell() -> None:
    cells = [
        Cell("nb#0", MARKDOWN, "# Title"),
        Cell("nb#1", CODE, "%matplotlib inline\nimport keras"),
        Cell("nb#2", CODE, "x = 1\ny = 2"),
    ]
    source = notebook_source("nb", "/work/nb.ipynb", 1, cells)
    assert source.text == "pass\nimport keras\nx = 1\ny = 2\n"  # the magic neutralised, one line for one
    assert source.uris() == ["nb#1", "nb#2"]
    assert source.place(Finding("p", 4, 1, 4, 3, "KER101", "n", "m"))[0] == "nb#2"
    assert source.write_back("pass\nimport keras\nx = 1\ny = 3\n") == {"nb#2": "x = 1\ny = 3"}
    assert source.write_back(source.text) == {}


def test_client_settings() -> None:
    assert ClientSettings.parse({"select": ["ker1"], "ignore": "KER105", "verify": True}) == (
        ClientSettings(("KER1",), ("KER105",), True),
        [],
    )
    settings, problems = ClientSettings.parse({"select": ["KER999"], "verify": "yes"})
    assert settings == ClientSettings()
    assert problems == [
        "kerascheck.verify: must be true or false",
        "kerascheck.select: unknown rule code or prefix 'KER999' (known: "
        + ", ".join(rule.code for rule in rules.all_rules())
        + ")",
    ]
    assert ClientSettings.parse(None) == (ClientSettings(), [])
