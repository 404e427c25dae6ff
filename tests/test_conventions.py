"""The command line behaves as ruff and flake8 users expect (issue 13): standard input, the
configuration nearest each file, errors in every report, encodings, the usual flags, the full
format, explain's locations, notebook diffs. The CLI runs in process (``cli.main``); a subprocess
only where the process boundary is what is tested (flake8)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kerascheck import cli, config, pipeline, runner
from kerascheck.discovery import Target
from kerascheck.verify.cli import Location, choose, no_finding, parse_location
from tests.conftest import ROOT
from tests.test_cli import CLEAN, TWO_FINDINGS
from tests.test_notebooks import IMPORTS, MODEL, code, lines, nbformat_text, notebook

KER101_AT = ":7:5: KER101 "
KER103_AT = ":9:5: KER103 "


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def run(capsys: pytest.CaptureFixture[str], *args: str, stdin: str | bytes | None = None) -> tuple[int, str, str]:
    """``kerascheck ARGS`` in this process: (exit status, stdout, stderr)."""
    if stdin is not None:
        data = stdin.encode("utf-8") if isinstance(stdin, str) else stdin
        stream = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(sys, "stdin", stream)
            status = cli.main(list(args))
    else:
        status = cli.main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "model.py").write_text(TWO_FINDINGS)
    (tmp_path / "clean.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


# ---------------------------------------------------------------- standard input


def test_stdin_is_reported_under_its_filename_with_its_config(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "pyproject.toml").write_text('[tool.kerascheck.per-file-ignores]\n"tests/*" = ["KER103"]\n')
    status, out, _ = run(
        capsys, "check", "--output-format", "concise", "--stdin-filename", "src/m.py", "-", stdin=TWO_FINDINGS
    )
    assert status == 1
    assert [line.split(" ", 2)[:2] for line in out.splitlines()[:2]] == [
        ["src/m.py:7:5:", "KER101"],
        ["src/m.py:9:5:", "KER103"],
    ]
    # per-file-ignores go by the name given, not by the file (none) on disk
    _, out, _ = run(
        capsys, "check", "--output-format", "concise", "--stdin-filename", "tests/m.py", "-", stdin=TWO_FINDINGS
    )
    assert "KER103" not in out and "tests/m.py" + KER101_AT in out


def test_stdin_notebook_by_its_name(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raw = nbformat_text(notebook(code(lines(IMPORTS)), code(lines(MODEL))))
    status, out, _ = run(capsys, "check", "--output-format", "concise", "--stdin-filename", "nb.ipynb", "-", stdin=raw)
    assert status == 1 and out.startswith("nb.ipynb:cell 2:")


def test_stdin_with_fix_prints_the_fixed_text_and_writes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # --stdin-filename names a file that exists, with other text: it is neither read nor written
    before = (project / "model.py").read_bytes()
    status, out, err = run(capsys, "check", "--fix", "--stdin-filename", "model.py", "-", stdin=TWO_FINDINGS)
    assert out == TWO_FINDINGS.replace("layers.LSTM(8),", "layers.LSTM(8, return_sequences=True),")
    assert "Fixed 1 finding." in err and "KER101" in err  # the report goes to stderr
    assert status == 1  # KER101 is left
    assert (project / "model.py").read_bytes() == before
    assert sorted(p.name for p in project.iterdir()) == ["clean.py", "model.py"]


def test_stdin_without_fix_and_clean_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "-", stdin=CLEAN) == (0, "No findings.\n", "")
    status, out, _ = run(capsys, "check", "--fix", "-", stdin=CLEAN)
    assert (status, out) == (0, CLEAN)  # the text unchanged, to stdout


# ---------------------------------------------------------------- configuration per file


def _concise(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    status, out, _ = run(capsys, "check", "--output-format", "concise", *args)
    return status, [" ".join(line.split(" ")[:2]) + " " for line in out.splitlines() if ": KER" in line]


def test_nested_pyproject_files_each_rule_their_own_folder(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.kerascheck]\nselect = ["KER101"]\n')
    child = project / "proj"
    (child / "tests").mkdir(parents=True)
    (child / "tests" / "model.py").write_text(TWO_FINDINGS)
    (child / "model.py").write_text(TWO_FINDINGS)
    # the nearest table wins whole (not merged with the parent's); its globs are relative to it
    (child / "pyproject.toml").write_text(
        '[tool.kerascheck]\nignore = ["KER101"]\n[tool.kerascheck.per-file-ignores]\n"tests/*" = ["KER103"]\n'
    )
    (project / "other").mkdir()
    (project / "other" / "pyproject.toml").write_text("[project]\nname = 'x'\n")  # no table: passed over
    (project / "other" / "model.py").write_text(TWO_FINDINGS)
    _, found = _concise(capsys, ".")
    assert sorted(found) == sorted(
        [
            "model.py" + KER101_AT,
            "other/model.py" + KER101_AT,
            "proj/model.py" + KER103_AT,
        ]
    ), found
    # the command line goes on top of each file's table
    _, found = _concise(capsys, "--extend-select", "KER103", ".")
    assert "other/model.py" + KER103_AT in found and "proj/tests/model.py" + KER103_AT not in found
    # run from the child, or from the parent naming it: the same table for the same file
    assert _concise(capsys, "proj")[1] == ["proj/model.py" + KER103_AT]
    os.chdir(child)
    assert _concise(capsys, ".")[1] == ["model.py" + KER103_AT]
    # --config: one table for every file
    os.chdir(project)
    assert all(KER101_AT in line for line in _concise(capsys, "--config", "pyproject.toml", ".")[1])


def test_symlinked_folder_uses_the_table_it_holds(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = project.parent / f"{project.name}-real"
    (real / "legacy").mkdir(parents=True)
    (real / "model.py").write_text(TWO_FINDINGS)
    (real / "legacy" / "old.py").write_text(TWO_FINDINGS)
    (real / "pyproject.toml").write_text(
        '[tool.kerascheck]\nexclude = ["legacy"]\n[tool.kerascheck.per-file-ignores]\n"model.py" = ["KER101"]\n'
    )
    (project / "linked").symlink_to(real, target_is_directory=True)
    _, found = _concise(capsys, "linked")
    assert found == ["linked/model.py" + KER103_AT]
    _, found = _concise(capsys, "linked/model.py")
    assert found == ["linked/model.py" + KER103_AT]


def test_a_broken_nested_table_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "pyproject.toml").write_text("[tool.kerascheck]\nselct = []\n")
    (project / "sub" / "m.py").write_text(TWO_FINDINGS)
    status, _, err = run(capsys, "check", "--exit-zero", ".")
    assert status == 2 and "unknown key 'selct'" in err and str(project / "sub" / "pyproject.toml") in err


def test_command_line_per_file_ignores_and_extend_exclude(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "pyproject.toml").write_text('[tool.kerascheck.per-file-ignores]\n"model.py" = ["KER101"]\n')
    assert _concise(capsys, ".")[1] == ["model.py" + KER103_AT]
    # --per-file-ignores replaces the table's, --extend-per-file-ignores adds to them
    assert _concise(capsys, "--per-file-ignores", "model.py:KER103", ".")[1] == ["model.py" + KER101_AT]
    assert _concise(capsys, "--extend-per-file-ignores", "model.py:KER103", ".")[1] == []
    assert _concise(capsys, "--extend-exclude", "model.py", ".")[1] == []
    status, _, err = run(capsys, "check", "--per-file-ignores", "model.py", ".")
    assert status == 2 and "PATTERN:CODES" in err


# ---------------------------------------------------------------- flake8 and noqa


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}  # this checkout's plugin, whatever is installed
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "KER", *args], capture_output=True, text=True, cwd=cwd, env=env
    )


def test_flake8_reads_the_nearest_table(project: Path) -> None:
    (project / "sub").mkdir()
    (project / "sub" / "model.py").write_text(TWO_FINDINGS)
    (project / "sub" / "skipped.py").write_text(TWO_FINDINGS)
    (project / "sub" / "pyproject.toml").write_text(
        '[tool.kerascheck]\nignore = ["KER103"]\nexclude = ["skipped.py"]\n'
        '[tool.kerascheck.per-file-ignores]\n"clean.py" = ["KER101"]\n'
    )
    (project / "pyproject.toml").write_text('[tool.kerascheck]\nselect = ["KER103"]\n')
    result = _flake8(project, "model.py", "sub")
    found = sorted(line.split(" ")[0:2] for line in result.stdout.splitlines())
    assert found == [["./sub/model.py:7:5:", "KER101"], ["model.py:9:5:", "KER103"]] or found == [
        ["model.py:9:5:", "KER103"],
        ["sub/model.py:7:5:", "KER101"],
    ], result.stdout + result.stderr


def test_flake8_names_a_broken_table_in_one_line(project: Path) -> None:
    # One line naming the plugin, the table and what is wrong with it; never a traceback. (With
    # -j 2 flake8 prints the same line, but its pool's teardown after a plugin's error can hang on a
    # loaded machine, in multiprocessing: not a thing to wait for in a test.)
    (project / "pyproject.toml").write_text('[tool.kerascheck]\nselect = "KER101"\n')
    (project / "a.py").write_text(TWO_FINDINGS)
    (project / "b.py").write_text(TWO_FINDINGS)
    result = _flake8(project, "-j", "1", "a.py", "b.py")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "Traceback" not in output, output
    failed = [line for line in output.splitlines() if "failed during execution" in line]
    assert len(failed) == 1, output
    assert '"kerascheck[KER]"' in failed[0] and "pyproject.toml" in failed[0], output
    assert "select: must be a list of rule codes" in failed[0], output


def test_flake8_file_noqa_is_honoured_by_the_cli(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "a.py").write_text("# flake8: noqa\n" + TWO_FINDINGS)
    (project / "b.py").write_text("# flake8: noqa: KER101\n" + TWO_FINDINGS)
    (project / "c.py").write_text(TWO_FINDINGS + "x = 1  # flake8: noqa\n")  # not on a line of its own
    _, found = _concise(capsys, "a.py", "b.py", "c.py")
    assert found == ["b.py:10:5: KER103 ", "c.py:7:5: KER101 ", "c.py:9:5: KER103 "]
    # and --fix leaves alone what the file-level comment silences
    assert run(capsys, "check", "--fix", "--unsafe-fixes", "b.py")[0] == 0
    assert "TimeDistributed" in (project / "b.py").read_text()


# ---------------------------------------------------------------- encodings

LATIN1 = ("# -*- coding: latin-1 -*-\n# Modèle à deux couches\n" + TWO_FINDINGS).encode("latin-1")


def test_latin1_file_through_the_cli_and_flake8(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "latin.py").write_bytes(LATIN1)
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf" + TWO_FINDINGS.encode())
    status, out, err = run(capsys, "check", "--output-format", "json", "latin.py", "bom.py")
    assert (status, err) == (1, "")
    cli_found = sorted((f["path"], f["line"], f["column"], f["code"]) for f in json.loads(out))
    flake8 = _flake8(project, "latin.py", "bom.py")
    flake8_found = sorted(
        (path.removeprefix("./"), int(line), int(column), code)
        for path, line, column, code in ((*row.split(":")[:3], row.split(" ")[1]) for row in flake8.stdout.splitlines())
    )
    assert cli_found == flake8_found and len(cli_found) == 4, flake8.stdout + flake8.stderr
    # a fix keeps the file's encoding
    assert run(capsys, "check", "--fix", "latin.py")[0] == 1
    fixed = (project / "latin.py").read_bytes()
    assert "Modèle".encode("latin-1") in fixed and b"LSTM(8, return_sequences=True)" in fixed


def test_a_file_its_cookie_cannot_decode_is_one_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "bad.py").write_bytes(b"# -*- coding: utf-8 -*-\nx = '\xe9'\n")
    (project / "unknown.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    status, _, err = run(capsys, "check", "bad.py", "unknown.py", "model.py")
    assert status == 2
    assert "error: bad.py: not UTF-8 text (invalid byte 0xe9 on line 2)" in err
    assert "error: unknown.py: unknown encoding: klingon" in err


# ---------------------------------------------------------------- errors in every report


@pytest.mark.parametrize("fmt", ["full", "concise", "json", "sarif", "github"])
def test_every_format_tells_of_a_file_that_could_not_be_checked(
    project: Path, capsys: pytest.CaptureFixture[str], fmt: str
) -> None:
    (project / "binary.py").write_bytes(b"\x00\x01")
    status, out, err = run(capsys, "check", "--output-format", fmt, "clean.py", "binary.py", "nope.py")
    assert status == 2
    assert "error: nope.py: no such file or directory" in err and "error: binary.py: binary file" in err
    if fmt in ("full", "concise"):
        assert out == "No findings in the files checked; 2 files could not be checked.\n"
    elif fmt == "json":
        assert json.loads(out) == []  # a list of findings; errors go to stderr and the exit status
    elif fmt == "sarif":
        (invocation,) = json.loads(out)["runs"][0]["invocations"]
        assert invocation["executionSuccessful"] is False
        notes = invocation["toolExecutionNotifications"]
        assert [(n["level"], n["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for n in notes] == [
            ("error", "nope.py"),
            ("error", "binary.py"),
        ]
        assert "no such file" in notes[0]["message"]["text"]
    else:
        assert out.splitlines() == [
            "::error file=nope.py,title=kerascheck::could not be checked: no such file or directory",
            "::error file=binary.py,title=kerascheck::could not be checked: binary file (contains NUL bytes), not Python source",
        ]


def test_summary_counts_unchecked_files_beside_findings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--output-format", "concise", "model.py", "nope.py")
    assert "Found 2 findings in 1 file; 1 file could not be checked." in out.splitlines()


def test_sarif_is_successful_without_errors_and_names_no_made_up_uri(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, out, _ = run(capsys, "check", "--output-format", "sarif", "model.py")
    log = json.loads(out)
    assert log["runs"][0]["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]
    driver = log["runs"][0]["tool"]["driver"]
    assert "informationUri" not in driver and all("helpUri" not in rule for rule in driver["rules"])


def test_exit_zero_whatever_was_found_or_could_not_be_read(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "check", "--exit-zero", "--output-format", "concise", "model.py", "nope.py")[0] == 0
    assert run(capsys, "check", "-e", "nope.py")[0] == 0
    assert run(capsys, "check", "--exit-zero", "--diff", "model.py", "nope.py")[0] == 0
    # without it, 0/1/2 as before; a configuration error is 2 whatever
    assert run(capsys, "check", "nope.py")[0] == 2
    (project / "pyproject.toml").write_text("[tool.kerascheck]\nselect = 3\n")
    assert run(capsys, "check", "--exit-zero", "model.py")[0] == 2


# ---------------------------------------------------------------- flags


def test_repeated_selection_flags_add_up(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def codes(*args: str) -> list[str]:
        return [line.split(" ")[1] for line in _concise(capsys, *args, "model.py")[1]]

    assert codes("--select", "KER101", "--select", "KER103") == ["KER101", "KER103"]
    assert codes("--select", "KER101,KER103", "--ignore", "KER101", "--ignore", "KER103") == []
    assert codes("--select", "KER102", "--extend-select", "KER101", "--extend-select", "KER103") == ["KER101", "KER103"]


def test_abbreviations_are_refused_and_errors_show_the_check_usage(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (["check", "--selec", "KER101", "."], ["check", "--bogus"]):
        with pytest.raises(SystemExit) as raised:
            cli.main(args)
        assert raised.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith("usage: kerascheck check ") and "unrecognized arguments" in err


def test_output_format_quiet_and_statistics(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, concise, _ = run(capsys, "check", "--output-format", "concise", "model.py")
    _, text, _ = run(capsys, "check", "--format", "text", "model.py")
    assert concise == text
    _, quiet, _ = run(capsys, "check", "--output-format", "concise", "-q", "model.py")
    assert quiet == "".join(line + "\n" for line in concise.splitlines()[:2])
    _, stats, _ = run(capsys, "check", "--statistics", "model.py")
    assert stats.splitlines()[:2] == [
        "1\tKER101\t    redundant-time-distributed",
        "1\tKER103\t[*] missing-return-sequences",
    ]
    assert "Found 2 findings in 1 file." in stats
    _, listed, _ = run(capsys, "check", "--statistics", "--output-format", "json", "model.py")
    assert json.loads(listed) == [  # ruff's fields, for the scripts that read ruff's
        {"code": "KER101", "name": "redundant-time-distributed", "count": 1, "fixable": False},
        {"code": "KER103", "name": "missing-return-sequences", "count": 1, "fixable": True},
    ]
    _, listed, _ = run(capsys, "check", "--statistics", "--output-format", "json", "--unsafe-fixes", "model.py")
    assert [row["fixable"] for row in json.loads(listed)] == [True, True]
    status, out, err = run(capsys, "check", "--statistics", "--output-format", "sarif", "model.py")
    assert (status, out) == (2, "") and err == "error: --statistics is printed as a table or as JSON, not as sarif\n"


def test_show_fixes_lists_what_was_fixed(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, out, _ = run(capsys, "check", "--fix", "--unsafe-fixes", "--show-fixes", "model.py")
    assert out.startswith("Fixed 2 findings:\n- model.py:\n    1 \u00d7 KER101 (redundant-time-distributed)\n")
    assert "    1 \u00d7 KER103 (missing-return-sequences)\n" in out


@pytest.mark.parametrize(
    ("flag", "env", "colored"),
    [
        ("auto", {}, True),
        ("auto", {"NO_COLOR": "1"}, False),
        ("always", {"NO_COLOR": "1"}, True),
        ("never", {}, False),
    ],
)
def test_color_on_a_terminal_and_no_color(
    project: Path, monkeypatch: pytest.MonkeyPatch, flag: str, env: dict[str, str], colored: bool
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stdout", terminal)
    cli.main(["check", "--color", flag, "model.py"])
    assert ("\x1b[" in terminal.getvalue()) is colored


def test_no_color_without_a_terminal(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert "\x1b[" not in run(capsys, "check", "model.py")[1]


# ---------------------------------------------------------------- the full format


def test_full_format_shows_the_line_a_caret_and_the_fix(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "check", "model.py")  # full is the default, as in ruff
    assert status == 1
    block = out.split("\n\n")[1].splitlines()
    assert block[0].startswith("KER103 [*] LSTM(4) needs a sequence (rank 3)")
    assert block[1:] == [
        "  --> model.py:9:5",
        "   |",
        " 7 |     layers.TimeDistributed(layers.Dense(15)),",
        " 8 |     layers.LSTM(8),",
        " 9 |     layers.LSTM(4),",
        "   |     ^^^^^^^^^^^^^^",
        "10 | ])",
        "   |",
        "help: Set return_sequences=True on LSTM(8) on line 8",
    ]
    assert out.endswith(
        "\nFound 2 findings in 1 file.\n[*] 1 fixable with --fix.\n1 more fixable with --fix --unsafe-fixes.\n"
    )


def test_full_format_in_a_notebook_counts_in_the_cell(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "nb.ipynb").write_text(nbformat_text(notebook(code(lines(IMPORTS)), code(lines(MODEL)))))
    _, out, _ = run(capsys, "check", "nb.ipynb")
    first = out.split("\n\n")[0].splitlines()
    arrow = next(line for line in first if "-->" in line)
    number = int(arrow.rsplit(":", 2)[1])
    assert arrow.strip().startswith("--> nb.ipynb:cell 2:")
    shown = next(line for line in first if line.strip().startswith(f"{number} |"))
    assert shown.split("|", 1)[1].strip() == MODEL.splitlines()[number - 1].strip()


# ---------------------------------------------------------------- explain


def test_explain_locations_in_each_form(project: Path) -> None:
    nb = project / "nb.ipynb"
    nb.write_text(nbformat_text(notebook(code(lines(IMPORTS)), code(lines(MODEL)))))
    assert parse_location("model.py:9:5") == Location(Path("model.py"), 9, 5)
    assert parse_location("model.py:9") == Location(Path("model.py"), 9)
    assert parse_location("nb.ipynb:cell 2:4:5") == Location(Path("nb.ipynb"), 4, 5, 2)
    assert parse_location("nb.ipynb:cell 2:4") == Location(Path("nb.ipynb"), 4, None, 2)
    assert parse_location("nb.ipynb:2:4") == Location(Path("nb.ipynb"), 4, None, 2)
    with pytest.raises(Exception, match="NOTEBOOK:cell N:LINE:COL"):
        parse_location("nb.ipynb:4")
    # every form `check` prints finds its own finding
    for path in ("model.py", "nb.ipynb"):
        source = pipeline.read(path)
        findings = pipeline.check(source)
        assert findings
        for finding in findings:
            printed = f"{path}:" + ("" if finding.cell is None else f"cell {finding.cell}:") + f"{finding.line}"
            assert choose(findings, parse_location(f"{printed}:{finding.column}")) == [finding]
            assert finding in choose(findings, parse_location(printed))


def test_explain_lists_every_finding_on_a_line_and_says_where_they_are(project: Path) -> None:
    (project / "two.py").write_text(
        "import keras\nfrom keras import layers\n\nx = layers.GRU(16, return_sequences=True)(keras.Input(shape=(64, 15)))\n"
        "y = layers.TimeDistributed(layers.Dense(3))(layers.TimeDistributed(layers.Dense(15))(x))\n"
    )
    findings = pipeline.check(pipeline.read("two.py"))
    on_line = choose(findings, parse_location("two.py:5"))
    assert len(on_line) == len(findings) >= 2 and len({f.column for f in on_line}) == len(on_line)
    assert choose(findings, parse_location(f"two.py:5:{on_line[1].column}")) == [on_line[1]]
    message = no_finding(findings, parse_location("two.py:3"))
    assert message.startswith("no finding on line 3 of two.py (findings at: 5:")


def test_explain_verifies_as_the_working_folders_table_says(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``verify-python`` names the interpreter whose Keras builds the models, for explain as for
    check --verify (and its cache's answers): one that does not exist is said, and nothing runs."""
    (project / "pyproject.toml").write_text('[tool.kerascheck]\nverify-python = "/nonexistent/python"\n')
    status, out, err = run(capsys, "explain", "--no-cache", "model.py" + KER101_AT.split()[0].rstrip(":"))
    assert (status, err) == (0, ""), err
    assert out.rstrip("\n").endswith("unverified: cannot run /nonexistent/python: No such file or directory")


