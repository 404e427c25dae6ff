"""``[tool.kerascheck]`` in ``pyproject.toml``: finding it, reading it, and choosing rules as ruff does.

Each file is checked with the nearest ``pyproject.toml`` above it that has a ``[tool.kerascheck]``
table (ruff's hierarchical rule: a ``pyproject.toml`` without the table is passed over, and tables
are never merged); a file with none above it uses the one above the working folder, if any.
``--config FILE`` gives one table for every file. Globs in a table are relative to its folder.
The command line goes on top of whichever table a file has (``Overrides``).

```toml
[tool.kerascheck]
select = ["KER1"]              # codes or prefixes; default: every rule
ignore = ["KER105"]
extend-select = []             # added to select (or to the default)
exclude = ["legacy", "notebooks/scratch/*"]   # added to the folders always skipped
verify = false

[tool.kerascheck.per-file-ignores]
"tests/*" = ["KER101"]
"!src/**" = ["KER104"]         # a leading ! applies the codes to files that do *not* match
```
"""

from __future__ import annotations

import itertools
import os
import re
import sys
import warnings
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from kerascheck import sources

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from typing import Any

TABLE = "tool.kerascheck"


def _positive(value: object, kind: type) -> bool:
    """A number above 0 (``kind`` float takes an int too; never a bool)."""
    allowed = (int, float) if kind is float else (int,)
    return isinstance(value, allowed) and not isinstance(value, bool) and 0 < value < float("inf")  # nan, inf: no


# The verify-* keys tune --verify; kerascheck.verify reads them from Settings.table (VerifyOptions.from_config).
VERIFY_KEYS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "verify-keras": ('"keras" or "tf_keras"', lambda v: v in ("keras", "tf_keras")),
    "verify-cache": ("true or false", lambda v: isinstance(v, bool)),
    "verify-timeout": ("a number of seconds above 0", lambda v: _positive(v, float)),
    "verify-python": ("the path of a Python interpreter", lambda v: isinstance(v, str) and bool(v)),
    "verify-memory-mb": ("a number of MiB above 0", lambda v: _positive(v, int)),
}
KEYS = ("select", "ignore", "extend-select", "per-file-ignores", "exclude", "verify", *VERIFY_KEYS)


class ConfigError(Exception):
    """A configuration that cannot be used; one line for the user, naming the file."""

    def __init__(self, path: Path | str, message: str) -> None:
        super().__init__(str(path), message)
        self.path = str(path)
        self.message = message

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


# ---------------------------------------------------------------- globs


def _translate(pattern: str) -> str:
    """A glob as a regular expression, with the syntax ruff's globs have (globset's defaults):
    ``*`` and ``**`` match any text, ``/`` included; ``**/`` also matches no folder at all;
    ``?`` one character; ``[abc]``, ``[!abc]``; ``{a,b}`` either."""
    out, i, n = [], 0, len(pattern)
    while i < n:
        c = pattern[i]
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif c == "*":
            out.append(".*")
            i += 2 if pattern.startswith("**", i) else 1
        elif c == "?":
            out.append(".")
            i += 1
        elif c == "[" and (close := pattern.find("]", i + 2)) != -1:
            body = pattern[i + 1 : close]
            body = "^" + body[1:] if body.startswith("!") else body
            out.append("[" + body.replace("\\", "\\\\") + "]")
            i = close + 1
        elif c == "{" and (close := pattern.find("}", i)) != -1:
            out.append("(?:" + "|".join(_translate(part) for part in pattern[i + 1 : close].split(",")) + ")")
            i = close + 1
        else:
            out.append(re.escape(c))
            i += 1
    return "".join(out)


