"""Notebooks: code cells read as one program, IPython syntax skipped safely, findings placed by
cell and line, bad notebooks reported in one line, and the round trip back into the JSON."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from kerascheck import notebooks, pipeline
from kerascheck.findings import Finding, SourceError
from tests.conftest import FIXTURES, expected_in, run_cli


def _check(raw: str, path: str) -> list[Finding]:
    """A notebook's findings, as the runner gets them: through the pipeline."""
    return pipeline.check(pipeline.from_text(path, raw))


NOTEBOOK_FIXTURES = sorted(FIXTURES.glob("notebook_*.ipynb"))


def code(source: str | list[str], outputs: list | None = None) -> dict:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": outputs or [], "source": source}


def markdown(source: str) -> dict:
    return {"cell_type": "markdown", "metadata": {}, "source": source}


def notebook(*cells: dict, language: str = "python") -> dict:
    return {
        "cells": list(cells),
        "metadata": {"kernelspec": {"display_name": "Python 3", "language": language, "name": "python3"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


def lines(text: str) -> list[str]:
    return text.splitlines(keepends=True)


def nbformat_text(nb: dict) -> str:
    """As Jupyter writes a notebook: indent 1, sorted keys, non-ASCII kept, a final newline."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


IMPORTS = "import numpy as np\nimport keras\nfrom keras import layers\n"
MODEL = """\
model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    layers.GRU(16, return_sequences=True),
    layers.TimeDistributed(layers.Dense(15)),
    layers.GRU(8),
])
"""
TRAIN = "model.compile(loss='mse')\nmodel.fit(np.zeros((32, 64, 15)), np.zeros((32, 64, 8)))\n"


def expectations(path: Path) -> Counter[tuple[int, int, str]]:
    """``(cell, line, code)`` -> how many, from the ``# expect:`` comments in a notebook's code
    cells (read as ``conftest.expected_in`` reads a file)."""
    found: Counter[tuple[int, int, str]] = Counter()
    for number, cell in enumerate(json.loads(path.read_text(encoding="utf-8"))["cells"], start=1):
        if cell["cell_type"] == "code":
            source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            found.update({(number, line, code): n for (line, code), n in expected_in(source).items()})
    return found


def _reported(findings: list[dict]) -> Counter[tuple[int, int, str]]:
    return Counter((f["cell"], f["line"], f["code"]) for f in findings)


def broken_cells(path: Path) -> set[int]:
    """Cells that say ``# expect: syntax error``: not Python, to be skipped with an error line."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return {n for n, cell in enumerate(cells, start=1) if "# expect: syntax error" in "".join(cell["source"])}


@pytest.mark.parametrize("path", NOTEBOOK_FIXTURES, ids=[p.name for p in NOTEBOOK_FIXTURES])
def test_notebook_fixtures_match_their_expectations(path: Path) -> None:
    result = run_cli("check", "--format", "json", "--exit-zero", str(path))
    broken = broken_cells(path)
    assert result.returncode == (2 if broken else 0), result.stderr
    assert {int(n) for n in re.findall(r"syntax error in cell (\d+)", result.stderr)} == broken
    assert _reported(json.loads(result.stdout)) == expectations(path)


def test_a_notebook_fixture_exists() -> None:
    assert NOTEBOOK_FIXTURES and all(expectations(p) for p in NOTEBOOK_FIXTURES)


def test_cells_are_one_program_and_positions_count_in_cells(tmp_path: Path) -> None:
    nb = notebook(
        markdown("# Title\n\nText."),
        code(lines(IMPORTS)),
        markdown("The model."),
        code(lines(MODEL)),
        code(lines(TRAIN)),
    )
    path = tmp_path / "nb.ipynb"
    path.write_text(nbformat_text(nb))
    result = run_cli("check", "--format", "json", str(path))
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)
    assert [(f["code"], f["cell"], f["line"], f["column"], f["end_line"]) for f in findings] == [
        ("KER101", 4, 4, 5, 4),
        ("KER104", 5, 2, 1, 2),  # trained in another cell than the one that built it
    ]
    assert findings[0]["end_column"] == 45
    # The same code as a .py file: the same columns, lines shifted by the lines of the cells before.
    (tmp_path / "same.py").write_text(IMPORTS + MODEL + TRAIN)
    as_file = json.loads(run_cli("check", "--format", "json", str(tmp_path / "same.py")).stdout)
    shift = {4: len(lines(IMPORTS)), 5: len(lines(IMPORTS + MODEL))}
    moved = [
        (f["line"] + shift[f["cell"]], f["column"], f["end_line"] + shift[f["cell"]], f["end_column"]) for f in findings
    ]
    assert moved == [(g["line"], g["column"], g["end_line"], g["end_column"]) for g in as_file]
    assert "GRU(8) on line 5 of cell 4 has return_sequences=False" in findings[1]["message"]

    text = run_cli("check", "--output-format", "concise", str(path))
    assert text.stdout.splitlines()[0].startswith(f"{path}:cell 4:4:5: KER101 TimeDistributed(Dense(15))")
    assert text.stdout.splitlines()[1].startswith(f"{path}:cell 5:2:1: KER104 ")


