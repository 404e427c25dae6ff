"""From a path to text: reading, the checks for bad input, and the cheap text prefilter."""

from __future__ import annotations

import re
from pathlib import Path

from kerascheck import rules
from kerascheck.findings import SourceError

FILE_NOQA = re.compile(r"^[ \t]*#[ \t]*kerascheck:[ \t]*noqa[ \t]*$", re.MULTILINE | re.IGNORECASE)


def may_have_findings(text: str) -> bool:
    """The prefilter: False means no rule can fire in this text, so it need not be parsed.

    Every Keras name is reached through a spelling that contains "keras", and each rule names the
    words one of which a file must contain for it to report there (``Rule.words``).
    """
    return "keras" in text and rules.words().search(text) is not None and FILE_NOQA.search(text) is None


def decode(data: bytes, path: str) -> str:
    """UTF-8 text from bytes, or a SourceError saying why not."""
    if b"\0" in data:
        raise SourceError(path, "binary file (contains NUL bytes), not Python source")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SourceError(path, f"not UTF-8 text (invalid byte 0x{data[error.start]:02x} on line {line})") from None
    return text[1:] if text.startswith("\ufeff") else text


def read(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(str(path), "no such file or directory") from None
    except IsADirectoryError:
        raise SourceError(str(path), "is a directory") from None
    except OSError as error:
        raise SourceError(str(path), f"cannot read: {error.strerror or error}") from None
    return decode(data, str(path))
