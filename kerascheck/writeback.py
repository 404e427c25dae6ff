"""Writing fixed text back: checked, atomic, and only when something changed."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from kerascheck import notebooks
from kerascheck.check import parse
from kerascheck.findings import SourceError

_BOM = b"\xef\xbb\xbf"


def write_fixed(path: Path, text: str, encoding: str = "utf-8") -> bool:
    """Replace ``path``'s content with ``text``; False when that would change nothing.

    The text must parse again (a notebook: as JSON, and its code cells as Python); it is
    written to a temporary file beside the original, which then replaces it in one step,
    keeping its permissions, its byte-order mark and its ``encoding`` (a PEP 263 cookie's).
    """
    if notebooks.is_notebook(path):
        try:
            program, _ = notebooks.to_program(text)
        except notebooks.NotebookError as error:
            raise SourceError(str(path), f"the fixed notebook would be broken: {error.reason}") from None
        parse(program, str(path))
    else:
        parse(text, str(path))
    original = path.read_bytes()
    try:
        data = text.encode("utf-8" if encoding == "utf-8-sig" else encoding)
    except UnicodeEncodeError:
        raise SourceError(str(path), f"the fixed text cannot be written in {encoding}") from None
    data = (_BOM if original.startswith(_BOM) else b"") + data
    if data == original:
        return False
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".kerascheck", dir=path.parent)
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        os.chmod(temporary, path.stat().st_mode & 0o7777)
        os.replace(temporary, path)
    except OSError as error:
        os.unlink(temporary)
        raise SourceError(str(path), f"cannot write the fixed file: {error.strerror or error}") from None
    return True
