"""Worker results kept on disk, keyed by the job, the Keras version and the backend.

The folder is ``$KERASCHECK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/kerascheck``, else
``~/.cache/kerascheck``; results live under ``verify/`` in one small JSON file each. Only
results Keras gave are kept (a build, or the exception Keras raised); a time limit, a worker
that died, or Keras missing are never cached, so they are tried again on the next run.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from kerascheck.verify.worker import PROTOCOL

# Bump when what the parent makes of a result changes in a way old results cannot serve.
FORMAT = 1


def cache_dir() -> Path:
    explicit = os.environ.get("KERASCHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kerascheck"


def key(job_text: str, environment: dict[str, Any]) -> str:
    """The cache key of a job (its canonical text) under one Keras and backend."""
    digest = hashlib.sha256()
    stamp = {
        "protocol": PROTOCOL,
        "format": FORMAT,
        "module": environment.get("module"),
        "keras": environment.get("keras"),
        "backend": environment.get("backend"),
        "backend_version": environment.get("backend_version"),
    }
    digest.update(json.dumps(stamp, sort_keys=True).encode("utf-8"))
    digest.update(b"\0")
    digest.update(job_text.encode("utf-8"))
    return digest.hexdigest()


class Cache:
    def __init__(self, root: Path | None = None, enabled: bool = True) -> None:
        self.root = (root or cache_dir()) / "verify"
        self.enabled = enabled
        self.hits = 0
        self.misses = 0

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if not self.enabled:
            return None
        try:
            with open(self._path(key), encoding="utf-8") as handle:
                value = json.load(handle)
        except (OSError, ValueError):
            self.misses += 1
            return None
        self.hits += 1
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        if not self.enabled:
            return
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(value, handle)
            os.replace(tmp, path)
        except OSError:
            pass  # a cache that cannot be written is only a slower run
