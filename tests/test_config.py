"""[tool.kerascheck] in pyproject.toml: where it is found, what each key does, how the command
line overrides it, and the errors for what it cannot mean."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kerascheck import config
from tests.conftest import run_cli
from tests.test_formats import MODEL_PY

# MODEL_PY has a KER101 (line 7) and a KER103 (line 9).


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for folder in ("src", "tests", "legacy", "src/legacy_too"):
        (root / folder).mkdir(parents=True)
    for name in ("src/model.py", "tests/test_model.py", "legacy/old.py", "src/legacy_too/old.py"):
        (root / name).write_text(MODEL_PY)
    return root


def write_config(root: Path, body: str) -> Path:
    path = root / "pyproject.toml"
    path.write_text('[project]\nname = "example"\n\n[tool.kerascheck]\n' + body)
    return path


def findings(root: Path, *args: str, cwd: Path | None = None) -> set[tuple[str, str]]:
    result = run_cli("check", "--format", "json", "--exit-zero", *args, cwd=cwd or root)
    assert result.returncode == 0, result.stderr
    return {(Path(f["path"]).as_posix(), f["code"]) for f in json.loads(result.stdout)}


def codes(root: Path, *args: str) -> set[str]:
    return {code for _, code in findings(root, *args, "src/model.py")}


@pytest.mark.parametrize(
    ("body", "flags", "expected"),
    [
        ("", [], {"KER101", "KER103"}),
        ('select = ["KER101"]', [], {"KER101"}),
        ('ignore = ["KER101"]', [], {"KER103"}),
        ('select = ["KER101"]\nextend-select = ["KER103"]', [], {"KER101", "KER103"}),
        ('select = ["KER1"]\nignore = ["KER10"]', [], set()),
        # A more specific code wins within one level, as in ruff.
        ('select = ["KER101"]\nignore = ["KER1"]', [], {"KER101"}),
        ('select = ["KER1"]\nignore = ["KER101"]', [], {"KER103"}),
        # The command line overrides: --select starts again, --extend-select and --ignore build on.
        ('select = ["KER101"]', ["--select", "KER103"], {"KER103"}),
        ('ignore = ["KER103"]', ["--select", "KER103"], {"KER103"}),
        ('select = ["KER101"]', ["--extend-select", "KER103"], {"KER101", "KER103"}),
        ('select = ["KER101", "KER103"]', ["--ignore", "KER101"], {"KER103"}),
        ('ignore = ["KER1"]', ["--extend-select", "KER101"], {"KER101"}),
        ('select = ["ker101"]', [], {"KER101"}),  # codes as flags take them: any case
    ],
)
def test_selection_and_precedence(project: Path, body: str, flags: list[str], expected: set[str]) -> None:
    write_config(project, body)
    assert codes(project, *flags) == expected


def test_per_file_ignores(project: Path) -> None:
    write_config(
        project,
        """
