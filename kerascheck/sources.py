"""From a path to text: reading, the checks for bad input, and the cheap text prefilter."""

from __future__ import annotations

import codecs
import errno
import os
import re
import stat
import tokenize
from pathlib import Path

from kerascheck.errors import SourceError

# Where CPython's tokenizer ends a line. str.splitlines also ends lines at \x0b, \x0c, \x1c-\x1e,
# \x85, U+2028 and U+2029, which Python reads as ordinary characters (in strings and comments).
LINE_BREAK = re.compile(r"\r\n|\r|\n")
_LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
# A whole file silenced: a kerascheck or flake8 file-level noqa comment, on a line of its own.
FILE_NOQA = re.compile(r"^[ \t]*#[ \t]*(?:kerascheck:|flake8[:=])[ \t]*noqa[ \t]*$", re.MULTILINE | re.IGNORECASE)
# The flake8 file-level noqa comment with codes, on a line of its own: those codes silenced in the whole file, as ruff reads it
# (flake8 7 skips the whole file for it, whatever the codes).
FILE_NOQA_CODES = re.compile(
    r"^[ \t]*#[ \t]*(?:kerascheck:|flake8[:=])[ \t]*noqa[ \t]*:[ \t]*(?P<codes>[A-Z]+[0-9]+(?:[ \t,]+[A-Z]+[0-9]+)*)[ \t]*$",
    re.MULTILINE | re.IGNORECASE,
)


NOTEBOOK_SUFFIX = ".ipynb"


def is_notebook(path: str | Path) -> bool:
    """Whether ``path`` names a Jupyter notebook (``kerascheck.notebooks`` reads it)."""
    return str(path).endswith(NOTEBOOK_SUFFIX)


def file_noqa_codes(text: str) -> tuple[str, ...]:
    """The codes (or prefixes) that file-level ``# flake8: noqa: CODES`` comments silence in ``text``."""
    if "noqa" not in text.lower():
        return ()
    return tuple(code.upper() for m in FILE_NOQA_CODES.finditer(text) for code in re.split(r"[ \t,]+", m["codes"]))


def split_lines(text: str, keepends: bool = False) -> list[str]:
    """``text.splitlines(keepends)``, but with the lines CPython's tokenizer counts (see LINE_BREAK)."""
    lines = _LINES.findall(text)
    return lines if keepends else [LINE_BREAK.sub("", line) for line in lines]


def mentions_keras(text: str) -> bool:
    """The prefilter's first half, which needs no rule: every Keras name is spelt with "keras"."""
    return "keras" in text


def notebook_may_mention_keras(path: str, raw: str) -> bool:
    """``mentions_keras`` of a notebook's program, told from its JSON without converting it (a
    conversion parses the program): False only for a notebook that ``kerascheck.notebooks`` reads
    without an error (the same structure checked) and whose cells' texts hold no "keras". Its
    program is those texts with prompts stripped and IPython lines replaced: it holds none either.
    True for any other file: what is not a notebook, or not one to read, is for the reader to judge."""
    if not is_notebook(path) or "keras" in raw:
        return True  # most notebooks of a Keras project: no JSON read here
    import json  # "keras" spelt with escapes, or split between a source's strings, is still seen

    try:
        data = json.loads(raw.removeprefix("\ufeff"))
    except (ValueError, RecursionError):
        return True
    cells = data.get("cells") if isinstance(data, dict) else None
    if not isinstance(cells, list):
        return True
    for cell in cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            return True
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str) or "keras" in source:
            return True
    return False


def may_have_findings(text: str) -> bool:
    """The prefilter: False means no rule can fire in this text, so it need not be parsed.

    Every Keras name is reached through a spelling that contains "keras", and each rule names the
    words one of which a file must contain for it to report there (``Rule.words``, and one of its
    ``Rule.also_words`` too when it has them).
    A text without "keras" is turned away before the rules are imported (and the graph with them):
    a run over files without Keras never loads them.
    """
    if not mentions_keras(text):
        return False
    from kerascheck import rules

    # FILE_NOQA spells "noqa" (no other character lower-cases to its letters): most texts have
    # none, and finding that costs a quarter of the search.
    return rules.may_report(text) and ("noqa" not in text.lower() or FILE_NOQA.search(text) is None)


def _head(data: bytes) -> bytes:
    """The first two lines, where detect_encoding looks for a PEP 263 cookie (b"\r" ends none)."""
    first = data.find(b"\n") + 1
    second = data.find(b"\n", first) + 1 if first else 0
    return data[: second or len(data)]


def encoding_of(data: bytes, path: str) -> str:
    """The encoding CPython reads ``data`` with: a BOM (``utf-8-sig``), else a PEP 263 coding cookie
    on the first two lines, else UTF-8. A SourceError for a cookie CPython would refuse."""
    lines = iter(_head(data).splitlines(keepends=True)[:2])
    try:
        encoding, _ = tokenize.detect_encoding(lambda: next(lines, b""))
    except SyntaxError as error:
        raise SourceError(path, f"{error.msg}") from None
    return encoding


