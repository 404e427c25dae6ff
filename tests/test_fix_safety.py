"""``--fix`` on the file system (issue 16 items 4, 5 and 9): links, owners and modes are kept, a
read-only file is reported and not written, a file changed or removed while the run went on is
skipped with one line, a folder that cannot be written still gets its file fixed, and the other
files of the run are fixed all the same."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from kerascheck import pipeline, runner
from kerascheck.cli import main
from kerascheck.findings import SourceError
from kerascheck.writeback import write_fixed

BROKEN = """\
import keras
from keras import layers
model = keras.Sequential([keras.Input(shape=(30, 8)), layers.LSTM(32), layers.LSTM(16)])
"""
FIXED = BROKEN.replace("LSTM(32)", "LSTM(32, return_sequences=True)")
AS_ROOT = pytest.mark.skipif(os.getuid() != 0, reason="only root can give a file to another user")


def _fix(*paths: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    code = main(["check", "--fix", "--isolated", "--jobs", "1", *map(str, paths)])
    return code, capsys.readouterr().err.splitlines()


def test_a_symlink_stays_a_link_and_its_target_is_fixed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "real" / "model.py"
    target.parent.mkdir()
    target.write_text(BROKEN)
    link = tmp_path / "link.py"
    link.symlink_to(target)
    chain = tmp_path / "chain.py"  # a link to the link
    chain.symlink_to(link)
    code, errors = _fix(chain, capsys=capsys)
    assert (code, errors) == (0, [])
    assert chain.is_symlink() and os.readlink(chain) == str(link)
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == FIXED
    assert sorted(p.name for p in target.parent.iterdir()) == ["model.py"]  # no temporary file left


def test_hard_links_stay_one_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = tmp_path / "a.py"
    first.write_text(BROKEN)
    second = tmp_path / "b.txt"
    os.link(first, second)
    code, errors = _fix(first, capsys=capsys)
    assert (code, errors) == (0, [])
    assert second.read_text() == FIXED and os.path.samefile(first, second)


@pytest.mark.parametrize("mode", [0o640, 0o600, 0o755, 0o4644])
def test_the_mode_is_kept(tmp_path: Path, mode: int, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "model.py"
    path.write_text(BROKEN)
    path.chmod(mode)
    code, errors = _fix(path, capsys=capsys)
    assert (code, errors) == (0, [])
    assert path.read_text() == FIXED and stat.S_IMODE(path.stat().st_mode) == mode


@AS_ROOT
def test_the_owner_is_kept_when_root_fixes_another_users_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.py"
    path.write_text(BROKEN)
    os.chown(path, 4321, 4322)
    path.chmod(0o640)
    code, errors = _fix(path, capsys=capsys)
    assert (code, errors) == (0, [])
    info = path.stat()
    assert path.read_text() == FIXED
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (4321, 4322, 0o640)


def test_a_read_only_file_is_reported_not_written(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    locked = tmp_path / "locked.py"
    locked.write_text(BROKEN)
    locked.chmod(0o444)
    other = tmp_path / "other.py"
    other.write_text(BROKEN)
    code, errors = _fix(locked, other, capsys=capsys)
    assert code == 2 and errors == [f"error: {locked}: read-only file: the fixes were not written"]
    assert locked.read_text() == BROKEN and other.read_text() == FIXED
    assert stat.S_IMODE(locked.stat().st_mode) == 0o444


def test_a_file_saved_by_another_program_meanwhile_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "model.py"
    path.write_text(BROKEN)
    stamp = pipeline.read(path).stamp
    path.write_text(BROKEN + "# the user's edit, saved while kerascheck ran\n")
    with pytest.raises(SourceError, match="changed since it was read"):
        write_fixed(path, FIXED, read=stamp)
    assert path.read_text().endswith("while kerascheck ran\n")
    # The same size, another content, the same mtime: the hash tells.
    stamp = pipeline.read(path).stamp
    assert stamp is not None
    path.write_text(BROKEN + "# the user's edit, saved while kerascheck RAN\n")
    os.utime(path, ns=(stamp.mtime_ns, stamp.mtime_ns))
    with pytest.raises(SourceError, match="changed since it was read"):
        write_fixed(path, FIXED, read=stamp)
    # The same bytes saved again (a new mtime): changed too, as far as anyone can tell.
    stamp = pipeline.read(path).stamp
    assert stamp is not None
    os.utime(path, ns=(stamp.mtime_ns + 10**9, stamp.mtime_ns + 10**9))
    with pytest.raises(SourceError, match="changed since it was read"):
        write_fixed(path, FIXED, read=stamp)
    # Untouched since: written.
    assert write_fixed(path, FIXED, read=pipeline.read(path).stamp)
    assert path.read_text() == FIXED


def _meanwhile(monkeypatch: pytest.MonkeyPatch, act: object) -> None:
    """Run ``act`` once the files are analysed and before --fix writes them (a concurrent program)."""
    analyse = runner._run_all

    def then_act(*args: object, **kwargs: object) -> object:
        done = analyse(*args, **kwargs)  # type: ignore[arg-type]
        act()  # type: ignore[operator]
        return done

    monkeypatch.setattr(runner, "_run_all", then_act)


def test_a_concurrent_writer_keeps_its_edit_and_the_other_files_are_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    edited, other = tmp_path / "edited.py", tmp_path / "other.py"
    edited.write_text(BROKEN)
    other.write_text(BROKEN)
    saved = BROKEN + "x = 1  # saved by an editor while kerascheck ran\n"
    _meanwhile(monkeypatch, lambda: edited.write_text(saved))
    code, errors = _fix(edited, other, capsys=capsys)
    assert code == 2
    assert errors == [
        f"error: {edited}: changed since it was read (another program saved it?): not fixed, check it again"
    ]
    assert edited.read_text() == saved and other.read_text() == FIXED


def test_a_notebook_changed_meanwhile_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": BROKEN}
    notebook = tmp_path / "nb.ipynb"
    notebook.write_text(json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    saved = notebook.read_text().replace('"metadata": {}', '"metadata": {"saved": 1}', 1)
    _meanwhile(monkeypatch, lambda: notebook.write_text(saved))
    code, errors = _fix(notebook, capsys=capsys)
    assert code == 2 and len(errors) == 1 and "changed since it was read" in errors[0]
    assert notebook.read_text() == saved


def test_a_file_removed_meanwhile_is_one_line_and_the_others_are_fixed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    gone, other = tmp_path / "gone.py", tmp_path / "other.py"
    gone.write_text(BROKEN)
    other.write_text(BROKEN)
    _meanwhile(monkeypatch, gone.unlink)
    code, errors = _fix(gone, other, capsys=capsys)
    assert code == 2 and errors == [f"error: {gone}: no longer exists: the fixes were not written"]
    assert not gone.exists() and other.read_text() == FIXED


def test_a_file_replaced_by_a_folder_meanwhile_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.py"
    path.write_text(BROKEN)

    def swap() -> None:
        path.unlink()
        path.mkdir()

    _meanwhile(monkeypatch, swap)
    code, errors = _fix(path, capsys=capsys)
    assert code == 2 and len(errors) == 1 and errors[0].startswith(f"error: {path}: ") and "not written" in errors[0]
    assert path.is_dir()


def test_a_folder_that_cannot_be_written_gets_its_file_fixed_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "model.py"
    path.write_text(BROKEN)
    inode = path.stat().st_ino

    def refused(*args: object, **kwargs: object) -> tuple[int, str]:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refused)  # the temporary file beside it cannot be made
    code, errors = _fix(path, capsys=capsys)
    assert (code, errors) == (0, [])
    assert path.read_text() == FIXED and path.stat().st_ino == inode


@AS_ROOT
def test_a_user_fixes_a_writable_file_in_a_folder_they_cannot_write(capsys: pytest.CaptureFixture[str]) -> None:
    """The real case, as another user (a forked child that drops root): the folder is root's
    (0755), the file theirs; a file of root's beside it, which they may not write, is one line."""
    with tempfile.TemporaryDirectory() as made:  # pytest's tmp_path is root's alone (0700)
        top = Path(made)
        top.chmod(0o755)
        warm = top / "warm.py"  # the run once as root first: every module is imported before the fork
        warm.write_text(BROKEN)
        assert _fix(warm, capsys=capsys) == (0, [])
        folder = top / "shared"
        folder.mkdir()
        theirs, roots = folder / "theirs.py", folder / "roots.py"
        theirs.write_text(BROKEN)
        roots.write_text(BROKEN)
        os.chown(theirs, 4321, 4321)
        inode = theirs.stat().st_ino
        code, errors = _as_user(4321, ["check", "--fix", "--isolated", "--jobs", "1", str(theirs), str(roots)])
        assert code == 2, errors
        assert errors == [f"error: {roots}: read-only file: the fixes were not written"]
        assert theirs.read_text() == FIXED and theirs.stat().st_ino == inode and theirs.stat().st_uid == 4321
        assert roots.read_text() == BROKEN
        assert sorted(p.name for p in folder.iterdir()) == ["roots.py", "theirs.py"]


def _as_user(uid: int, argv: list[str]) -> tuple[int, list[str]]:
    """``main(argv)`` in a forked child running as ``uid``: its exit status and its stderr lines."""
    import contextlib
    import io
    import json

    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child
        os.close(read)
        status = 99
        err = io.StringIO()
        try:
            os.setgroups([])
            os.setgid(uid)
            os.setuid(uid)
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                status = main(argv)
        except BaseException as error:  # reported to the parent, which fails the test
            err.write(f"child: {type(error).__name__}: {error}\n")
        os.write(write, json.dumps([status, err.getvalue()]).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as stream:
        answer = stream.read()
    os.waitpid(child, 0)
    status, err = json.loads(answer)
    return status, err.splitlines()