# ---------------------------------------------------------------- --diff


def test_notebook_diff_is_per_cell_and_honours_output(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    nb = project / "nb.ipynb"
    nb.write_text(nbformat_text(notebook(code(lines(IMPORTS)), code(lines(MODEL)))))
    before = nb.read_bytes()
    status, out, err = run(capsys, "check", "--diff", "--unsafe-fixes", "nb.ipynb")
    assert status == 1 and "would be applied" in err
    assert out.startswith("--- nb.ipynb:cell 2\n+++ nb.ipynb:cell 2\n@@ ")
    assert '"source"' not in out and "-    layers.TimeDistributed(layers.Dense(15)),\n" in out
    assert nb.read_bytes() == before
    status, out, _ = run(capsys, "check", "--diff", "--unsafe-fixes", "--output", "out/fixes.diff", "model.py")
    assert status == 1 and out == ""
    written = (project / "out" / "fixes.diff").read_text()
    assert written.startswith("--- model.py\n+++ model.py\n") and "+    layers.Dense(15)," in written


# ---------------------------------------------------------------- work-sized parallelism


def test_default_jobs_follow_the_work(project: Path) -> None:
    small = [runner.Job(pipeline.from_text(f"m{i}.py", TWO_FINDINGS), False, None, None) for i in range(21)]
    assert runner.workers(small) == 1  # a handful of files: one process
    big_text = TWO_FINDINGS * (runner.WORK_PER_PROCESS // len(TWO_FINDINGS) + 1)
    big = [runner.Job(pipeline.from_text(f"b{i}.py", big_text), False, None, None) for i in range(8)]
    assert runner.workers(big) == min(os.cpu_count() or 1, 8)
    assert runner.workers(small, 3) == 3 and runner.workers(small[:2], 4) == 2
    # One huge file among small ones: a process of its own, and too little beside it for another.
    huge = runner.Job(pipeline.from_text("z.py", big_text * 20), False, None, None)
    assert runner.workers([*small, huge]) == 1 and runner.workers([huge, *big[:1]]) == min(os.cpu_count() or 1, 2)
    assert runner.largest_first([small[0], huge, big[0], small[1]]) == [1, 2, 0, 3]  # ties in their order


def test_a_pool_gives_the_results_in_the_files_order(project: Path) -> None:
    """The pool is handed the largest file first; the results still come in the targets' order."""
    names = [f"m{i}.py" for i in range(4)]
    for n, name in enumerate(names):
        (project / name).write_text(TWO_FINDINGS * (1 + 3 * (n % 2)))
    targets = [Target(project / name, explicit=False) for name in names]
    one, two = runner.check_files(targets, jobs=1), runner.check_files(targets, jobs=2)
    assert [r.path for r in two] == [str(t.path) for t in targets]
    assert [[(f.line, f.code) for f in r.findings] for r in two] == [
        [(f.line, f.code) for f in r.findings] for r in one
    ]
    assert all(r.findings for r in two)


def test_resolver_reads_each_table_once(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (project / "pyproject.toml").write_text('[tool.kerascheck]\nselect = ["KER101"]\n')
    loads = []
    real = config.load
    monkeypatch.setattr(config, "load", lambda path: loads.append(path) or real(path))
    resolver = config.Resolver()
    assert [resolver.codes_for(name) for name in ("model.py", "clean.py", "a/b/c.py")] == [("KER101",)] * 3
    assert len(loads) == 1
