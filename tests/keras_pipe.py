"""The session's Keras worker (``conftest.keras_worker``) served to a process the tests start, over
a pipe, as a worker process of its own would serve it.

``kerascheck server`` starts its verification worker as ``<verify-python> worker.py --keras ...``.
The tests give it, as its ``verify-python``, a script (``KerasPipe.python``) that runs this file:
the worker process it starts is then this relay, which passes the protocol's lines between its
pipes and a socket of the test process, and the session's worker answers them on the Keras the
test process imported. The server's side (starting the worker, its hello, jobs and results over
the pipe, closing it) runs as with any worker; only the import of Keras, 5 to 10 s of CPU in every
worker process, is not done again. What only a worker process of its own shows (its start, limits,
death) is tested on real worker processes (tests/test_verify_keras.py).

Run as a script, this file is the relay: ``python keras_pipe.py SOCKET ARGS...``; with ``-c`` first
(``verify.session.probe`` asks for Keras' version that way), it is that Python, run as asked.
Standard library only: the relay imports neither kerascheck nor the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import sys
import threading
from pathlib import Path
from typing import Any


def relay(address: str) -> int:
    """Pass stdin to the socket at ``address`` and what comes back to stdout, until either ends."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as connection:
        connection.connect(address)

        def up() -> None:
            while chunk := os.read(0, 1 << 16):
                connection.sendall(chunk)
            connection.shutdown(socket.SHUT_WR)  # the parent closed the pipe: the worker's end

        threading.Thread(target=up, daemon=True).start()
        while chunk := connection.recv(1 << 16):
            os.write(1, chunk)
    return 0


class KerasPipe:
    """A socket in ``folder`` on which ``worker`` (an ``InProcessWorker``) answers the worker
    protocol, one connection at a time, each a worker's life: its hello, then an answer a request.

    ``hold()`` keeps the next hello back until ``release()``: a test sees what its process does
    while a worker starts, however fast the session's worker is."""

    def __init__(self, folder: Path, worker: Any) -> None:
        self.address = str(folder / "keras.sock")
        self.python = folder / "keras-python"
        self.worker = worker
        self.connections = 0
        self._released = threading.Event()
        self._released.set()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.address)
        self._listener.listen()
        script = Path(__file__).resolve()
        self.python.write_text(f'#!/bin/sh\nexec "{sys.executable}" -I "{script}" "{self.address}" "$@"\n')
        self.python.chmod(0o755)
        self._thread = threading.Thread(target=self._serve, name="keras-pipe", daemon=True)
        self._thread.start()

    def hold(self) -> None:
        self._released.clear()

    def release(self) -> None:
        self._released.set()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # closed
                return
            self.connections += 1
            with connection, connection.makefile("rwb") as stream:
                self._released.wait()
                hello = self.worker.start()
                stream.write(json.dumps({"hello": hello}).encode() + b"\n")
                stream.flush()
                for line in stream:
                    if line.strip():
                        stream.write(json.dumps(self.worker.answer(json.loads(line))).encode() + b"\n")
                        stream.flush()

    def close(self) -> None:
        self._released.set()
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (closing alone may not)
        self._listener.close()
        self._thread.join(timeout=10)


if __name__ == "__main__":
    if sys.argv[2:3] == ["-c"]:  # the Python itself, asked something (its Keras' version)
        os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
    sys.exit(relay(sys.argv[1]))
