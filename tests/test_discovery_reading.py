"""Finding and reading many files cheaply (issue 15, goal 3: the warm run): discovery spells the
files as Paths would without making them, asks the file system nothing per file that the reader
does not ask anyway, and the reader decodes a file without a cookie without asking tokenize. Each
shortcut is held to the long way's answers; costs are counted as calls, never timed."""

from __future__ import annotations

import codecs
import contextlib
import os
import subprocess
import tokenize
from pathlib import Path

import pytest

from kerascheck import config, discovery, sources
from kerascheck.cache import Cache
from kerascheck.errors import SourceError
from tests.conftest import run_cli

MODEL = """\
import keras
from keras import layers
model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])
"""


def _tree(root: Path) -> None:
    for name in ("a/model.py", "a/b/plain.py", "top.py", "nb.ipynb", ".py", "a/.ipynb", "notes.txt", "a/x.py."):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(MODEL if name.endswith("model.py") else "x = 1\n")


def _names(paths: list[str]) -> list[str]:
    targets, errors = discovery.discover(paths)
    assert errors == []
    return [t.name for t in targets]


@pytest.mark.parametrize("git", [False, True])
def test_found_files_are_spelt_as_paths_spell_them(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, git: bool) -> None:
    _tree(tmp_path)
    if git:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    monkeypatch.chdir(tmp_path)
    # What Path would have made of them: a suffix that Path.suffix gives (".py" alone has none).
    expected = sorted(str(Path(p)) for p in ("a/model.py", "a/b/plain.py", "top.py", "nb.ipynb"))
    for given in (".", "./", ""):
        assert _names([given or "."]) == expected
    assert _names(["a"]) == sorted(str(Path("a", p)) for p in ("model.py", "b/plain.py"))
    assert _names([str(tmp_path)]) == sorted(str(tmp_path / p) for p in expected)
    assert _names(["a", "a/b/plain.py", "./a"]) == [str(Path("a/b/plain.py")), str(Path("a/model.py"))]  # each once
    assert all(t.path == Path(t.name) for t in discovery.discover(["."])[0])


def _unusual(root: Path) -> None:
    """Paths found in a folder that are no file to read."""
    (root / "folder.py").mkdir()
    os.symlink(root / "nowhere.py", root / "dangling.py")
    os.symlink(root / "loop2.py", root / "loop1.py")
    os.symlink(root / "loop1.py", root / "loop2.py")
    os.mkfifo(root / "fifo.py")


@pytest.mark.parametrize("git", [False, True])
def test_what_is_no_file_is_passed_over_when_found_and_an_error_when_named(tmp_path: Path, git: bool) -> None:
    (tmp_path / "model.py").write_text(MODEL)
    if git:
        subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
        (tmp_path / "deleted.py").write_text(MODEL)
        subprocess.run(["git", "-C", str(tmp_path), "add", "deleted.py"], check=True)
        (tmp_path / "deleted.py").unlink()  # tracked, gone from the work tree: git still lists it
    _unusual(tmp_path)
    found = run_cli("check", "--isolated", "--output-format", "concise", ".", cwd=tmp_path)
    assert found.returncode == 1 and found.stderr == ""
    assert [line.split(":")[0] for line in found.stdout.splitlines() if ":" in line] == ["model.py"]
    for name, said in [
        ("dangling.py", "is a symlink to nothing (dangling)"),
        ("loop1.py", "is a symlink loop"),
        ("fifo.py", "is a FIFO (named pipe), not a file"),
    ]:
        named = run_cli("check", "--isolated", name, cwd=tmp_path)
        assert named.returncode == 2 and named.stderr == f"error: {name}: {said}\n"


def test_the_reader_says_what_is_no_file(tmp_path: Path) -> None:
    _unusual(tmp_path)
    for name in ("folder.py", "dangling.py", "loop1.py", "fifo.py", "missing.py"):
        with pytest.raises(sources.NotAFile):
            sources.read_with_status(tmp_path / name)
    assert not issubclass(SourceError, sources.NotAFile)


