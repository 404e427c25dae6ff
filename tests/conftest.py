"""Shared helpers: run the CLI as a user would, and read the expectations fixtures carry."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>KER\d+(?:\s*,\s*KER\d+)*)")


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kerascheck", *args], capture_output=True, text=True, cwd=cwd or ROOT, timeout=300
    )


def expectations(path: Path) -> set[tuple[int, str]]:
    """``{(line, code)}`` from the ``# expect: KER101`` comments of a fixture."""
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            found.update((number, code.strip()) for code in match.group("codes").split(","))
    return found


def fixture_files() -> list[Path]:
    return sorted(FIXTURES.rglob("*.py"))


@pytest.fixture(scope="session")
def cli_fixture_findings() -> dict[str, list[dict]]:
    """The CLI's JSON findings over the whole fixtures folder, by file name (one run)."""
    result = run_cli("check", "--format", "json", "--exit-zero", str(FIXTURES))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    by_file: dict[str, list[dict]] = {}
    for finding in json.loads(result.stdout):
        by_file.setdefault(Path(finding["path"]).name, []).append(finding)
    return by_file
