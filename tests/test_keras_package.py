"""The installed keras package's own source: no traceback, no error line, exit 0 or 1, and only
the findings judged by hand.

The files checked are those tests/keras_package_cases.txt lists (about 50 of the package's 900):
together they run every line of kerascheck, and every step from one line to the next, that
checking the whole package runs (tests/keras_package_cases.py says how they were chosen). With
another keras version than the one they were chosen from, or with KERASCHECK_WHOLE_KERAS set (the
long run: the list guarantees paths, not data a file outside it might hold), the whole package is
checked.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.keras_package_cases import listed, package

# Where keras is installed, without importing it: linting never imports the code it reads.
if importlib.util.find_spec("keras") is None:
    pytest.skip("keras is a test dependency", allow_module_level=True)


def test_keras_package_source(tmp_path: Path) -> None:
    root = package()
    assert len(list(root.rglob("*.py"))) > 500
    cases = None if os.environ.get("KERASCHECK_WHOLE_KERAS") else listed()
    if cases is None:  # asked for, or the list is of another keras version: all of it
        checked = root
    else:
        checked = tmp_path / "keras"  # the listed files where they are in the package, found as in it
        for name in cases:
            (checked / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(root / name, checked / name)
        assert len(cases) > 20
    result = run_cli("check", "--format", "json", "--jobs", "1", str(checked))
    assert "Traceback" not in result.stderr
    assert result.stderr == ""
    assert result.returncode in (0, 1)
    for finding in json.loads(result.stdout):
        # What it reports there was judged by hand: TimeDistributed(Dense) on rank-3 tensors in tests.
        assert finding["code"] == "KER101", finding
