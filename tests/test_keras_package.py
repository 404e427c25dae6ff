"""The installed keras package's own source (about 900 files): no traceback, exit 0 or 1."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

from tests.conftest import run_cli

# Where keras is installed, without importing it: linting never imports the code it reads.
KERAS = importlib.util.find_spec("keras")
if KERAS is None or not KERAS.submodule_search_locations:
    pytest.skip("keras is a test dependency", allow_module_level=True)


def test_keras_package_source() -> None:
    assert KERAS is not None and KERAS.submodule_search_locations
    package = Path(next(iter(KERAS.submodule_search_locations)))
    assert len(list(package.rglob("*.py"))) > 500
    result = run_cli("check", "--format", "json", "--jobs", "2", str(package))
    assert "Traceback" not in result.stderr
    assert result.stderr == ""
    assert result.returncode in (0, 1)
    for finding in json.loads(result.stdout):
        # What it reports there was judged by hand: TimeDistributed(Dense) on rank-3 tensors in tests.
        assert finding["code"] == "KER101", finding