[tool.kerascheck.per-file-ignores]
"tests/*" = ["KER101"]
"old.py" = ["KER1"]
"!src/**" = ["KER103"]
""",
    )
    # tests/test_model.py loses KER101 to "tests/*" and KER103 to "!src/**"; both old.py lose all.
    assert findings(project, ".") == {("src/model.py", "KER101"), ("src/model.py", "KER103")}
    (project / "tests" / "test_model.py").write_text(MODEL_PY.replace("layers.LSTM(4),\n", ""))
    (project / "src" / "legacy_too" / "old.py").unlink()
    write_config(project, '[tool.kerascheck.per-file-ignores]\n"!src/**" = ["KER103"]\n')
    assert findings(project, ".") == {
        ("src/model.py", "KER101"),
        ("src/model.py", "KER103"),
        ("tests/test_model.py", "KER101"),
        ("legacy/old.py", "KER101"),
    }
    # Relative to the configuration's folder, whatever the working folder.
    assert findings(project, "model.py", cwd=project / "src") == {("model.py", "KER101"), ("model.py", "KER103")}
    # per-file-ignores apply whatever the command line selects.
    assert findings(project, "--select", "KER103", "tests/test_model.py") == set()


def test_exclude_adds_to_the_folders_always_skipped(project: Path) -> None:
    write_config(project, 'exclude = ["legacy", "src/legacy_*/*.py"]')
    assert {path for path, _ in findings(project, ".")} == {"src/model.py", "tests/test_model.py"}
    # A file named on the command line is checked all the same, except for a hook (--from-hook).
    assert {path for path, _ in findings(project, "legacy/old.py")} == {"legacy/old.py"}
    assert findings(project, "--from-hook", "legacy/old.py", "src/legacy_too/old.py", "src/model.py") == {
        ("src/model.py", "KER101"),
        ("src/model.py", "KER103"),
    }


def test_the_nearest_pyproject_with_the_table_is_used(project: Path) -> None:
    write_config(project, 'select = ["KER101"]')
    (project / "src" / "pyproject.toml").write_text('[project]\nname = "no table here"\n')
    assert {code for _, code in findings(project, "model.py", cwd=project / "src")} == {"KER101"}
    (project / "src" / "pyproject.toml").write_text('[tool.kerascheck]\nselect = ["KER103"]\n')
    assert {code for _, code in findings(project, "model.py", cwd=project / "src")} == {"KER103"}


def test_config_file_and_isolated(project: Path, tmp_path: Path) -> None:
    write_config(project, 'select = ["KER101"]')
    other = tmp_path / "other.toml"
    other.write_text('[tool.kerascheck]\nselect = ["KER103"]\n')
    assert codes(project) == {"KER101"}
    assert codes(project, "--config", str(other)) == {"KER103"}
    assert codes(project, "--isolated") == {"KER101", "KER103"}


def test_verify_is_read_into_the_settings(project: Path) -> None:
    path = write_config(project, "verify = true")
    assert config.load(path).verify is True
    assert config.resolve(start=project / "src").verify is True
    assert config.resolve(start=project / "src", isolated=True).verify is None
    write_config(project, "")
    assert config.load(path).verify is None
    # The keys that tune --verify are kept, whole, for kerascheck.verify to read.
    write_config(project, 'verify-keras = "tf_keras"\nverify-timeout = 30\nverify-cache = false')
    assert config.load(path).table == {"verify-keras": "tf_keras", "verify-timeout": 30, "verify-cache": False}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('selct = ["KER101"]', "[tool.kerascheck] unknown key 'selct'; did you mean 'select'?"),
        ('extend_select = ["KER101"]', "[tool.kerascheck] unknown key 'extend_select'; did you mean 'extend-select'?"),
        ("line-length = 88", "[tool.kerascheck] unknown key 'line-length' (known: select, ignore, extend-select,"),
        ('select = ["KER999"]', "[tool.kerascheck] select: unknown rule code or prefix 'KER999'"),
        ('ignore = ["E501"]', "[tool.kerascheck] ignore: unknown rule code or prefix 'E501'"),
        ('select = "KER101"', "[tool.kerascheck] select: must be a list of rule codes"),
        (
            '[tool.kerascheck.per-file-ignores]\n"tests/*" = ["KER7"]',
            "per-file-ignores 'tests/*': unknown rule code or prefix 'KER7'",
        ),
        ("per-file-ignores = []", "[tool.kerascheck] per-file-ignores: must be a table"),
        ('exclude = "legacy"', "[tool.kerascheck] exclude: must be a list of globs"),
        ('verify = "yes"', "[tool.kerascheck] verify: must be true or false"),
        ('verify-keras = "jax"', '[tool.kerascheck] verify-keras: must be "keras" or "tf_keras"'),
        ("verify-timeout = 0", "[tool.kerascheck] verify-timeout: must be a number of seconds above 0"),
        ("select = [", "invalid TOML"),
    ],
)
def test_errors_name_the_file_and_the_key(project: Path, body: str, message: str) -> None:
    path = write_config(project, body)
    result = run_cli("check", "src/model.py", cwd=project)
    assert result.returncode == 2
    assert result.stdout == "" and "Traceback" not in result.stderr
    assert result.stderr.splitlines() == [result.stderr.rstrip("\n")]  # one line
    assert result.stderr.startswith(f"error: {path}: ") and message in result.stderr


def test_a_config_file_that_is_not_there_or_has_no_table(project: Path) -> None:
    result = run_cli("check", "--config", "nope.toml", "src/model.py", cwd=project)
    assert (result.returncode, result.stderr) == (2, "error: nope.toml: no such file\n")
    (project / "empty.toml").write_text("[tool.other]\n")
    result = run_cli("check", "--config", "empty.toml", "src/model.py", cwd=project)
    assert (result.returncode, result.stderr) == (2, "error: empty.toml: no [tool.kerascheck] table\n")


def test_file_level_noqa_silences_a_file_through_the_cli(project: Path) -> None:
    (project / "src" / "model.py").write_text("# kerascheck: noqa\n" + MODEL_PY)
    assert findings(project, "src/model.py") == set()
    (project / "src" / "model.py").write_text("x = 1  # kerascheck: noqa\n" + MODEL_PY)  # not on a line of its own
    assert codes(project) == {"KER101", "KER103"}


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("tests/*", "tests/a.py", True),
        ("tests/*", "tests/deep/a.py", True),  # * crosses folders, as in ruff (globset)
        ("tests/*", "src/tests/a.py", False),  # relative to the configuration's folder
        ("**/tests/*", "src/tests/a.py", True),
        ("**/tests/*", "tests/a.py", True),  # **/ matches no folder too
        ("*.ipynb", "deep/down/nb.ipynb", True),  # a pattern also matches the last part
        ("{src,lib}/*.py", "lib/a.py", True),
        ("test_?.py", "x/test_a.py", True),
        ("[!a]*.py", "b.py", True),
        ("[!a]*.py", "a.py", False),
        ("legacy", "legacy", True),
        ("legacy", "src/legacy", True),
    ],
)
def test_globs_match_as_ruffs(tmp_path: Path, pattern: str, path: str, matches: bool) -> None:
    assert config.Glob.compile(pattern, tmp_path).matches(tmp_path / path) is matches
