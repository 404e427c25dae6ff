"""The findings cache: what a file gave, kept on disk, so that an unchanged file is not parsed again
(ruff's cache, for kerascheck).

The cache lives in ``.kerascheck_cache`` beside the configuration that applies to a file (the
nearest ``pyproject.toml`` with a ``[tool.kerascheck]`` table, or ``--config``'s file), else in the
project root: the nearest folder above the working folder with a ``pyproject.toml`` or ``.git``
(else the working folder). It holds a ``CACHEDIR.TAG`` and a ``.gitignore`` (backup tools and git
pass it over), and one small JSON entry per file analysed.

An entry is named by the file's path relative to the cache's folder, the rules chosen for it (its
configuration, the command line, its per-file-ignores and file-level noqa), the version of
kerascheck (and its sources' text: a checkout installed in place keeps its version while its code
changes), of Python and of libcst; it holds the digest of the file's bytes, and the findings. A file whose bytes changed
is a miss, and its entry is replaced. Entries are written to a temporary file and renamed into
place: two runs at once never leave half an entry, and the last one's stands. An entry that cannot
be read, or is not exactly what this module writes, is a miss, never an error. A file that could
not be read or checked is never kept: it is tried again on the next run.

hashlib, json, tempfile and the findings' records are imported by the first look-up: a run that
analyses nothing (no file passes the prefilter) does not pay for them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

from kerascheck import __version__

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from typing import Any

    from kerascheck.findings import Finding

FOLDER = ".kerascheck_cache"
FORMAT = 1  # bump when what an entry holds, or what the analysis makes of a file, changes shape
TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by kerascheck.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)
GITIGNORE = "# Automatically created by kerascheck.\n*\n"
_INTS = ("line", "column", "end_line", "end_column")
_TEXTS = ("code", "name", "message")


def project_root(cwd: Path | None = None) -> Path:
    """The nearest folder from ``cwd`` up with a ``pyproject.toml`` or ``.git``; else ``cwd``."""
    start = Path(os.path.abspath(cwd or Path.cwd()))
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / ".git").exists():
            return folder
    return start


def _engine() -> dict[str, Any]:
    """What, besides a file and its settings, decides its findings: this kerascheck (its version,
    and its sources' text, for a checkout installed in place keeps its version while its code
    changes), Python (what it accepts as syntax) and libcst (what it parses). Texts, not times: a
    fresh install of the same code (each CI run) keeps its entries. libcst is found, not imported:
    its ``_version.py``'s text and its ``__init__.py``'s stand for it (finding a file in the cache
    must import no parser, nor the package metadata machinery)."""
    import hashlib
    import importlib.util

    sources = hashlib.sha256()
    package = os.path.dirname(os.path.abspath(__file__))
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(f for f in files if f.endswith(".py")):
            where = os.path.join(folder, name)
            sources.update(os.path.relpath(where, package).encode("utf-8", "surrogateescape") + b"\0")
            sources.update(_bytes(where) + b"\0")
    spec = importlib.util.find_spec("libcst")
    libcst = hashlib.sha256()
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        for name in ("__init__.py", "_version.py"):
            libcst.update(_bytes(os.path.join(folder, name)) + b"\0")
    return {
        "format": FORMAT,
        "kerascheck": __version__,
        "sources": sources.hexdigest(),
        "python": list(sys.version_info),
        "implementation": sys.implementation.name,
        "libcst": libcst.hexdigest() if spec is not None else None,
    }


def _bytes(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError:
        return b""


_ENGINE: list[str] = []


def engine() -> str:
    """``_engine``, once a process, as text."""
    import json

    if not _ENGINE:
        _ENGINE.append(json.dumps(_engine(), sort_keys=True))
    return _ENGINE[0]


def rule_codes(root: Path) -> tuple[str, ...]:
    """The codes of the rules, kept in ``root``'s cache for this kerascheck (``engine``): checking the
    codes a table names then loads no rule. Read from the registry, and kept, when not there."""
    import hashlib
    import json

    path = root / FOLDER / f"rules-{hashlib.sha256(engine().encode()).hexdigest()[:32]}.json"
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError, RecursionError):
        value = None
    if isinstance(value, list) and value and all(isinstance(code, str) and code for code in value):
        return tuple(value)
    from kerascheck import rules

    codes = tuple(rule.code for rule in rules.all_rules())
    try:
        _make(root / FOLDER)
        _write(path, json.dumps(codes))
    except OSError:
        pass
    return codes


def digest(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _to_json(finding: Finding) -> dict[str, Any]:
    from dataclasses import fields

    data = {f.name: getattr(finding, f.name) for f in fields(finding) if f.name not in ("path", "verification")}
    data["fix"] = (
        None if finding.fix is None else {"applicability": finding.fix.applicability, "message": finding.fix.message}
    )
    return data


def _int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


_KEYS: list[frozenset[str]] = []  # what an entry's finding holds: Finding's fields, less two (once a process)


def _finding(path: str, data: object) -> Finding | None:
    """The finding an entry holds, or None when it is not exactly what ``_to_json`` writes."""
    from kerascheck.findings import Finding, Fix

    if not _KEYS:
        from dataclasses import fields

        _KEYS.append(frozenset(f.name for f in fields(Finding)) - {"path", "verification"})
    if not isinstance(data, dict) or data.keys() != _KEYS[0]:
        return None
    if not all(_int(data[k]) for k in _INTS) or not all(isinstance(data[k], str) for k in _TEXTS):
        return None
    cell, fix = data["cell"], data["fix"]
    if cell is not None and not _int(cell):
        return None
    made: Fix | None = None
    if fix is not None:
        if not (
            isinstance(fix, dict)
            and set(fix) == {"applicability", "message"}
            and fix["applicability"] in ("safe", "unsafe")
            and isinstance(fix["message"], str)
        ):
            return None
        made = Fix(fix["applicability"], fix["message"])
    return Finding(
        path=path,
        line=data["line"],
        column=data["column"],
        end_line=data["end_line"],
        end_column=data["end_column"],
        code=data["code"],
        name=data["name"],
        message=data["message"],
        fix=made,
        cell=cell,
    )


class Entry:
    """Where one file's entry is, and the digest of the bytes it was made from."""

    __slots__ = ("digest", "path")

    def __init__(self, path: Path, digest: str) -> None:
        self.path = path
        self.digest = digest