def test_python_files_have_no_cell(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(IMPORTS + MODEL)
    findings = json.loads(run_cli("check", "--format", "json", str(tmp_path / "model.py")).stdout)
    assert findings and all(f["cell"] is None for f in findings)


MAGICS = """\
%matplotlib inline
%load_ext autoreload
!pip install keras
files = !ls -la
x = %pwd
pip install keras
np?
??np.zeros
np.zeros??
if True:
    %time y = 1
for i in range(2):
    !echo {i} \\
        continued
    pass
text = \"\"\"
%not a magic inside a string
is it?
\"\"\"
z = 1  # why?
"""


def test_magics_and_shell_lines_become_neutral_lines() -> None:
    nb = notebook(code(lines(IMPORTS + MAGICS + MODEL)))
    text, line_map = notebooks.to_program(nbformat_text(nb))
    program = text.splitlines()
    original = (IMPORTS + MAGICS + MODEL).splitlines()
    assert len(program) == len(original) == len(line_map.lines)
    compile(text, "<notebook>", "exec")  # nothing breaks
    changed = {original[i] for i in range(len(original)) if program[i] != original[i]}
    assert changed == {
        "%matplotlib inline",
        "%load_ext autoreload",
        "!pip install keras",
        "files = !ls -la",
        "x = %pwd",
        "pip install keras",
        "np?",
        "??np.zeros",
        "np.zeros??",
        "    %time y = 1",
        "    !echo {i} \\",
        "        continued",
    }
    assert program[original.index("    %time y = 1")] == "    pass"
    assert "%not a magic inside a string" in program and "is it?" in program and "z = 1  # why?" in program
    # Lines keep their place: the finding after all this is still on its own line.
    findings = _check(nbformat_text(nb), "nb.ipynb")
    model_line = original.index("    layers.TimeDistributed(layers.Dense(15)),") + 1
    assert [(f.code, f.cell, f.line, f.column) for f in findings] == [("KER101", 1, model_line, 5)]


def test_cell_magics() -> None:
    nb = notebook(
        code(lines(IMPORTS)),
        code(lines("%%bash\nls (\n")),  # not Python: the whole cell is skipped
        code(lines("%%writefile model.py\n" + MODEL)),  # written to a file, not run: skipped
        code(lines("%%time\n" + MODEL)),  # run in the kernel: checked
        code(lines("%%capture captured\n" + TRAIN)),
    )
    findings = _check(nbformat_text(nb), "nb.ipynb")
    assert [(f.code, f.cell, f.line) for f in findings] == [("KER101", 4, 5), ("KER104", 5, 3)]


def test_noqa_in_notebooks() -> None:
    silenced = MODEL.replace("layers.Dense(15)),", "layers.Dense(15)),  # noqa: KER101")
    nb = notebook(code(lines(IMPORTS)), code(lines(silenced)))
    assert _check(nbformat_text(nb), "nb.ipynb") == []
    nb = notebook(code(lines("# kerascheck: noqa\n" + IMPORTS)), code(lines(MODEL)))
    assert _check(nbformat_text(nb), "nb.ipynb") == []


def test_other_languages_and_empty_notebooks_are_nothing_to_check(tmp_path: Path) -> None:
    (tmp_path / "r.ipynb").write_text(nbformat_text(notebook(code(lines(IMPORTS + MODEL)), language="R")))
    (tmp_path / "empty.ipynb").write_text(nbformat_text(notebook(markdown("Only text."))))
    result = run_cli("check", str(tmp_path / "r.ipynb"), str(tmp_path / "empty.ipynb"))
    assert (result.returncode, result.stdout, result.stderr) == (0, "No findings.\n", "")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ('{"cells": [', "not a notebook: invalid JSON on line 1, column 12"),
        ("print('hello')\n", "not a notebook: invalid JSON on line 1, column 1"),
        ("[1, 2]", "not a notebook: the JSON is not an object"),
        ('{"metadata": {}}', 'not a notebook: no "cells" list'),
        ('{"worksheets": [], "nbformat": 3}', "nbformat 3 notebooks are not supported"),
        ('{"cells": [{"cell_type": "code", "source": 3}]}', "cell 1 has a source that is not text"),
        (
            nbformat_text(notebook(code(lines(IMPORTS)), code(["model = keras.Sequential([LSTM(4)\n"]))),
            "syntax error in cell 2 on line 1",
        ),
    ],
)
def test_a_bad_notebook_gets_one_clear_line(tmp_path: Path, content: str, reason: str) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text(content)
    good = tmp_path / "good.ipynb"
    good.write_text(nbformat_text(notebook(code(lines(IMPORTS + MODEL)))))
    result = run_cli("check", str(bad), str(good))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert result.stderr.startswith(f"error: {bad}: ") and reason in result.stderr
    assert f"{good}:cell 1:" in result.stdout  # the other notebook was still checked


