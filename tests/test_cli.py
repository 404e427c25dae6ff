"""The command line: selection, formats, exit status, noqa, discovery, the rule pages."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from kerascheck import check_source, rules
from tests.conftest import FIXTURES, fixture_key, run_cli

TWO_FINDINGS = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    layers.GRU(16, return_sequences=True),
    layers.TimeDistributed(layers.Dense(15)),
    layers.LSTM(8),
    layers.LSTM(4),
])
"""
CLEAN = """\
import keras

model = keras.Sequential([keras.Input(shape=(64, 15)), keras.layers.GRU(16), keras.layers.Dense(8)])
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "model.py").write_text(TWO_FINDINGS)
    (tmp_path / "clean.py").write_text(CLEAN)
    return tmp_path


def test_text_output_and_exit_status(project: Path) -> None:
    result = run_cli("check", "--output-format", "concise", str(project))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{project / 'model.py'}:7:5: KER101 TimeDistributed(Dense(15)) on (None, 64, 16)")
    assert "same 255 parameters" in lines[0]
    assert lines[1].startswith(
        f"{project / 'model.py'}:9:5: KER103 [*] LSTM(4) needs a sequence (rank 3) but gets (None, 8)"
    )
    assert lines[2:] == [
        "Found 2 findings in 1 file.",
        "[*] 1 fixable with --fix.",
        "1 more fixable with --fix --unsafe-fixes.",
    ]


def test_clean_file_exits_0(project: Path) -> None:
    result = run_cli("check", str(project / "clean.py"))
    assert (result.returncode, result.stdout) == (0, "No findings.\n")


def test_exit_zero(project: Path) -> None:
    assert run_cli("check", "--exit-zero", str(project)).returncode == 0


@pytest.mark.parametrize(
    ("flags", "codes"),
    [
        ([], ["KER101", "KER103"]),
        (["--select", "KER101"], ["KER101"]),
        (["--select", "KER10"], ["KER101", "KER103"]),
        (["--ignore", "KER101"], ["KER103"]),
        (["--select", "KER1", "--ignore", "KER103,KER101"], []),
    ],
)
def test_select_and_ignore(project: Path, flags: list[str], codes: list[str]) -> None:
    result = run_cli("check", "--format", "json", *flags, str(project))
    assert [f["code"] for f in json.loads(result.stdout)] == codes
    assert result.returncode == (1 if codes else 0)


def test_json_schema(project: Path) -> None:
    result = run_cli("check", "--format", "json", str(project / "model.py"))
    findings = json.loads(result.stdout)
    assert [set(f) for f in findings] == [
        {"path", "line", "column", "end_line", "end_column", "code", "name", "message", "fix", "verification", "cell"}
    ] * 2
    first = findings[0]
    assert (first["line"], first["column"], first["end_line"], first["end_column"]) == (7, 5, 7, 45)
    assert (first["code"], first["name"]) == ("KER101", "redundant-time-distributed")
    assert first["verification"] is None
    assert first["cell"] is None  # a notebook cell, for .ipynb files


def test_output_file(project: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = run_cli("check", "--format", "json", "--output", str(out), str(project))
    assert result.stdout == ""
    assert len(json.loads(out.read_text())) == 2


def test_jobs_do_not_change_the_output(project: Path) -> None:
    for i in range(6):
        (project / f"copy{i}.py").write_text(TWO_FINDINGS)
    one = run_cli("check", "--jobs", "1", str(project))
    two = run_cli("check", "--jobs", "2", str(project))
    assert one.stdout == two.stdout and one.returncode == two.returncode == 1


def test_jobs_do_not_change_the_output_over_the_fixtures(
    cli_fixture_run: subprocess.CompletedProcess[str], cli_fixture_findings: dict[str, list[dict]], tmp_path: Path
) -> None:
    """Every fixture (notebooks too) is reported in the order of its path and its positions; a
    pool of two reports what one process does over a fixture of each kind: each suffix and folder,
    with findings or none, and each code with a fix, without one and in a cell (the pool's processes
    run the same code on a file as one process: what can differ is what they hand back, and in
    which order). The first such fixture of each kind, in the order of their paths."""
    findings = json.loads(cli_fixture_run.stdout)  # --jobs 1, shared with the fixture tests
    assert any(f["cell"] is not None for f in findings)
    keys = [(f["path"], f["cell"] or 0, f["line"], f["column"]) for f in findings]
    assert keys == sorted(keys)
    chosen: dict[tuple[object, ...], str] = {}
    for path in sorted([*FIXTURES.rglob("*.py"), *FIXTURES.rglob("*.ipynb")]):
        found = cli_fixture_findings.get(fixture_key(path), [])
        kinds = [(path.suffix, path.parent.name, bool(found))]
        kinds += [(f["code"], f["fix"] is not None, f["cell"] is not None) for f in found]
        for kind in kinds:
            chosen.setdefault(kind, fixture_key(path))
    copy = tmp_path / "fixtures"
    for name in set(chosen.values()):
        (copy / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(FIXTURES / name, copy / name)
    assert len(set(chosen.values())) > 10
    one = run_cli("check", "--format", "json", "--jobs", "1", str(copy))
    two = run_cli("check", "--format", "json", "--jobs", "2", str(copy))
    assert one.returncode == two.returncode == 1, one.stderr + two.stderr
    assert one.stdout == two.stdout and one.stderr == two.stderr


@pytest.mark.parametrize(
    ("comment", "kept"),
    [
        ("", ["KER101"]),
        ("  # noqa", []),
        ("  # noqa: KER101", []),
        ("  # NOQA:KER1", []),
        ("  # noqa: KER103", ["KER101"]),
        ("  # noqa: E501, KER101", []),
    ],
)
def test_noqa(comment: str, kept: list[str]) -> None:
    source = TWO_FINDINGS.replace(
        "layers.TimeDistributed(layers.Dense(15)),", "layers.TimeDistributed(layers.Dense(15))," + comment
    )
    codes = [f.code for f in check_source(source, select=["KER101"])]
    assert codes == kept


def test_noqa_lines_are_flake8s() -> None:
    """flake8 joins the lines of a multi-line token (a docstring), not those inside brackets."""
    bracketed = """\
