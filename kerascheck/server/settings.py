"""What to check in one document: its nearest ``[tool.kerascheck]``, as the CLI finds it, with the
client's ``kerascheck.*`` settings over it as the command line is over the file."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerascheck import config
from kerascheck.verify.session import VerifyOptions


@dataclass(frozen=True)
class ClientSettings:
    """The client's ``kerascheck`` section: ``select``, ``ignore`` (codes or prefixes), ``verify``."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    verify: bool | None = None

    @classmethod
    def parse(cls, value: object) -> tuple[ClientSettings, list[str]]:
        """Settings from the client's JSON, and one line for each value that cannot be used
        (that value is left out; the rest applies)."""
        if not isinstance(value, dict):
            return cls(), [] if value is None else ["kerascheck settings: must be an object"]
        problems: list[str] = []

        def codes(key: str) -> tuple[str, ...] | None:
            raw = value.get(key)
            if raw is None:
                return None
            if isinstance(raw, str):
                raw = raw.split(",")
            if not isinstance(raw, list) or not all(isinstance(code, str) for code in raw):
                problems.append(f'kerascheck.{key}: must be a list of rule codes, e.g. ["KER101"]')
                return None
            chosen = tuple(code.strip().upper() for code in raw if code.strip())
            for code in chosen:
                problem = config.unknown_code(code)
                if problem is not None:
                    problems.append(f"kerascheck.{key}: {problem}")
                    return None
            return chosen

        verify = value.get("verify")
        if verify is not None and not isinstance(verify, bool):
            problems.append("kerascheck.verify: must be true or false")
            verify = None
        return cls(codes("select"), codes("ignore") or (), verify), problems


@dataclass(frozen=True)
class Choice:
    """The rules, verification and its options for one document; ``problems`` are lines to show."""

    select: tuple[str, ...]
    ignore: tuple[str, ...]  # per-file-ignores for this document
    excluded: bool
    verify: bool
    options: VerifyOptions
    problems: tuple[str, ...] = ()


class Resolver:
    """``config.resolve`` for a document's folder, remembered until a pyproject.toml on the way up
    is created, changed or removed (each lookup costs a stat of each, not a read)."""

    def __init__(self) -> None:
        self._known: dict[Path, tuple[tuple[Any, ...], config.Settings | config.ConfigError]] = {}

    @staticmethod
    def _stamp(folder: Path) -> tuple[Any, ...]:
        stamp: list[Any] = []
        for candidate in (folder, *folder.parents):
            try:
                status = os.stat(candidate / "pyproject.toml")
            except OSError:
                continue
            stamp.append((str(candidate), status.st_mtime_ns, status.st_size))
        return tuple(stamp)

    def settings(self, folder: Path) -> config.Settings | config.ConfigError:
        stamp = self._stamp(folder)
        known = self._known.get(folder)
        if known is not None and known[0] == stamp:
            return known[1]
        try:
            found: config.Settings | config.ConfigError = config.resolve(start=folder)
        except config.ConfigError as error:
            found = error
        self._known[folder] = (stamp, found)
        return found

    def choose(self, path: str | None, client: ClientSettings, root: Path | None = None) -> Choice:
        """The choice for the document at ``path`` (None: not a file; the workspace root is used)."""
        folder = Path(path).parent if path else (root or Path.cwd())
        settings = self.settings(folder.absolute())
        problems: tuple[str, ...] = ()
        if isinstance(settings, config.ConfigError):
            problems = (f"{settings}; kerascheck uses its defaults until it is fixed",)
            settings = config.Settings(root=folder)
        over = config.Selection(client.select, (), client.ignore)
        select = config.select_codes([settings.selection, over])
        ignore = settings.ignores_for(path) if path and settings.per_file_ignores else ()
        excluded = bool(path and settings.exclude and settings.is_excluded(path))
        verify = client.verify if client.verify is not None else bool(settings.verify)
        options = VerifyOptions.from_config(settings.table, progress=False)
        return Choice(select, ignore, excluded, verify, options, problems)
