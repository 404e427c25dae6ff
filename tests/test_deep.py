"""Deep but valid code: analysed and fixed, or refused with one line naming the limit; never a
crash of the process, never an internal error (issue 16, items 1 to 3)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kerascheck import deep
from kerascheck.check import check_source
from kerascheck.findings import SourceError
from kerascheck.fix import fix_text
from tests.conftest import ROOT, run_cli

# A finding with a safe fix (KER103: set return_sequences=True on the first LSTM).
FIXABLE = """\
import keras
from keras import layers
model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])
"""
FIXED_LINE = "layers.LSTM(32, return_sequences=True)"

DEEP = {
    "500-term sum": "x = " + " + ".join(["1"] * 500) + "\n",
    "500 elifs": "if a:\n    pass\n" + "elif a:\n    pass\n" * 500,
    "500 nested lambdas": "f = " + "lambda: " * 500 + "1\n",
    "3000 and operands": "x = " + " and ".join(["a"] * 3000) + "\n",
    "8000 and operands": "x = " + " and ".join(["a"] * 8000) + "\n",
    "3000 comparisons": "x = " + " < ".join(["a"] * 3000) + "\n",
}
SEGFAULTING = "8000 and operands"  # checked and fixed through the CLI, below


@pytest.mark.parametrize("name", sorted(set(DEEP) - {SEGFAULTING}))
def test_deep_code_with_a_fixable_finding_is_fixed(name: str) -> None:
    text = FIXABLE + DEEP[name]
    assert [f.code for f in check_source(text, "deep.py")] == ["KER103"]
    fixed, count = fix_text(text, "deep.py", unsafe=True)
    assert count == 1 and FIXED_LINE in fixed
    assert fixed.endswith(DEEP[name])


def test_the_segfaulting_shape_in_a_process_of_its_own(tmp_path: Path) -> None:
    """8,000 operands crashed libcst's native parser on the main thread (exit 139): through the
    CLI, and with --fix (flake8's plugin, on the main thread of flake8's processes, below)."""
    path = tmp_path / "deep.py"
    path.write_text(FIXABLE + DEEP[SEGFAULTING])
    result = run_cli("check", "--format", "json", str(path))
    assert result.returncode == 1, result.stderr
    assert [f["code"] for f in json.loads(result.stdout)] == ["KER103"]
    assert run_cli("check", "--fix", str(path)).returncode == 0
    fixed = path.read_text()
    assert FIXED_LINE in fixed and fixed.endswith(DEEP[SEGFAULTING])


def test_flake8_in_parallel_over_a_tree_holding_the_segfaulting_shape(tmp_path: Path) -> None:
    """``flake8 -j`` hung on such a tree, even with ``--select F``, because the plugin crashed a
    worker: both files are checked and the run ends (the time-out only turns a hang into a failure)."""
    (tmp_path / "deep.py").write_text(FIXABLE + DEEP[SEGFAULTING])
    (tmp_path / "other.py").write_text(FIXABLE)
    for select in ("KER", "F"):
        flake8 = subprocess.run(
            [sys.executable, "-m", "flake8", "-j2", "--select", select, str(tmp_path)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            timeout=300,
        )
        assert "Traceback" not in flake8.stderr, flake8.stderr
        if select == "KER":
            assert flake8.returncode == 1 and flake8.stdout.count("KER103") == 2, flake8.stdout
        else:  # pyflakes reads the whole file: every operand is an undefined name
            assert flake8.stdout.count(" F821 ") == 8000 and "KER" not in flake8.stdout


def test_deeper_than_the_limit_is_one_line_naming_it(tmp_path: Path) -> None:
    text = FIXABLE + "x = " + " and ".join(["a"] * (deep.MAX_DEPTH + 10)) + "\n"
    with pytest.raises(SourceError, match=f"kerascheck reads up to {deep.MAX_DEPTH} levels"):
        check_source(text, "deep.py")


def test_deep_code_in_a_notebook_cell(tmp_path: Path) -> None:
    cells = [FIXABLE, DEEP["500-term sum"], DEEP["3000 and operands"]]
    notebook = {
        "cells": [
            {"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None} for c in cells
        ],
        "metadata": {"language_info": {"name": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    path = tmp_path / "deep.ipynb"
    path.write_text(json.dumps(notebook))
    result = run_cli("check", "--fix", str(path))
    assert result.returncode == 0 and result.stderr == "", result.stderr
    assert FIXED_LINE in json.loads(path.read_text())["cells"][0]["source"]


@pytest.mark.parametrize(
    "text",
    [
        "def f():\n    if a:\n\x0c        x = 1\n",  # a form feed before a nested block's first line
        "s = (" + " ".join(["'a'"] * 4000) + ")\n",  # 4,000 implicitly joined strings
    ],
    ids=["form feed in a block", "4000 joined strings"],
)
def test_valid_python_libcst_cannot_read_is_analysed_and_given_no_fix(text: str) -> None:
    from kerascheck.check import Refused, analyse
    from kerascheck.fix import fix_text, offers

    analysis = analyse(FIXABLE + text, "odd.py")
    assert analysis is not None
    assert [f.code for f in analysis.findings] == [f.code for f in check_source(FIXABLE, "odd.py")] != []
    with pytest.raises(Refused) as raised:
        analysis.module  # noqa: B018 (parsed when asked for)
    assert "syntax error" not in raised.value.reason
    assert raised.value.reason.startswith("valid Python that libcst, kerascheck's parser, cannot read")
    assert offers(analysis, "odd.py") == []
    assert fix_text(FIXABLE + text, "odd.py", unsafe=True) == (FIXABLE + text, 0)
