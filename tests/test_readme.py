"""README.md's examples are kerascheck's real output (as doc tests are): each ``$ kerascheck ...``
line of a ``text`` block is run, in process, in a folder holding the files the README defines
(``<!-- file: NAME -->`` before a code block) and the fixtures, and what it prints, stdout then
stderr, in the order a terminal shows them, is compared line by line with the lines under it; ``...`` stands for any text. A block
after ``<!-- doctest: keras -->`` runs only where Keras is installed. The README's install
instructions are checked against the repository: the pre-commit ``rev`` is one of its commits,
with the hooks the README names."""

from __future__ import annotations

import io
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from kerascheck import cli
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
_BLOCK = re.compile(
    r"(?:<!-- (?P<marker>file: \S+|doctest: keras) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```\n", re.M | re.S
)


@dataclass(frozen=True)
class Example:
    command: str
    expected: list[str]
    needs_keras: bool


def _files() -> dict[str, str]:
    return {m["marker"][6:]: m["body"] for m in _BLOCK.finditer(README) if (m["marker"] or "").startswith("file: ")}


def _examples() -> list[Example]:
    found = []
    for match in _BLOCK.finditer(README):
        if match["lang"] != "text" or not match["body"].startswith("$ "):
            continue
        for chunk in re.split(r"^\$ ", match["body"], flags=re.M)[1:]:
            command, *output = chunk.rstrip("\n").split("\n")
            while output and output[-1] == "":
                output.pop()
            found.append(Example(command, output, match["marker"] == "doctest: keras"))
    return found


def _matches(expected: str, actual: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, actual) is not None


def test_the_readme_has_examples_to_run() -> None:
    examples = _examples()
    assert len(examples) >= 8 and "model.py" in _files()
    assert {e.command.split()[1] for e in examples} >= {"check", "explain"}


@pytest.mark.parametrize("example", _examples(), ids=lambda e: e.command)
def test_readme_example_is_the_real_output(
    example: Example, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> None:
    if example.needs_keras:
        pytest.importorskip("keras", reason="the verification examples need Keras (the verify extra)")
        request.getfixturevalue("shared_worker")  # the session's Keras worker builds the models
        monkeypatch.setenv("KERASCHECK_CACHE_DIR", str(tmp_path / "cache"))
        monkeypatch.setenv("COLUMNS", "130")
    for name, text in _files().items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    (tmp_path / "fixtures").symlink_to(ROOT / "fixtures", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    program, *args = shlex.split(example.command)
    assert program == "kerascheck"
    terminal = io.StringIO()  # stdout and stderr in one, in the order a terminal shows them
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)
    cli.main(args)
    actual = terminal.getvalue().rstrip("\n").split("\n")
    assert len(actual) == len(example.expected) and all(map(_matches, example.expected, actual)), "\n".join(actual)


def test_the_pre_commit_rev_is_a_commit_of_this_repository_with_the_hooks() -> None:
    (rev,) = set(re.findall(r"rev: ([0-9a-f]{40})", README))
    assert rev in re.findall(r"git\+\S+@([0-9a-f]{40})", README)  # the GitHub Actions install pins the same commit
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    shallow = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--is-shallow-repository"], capture_output=True, text=True
    )
    shown = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{rev}:.pre-commit-hooks.yaml"], capture_output=True, text=True
    )
    if shown.returncode != 0 and shallow.stdout.strip() == "true":
        pytest.skip("a shallow clone may not hold the commit")
    assert shown.returncode == 0, f"{rev} is not a commit of this repository with .pre-commit-hooks.yaml"
    for hook in re.findall(r"- id: (kerascheck[\w-]*)", README):
        assert f"- id: {hook}\n" in shown.stdout
