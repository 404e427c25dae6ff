"""The pre-commit hooks, run by pre-commit itself against a snapshot of this working tree.

pre-commit installs a hook repository from a git commit, with pip into a virtualenv of its own
(once for the module: every run names the same repository at the same commit in one home):
so the tests commit the working tree (the package, pyproject.toml, README.md and
.pre-commit-hooks.yaml) into a temporary repository first, which also makes them work from a
clean checkout with nothing committed yet. pip needs PyPI (for libcst and the build backend);
where it cannot be reached the tests are skipped, saying so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

pytest.importorskip("pre_commit", reason="pre-commit is in the test extra")

HOOKS = ROOT / ".pre-commit-hooks.yaml"
ONE_FINDING = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(64, 15)),
    layers.LSTM(8),
    layers.LSTM(4),
])
"""
CLEAN_NOTEBOOK = """\
{
 "cells": [{"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
            "source": ["import keras\\n", "m = keras.Sequential([keras.Input(shape=(5, 3)), keras.layers.LSTM(2)])"]}],
 "metadata": {}, "nbformat": 4, "nbformat_minor": 5
}
"""
_OFFLINE = (
    "Could not find a version that satisfies",
    "NewConnectionError",
    "Temporary failure in name resolution",
    "No matching distribution found",
    "Network is unreachable",
)


def git(*args: str, cwd: Path) -> str:
    config = ["-c", "user.name=kerascheck tests", "-c", "user.email=tests@example.com", "-c", "commit.gpgsign=false"]
    result = subprocess.run(["git", *config, *args], cwd=cwd, capture_output=True, text=True, check=True)
    return result.stdout.strip()


def pre_commit(*args: str, cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PRE_COMMIT_HOME=str(home), PIP_DISABLE_PIP_VERSION_CHECK="1", PRE_COMMIT_COLOR="never")
    if sys.version_info < (3, 12):
        # The hook's virtualenv has setuptools (virtualenv seeds it before Python 3.12): pip builds
        # kerascheck with it instead of installing setuptools into a build environment of its own
        # first (a third of the install). The build requirements are installed the isolated way
        # by .ci/run's `pip install -e`.
        env["PIP_NO_BUILD_ISOLATION"] = "0"  # pip's spelling of --no-build-isolation
    # pip compiles none of what it installs (PIP_NO_COMPILE=0 is pip's spelling of --no-compile):
    # the hook's runs compile what they import, once, and keep it, so bytecode may be written.
    env["PIP_NO_COMPILE"] = "0"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # The hook's virtualenv links pip and setuptools from virtualenv's own store instead of copying
    # them: the bytecode their imports write stays there for the next run's virtualenv, which then
    # compiles neither again (about 2 s of the install's CPU). What pip installs is the same.
    env["VIRTUALENV_SYMLINK_APP_DATA"] = "1"
    command = [sys.executable, "-m", "pre_commit", *args]
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, env=env, timeout=900, check=False)
    output = result.stdout + result.stderr
    if result.returncode == 3 and any(marker in output for marker in _OFFLINE):  # 3: pre-commit's own failure
        pytest.skip("pip could not reach PyPI to install the hook's environment")
    return result


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository with this working tree's kerascheck in one commit."""
    repo = tmp_path_factory.mktemp("hook-repo")
    for name in ("pyproject.toml", "README.md", ".pre-commit-hooks.yaml"):
        shutil.copy2(ROOT / name, repo / name)
    shutil.copytree(ROOT / "kerascheck", repo / "kerascheck", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    git("init", "-q", cwd=repo)
    git("add", "-A", cwd=repo)
    git("commit", "-q", "-m", "kerascheck snapshot", cwd=repo)
    return repo


@pytest.fixture(scope="module")
def hooks(hook_repo: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A configuration naming both hooks at the snapshot's commit, and pre-commit's home for the
    module: the hook environment is installed once (by the first run) and used by every test."""
    where = tmp_path_factory.mktemp("pre-commit")
    config = where / "pre-commit-config.yaml"
    rev = git("rev-parse", "HEAD", cwd=hook_repo)
    config.write_text(
        f"repos:\n- repo: {hook_repo.as_uri()}\n  rev: {rev}\n  hooks:\n  - id: kerascheck\n  - id: kerascheck-fix\n"
    )
    return config, where / "home"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A repository of a user's, with one finding kerascheck can fix safely."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "model.py").write_text(ONE_FINDING)
    (root / "__init__.py").write_text("")  # pre-commit passes empty files too: they are no error
    (root / "analysis.ipynb").write_text(CLEAN_NOTEBOOK)
    (root / "notes.txt").write_text("not Python\n")
    git("init", "-q", cwd=root)
    git("add", "-A", cwd=root)
    return root


def test_the_hooks_file_is_valid_for_pre_commit() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(HOOKS))}
    assert set(hooks) == {"kerascheck", "kerascheck-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "jupyter"]
        assert hook["require_serial"] is False and hook["pass_filenames"] is True
        assert hook["entry"].startswith("kerascheck check --from-hook")
    assert hooks["kerascheck-fix"]["entry"].split()[3:] == ["--fix"]


def test_from_hook_with_no_file_checks_nothing(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(ONE_FINDING)
    result = run_cli("check", "--from-hook", cwd=tmp_path)
    assert (result.returncode, result.stdout, result.stderr) == (0, "No findings.\n", "")
    assert run_cli("check", cwd=tmp_path).returncode == 1  # without it, no path means the folder


def test_from_hook_skips_empty_files_and_reports_findings(tmp_path: Path) -> None:
    (tmp_path / "model.py").write_text(ONE_FINDING)
    (tmp_path / "__init__.py").write_text("")
    result = run_cli("check", "--output-format", "concise", "--from-hook", "__init__.py", "model.py", cwd=tmp_path)
    assert result.returncode == 1 and result.stderr == ""
    assert result.stdout.startswith("model.py:7:5: KER103")


def test_the_hook_fails_on_a_finding(hooks: tuple[Path, Path], project: Path) -> None:
    config, home = hooks
    result = pre_commit("run", "--config", str(config), "kerascheck", "--all-files", cwd=project, home=home)
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "KER103 [*] LSTM(4) needs a sequence" in output and "--> model.py:7:5" in output  # the full format
    assert "error:" not in output  # the empty __init__.py and the notebook are fine


def _fix_available() -> bool:
    return "--fix" in run_cli("check", "--help").stdout


def test_fix_hook_then_check_passes_and_no_files_passes(hooks: tuple[Path, Path], project: Path) -> None:
    """Both hooks from the one installed environment, kept for three runs."""
    if not _fix_available():
        pytest.skip("kerascheck check --fix does not exist yet")
    config, home = hooks

    nothing = pre_commit("run", "--config", str(config), "--files", "notes.txt", cwd=project, home=home)
    assert nothing.returncode == 0, nothing.stdout + nothing.stderr
    assert nothing.stdout.count("(no files to check)Skipped") == 2

    fixing = pre_commit("run", "--config", str(config), "kerascheck-fix", "--all-files", cwd=project, home=home)
    assert fixing.returncode == 1  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in fixing.stdout
    assert "layers.LSTM(8, return_sequences=True)" in (project / "model.py").read_text()

    git("add", "-A", cwd=project)
    checking = pre_commit("run", "--config", str(config), "kerascheck", "--all-files", cwd=project, home=home)
    assert checking.returncode == 0, checking.stdout + checking.stderr