class Cache:
    """The findings cache of a run. ``folder_for`` gives the folder a file's cache lives in (its
    configuration's folder, or the project root: the same for the files of one folder),
    ``rules_key`` what chooses its rules (as ``config.Resolver.rules_key``); ``hits`` and
    ``misses`` count the look-ups."""

    def __init__(self, folder_for: Callable[[str], Path], rules_key: Callable[[str], object]) -> None:
        self._folder_for = folder_for
        self._rules_key = rules_key
        self._made: set[Path] = set()  # cache folders with their tag and .gitignore written this run
        self._places: dict[str, tuple[str, str]] = {}  # see _place
        self.hits = 0
        self.misses = 0

    def entry(
        self, path: str, data: bytes, explicit: bool, ignore: tuple[str, ...], sha256: str | None = None
    ) -> Entry:
        """The entry of ``path`` with these bytes (``sha256``: their digest, when already made),
        checked with the rules its settings choose (``rules_key``) less ``ignore`` (its file-level
        noqa), named on the command line or not (``explicit``: then it is parsed whatever the
        prefilter says)."""
        import hashlib
        import json

        folder, base = os.path.split(os.path.abspath(path))
        findings, relative = self._place(path, folder)
        relative = base if relative == "." else f"{relative}/{base}"
        name = hashlib.sha256(
            json.dumps([engine(), relative, self._rules_key(path), ignore, explicit]).encode("utf-8", "surrogateescape")
        ).hexdigest()
        return Entry(Path(f"{findings}/{name[:2]}/{name}.json"), sha256 or digest(data))

    def _place(self, path: str, folder: str) -> tuple[str, str]:
        """The findings folder of the cache of the files in ``folder`` (absolute; ``path`` one of
        them), and ``folder`` relative to the cache's folder: asked once a folder (``folder_for``
        is the same for the files of one folder: their table is their folder's)."""
        known = self._places.get(folder)
        if known is None:
            cache = self._folder_for(path) / FOLDER
            relative = Path(os.path.relpath(folder, cache.parent)).as_posix()
            known = self._places[folder] = (str(cache / "findings"), relative)
        return known

    def get(self, entry: Entry, path: str) -> list[Finding] | None:
        """The findings ``entry`` holds for ``path``; None for a miss (no entry, other bytes, or an
        entry that cannot be read as one)."""
        import json

        try:
            with open(entry.path, encoding="utf-8") as handle:
                value = json.load(handle)
        except (OSError, ValueError, RecursionError):  # RecursionError: JSON nested too deeply
            value = None
        findings = self._findings(value, entry, path)
        if findings is None:
            self.misses += 1
        else:
            self.hits += 1
        return findings

    def _findings(self, value: object, entry: Entry, path: str) -> list[Finding] | None:
        if not (
            isinstance(value, dict)
            and set(value) == {"format", "digest", "findings"}
            and type(value["format"]) is int  # JSON's true is no format number
            and value["format"] == FORMAT
            and value["digest"] == entry.digest
            and isinstance(value["findings"], list)
        ):
            return None
        found = [_finding(path, item) for item in value["findings"]]
        return None if any(f is None for f in found) else [f for f in found if f is not None]

    def put(self, entry: Entry, findings: list[Finding]) -> None:
        """Keep ``findings`` (their verification left out: it is --verify's, with its own cache)."""
        import json

        value = {"format": FORMAT, "digest": entry.digest, "findings": [_to_json(f) for f in findings]}
        try:
            self._make(entry.path.parents[2])
            _write(entry.path, json.dumps(value))
        except OSError:
            pass  # a cache that cannot be written is only a slower next run

    def _make(self, folder: Path) -> None:
        if folder not in self._made:
            _make(folder)
            self._made.add(folder)


