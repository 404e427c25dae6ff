"""Paths that are there but are no source file (issue 16 items 14 to 17): FIFOs, sockets, symlink
loops and dangling links, named on the command line, to ``explain`` or to ``--config``, say what
they are and never block the run; odd text in a notebook, a BOM in pyproject.toml, CRLF under --diff."""

from __future__ import annotations

import json
import os
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kerascheck import pipeline
from kerascheck.cli import main
from kerascheck.findings import SourceError

MODEL = """\
import keras
from keras import layers
model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])
"""
KINDS = {
    "fifo": "is a FIFO (named pipe), not a file",
    "socket": "is a socket, not a file",
    "loop": "is a symlink loop",
    "dangling": "is a symlink to nothing (dangling)",
}


@pytest.fixture
def kind_path(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[tuple[Path, str]]:
    """A path of the kind the test is parametrized with, and what kerascheck must say it is."""
    kind: str = request.param
    path = tmp_path / f"{kind}.py"
    done = threading.Event()
    if kind == "fifo":
        os.mkfifo(path)
        threading.Thread(target=_unblock, args=(path, done), daemon=True).start()
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
    elif kind == "loop":
        os.symlink(tmp_path / "other.py", path)
        os.symlink(path, tmp_path / "other.py")
    else:
        os.symlink(tmp_path / "nowhere.py", path)
    yield path, KINDS[kind]
    done.set()
    if kind == "socket":
        server.close()


def _unblock(fifo: Path, done: threading.Event) -> None:
    """Should kerascheck wait on the FIFO, end the wait after a while (it then reads nothing, and
    the test fails on what it says) rather than hang the suite."""
    if not done.wait(60):
        with open(fifo, "wb"):
            pass


@pytest.mark.parametrize("kind_path", list(KINDS), indirect=True)
def test_check_says_what_it_is_and_goes_on(
    kind_path: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, said = kind_path
    other = tmp_path / "model.py"
    other.write_text(MODEL)
    code = main(["check", "--isolated", "--jobs", "1", "--output-format", "concise", str(path), str(other)])
    out, err = capsys.readouterr()
    assert code == 2 and err.splitlines() == [f"error: {path}: {said}"]
    assert f"{other}:3:" in out


@pytest.mark.parametrize("kind_path", list(KINDS), indirect=True)
def test_explain_says_what_it_is(kind_path: tuple[Path, str], capsys: pytest.CaptureFixture[str]) -> None:
    path, said = kind_path
    assert main(["explain", f"{path}:3"]) == 2
    assert capsys.readouterr().err == f"error: {path}: {said}\n"


@pytest.mark.parametrize("kind_path", ["fifo", "socket"], indirect=True)
def test_reading_never_opens_it_for_long(kind_path: tuple[Path, str]) -> None:
    """A FIFO with no writer would block an open() for ever; it is opened without waiting."""
    path, said = kind_path
    with pytest.raises(SourceError) as raised:
        pipeline.read(path)
    assert raised.value.reason == said


def test_config_that_is_not_a_file_says_what_it_is(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    done = threading.Event()
    threading.Thread(target=_unblock, args=(fifo, done), daemon=True).start()
    missing = tmp_path / "missing.toml"
    for given, said in [
        (tmp_path, "is a directory"),
        (fifo, "is a FIFO (named pipe), not a file"),
        (missing, "no such file"),
    ]:
        assert main(["check", "--config", str(given), str(tmp_path)]) == 2
        assert capsys.readouterr().err == f"error: {given}: {said}\n"
    done.set()


def test_a_byte_order_mark_in_pyproject_is_read(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kerascheck import config

    path = tmp_path / "pyproject.toml"
    path.write_bytes(b'\xef\xbb\xbf[tool.kerascheck]\nselect = ["KER102"]\n')
    assert config.load(path).selection.select == ("KER102",)
    assert config.find(tmp_path) == path
    (tmp_path / "model.py").write_text(MODEL)
    assert main(["check", str(tmp_path)]) == 0  # KER101 only: not selected
    assert capsys.readouterr().err == ""


def _notebook_with_a_lone_surrogate(tmp_path: Path) -> Path:
    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None}
    text = json.dumps(
        {
            "cells": [{**cell, "source": MODEL}, {**cell, "source": "s = 'X'\n"}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(text.replace("'X'", "'\\ud800'"))  # JSON's escape: valid JSON, no text
    return path


def test_a_lone_surrogate_in_a_notebook_cell_is_one_line_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _notebook_with_a_lone_surrogate(tmp_path)
    code = main(["check", "--isolated", "--output-format", "concise", str(path)])
    out, err = capsys.readouterr()
    assert code == 2 and f"{path}:cell 1:3:" in out
    assert err.splitlines() == [
        f"error: {path}: cell 2 holds a lone surrogate (\\ud800), which is not text"
        " (the cell is skipped, the others are checked)"
    ]


def test_explain_in_a_notebook_with_a_lone_surrogate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _notebook_with_a_lone_surrogate(tmp_path)
    assert main(["explain", f"{path}:2:1"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: no finding on line 1 of cell 2 of {path} (findings at: cell 1:3:72);"
        " cell 2 holds a lone surrogate (\\ud800), which is not text (the cell is skipped, the others are checked)"
    ]


def test_diff_of_a_crlf_file_shows_only_the_changed_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.py"
    crlf = (MODEL + "# a form feed \x0c and U+2028 \u2028 in a comment\n").replace("\n", "\r\n").encode()
    path.write_bytes(crlf)
    assert main(["check", "--isolated", "--diff", str(path)]) == 1
    lines = capsys.readouterr().out.split("\n")
    changed = [line for line in lines if line[:1] in ("+", "-") and line[:3] not in ("+++", "---")]
    assert changed == [
        "-model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])\r",
        "+model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32, return_sequences=True),"
        " layers.LSTM(16)])\r",
    ]
    assert "@@ -1,4 +1,4 @@" in lines  # four lines as CPython counts them, not six
    assert path.read_bytes() == crlf