def decode(data: bytes, path: str, *, notebook: bool = False) -> tuple[str, str]:
    """Text from bytes as CPython decodes source (a notebook, JSON: UTF-8), and the encoding used;
    or a SourceError saying why not. A byte-order mark is dropped from the text.

    Most files have no cookie: with no "coding" in the first two lines, ``encoding_of`` can only
    say UTF-8 (with a BOM, ``utf-8-sig``) or refuse lines that are not UTF-8, and the whole file
    then does not decode either. So such a file is decoded as UTF-8 without asking it; only one
    that does not decode goes the long way, for the same error."""
    if b"\0" in data:
        raise SourceError(path, "binary file (contains NUL bytes), not Python source")
    bom = data.startswith(codecs.BOM_UTF8)
    if notebook or b"coding" not in data or b"coding" not in _head(data):  # the first test spares most files _head
        encoding = "utf-8-sig" if bom else "utf-8"
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            if notebook:
                return _decoded(data, path, encoding)
        else:
            return (text[1:] if text.startswith("\ufeff") else text), encoding
    return _decoded(data, path, encoding_of(data, path))


def _decoded(data: bytes, path: str, encoding: str) -> tuple[str, str]:
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        name = "UTF-8" if encoding in ("utf-8", "utf-8-sig") else encoding
        raise SourceError(path, f"not {name} text (invalid byte 0x{data[error.start]:02x} on line {line})") from None
    return (text[1:] if text.startswith("\ufeff") else text), encoding


class Stamp:
    """What a file held when it was read: ``--fix`` writes it only while it still holds that.
    (A plain class: the runner makes one for each file that goes on past the prefilter.)"""

    __slots__ = ("mtime_ns", "sha256", "size")

    def __init__(self, size: int, mtime_ns: int, sha256: str) -> None:
        self.size = size
        self.mtime_ns = mtime_ns
        self.sha256 = sha256

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Stamp):
            return NotImplemented
        return (self.size, self.mtime_ns, self.sha256) == (other.size, other.mtime_ns, other.sha256)

    def __hash__(self) -> int:
        return hash((self.size, self.mtime_ns, self.sha256))

    def __repr__(self) -> str:
        return f"Stamp(size={self.size}, mtime_ns={self.mtime_ns}, sha256={self.sha256!r})"


def stamp_of(data: bytes, info: os.stat_result) -> Stamp:
    import hashlib  # for the files that pass the prefilter: those --fix may write

    return Stamp(len(data), info.st_mtime_ns, hashlib.sha256(data).hexdigest())


_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFIFO: "a FIFO (named pipe), not a file",
    stat.S_IFSOCK: "a socket, not a file",
    stat.S_IFCHR: "a character device, not a file",
    stat.S_IFBLK: "a block device, not a file",
}


def _kind(mode: int) -> str:
    return "is " + _KINDS.get(stat.S_IFMT(mode), "not a regular file")


def what_is(path: Path | str) -> str | None:
    """Why ``path`` cannot be read as a source file, found without opening it; None for a file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        try:
            os.lstat(path)
        except OSError:
            return "no such file or directory"
        return "is a symlink to nothing (dangling)"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "is a symlink loop"
        return f"cannot read: {error.strerror or error}"
    return None if stat.S_ISREG(info.st_mode) else _kind(info.st_mode)


def read_stamped(path: Path) -> tuple[bytes, Stamp]:
    """A file's bytes and their stamp (size and mtime from the open file, the bytes' hash), or a
    SourceError in one line (see ``read_with_status``)."""
    data, info = read_with_status(path)
    return data, stamp_of(data, info)


class NotAFile(SourceError):
    """A path that is no regular file (missing, a folder, a FIFO, a dangling link...): one found in
    a folder is passed over, as a walk passes over what is not a file; one named is an error."""


def read_with_status(path: Path | str) -> tuple[bytes, os.stat_result]:
    """A file's bytes and the status of the open file they were read from (``stamp_of`` makes their
    stamp), or a SourceError in one line (NotAFile when it is no regular file). What is not a
    regular file is said to be what it is: it is opened without waiting (a FIFO without a writer
    would block an ordinary open for ever), never read. Read with os.read, as large as fstat says
    and on to the end of the file: no file object is made for it."""
    try:
        handle = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno == errno.EISDIR:
            raise NotAFile(str(path), "is a directory") from None
        what = what_is(path)
        if what is None or what.startswith("cannot read"):
            raise SourceError(str(path), what or f"cannot read: {error.strerror or error}") from None
        raise NotAFile(str(path), what) from None
    try:
        info = os.fstat(handle)
        if not stat.S_ISREG(info.st_mode):
            raise NotAFile(str(path), _kind(info.st_mode))
        data = os.read(handle, info.st_size + 1)
        if data:  # on to the end: the file may have grown since fstat
            parts = [data]
            while more := os.read(handle, max(info.st_size, 1 << 16)):
                parts.append(more)
            if len(parts) > 1:
                data = b"".join(parts)
    except OSError as error:
        raise SourceError(str(path), f"cannot read: {error.strerror or error}") from None
    finally:
        os.close(handle)
    return data, info


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or a SourceError in one line."""
    return read_stamped(path)[0]


def read(path: Path) -> str:
    """A file's text, decoded as ``decode`` does."""
    return decode(read_bytes(path), str(path), notebook=is_notebook(path))[0]
