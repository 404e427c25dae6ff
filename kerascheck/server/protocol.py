"""The language server itself: pygls features wired to the modules that do the work."""

from __future__ import annotations

from pygls.lsp.server import LanguageServer

from kerascheck import __version__


def serve() -> int:
    LanguageServer("kerascheck", __version__).start_io()
    return 0
