"""Every fixture, through the CLI, flake8 and the Python API, against the expectations it carries
(its ``# expect:`` comments and its ``.txt`` snapshot, see conftest): nothing missed, nothing
extra, two findings on one line stay two, and the same place and message everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from kerascheck import check_source, rules
from tests.conftest import FIXTURES, ROOT, Expected, checkout_env, expectations, fixture_files, fixture_key, snapshot

FILES = fixture_files()


def _reported(findings: list[dict]) -> list[Expected]:
    return sorted((f["line"], f["column"], f["code"], f["message"]) for f in findings)


def test_fixtures_exist_and_cover_every_rule() -> None:
    codes = {code for path in FILES for _, code in expectations(path)}
    assert codes >= {rule.code for rule in rules.all_rules()}
    silent = [path for path in FILES if not expectations(path)]
    assert silent, "some fixtures must be controls that stay silent"


@pytest.mark.parametrize("path", FILES, ids=fixture_key)
def test_cli_matches_expectations(path: Path, cli_fixture_findings: dict[str, list[dict]]) -> None:
    reported = _reported(cli_fixture_findings.get(fixture_key(path), []))
    found = Counter((line, code) for line, _, code, _ in reported)
    expected = expectations(path)
    assert found - expected == Counter(), "reported but not expected (false positives)"
    assert expected - found == Counter(), "expected but not reported (missed)"
    pinned = snapshot(path)
    if pinned is not None:
        assert reported == sorted(pinned), f"the findings differ from {path.with_suffix('.txt').name}"


@pytest.mark.parametrize("path", [p for p in FILES if snapshot(p) is not None], ids=fixture_key)
def test_the_snapshot_agrees_with_the_comments(path: Path) -> None:
    pinned = snapshot(path)
    assert pinned is not None
    assert Counter((line, code) for line, _, code, _ in pinned) == expectations(path)


def test_every_fixture_with_findings_has_its_snapshot() -> None:
    missing = [fixture_key(p) for p in FILES if expectations(p) and snapshot(p) is None]
    assert not missing, f"write them with `python -m tests.expectations`: {missing}"


@pytest.mark.parametrize("path", FILES, ids=fixture_key)
def test_api_matches_cli(path: Path, cli_fixture_findings: dict[str, list[dict]]) -> None:
    findings = check_source(path.read_text(encoding="utf-8"), str(path))
    api = sorted((f.line, f.column, f.end_line, f.end_column, f.code, f.message) for f in findings)
    cli = sorted(
        (f["line"], f["column"], f["end_line"], f["end_column"], f["code"], f["message"])
        for f in cli_fixture_findings.get(fixture_key(path), [])
    )
    assert api == cli


_FLAKE8_LINE = re.compile(r"^(?P<path>.+?):(?P<line>\d+):(?P<col>\d+): (?P<code>KER\d+) (?P<message>.*)$")


@pytest.fixture(scope="module")
def flake8_findings() -> dict[str, list[Expected]]:
    """flake8 over the fixtures, in a subprocess: what is tested is that flake8 finds the plugin."""
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "KER", "--jobs", "1", str(FIXTURES)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=checkout_env(),
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    by_file: dict[str, list[Expected]] = {}
    for line in result.stdout.splitlines():
        match = _FLAKE8_LINE.match(line)
        assert match, f"unexpected flake8 output: {line!r}"
        by_file.setdefault(fixture_key(Path(match["path"])), []).append(
            (int(match["line"]), int(match["col"]), match["code"], match["message"])
        )
    return {key: sorted(found) for key, found in by_file.items()}


@pytest.mark.parametrize("path", FILES, ids=fixture_key)
def test_flake8_reports_the_same_findings_at_the_same_place(
    path: Path, flake8_findings: dict[str, list[Expected]], cli_fixture_findings: dict[str, list[dict]]
) -> None:
    assert flake8_findings.get(fixture_key(path), []) == _reported(cli_fixture_findings.get(fixture_key(path), []))
