"""Worker results kept on disk, keyed by the job, the Keras version, the backend and every
setting of the worker that could change what Keras answers.

The folder is ``$KERASCHECK_CACHE_DIR`` if set, else ``$XDG_CACHE_HOME/kerascheck``, else
``~/.cache/kerascheck``; results live under ``verify/`` in one small JSON file each. Only
results Keras gave are kept (a build, or the exception Keras raised); a time limit, memory
running out, a worker that died, or Keras missing are never cached, so they are tried again on
the next run. An entry that cannot be read as a result is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, cast

from kerascheck.verify.plans import Environment
from kerascheck.verify.worker import PROTOCOL

# Bump when what the parent makes of a result changes in a way old results cannot serve.
FORMAT = 1


def cache_dir() -> Path:
    explicit = os.environ.get("KERASCHECK_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "kerascheck"


def key(job_text: str, environment: Environment, settings: dict[str, Any] | None = None) -> str:
    """The cache key of a job (its canonical text) under one Keras and backend, and the worker's
    ``settings`` (its memory limit, its Python)."""
    digest = hashlib.sha256()
    stamp = {
        "settings": settings or {},
        "protocol": PROTOCOL,
        "format": FORMAT,
        "module": environment.module,
        "keras": environment.keras,
        "backend": environment.backend,
        "backend_version": environment.backend_version,
    }
    digest.update(json.dumps(stamp, sort_keys=True).encode("utf-8"))
    digest.update(b"\0")
    digest.update(job_text.encode("utf-8"))
    return digest.hexdigest()


def _build(value: Any) -> bool:
    if not isinstance(value, dict) or not isinstance(value.get("rows"), list):
        return False
    error = value.get("error")
    texts = ("node", "class")
    return all(isinstance(row, dict) and all(isinstance(row.get(k), str) for k in texts) for row in value["rows"]) and (
        error is None
        or (
            isinstance(error, dict) and all(isinstance(error.get(k), str) for k in ("node", "phase", "type", "message"))
        )
    )


def well_formed(value: Any) -> bool:
    """Whether ``value`` has the shape of a worker's result (an original build, and a fixed one
    or none): anything else in the cache (a truncated write, an edit by hand) is a miss."""
    return (
        isinstance(value, dict)
        and _build(value.get("original"))
        and (value.get("fixed") is None or _build(value["fixed"]))
        and (value.get("numeric") is None or isinstance(value["numeric"], dict))
    )


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
        except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested too deeply
            value = None
        if not well_formed(value):
            self.misses += 1
            return None
        self.hits += 1
        return cast(dict[str, Any], value)  # well_formed: a dict

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
