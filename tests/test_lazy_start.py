"""A start that costs nothing when nothing is parsed: libcst, the graph and the rules are imported
only once a file passes the prefilter, by the CLI and by the flake8 plugin (issue 15, goal 2).

What is imported is counted in a fresh interpreter (``sys.modules``), never timed; each case has
its control, a Keras file, where the analysis must be imported and the finding reported.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import checkout_env

HEAVY = (
    "libcst",
    "kerascheck.check",
    "kerascheck.graph",
    "kerascheck.rules",
    "kerascheck.fix",
    "kerascheck.verify.cli",
    "kerascheck.findings",
    "kerascheck.notebooks",
)
# The standard library's heavier modules, which a CLI run that parses nothing does without: the
# records it makes are plain classes (dataclasses imports inspect, and inspect ast, dis and more),
# typing's names are read by mypy alone, and a file is hashed only once it passes the prefilter
# (and only for --fix or the cache).
STDLIB = ("dataclasses", "inspect", "typing", "hashlib", "ast")
PLAIN = "import os\n\n\ndef size(path):\n    return os.path.getsize(path)\n"
KERAS = (
    "import keras\n"
    "model = keras.Sequential([keras.Input(shape=(20, 8)), keras.layers.LSTM(16),"
    " keras.layers.TimeDistributed(keras.layers.Dense(1))])\n"
)
NOTEBOOK = json.dumps(
    {
        "cells": [{"cell_type": "code", "source": ["print(1)\n"], "metadata": {}, "outputs": []}],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
)

CLI = """
import contextlib, io, json, sys
from kerascheck.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    status = main(["check", "--no-cache", "--output-format", "concise", *sys.argv[1:]])
heavy = sorted(m for m in sys.modules if m.startswith(tuple(json.loads(HEAVY))))
stdlib = sorted(m for m in json.loads(STDLIB) if m in sys.modules)
print(json.dumps({"status": status, "out": out.getvalue(), "heavy": heavy, "stdlib": stdlib}))
"""

PLUGIN = """
import ast, json, sys
from kerascheck.flake8_plugin import KerasCheckPlugin
found = []
for name in sys.argv[1:]:
    lines = open(name, encoding="utf-8").read().splitlines(keepends=True)
    found += [text for _, _, text, _ in KerasCheckPlugin(ast.parse("".join(lines)), lines, name).run()]
heavy = sorted(m for m in sys.modules if m.startswith(tuple(json.loads(HEAVY))))
print(json.dumps({"found": found, "heavy": heavy}))
"""


def _run(script: str, *args: str, cwd: Path) -> dict[str, object]:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            script.replace("HEAVY", repr(json.dumps(HEAVY))).replace("STDLIB", repr(json.dumps(STDLIB))),
            *args,
        ],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=checkout_env(),
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def _tree(root: Path) -> Path:
    (root / "pkg").mkdir()
    for n in range(5):
        (root / "pkg" / f"m{n}.py").write_text(PLAIN, encoding="utf-8")
    (root / "notes.ipynb").write_text(NOTEBOOK, encoding="utf-8")
    (root / "pyproject.toml").write_text("[tool.kerascheck]\nexclude = ['build']\n", encoding="utf-8")
    return root


def test_check_on_a_tree_without_keras_imports_no_parser(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    plain = _run(CLI, ".", cwd=tree)
    assert plain["status"] == 0 and plain["heavy"] == [] and plain["stdlib"] == ["typing"], plain  # tomllib's
    isolated = _run(CLI, "--isolated", ".", cwd=tree)  # no table read: no tomllib
    assert isolated["status"] == 0 and isolated["heavy"] == [] and isolated["stdlib"] == [], isolated
    (tree / "pkg" / "model.py").write_text(KERAS, encoding="utf-8")  # the control: one Keras file
    keras = _run(CLI, ".", cwd=tree)
    assert keras["status"] == 1 and "KER102" in str(keras["out"]), keras
    assert "libcst" in keras["heavy"] and "kerascheck.rules" in keras["heavy"]
    # hashlib is not among them: a check without --fix or a cache hashes no file
    assert {"dataclasses", "ast"} <= set(keras["stdlib"])  # type: ignore[arg-type]


def _notebook(source: list[str]) -> str:
    cell = {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None}
    return json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_a_notebook_is_converted_only_when_its_cells_mention_keras(tmp_path: Path) -> None:
    """A notebook's JSON is read for "keras" without converting it; the word split between the
    strings of a cell's source, or spelt with JSON escapes, is still seen."""
    tree = _tree(tmp_path)  # its notebook prints, and is not converted (the first test)
    split = _notebook(KERAS.replace("keras", "ker\0as").split("\0"))
    escaped = _notebook([KERAS]).replace("keras", "\\u006beras")
    assert "keras" not in split and "keras" not in escaped
    names = ("split.ipynb", "escaped.ipynb")
    for name, text in zip(names, (split, escaped)):
        (tree / name).write_text(text, encoding="utf-8")
    found = _run(CLI, ".", cwd=tree)  # one run: each notebook's finding says it was converted
    out = str(found["out"])
    assert found["status"] == 1 and "kerascheck.notebooks" in found["heavy"], found  # type: ignore[operator]
    assert [line.split(":cell 1:2:")[0].rsplit("/", 1)[-1] for line in out.splitlines() if "KER102" in line] == sorted(
        names
    ), out
    for name in names:
        (tree / name).unlink()
    (tree / "broken.ipynb").write_text('{"cells": [', encoding="utf-8")  # no Keras, but no notebook either
    broken = _run(CLI, ".", cwd=tree)
    assert broken["status"] == 2 and "kerascheck.notebooks" in broken["heavy"], broken


def test_a_file_named_on_the_command_line_is_parsed_whatever_the_prefilter(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    (tree / "broken.py").write_text("def f(:\n", encoding="utf-8")  # no Keras, but named: its syntax is checked
    named = _run(CLI, "broken.py", cwd=tree)
    assert named["status"] == 2 and "kerascheck.check" in named["heavy"], named
    assert "libcst" not in named["heavy"], named  # CPython's parser says it is no Python


def test_the_flake8_plugin_on_files_without_keras_imports_no_parser(tmp_path: Path) -> None:
    tree = _tree(tmp_path)
    names = [str(p) for p in sorted((tree / "pkg").glob("*.py"))]
    plain = _run(PLUGIN, *names, cwd=tree)
    assert plain == {"found": [], "heavy": []}, plain
    (tree / "pkg" / "model.py").write_text(KERAS, encoding="utf-8")
    keras = _run(PLUGIN, *names, str(tree / "pkg" / "model.py"), cwd=tree)
    assert [text.split()[0] for text in keras["found"]] == ["KER102"]  # type: ignore[union-attr]
    assert "kerascheck.rules" in keras["heavy"]  # type: ignore[operator]
    assert "libcst" not in keras["heavy"]  # type: ignore[operator]  # flake8 offers no fix: libcst never parses


def test_importing_kerascheck_gives_check_source_on_first_use() -> None:
    script = (
        "import sys, kerascheck; before = 'kerascheck.rules' in sys.modules; "
        "found = kerascheck.check_source(sys.argv[1]); "
        "print(before, 'kerascheck.rules' in sys.modules, [f.code for f in found])"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, KERAS], capture_output=True, text=True, env=checkout_env(), timeout=120
    )
    assert done.stdout.strip().split(maxsplit=2) == ["False", "True", "['KER102']"], done.stderr