class Glob:
    """A pattern matched, as ruff matches it, against a path's last part and against the whole
    absolute path (the pattern taken relative to the configuration's folder)."""

    __slots__ = ("absolute", "basename", "pattern")

    def __init__(self, pattern: str, basename: re.Pattern[str], absolute: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.basename = basename
        self.absolute = absolute

    @classmethod
    def compile(cls, pattern: str, root: Path) -> Glob:
        body = pattern.removeprefix("./")
        if os.path.isabs(body):
            absolute = _translate(Path(body).as_posix())
        else:
            absolute = re.escape(root.as_posix().rstrip("/") + "/") + _translate(body)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # `[[:alpha:]]`: re's FutureWarning, a glob it would misread
                return cls(pattern, re.compile(_translate(body), re.DOTALL), re.compile(absolute, re.DOTALL))
        except (re.error, FutureWarning) as error:
            raise ValueError(f"{pattern!r} is not a valid glob ({error})") from None

    def matches(self, path: Path | str) -> bool:
        absolute = Path(os.path.abspath(path))
        return bool(self.basename.fullmatch(absolute.name) or self.absolute.fullmatch(absolute.as_posix()))


class PerFileIgnore:
    __slots__ = ("codes", "glob", "negated")

    def __init__(self, glob: Glob, negated: bool, codes: tuple[str, ...]) -> None:
        self.glob = glob
        self.negated = negated
        self.codes = codes


# ---------------------------------------------------------------- settings
#
# The records of this module are plain classes, set once by their __init__: every run makes them,
# and a dataclass costs its module (and inspect) to import and its methods to generate and compile.


class Selection:
    """One level of rule selection (the configuration, or the command line)."""

    __slots__ = ("extend_select", "ignore", "select")

    def __init__(
        self, select: tuple[str, ...] | None = None, extend_select: tuple[str, ...] = (), ignore: tuple[str, ...] = ()
    ) -> None:
        self.select = select
        self.extend_select = extend_select
        self.ignore = ignore


class Settings:
    __slots__ = ("exclude", "path", "per_file_ignores", "root", "selection", "table", "verify")

    def __init__(
        self,
        path: Path | None = None,  # the file read; None when there was none
        root: Path | None = None,  # what relative globs are relative to (default: the working folder)
        selection: Selection | None = None,
        per_file_ignores: tuple[PerFileIgnore, ...] = (),
        exclude: tuple[Glob, ...] = (),
        verify: bool | None = None,  # None: not set
        table: dict[str, Any] | None = None,  # the [tool.kerascheck] table as read
    ) -> None:
        self.path = path
        self.root = Path.cwd() if root is None else root
        self.selection = Selection() if selection is None else selection
        self.per_file_ignores = per_file_ignores
        self.exclude = exclude
        self.verify = verify
        self.table: dict[str, Any] = {} if table is None else table

    def ignores_for(self, path: str) -> tuple[str, ...]:
        """The codes per-file-ignores skip in ``path``."""
        codes: list[str] = []
        for entry in self.per_file_ignores:
            if entry.glob.matches(path) != entry.negated:
                codes += [code for code in entry.codes if code not in codes]
        return tuple(codes)

    def is_excluded(self, path: Path | str) -> bool:
        """Whether ``path`` itself (a file or a folder) matches an ``exclude`` pattern."""
        return any(glob.matches(path) for glob in self.exclude)


def select_codes(selections: Iterable[Selection]) -> tuple[str, ...]:
    """The rules a run checks, from its levels of selection, lowest priority first, as ruff does:
    every rule by default; a level with ``select`` starts again from it, one without adds
    ``extend-select`` to what it inherits; ``ignore`` takes rules away. Within a level, a more
    specific code wins (``select = ["KER101"]`` with ``ignore = ["KER1"]`` keeps KER101), and
    ``ignore`` wins over a selection of the same code."""
    from kerascheck import rules  # the registry (and the graph) only once codes are chosen for a file

    codes = [rule.code for rule in rules.all_rules()]
    enabled = set(codes)
    for selection in selections:
        chosen = [(p, True) for p in (selection.select or ()) + tuple(selection.extend_select)]
        chosen += [(p, False) for p in selection.ignore]
        updates: dict[str, bool] = {}
        for length in sorted({len(prefix) for prefix, _ in chosen}):
            for want in (True, False):
                for prefix, on in chosen:
                    if len(prefix) == length and on is want:
                        updates.update((code, on) for code in codes if code.startswith(prefix))
        if selection.select is not None:
            enabled = {code for code, on in updates.items() if on}
        else:
            for code, on in updates.items():
                (enabled.add if on else enabled.discard)(code)
    return tuple(code for code in codes if code in enabled)


_KNOWN: list[Callable[[], tuple[str, ...]]] = []  # see known_codes


@contextmanager
def known_codes(source: Callable[[], tuple[str, ...]]) -> Iterator[None]:
    """Within it, ``unknown_code`` takes the rule codes from ``source`` (called once, when a code
    is first checked) while the rules are not loaded: the CLI gives the findings cache's copy, so
    that a table naming codes loads no rule on a run that analyses nothing."""
    made: list[tuple[str, ...]] = []

    def once() -> tuple[str, ...]:
        if not made:
            made.append(source())
        return made[0]

    _KNOWN.append(once)
    try:
        yield
    finally:
        _KNOWN.remove(once)


def rule_codes() -> tuple[str, ...]:
    """The codes of the registered rules (from ``known_codes``' source while the rules are not loaded)."""
    if _KNOWN and "kerascheck.rules" not in sys.modules:
        return _KNOWN[-1]()
    from kerascheck import rules  # checking a code against the registry loads the rules

    return tuple(rule.code for rule in rules.all_rules())


def unknown_code(code: str) -> str | None:
    """Why ``code`` is not a rule code or prefix, or None when it is one."""
    codes = rule_codes()
    if any(known.startswith(code) for known in codes):
        return None
    return f"unknown rule code or prefix {code!r} (known: {', '.join(codes)})"


# ---------------------------------------------------------------- reading


def _table(path: Path) -> dict[str, Any] | None:
    """The ``[tool.kerascheck]`` table of a TOML file, or None when it has none."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark (some Windows editors) is no TOML
    except OSError as error:
        raise ConfigError(path, f"cannot read: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ConfigError(path, "not UTF-8 text") from None
    import tomllib  # a table is read only when a pyproject.toml names kerascheck

    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(path, f"invalid TOML: {error}") from None
    table = data.get("tool", {}).get("kerascheck") if isinstance(data.get("tool"), dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(path, f"[{TABLE}] must be a table")
    return table


def find(start: Path | None = None) -> Path | None:
    """The nearest pyproject.toml with a [tool.kerascheck] table, from ``start`` (default: the
    working folder) up."""
    folder = (start or Path.cwd()).absolute()
    return next((c / "pyproject.toml" for c in (folder, *folder.parents) if _has_table(c / "pyproject.toml")), None)


def _glob(path: Path, key: str, pattern: str, root: Path) -> Glob:
    try:
        return Glob.compile(pattern, root)
    except ValueError as error:
        raise ConfigError(path, f"[{TABLE}] {key}: {error}") from None


def _codes(path: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ConfigError(path, f'[{TABLE}] {key}: must be a list of rule codes, e.g. ["KER101"]')
    codes = tuple(code.strip().upper() for code in value)
    if any(not code for code in codes):  # "" prefixes every code: it would select or ignore them all
        raise ConfigError(path, f"[{TABLE}] {key}: an empty rule code")
    for code in codes:
        problem = unknown_code(code)
        if problem is not None:
            raise ConfigError(path, f"[{TABLE}] {key}: {problem}")
    return codes


def load(path: Path) -> Settings:
    """Settings from one file's [tool.kerascheck] table (an empty table if it has none)."""
    path = path.absolute()
    table = _table(path) or {}
    root = path.parent
    for key in table:
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(key.replace("_", "-"), KEYS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(KEYS)})"
            raise ConfigError(path, f"[{TABLE}] unknown key {key!r}{hint}")
    select = _codes(path, "select", table["select"]) if "select" in table else None
    extend = _codes(path, "extend-select", table.get("extend-select", []))
    ignore = _codes(path, "ignore", table.get("ignore", []))

    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigError(path, f"[{TABLE}] per-file-ignores: must be a table of glob = [codes]")
    entries = []
    for pattern, codes in per_file.items():
        negated = pattern.startswith("!")
        glob = _glob(path, "per-file-ignores", pattern[1:] if negated else pattern, root)
        entries.append(PerFileIgnore(glob, negated, _codes(path, f"per-file-ignores {pattern!r}", codes)))

    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(p, str) for p in exclude):
        raise ConfigError(path, f"[{TABLE}] exclude: must be a list of globs")
    verify = table.get("verify")
    if verify is not None and not isinstance(verify, bool):
        raise ConfigError(path, f"[{TABLE}] verify: must be true or false")
    for key, (expected, valid) in VERIFY_KEYS.items():
        if key in table and not valid(table[key]):
            raise ConfigError(path, f"[{TABLE}] {key}: must be {expected}")
    return Settings(
        path=path,
        root=root,
        selection=Selection(select, extend, ignore),
        per_file_ignores=tuple(entries),
        exclude=tuple(_glob(path, "exclude", pattern, root) for pattern in exclude),
        verify=verify,
        table=dict(table),
    )