def test_notebooks_are_found_in_folders_and_checkpoints_are_not(tmp_path: Path) -> None:
    content = nbformat_text(notebook(code(lines(IMPORTS + MODEL))))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "nb.ipynb").write_text(content)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text(content)
    findings = json.loads(run_cli("check", "--format", "json", str(tmp_path)).stdout)
    assert {f["path"] for f in findings} == {str(tmp_path / "sub" / "nb.ipynb")}


# ---------------------------------------------------------------- the round trip


def styles() -> dict[str, str]:
    nb = notebook(
        markdown("# Caf\u00e9 \u2615"),
        code(lines("%matplotlib inline\n" + IMPORTS), outputs=[{"output_type": "stream", "text": "x"}]),
        code(lines(MODEL)),
        code(TRAIN.rstrip("\n")),  # one string, no final newline
        code([]),
    )
    return {
        "nbformat": nbformat_text(nb),
        "indent2": json.dumps(nb, indent=2) + "\n",  # ASCII escapes, keys in insertion order
        "compact": json.dumps(nb, separators=(",", ":")),  # no final newline either
        "crlf": nbformat_text(nb).replace("\n", "\r\n"),
        "tabs": json.dumps(nb, indent="\t", ensure_ascii=False),
    }


@pytest.mark.parametrize("style", sorted(styles()))
def test_no_change_gives_the_same_bytes(style: str) -> None:
    raw = styles()[style]
    text, _ = notebooks.to_program(raw)
    assert notebooks.with_program(raw, text) == raw


@pytest.mark.parametrize("style", sorted(styles()))
def test_a_changed_line_lands_in_its_cell_and_nothing_else_moves(style: str) -> None:
    raw = styles()[style]
    text, _ = notebooks.to_program(raw)
    new_text = text.replace("layers.GRU(8),", "layers.GRU(8, return_sequences=True),")
    new_raw = notebooks.with_program(raw, new_text)
    before, after = json.loads(raw), json.loads(new_raw)
    fixed_model = MODEL.replace("layers.GRU(8),", "layers.GRU(8, return_sequences=True),")
    assert after["cells"][2]["source"] == lines(fixed_model)
    for number in (0, 1, 3, 4):
        assert after["cells"][number] == before["cells"][number]  # outputs and magics too
    assert after["cells"][2]["outputs"] == before["cells"][2]["outputs"]
    assert {k: v for k, v in after.items() if k != "cells"} == {k: v for k, v in before.items() if k != "cells"}
    # Byte for byte outside the changed source: same text once the one line is put back.
    assert new_raw.replace("GRU(8, return_sequences=True)", "GRU(8)") == raw
    # The program of the new notebook is the new text.
    assert notebooks.to_program(new_raw)[0] == new_text