import keras
x = keras.Input(shape=(5, 3))
y = keras.layers.TimeDistributed(
    keras.layers.Dense(2)
)(x)  # noqa: KER101
"""
    assert [f.code for f in check_source(bracketed)] == ["KER101"]
    assert check_source(bracketed.replace("TimeDistributed(", "TimeDistributed(  # noqa: KER101")) == []
    string = """\
import keras
x = keras.Input(shape=(5, 3))
y = keras.layers.TimeDistributed(keras.layers.Dense(2), name=\"\"\"td
\"\"\")(x)  # noqa: KER101
"""
    assert check_source(string) == []


def test_file_level_noqa() -> None:
    assert check_source("# kerascheck: noqa\n" + TWO_FINDINGS) == []
    assert len(check_source("x = 1  # kerascheck: noqa\n" + TWO_FINDINGS)) == 2  # only on a line of its own


def test_discovery_skips_gitignored_files_and_virtualenvs(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    (tmp_path / ".gitignore").write_text("generated/\n")
    for folder in ("src", "generated", "env", ".venv", "node_modules"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "model.py").write_text(TWO_FINDINGS)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    result = run_cli("check", "--format", "json", ".", cwd=tmp_path)
    assert {Path(f["path"]).parts[0] for f in json.loads(result.stdout)} == {"src"}
    # A folder named explicitly is checked even where git ignores it.
    result = run_cli("check", "--format", "json", "generated", cwd=tmp_path)
    assert len(json.loads(result.stdout)) == 2


def test_discovery_outside_git(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.py").write_text(TWO_FINDINGS)
    (tmp_path / "a" / "notes.txt").write_text(TWO_FINDINGS)
    (tmp_path / "__pycache__").mkdir()
    (tmp_path / "__pycache__" / "model.py").write_text(TWO_FINDINGS)
    result = run_cli("check", "--format", "json", str(tmp_path))
    assert {f["path"] for f in json.loads(result.stdout)} == {str(tmp_path / "a" / "model.py")}


def test_rule_pages() -> None:
    listing = run_cli("rule")
    assert listing.returncode == 0
    assert [line.split()[0] for line in listing.stdout.splitlines()] == [r.code for r in rules.all_rules()]
    for rule in rules.all_rules():
        page = run_cli("rule", rule.code.lower())
        assert page.returncode == 0
        assert page.stdout == rule.page
        for heading in ("## What it does", "## Why it matters", "## Example", "## Fix", "## Verification"):
            assert heading in page.stdout
    unknown = run_cli("rule", "KER999")
    assert unknown.returncode == 2 and "unknown rule" in unknown.stderr


def test_prefilter_skips_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    import kerascheck.check as check_module

    calls: list[str] = []
    real_parse = check_module._parse_here

    def parse_here(text: str, path: str) -> object:
        calls.append(path)
        return real_parse(text, path)

    monkeypatch.setattr(check_module, "_parse_here", parse_here)
    check_source("import numpy\nx = numpy.zeros(3)\n", "plain.py")
    check_source("import keras\nx = keras.layers.Dense(3)\n", "no_rnn.py")
    check_source("LSTM = 3\n", "no_keras.py")
    assert calls == []
    check_source(TWO_FINDINGS, "model.py")
    assert calls == ["model.py"]