def resolve(config: Path | None = None, *, isolated: bool = False, start: Path | None = None) -> Settings:
    """The settings of a run: from ``config`` when given, none when ``isolated``, else from the
    nearest pyproject.toml with a [tool.kerascheck] table. Raises ConfigError."""
    if isolated:
        return Settings()
    if config is not None:
        if not config.is_file():  # a folder, a FIFO (never opened: it would block), a loop
            there = config.exists() or config.is_symlink()
            raise ConfigError(config, (sources.what_is(config) if there else None) or "no such file")
        if _table(config) is None:
            raise ConfigError(config, f"no [{TABLE}] table")
        return load(config)
    found = find(start)
    return Settings() if found is None else load(found)


# ---------------------------------------------------------------- one table per file


def parse_per_file_ignore(value: str, root: Path) -> PerFileIgnore:
    """``PATTERN:CODES`` as ``--per-file-ignores`` takes it (ruff's syntax), the glob relative to ``root``."""
    pattern, sep, codes = value.rpartition(":")
    if not sep or not pattern:
        raise ConfigError("--per-file-ignores", f"{value!r} is not PATTERN:CODES, e.g. 'tests/*:KER101'")
    negated = pattern.startswith("!")
    listed = [code.strip().upper() for code in codes.split(",") if code.strip()]
    for code in listed:
        problem = unknown_code(code)
        if problem is not None:
            raise ConfigError("--per-file-ignores", problem)
    return PerFileIgnore(Glob.compile(pattern[1:] if negated else pattern, root), negated, tuple(listed))


