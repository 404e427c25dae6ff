"""Writing fixed text back: checked, only when something changed, and without losing anything.

The file the name points to is the one fixed (a symlink stays a link, a hard link stays shared),
and it keeps its owner and mode. A file is replaced only while it still holds the bytes that
were analysed; a read-only file is reported, not written.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import tempfile
from pathlib import Path

from kerascheck import notebooks
from kerascheck.check import parse
from kerascheck.findings import SourceError
from kerascheck.sources import Stamp, stamp_of

_BOM = b"\xef\xbb\xbf"
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def write_fixed(path: Path, text: str, encoding: str = "utf-8", *, read: Stamp | None = None) -> bool:
    """Replace the content of the file ``path`` names with ``text``; False when that would change
    nothing. ``read`` is the stamp of the bytes the fixes were made from: a file that no longer
    holds them is not written (SourceError), nor is a read-only one.

    The text must parse again (a notebook: as JSON, and its code cells as Python), and is written
    in ``encoding`` (a PEP 263 cookie's) with the file's byte-order mark. It goes to a temporary
    file beside the target, which then replaces it in one step; a target with other hard links, or
    whose owner cannot be kept that way, or in a folder that cannot be written, is rewritten in
    place instead (the same inode: its links, owner and mode stay).
    """
    name = str(path)
    if notebooks.is_notebook(path):
        try:
            program, _ = notebooks.to_program(text)
        except notebooks.NotebookError as error:
            raise SourceError(name, f"the fixed notebook would be broken: {error.reason}") from None
        parse(program, name)
    else:
        parse(text, name)
    target = _target(path)
    original, info = _current(target, name)
    if read is not None and stamp_of(original, info) != read:
        raise SourceError(name, "changed since it was read (another program saved it?): not fixed, check it again")
    try:
        data = text.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeEncodeError:
        raise SourceError(name, f"the fixed text cannot be written in {encoding}") from None
    data = (_BOM if original.startswith(_BOM) else b"") + data
    if data == original:
        return False
    if not info.st_mode & _WRITE_BITS or not os.access(target, os.W_OK):
        raise SourceError(name, "read-only file: the fixes were not written")
    try:
        if info.st_nlink > 1 or not _replace(target, data, info):
            _overwrite(target, data)
    except OSError as error:
        raise SourceError(name, f"cannot write the fixed file: {error.strerror or error}") from None
    return True


def _target(path: Path) -> Path:
    """The file a name points to, through every symlink; SourceError for a loop or a dangling link."""
    try:
        return Path(os.path.realpath(path, strict=True))
    except FileNotFoundError:
        raise SourceError(str(path), "no longer exists: the fixes were not written") from None
    except OSError as error:
        if error.errno == errno.ELOOP:
            raise SourceError(str(path), "is a symlink loop: the fixes were not written") from None
        raise SourceError(str(path), f"cannot find it again: {error.strerror or error}") from None


def _current(target: Path, name: str) -> tuple[bytes, os.stat_result]:
    """What the target holds now, and its status (from the open file: the same file's)."""
    try:
        with open(target, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise SourceError(name, "no longer a regular file: the fixes were not written")
            return handle.read(), info
    except FileNotFoundError:
        raise SourceError(name, "no longer exists: the fixes were not written") from None
    except IsADirectoryError:
        raise SourceError(name, "no longer a regular file: the fixes were not written") from None
    except OSError as error:
        raise SourceError(
            name, f"cannot read it again: {error.strerror or error}: the fixes were not written"
        ) from None


def _replace(target: Path, data: bytes, info: os.stat_result) -> bool:
    """Write ``data`` to a temporary file beside ``target`` with its owner and mode, and move it
    over ``target``; False (nothing changed) when the folder cannot be written or the owner kept."""
    try:
        handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".kerascheck", dir=target.parent)
    except OSError:
        return False
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
            if (info.st_uid, info.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(stream.fileno(), info.st_uid, info.st_gid)
                except OSError:
                    os.unlink(temporary)
                    return False  # only in place does the file keep its owner
            os.fchmod(stream.fileno(), stat.S_IMODE(info.st_mode))  # after chown, which clears set-id bits
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return True


def _overwrite(target: Path, data: bytes) -> None:
    """Rewrite the file's bytes in place: the same inode, so every link, owner and mode stays."""
    with open(target, "r+b") as stream:
        stream.write(data)
        stream.truncate()
        stream.flush()
        os.fsync(stream.fileno())