def _make(folder: Path) -> None:
    """The cache folder, with its CACHEDIR.TAG and .gitignore."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in (("CACHEDIR.TAG", TAG), (".gitignore", GITIGNORE)):
        if not (folder / name).is_file():
            _write(folder / name, text)


def _write(path: Path, text: str) -> None:
    """``path`` holds ``text``, or what it held: written beside it, then renamed in one step."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
        os.replace(temporary, path)
    except OSError:
        os.unlink(temporary)
        raise


def clean(below: Path, beside: list[Path]) -> list[Path]:
    """Remove the caches in ``below`` and the folders under it, and those of the folders ``beside``
    (a ``.kerascheck_cache`` with kerascheck's CACHEDIR.TAG: a folder of that name without it is
    not ours); the caches removed."""
    import shutil

    from kerascheck.discovery import EXCLUDED_DIRS

    candidates = [folder / FOLDER for folder in beside]
    for folder, dirs, _ in os.walk(below):
        if FOLDER in dirs:
            candidates.append(Path(folder, FOLDER))
        dirs[:] = [d for d in dirs if d != FOLDER and d not in EXCLUDED_DIRS]
    removed: list[Path] = []
    for cache in candidates:
        if cache not in removed and _ours(cache):
            shutil.rmtree(cache, ignore_errors=True)
            removed.append(cache)
    return removed


def _ours(folder: Path) -> bool:
    try:
        return (folder / "CACHEDIR.TAG").read_text(encoding="utf-8").startswith(TAG.split("\n")[0])
    except (OSError, UnicodeDecodeError):
        return False
