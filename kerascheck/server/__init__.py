"""``kerascheck server``: the Language Server Protocol server (the ``server`` extra installs pygls).

Nothing here is imported when kerascheck starts: pygls and lsprotocol are imported by ``run`` only.
"""

from __future__ import annotations

import sys

EXIT_ERROR = 2
MISSING = "error: kerascheck server needs pygls and lsprotocol: pip install 'kerascheck[server]'"


def run() -> int:
    """Serve over stdin and stdout until the client says exit; 2 when pygls is not installed."""
    try:
        import lsprotocol.types  # noqa: F401
        import pygls.lsp.server  # noqa: F401
    except ImportError:
        print(MISSING, file=sys.stderr)
        return EXIT_ERROR
    from kerascheck.server.protocol import serve

    return serve()
