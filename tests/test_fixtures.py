"""Every fixture, through the CLI, flake8 and the Python API, against the expectations it carries:
nothing missed, nothing extra, and the same place everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from kerascheck import check_source
from tests.conftest import FIXTURES, ROOT, expectations, fixture_files

FILES = fixture_files()


def test_fixtures_exist_and_cover_every_rule() -> None:
    codes = {code for path in FILES for _, code in expectations(path)}
    assert codes >= {"KER101", "KER102", "KER103", "KER104", "KER105", "KER106"}
    silent = [path for path in FILES if not expectations(path)]
    assert silent, "some fixtures must be controls that stay silent"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_cli_matches_expectations(path: Path, cli_fixture_findings: dict[str, list[dict]]) -> None:
    reported = {(f["line"], f["code"]) for f in cli_fixture_findings.get(path.name, [])}
    expected = expectations(path)
    assert reported - expected == set(), "reported but not expected (false positives)"
    assert expected - reported == set(), "expected but not reported (missed)"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_api_matches_cli(path: Path, cli_fixture_findings: dict[str, list[dict]]) -> None:
    findings = check_source(path.read_text(encoding="utf-8"), str(path))
    api = sorted((f.line, f.column, f.end_line, f.end_column, f.code, f.message) for f in findings)
    cli = sorted(
        (f["line"], f["column"], f["end_line"], f["end_column"], f["code"], f["message"])
        for f in cli_fixture_findings.get(path.name, [])
    )
    assert api == cli


_FLAKE8_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>KER\d+) (?P<message>.*)$")


@pytest.fixture(scope="module")
def flake8_findings() -> dict[str, set[tuple[int, int, str, str]]]:
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "KER", "--jobs", "1", str(FIXTURES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    by_file: dict[str, set[tuple[int, int, str, str]]] = {}
    for line in result.stdout.splitlines():
        match = _FLAKE8_LINE.match(line)
        assert match, f"unexpected flake8 output: {line!r}"
        by_file.setdefault(Path(match["path"]).name, set()).add(
            (int(match["line"]), int(match["col"]), match["code"], match["message"])
        )
    return by_file


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_flake8_reports_the_same_findings_at_the_same_place(
    path: Path, flake8_findings: dict[str, set[tuple[int, int, str, str]]], cli_fixture_findings: dict[str, list[dict]]
) -> None:
    cli = {(f["line"], f["column"], f["code"], f["message"]) for f in cli_fixture_findings.get(path.name, [])}
    assert flake8_findings.get(path.name, set()) == cli
    assert {(line, code) for line, _, code, _ in cli} == expectations(path)