def test_changes_that_add_or_remove_lines_and_touch_string_sources() -> None:
    raw = styles()["nbformat"]
    text, _ = notebooks.to_program(raw)
    unwrapped = text.replace(
        "    layers.TimeDistributed(layers.Dense(15)),\n", "    layers.Dense(\n        15,\n    ),\n"
    ).replace("model.compile(loss='mse')\n", "")
    after = json.loads(notebooks.with_program(raw, unwrapped))
    assert "".join(after["cells"][2]["source"]) == MODEL.replace(
        "    layers.TimeDistributed(layers.Dense(15)),\n", "    layers.Dense(\n        15,\n    ),\n"
    )
    assert after["cells"][3]["source"] == "model.fit(np.zeros((32, 64, 15)), np.zeros((32, 64, 8)))"  # still a string
    assert after["cells"][1]["source"][0] == "%matplotlib inline\n"


def test_changes_that_cannot_be_written_back_are_refused() -> None:
    raw = styles()["nbformat"]
    text, _ = notebooks.to_program(raw)
    program = text.splitlines(keepends=True)
    with pytest.raises(notebooks.NotebookError, match="IPython line"):
        notebooks.with_program(raw, text.replace("pass\n", "import os\n", 1))
    last_of_cell_2 = program.index("])\n")
    spanning = program[:last_of_cell_2] + ["]); model.compile(loss='mae')\n"] + program[last_of_cell_2 + 2 :]
    with pytest.raises(notebooks.NotebookError, match="spans cells 3 and 4"):
        notebooks.with_program(raw, "".join(spanning))


def test_file_position_points_into_the_json_text() -> None:
    for raw in styles().values():
        _, line_map = notebooks.to_program(raw)
        for cell, line in line_map.lines:
            source = json.loads(raw)["cells"][cell - 1]["source"]
            cell_line = "".join(source).splitlines()[line - 1]
            if not cell_line.strip():
                continue
            column = len(cell_line) - len(cell_line.lstrip()) + 1
            raw_line, raw_column = notebooks.file_position(raw, cell, line, column)
            stored = raw.splitlines()[raw_line - 1]
            expected = json.dumps(cell_line.lstrip(), ensure_ascii=raw.isascii())[1:-1]
            assert stored[raw_column - 1 :].startswith(expected[:10]), (cell, line, stored)


def test_pipeline_raises_source_error_for_a_broken_notebook() -> None:
    with pytest.raises(SourceError, match="not a notebook"):
        _check("nope", "x.ipynb")


def test_fix_writes_cells_back_and_keeps_outputs(tmp_path: Path) -> None:
    original = FIXTURES / "notebook_model_across_cells.ipynb"
    target = tmp_path / original.name
    shutil.copy(original, target)
    result = run_cli("check", "--fix", "--unsafe-fixes", str(target))
    assert "Traceback" not in result.stderr
    assert result.stdout.startswith("Fixed 3 findings.\n")
    before, after = json.loads(original.read_text()), json.loads(target.read_text())
    assert after["metadata"] == before["metadata"]
    changed = []
    for number, (old, new) in enumerate(zip(before["cells"], after["cells"], strict=True), start=1):
        assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
        if old["source"] != new["source"]:
            changed.append(number)
    assert changed == [5, 8]
    assert "    layers.GRU(8, return_sequences=True),\n" in after["cells"][4]["source"]
    assert run_cli("check", str(target)).stdout == "No findings.\n"
    mtime = target.stat().st_mtime_ns
    run_cli("check", "--fix", "--unsafe-fixes", str(target))
    assert target.stat().st_mtime_ns == mtime  # nothing left to fix: not written again


# ---------------------------------------------------------------- IPython's cleanup

