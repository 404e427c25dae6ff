"""``kerascheck server`` without pygls: one line saying how to get it, exit status 2."""

from __future__ import annotations

import sys

import pytest

from kerascheck import cli


def test_server_without_pygls_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "pygls", None)  # import pygls now raises ImportError
    monkeypatch.setitem(sys.modules, "pygls.lsp", None)
    monkeypatch.setitem(sys.modules, "pygls.lsp.server", None)
    assert cli.main(["server"]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines() == ["error: kerascheck server needs pygls and lsprotocol: pip install 'kerascheck[server]'"]


def test_kerascheck_start_up_does_not_import_pygls() -> None:
    import subprocess

    code = "import sys, kerascheck.cli; sys.exit('pygls' in sys.modules or 'lsprotocol' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