@pytest.mark.parametrize("size", [0, 1, 4095, 4096, 70_000, 300_001])
def test_the_reader_reads_every_byte(tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"k" * (size % 256)
    (tmp_path / "f.py").write_bytes(data)
    read, status = sources.read_with_status(str(tmp_path / "f.py"))
    assert read == data and status.st_size == size


def _stats_asked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths whose status (``os.stat``, ``os.lstat``) is asked from here on, in order."""
    asked: list[str] = []
    for name in ("stat", "lstat"):
        real = getattr(os, name)

        def counting(path: object, *args: object, real: object = real, **kwargs: object) -> object:
            asked.append(str(path))
            return real(path, *args, **kwargs)  # type: ignore[operator]

        monkeypatch.setattr(os, name, counting)
    return asked


def test_discovery_asks_no_status_of_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A folder's files share its answers: the file system is asked once a folder, not a file."""
    for folder in range(3):
        for n in range(20):
            (tmp_path / f"pkg{folder}" / f"m{n}.py").parent.mkdir(exist_ok=True)
            (tmp_path / f"pkg{folder}" / f"m{n}.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[tool.kerascheck]\nignore = []\n")
    monkeypatch.chdir(tmp_path)
    asked = _stats_asked(monkeypatch)
    resolver = config.Resolver()
    excluded: list[tuple[str, bool]] = []

    def is_excluded(path: str, folder: bool) -> bool:
        excluded.append((path, folder))
        return resolver.is_excluded(path, folder)

    targets, _ = discovery.discover(["."], excluded=is_excluded, files_excluded=resolver.files_excluded)
    assert len(targets) == 60
    assert not [p for p in asked if p.endswith(".py")]  # no file's status: the reader's fstat is enough
    assert [path for path, folder in excluded if not folder] == []  # no pattern anywhere: no file asked
    assert len(asked) < 30  # the folders' and the table's, not 60 files'


def test_the_flake8_plugin_asks_no_status_of_each_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """flake8 hands the plugin files, never folders: placing a file's table asks the file system
    once a folder, as a walk does, not once a file."""
    import ast

    from kerascheck import flake8_plugin

    for n in range(20):
        (tmp_path / "pkg" / f"m{n}.py").parent.mkdir(exist_ok=True)
        (tmp_path / "pkg" / f"m{n}.py").write_text("x = 1\n")
    (tmp_path / "pyproject.toml").write_text("[tool.kerascheck]\nexclude = ['generated_*']\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(flake8_plugin, "_resolver", None)
    asked = _stats_asked(monkeypatch)
    for n in range(20):
        name = f"pkg/m{n}.py"
        assert list(flake8_plugin.KerasCheckPlugin(ast.parse("x = 1\n"), ["x = 1\n"], name).run()) == []
    assert not [p for p in asked if p.endswith(".py")]


def test_files_are_asked_where_a_pattern_may_exclude_them(tmp_path: Path) -> None:
    for name in ("keep/model.py", "keep/generated_model.py", "sub/generated_x.py", "sub/model.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(MODEL)
    (tmp_path / "pyproject.toml").write_text("[tool.kerascheck]\nignore = []\n")
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.kerascheck]\nexclude = ['generated_*']\n")
    done = run_cli("check", "--output-format", "concise", ".", cwd=tmp_path)
    files = {line.split(":")[0] for line in done.stdout.splitlines() if ":" in line}
    assert files == {"keep/model.py", "keep/generated_model.py", "sub/model.py"}  # only sub's table excludes
    done = run_cli("check", "--output-format", "concise", "--extend-exclude", "generated_*", ".", cwd=tmp_path)
    assert {line.split(":")[0] for line in done.stdout.splitlines() if ":" in line} == {"keep/model.py", "sub/model.py"}


def test_a_file_and_a_folder_of_the_same_name_get_their_tables(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.kerascheck]\nselect = ['KER101']\n")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "pyproject.toml").write_text("[tool.kerascheck]\nselect = ['KER102']\n")
    resolver = config.Resolver(cwd=tmp_path)
    sub = str(tmp_path / "sub")
    assert resolver.settings_for(sub).path == tmp_path / "sub" / "pyproject.toml"  # asked: a folder
    assert resolver.settings_for(sub, folder=True).path == tmp_path / "sub" / "pyproject.toml"
    assert resolver.settings_for(sub, folder=False).path == tmp_path / "pyproject.toml"  # a file named sub
    assert resolver.settings_for(sub + "/m.py", folder=False).path == tmp_path / "sub" / "pyproject.toml"


CASES = [
    b"import keras\n",
    b"",
    b"no newline at all",
    codecs.BOM_UTF8 + b"import keras\n",
    codecs.BOM_UTF8 + codecs.BOM_UTF8 + b"x = 1\n",
    b"# -*- coding: latin-1 -*-\nname = 'caf\xe9'\n",
    b"#!/usr/bin/env python\n# vim: set fileencoding=cp1252 :\ns = '\x80'\n",
    b"x = 1\n# coding: latin-1\ns = '\xe9'\n",  # the cookie on line 2 after code: not one
    b"# coding: no-such-codec\n",
    codecs.BOM_UTF8 + b"# coding: latin-1\n",  # a BOM and another cookie: refused
    b"# caf\xe9\nx = 1\n",  # not UTF-8 on line 1
    b"#\n# caf\xe9\n",  # on line 2, after a comment
    b"x = 1\ny = 2\n# caf\xe9\n",  # further down
    b"x = '\xc3\xa9'\r\n# coding is a word here\r\n",
    b"x = 1\0\n",
    b"# coding: utf-8\n\xff\n",
    "s = 'd\u00e9j\u00e0 vu \U0001f600'\n".encode(),
]


def _long_way(data: bytes, path: str) -> tuple[str, str] | str:
    """What decode said before it had its shortcut: the encoding asked of tokenize, always."""
    try:
        if b"\0" in data:
            raise SourceError(path, "binary file (contains NUL bytes), not Python source")
        return sources._decoded(data, path, sources.encoding_of(data, path))
    except SourceError as error:
        return error.reason


@pytest.mark.parametrize("data", CASES)
def test_decoding_without_a_cookie_agrees_with_the_long_way(data: bytes) -> None:
    try:
        short: tuple[str, str] | str = sources.decode(data, "m.py")
    except SourceError as error:
        short = error.reason
    assert short == _long_way(data, "m.py")


def test_a_file_without_a_cookie_is_decoded_without_tokenize(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    real = tokenize.detect_encoding
    monkeypatch.setattr(tokenize, "detect_encoding", lambda readline: calls.append(1) or real(readline))
    for data in CASES:
        with contextlib.suppress(SourceError):
            sources.decode(data, "m.py")
    # Asked only of the texts with "coding" in their first two lines, or that are not UTF-8.
    asked = [d for d in CASES if (b"coding" in sources._head(d) or _not_utf8(d)) and b"\0" not in d]
    assert len(calls) == len(asked) < len(CASES)


def _not_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def test_the_cache_places_a_folder_once_and_takes_a_digest_made(tmp_path: Path) -> None:
    asked: list[str] = []
    store = Cache(lambda path: asked.append(path) or tmp_path, lambda path: [])
    names = [str(tmp_path / "a" / f"m{n}.py") for n in range(5)] + [str(tmp_path / "b" / "m.py")]
    entries = [store.entry(name, b"import keras\n", False, ()) for name in names]
    assert len({e.path for e in entries}) == len(names) and len(asked) == 2  # one a folder
    given = store.entry(names[0], b"import keras\n", False, (), sha256=entries[0].digest)
    assert (given.path, given.digest) == (entries[0].path, entries[0].digest)
    again = Cache(lambda path: tmp_path, lambda path: []).entry(names[0], b"import keras\n", False, ())
    assert again.path == entries[0].path  # the same entry from a fresh cache: nothing kept of the run
