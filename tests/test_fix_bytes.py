"""``--fix`` keeps every byte outside its edits (issue 16 items 6 to 8)."""

from __future__ import annotations

import json

from kerascheck import notebooks
from kerascheck.fix import fix_text

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
