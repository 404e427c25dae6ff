"""``--fix`` keeps every byte outside its edits (issue 16 items 6 to 8)."""

from __future__ import annotations

import ast
import json
from collections import Counter

import pytest

from kerascheck import notebooks
from kerascheck.check import analyse, check_source
from kerascheck.fix import fix_text, offers
from tests.conftest import FIXTURES, line_of

LSTMS = "model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])"
FIXED = LSTMS.replace("LSTM(32)", "LSTM(32, return_sequences=True)")


def _notebook(source: str) -> str:
    cell = {"cell_type": "code", "metadata": {}, "source": source, "outputs": [], "execution_count": None}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_a_changed_notebook_cell_keeps_its_cr_line_breaks() -> None:
    source = f"import keras\rfrom keras import layers\r{LSTMS}\rprint(model)\r"
    raw = _notebook(source)
    program, _ = notebooks.to_program(raw)
    fixed, count = fix_text(program, "nb.ipynb", unsafe=False)
    assert count == 1
    cell = json.loads(notebooks.with_program(raw, fixed))["cells"][0]["source"]
    assert cell == source.replace(LSTMS, FIXED)


HEAD = "import keras\nfrom keras import layers\n"
SEQ = "model = keras.Sequential([keras.Input(shape=(30, 8)), {first}, layers.LSTM(16)])\n"


@pytest.mark.parametrize(
    ("first", "expected"),
    [
        ("layers.LSTM(32)", "layers.LSTM(32, return_sequences=True)"),
        ("layers.LSTM(32,\n    dropout=0.1\n)", "layers.LSTM(32,\n    dropout=0.1, return_sequences=True\n)"),
        ("layers.LSTM(32, dropout=0.1 \n)", "layers.LSTM(32, dropout=0.1, return_sequences=True \n)"),
        ("layers.LSTM(32, return_sequences=False)", "layers.LSTM(32, return_sequences=True)"),
    ],
    ids=["plain", "last argument on its own line", "space before the line break", "keyword"],
)
def test_an_appended_argument_goes_right_after_the_last_one(first: str, expected: str) -> None:
    text = HEAD + SEQ.format(first=first)
    fixed, count = fix_text(text, "m.py", unsafe=False)
    assert (fixed, count) == (HEAD + SEQ.format(first=expected), 1)


def test_no_final_newline_is_kept() -> None:
    text = HEAD + SEQ.format(first="layers.LSTM(32)").rstrip("\n")
    fixed, count = fix_text(text, "m.py", unsafe=False)
    assert count == 1 and fixed == text.replace("LSTM(32)", "LSTM(32, return_sequences=True)")


@pytest.mark.parametrize(
    "text",
    [
        # libcst prints these back otherwise: the fix is not made rather than the bytes changed.
        HEAD + SEQ.format(first="layers.LSTM(32)") + "x = 1\n  # a\n    # b\n# c",
        (HEAD + SEQ.format(first="layers.LSTM(32)")).replace("\n", "\r"),
        HEAD + "\x0c" + SEQ.format(first="layers.LSTM(32)"),
        HEAD + "if keras:\n\x0c    x = 1\n    " + SEQ.format(first="layers.LSTM(32)"),
    ],
    ids=[
        "comments at the end, no final newline",
        "CR line breaks",
        "form feed before a statement",
        "form feed in a block",
    ],
)
def test_a_fix_that_would_change_other_bytes_is_not_made(text: str) -> None:
    assert [f.code for f in check_source(text, "m.py")] == ["KER103"]
    assert fix_text(text, "m.py", unsafe=True) == (text, 0)


def test_the_comment_above_a_removed_import_stays() -> None:
    text = (
        HEAD + "# the wrapper we used to need\nfrom keras.layers import TimeDistributed\n"
        "inp = keras.Input(shape=(30, 8))\nh = layers.LSTM(16, return_sequences=True)(inp)\n"
        "z = TimeDistributed(layers.Dense(4))(h)\n"
    )
    fixed, count = fix_text(text, "m.py", unsafe=True)
    assert count == 1
    assert fixed == text.replace("from keras.layers import TimeDistributed\n", "").replace(
        "TimeDistributed(layers.Dense(4))", "layers.Dense(4)"
    )


def test_an_unwrap_keeps_the_expression_whole() -> None:
    text = (
        HEAD + "c = True\ninp = keras.Input(shape=(30, 8))\nh = layers.LSTM(16, return_sequences=True)(inp)\n"
        "y = layers.TimeDistributed(layers.Dense(4) if c else layers.Dense(5))(h)\n"
    )
    fixed, count = fix_text(text, "m.py", unsafe=True)
    assert count == 1 and fixed.endswith("y = (layers.Dense(4) if c else layers.Dense(5))(h)\n")
    call = ast.parse(fixed).body[-1].value  # type: ignore[attr-defined]
    assert isinstance(call, ast.Call) and isinstance(call.func, ast.IfExp)  # y is the layer's output


def test_a_safe_fix_is_applied_only_in_the_combination_it_was_checked_in() -> None:
    """KER106 on the SimpleRNN passes only beside the unsafe KER101 unwrap after it: alone it
    makes a KER102. It is offered as unsafe, and --fix alone adds no finding."""
    path = FIXTURES / "ker106_sequence_into_repeatvector.py"
    text = path.read_text(encoding="utf-8")
    before = Counter(f.code for f in check_source(text, str(path)))
    fixed, count = fix_text(text, str(path), unsafe=False)
    after = Counter(f.code for f in check_source(fixed, str(path)))
    assert count > 0 and not after - before
    analysis = analyse(text, str(path))
    assert analysis is not None
    kinds = {o.finding.line: o.fix.applicability for o in offers(analysis, str(path))}
    blamed, direct = (
        line_of(path, "y = layers.RepeatVector(n_out)(y)"),
        line_of(path, "    layers.RepeatVector(n_out),"),
    )
    assert kinds[blamed] == "unsafe" and kinds[direct] == "safe"