# Cells and what IPython 8's cleanup transforms (IPython.core.inputtransformer2: leading_empty_lines,
# leading_indent, classic_prompt, ipython_prompt) make of them, as IPython itself gave them.
IPYTHON_CLEANUP = [
    ("  x = 1\n  y = 2\n", ["x = 1", "y = 2"]),
    ("\n    x = 1\n    if x:\n        y = 2\n", ["x = 1", "if x:", "    y = 2"]),
    ("  x = 1\ny = 2\n", ["x = 1", "y = 2"]),
    ("\tx = 1\n\ty = 2\n", ["x = 1", "y = 2"]),
    (">>> x = 1\n>>> if x:\n...     y = 2\n", ["x = 1", "if x:", "    y = 2"]),
    (">>> x = 1\n", ["x = 1"]),
    ("x = 1\n... \n", ["x = 1", ""]),
    ("...\n", ["..."]),
    ("x = ...\n>>> y\n", ["x = ...", "y"]),
    ("In [3]: x = 1\n   ...: y = 2\n", ["x = 1", "y = 2"]),
    ("In [12]: for i in range(2):\n    ...:     print(i)\n", ["for i in range(2):", "    print(i)"]),
    ("x = 1\n   ...: y = 2\n", ["x = 1", "y = 2"]),
    ("   In [3]: x = 1\n      ...: y = 2\n", ["x = 1", "y = 2"]),
    ("  >>> x = 1\n  ... y = 2\n", ["x = 1", "y = 2"]),
    ("[nav] In [2]: x = 1\n", ["x = 1"]),
    ("x = [\n  1,\n]\n", ["x = [", "  1,", "]"]),
    (">>>x = 1\n", [">>>x = 1"]),
]


@pytest.mark.parametrize(("cell", "ipython"), IPYTHON_CLEANUP, ids=[repr(c) for c, _ in IPYTHON_CLEANUP])
def test_cells_are_cleaned_up_as_ipython_does_one_line_for_one_line(cell: str, ipython: list[str]) -> None:
    lines = cell.splitlines()
    cleaned, prefixes = notebooks.cleanup(lines)
    assert len(cleaned) == len(lines) == len(prefixes)
    first = next(i for i, line in enumerate(lines) if line.strip())
    assert cleaned[:first] == lines[:first] and cleaned[first:] == ipython  # IPython drops leading blanks
    assert [p + c for p, c in zip(prefixes, cleaned)] == lines  # only prefixes are removed


CLEANUP_FIXTURE = FIXTURES / "notebook_ipython_cleanup.ipynb"


def _cell_lines(raw: str, cell: int) -> list[str]:
    source = json.loads(raw)["cells"][cell - 1]["source"]
    return ("".join(source) if isinstance(source, list) else source).splitlines()


def test_findings_in_cleaned_cells_have_the_cells_own_columns_in_every_format() -> None:
    raw = CLEANUP_FIXTURE.read_text(encoding="utf-8")
    result = run_cli("check", "--format", "json", "--exit-zero", str(CLEANUP_FIXTURE))
    findings = json.loads(result.stdout)
    assert {f["cell"] for f in findings} == {3, 4, 5, 8}
    for f in findings:
        text = _cell_lines(raw, f["cell"])[f["line"] - 1]
        assert text[f["column"] - 1 :].startswith("layers."), (f["cell"], text, f["column"])
        assert text[f["end_column"] - 2] == ")", (f["cell"], text, f["end_column"])
    sarif = json.loads(run_cli("check", "--format", "sarif", str(CLEANUP_FIXTURE)).stdout)
    github = run_cli("check", "--format", "github", str(CLEANUP_FIXTURE)).stdout
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in sarif["runs"][0]["results"]]
    columns = [(int(line), int(col)) for line, col in re.findall(r"line=(\d+),col=(\d+)", github)]
    assert len(regions) == len(columns) == len(findings)
    stored = raw.splitlines()
    for region, (line, column) in zip(regions, columns):
        assert (region["startLine"], region["startColumn"]) == (line, column)
        assert stored[line - 1][column - 1 :].startswith("layers."), stored[line - 1]