class Overrides:
    """What the command line puts on top of each file's table; globs relative to the working folder."""

    __slots__ = ("extend_exclude", "extend_per_file_ignores", "per_file_ignores", "selection")

    def __init__(
        self,
        selection: Selection | None = None,
        per_file_ignores: tuple[PerFileIgnore, ...] | None = None,  # None: the table's; else instead of them
        extend_per_file_ignores: tuple[PerFileIgnore, ...] = (),
        extend_exclude: tuple[Glob, ...] = (),
    ) -> None:
        self.selection = Selection() if selection is None else selection
        self.per_file_ignores = per_file_ignores
        self.extend_per_file_ignores = extend_per_file_ignores
        self.extend_exclude = extend_exclude


class Resolver:
    """The settings of each file of a run, as ruff finds them: ``--config`` for all, none with
    ``isolated``, else the nearest table above the file (the working folder's when there is none
    above it). Tables are read once each. Raises ConfigError for a table that cannot be used."""

    def __init__(
        self,
        config: Path | None = None,
        *,
        isolated: bool = False,
        overrides: Overrides | None = None,
        cwd: Path | None = None,
    ) -> None:
        self.overrides = Overrides() if overrides is None else overrides
        self._fixed: Settings | None = resolve(config, isolated=isolated) if config is not None or isolated else None
        self._cwd = Path(os.path.abspath(cwd or Path.cwd()))
        self._by_folder: dict[Path, Settings] = {}
        self._by_name: dict[str, Settings] = {}  # settings_for's, by the folder's absolute name
        self._loaded: dict[Path, Settings] = {}
        self.default = self._fixed if self._fixed is not None else self._nearest(self._cwd, fallback=Settings())

    def _nearest(self, folder: Path, fallback: Settings | None) -> Settings:
        chain: list[Path] = []
        found: Settings | None = None
        for candidate in itertools.chain((folder,), folder.parents):  # lazily: most stop at the first
            if candidate in self._by_folder:
                found = self._by_folder[candidate]
                break
            chain.append(candidate)
            path = candidate / "pyproject.toml"
            if _has_table(path):
                found = self._loaded.setdefault(path, load(path))
                break
        settings = found if found is not None else fallback
        assert settings is not None
        for candidate in chain:
            self._by_folder[candidate] = settings
        return settings

    def settings_for(self, path: Path | str, folder: bool | None = None) -> Settings:
        """The table ``path`` is checked with: a folder's own, a file's folder's. ``folder`` says
        which ``path`` is, when the caller knows it (a file found in a walk, a file read): then it
        is not asked of the file system, a stat for every file."""
        if self._fixed is not None:
            return self._fixed
        absolute = os.path.abspath(path)
        if folder is None:
            folder = os.path.isdir(absolute)
        where = absolute if folder else os.path.dirname(absolute)
        known = self._by_name.get(where)  # most files share their folder's answer: no Path made
        if known is None:
            known = self._by_name[where] = self._nearest(Path(where), fallback=self.default)
        return known

    def codes_for(self, path: str) -> tuple[str, ...]:
        """The rules checked in ``path``: its table's selection, the command line's on top, less
        the per-file-ignores that match it."""
        settings = self.settings_for(path, folder=False)
        codes = select_codes([settings.selection, self.overrides.selection])
        ignores = (
            settings.per_file_ignores if self.overrides.per_file_ignores is None else self.overrides.per_file_ignores
        )
        skipped: set[str] = set()
        for entry in (*ignores, *self.overrides.extend_per_file_ignores):
            if entry.glob.matches(path) != entry.negated:
                skipped.update(code for code in codes if any(code.startswith(prefix) for prefix in entry.codes))
        return tuple(code for code in codes if code not in skipped)

    def rules_key(self, path: str) -> list[Any]:
        """What chooses the rules of ``path`` (``codes_for``'s inputs, as written: its table's
        selection, the command line's, the per-file-ignores that match it), for the findings
        cache: it reads no rule, so that a file found in the cache loads none."""
        settings = self.settings_for(path, folder=False)
        ignores = (
            settings.per_file_ignores if self.overrides.per_file_ignores is None else self.overrides.per_file_ignores
        )
        matched = [
            list(entry.codes)
            for entry in (*ignores, *self.overrides.extend_per_file_ignores)
            if entry.glob.matches(path) != entry.negated
        ]
        levels = [settings.selection, self.overrides.selection]
        return [[level.select, level.extend_select, level.ignore] for level in levels] + [matched]

    def is_excluded(self, path: Path | str, folder: bool | None = None) -> bool:
        """Whether ``path`` matches its table's ``exclude`` or the command line's ``--extend-exclude``
        (``folder``: whether it is a folder, when known; see ``settings_for``)."""
        if any(glob.matches(path) for glob in self.overrides.extend_exclude):
            return True
        return self.settings_for(path, folder).is_excluded(path)

    def files_excluded(self, folder: Path | str) -> bool:
        """Whether a pattern may exclude a file in ``folder``: False when neither the command line
        nor the folder's table has an ``exclude`` (then discovery does not ask of each file)."""
        return bool(self.overrides.extend_exclude or self.settings_for(folder, folder=True).exclude)


def _has_table(path: Path) -> bool:
    if not path.is_file():
        return False
    try:
        if "kerascheck" not in path.read_text(encoding="utf-8", errors="replace"):
            return False  # cheap: no need to parse what cannot have the table
    except OSError:
        return False
    return _table(path) is not None