def test_a_cell_that_is_not_python_is_skipped_and_the_others_are_checked(tmp_path: Path) -> None:
    bad = tmp_path / "bad.ipynb"
    bad.write_text(
        nbformat_text(notebook(code(lines(IMPORTS)), code(["x = (\n"]), code(lines(MODEL)), code(["y = ]\n"])))
    )
    result = run_cli("check", "--output-format", "concise", str(bad))
    assert result.returncode == 2
    assert result.stderr.splitlines() == [
        f"error: {bad}: syntax error in cell 2 on line 1: '(' was never closed; syntax error in cell 4 on line 1: "
        "unmatched ']' (those cells are skipped, the others are checked)"
    ]
    assert result.stdout.startswith(f"{bad}:cell 3:4:5: KER101 ")
    only_bad = tmp_path / "only_bad.ipynb"
    only_bad.write_text(nbformat_text(notebook(code(["x = (\n"]))))
    result = run_cli("check", str(only_bad))
    assert result.returncode == 2 and "syntax error in cell 1 on line 1" in result.stderr
    source = pipeline.from_text(str(bad), bad.read_text())
    assert source.line_map is not None
    assert "syntax error in cell 2 on line 1" in (source.line_map.skipped_reason() or "")
    assert [(f.cell, f.code) for f in pipeline.check(source)] == [(3, "KER101")]


def _with_broken_cell(tmp_path: Path) -> Path:
    """The cleanup fixture with a last cell that is not Python even once cleaned up (cell 9)."""
    nb = json.loads(CLEANUP_FIXTURE.read_text(encoding="utf-8"))
    nb["cells"].append(code(["  model.fit(X,\n", "  y = 1\n"]))
    target = tmp_path / CLEANUP_FIXTURE.name
    target.write_text(nbformat_text(nb), encoding="utf-8")
    return target


def test_a_broken_cell_is_skipped_and_the_indented_cells_are_still_checked(tmp_path: Path) -> None:
    target = _with_broken_cell(tmp_path)
    result = run_cli("check", "--format", "json", str(target))
    assert result.returncode == 2
    assert (
        result.stderr
        == f"error: {target}: syntax error in cell 9 on line 1: '(' was never closed (the cell is skipped, the others are checked)\n"
    )
    assert _reported(json.loads(result.stdout)) == expectations(CLEANUP_FIXTURE)


def test_fixes_in_cleaned_cells_keep_the_indent_and_the_prompts(tmp_path: Path) -> None:
    target = _with_broken_cell(tmp_path)
    before = target.read_text(encoding="utf-8")
    result = run_cli("check", "--fix", "--unsafe-fixes", str(target))
    assert result.returncode == 2 and "syntax error in cell 9" in result.stderr
    assert result.stdout.startswith("Fixed 2 findings.\n")
    after = target.read_text(encoding="utf-8")
    assert _cell_lines(after, 3)[2] == "  x = layers.Dense(4)(x)  # expect: KER101"
    assert _cell_lines(after, 4)[2] == "...     layers.LSTM(8, return_sequences=True),"
    changed = [n for n in range(1, 10) if _cell_lines(before, n) != _cell_lines(after, n)]
    assert changed == [3, 4]  # the broken cell 9 is left as it was
    for n in (3, 4):
        old, new = _cell_lines(before, n), _cell_lines(after, n)
        assert [line for line in old if line not in new] == [old[2]]


def test_lines_a_change_adds_to_a_cleaned_cell_get_its_indent_or_a_continuation_prompt() -> None:
    raw = nbformat_text(notebook(code([">>> x = [\n", "...     1,\n", "... ]\n"]), code(["  In [2]: y = 1\n"])))
    text, line_map = notebooks.to_program(raw)
    assert text == "x = [\n    1,\n]\ny = 1\n"
    assert [line_map.shift(n) for n in range(1, 5)] == [4, 4, 4, 10]
    changed = text.replace("    1,\n", "    1,\n    2,\n").replace("y = 1\n", "y = 1\nz = 2\n")
    cells = json.loads(notebooks.with_program(raw, changed))["cells"]
    assert "".join(cells[0]["source"]) == ">>> x = [\n...     1,\n...     2,\n... ]\n"
    assert "".join(cells[1]["source"]) == "  In [2]: y = 1\n     ...: z = 2\n"
    assert notebooks.to_program(notebooks.with_program(raw, changed))[0] == changed
