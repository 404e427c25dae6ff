"""Which files a run checks: the paths named, and the Python files and notebooks under named
folders, less what git ignores, virtual environments, the usual tool folders (as ruff skips them)
and what the configuration's ``exclude`` names."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from pathlib import Path

from kerascheck.errors import SourceError
from kerascheck.sources import what_is

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck.pipeline import Source

SUFFIXES = (".py", ".ipynb")
EXCLUDED_DIRS = frozenset(
    {
        ".bzr",
        ".direnv",
        ".eggs",
        ".git",
        ".git-rewrite",
        ".hg",
        ".ipynb_checkpoints",
        ".kerascheck_cache",
        ".mypy_cache",
        ".nox",
        ".pants.d",
        ".pytype",
        ".ruff_cache",
        ".svn",
        ".tox",
        ".venv",
        "__pycache__",
        "__pypackages__",
        "_build",
        "buck-out",
        "dist",
        "node_modules",
        "venv",
    }
)


class Target:
    """A file to check (a plain class: one is made for every file found). ``name`` is its path as
    text, as ``str(path)`` spells it; the Path itself is made only when asked for."""

    __slots__ = ("_path", "explicit", "name", "source")

    def __init__(self, path: Path | str, explicit: bool, source: Source | None = None) -> None:
        self._path = path if isinstance(path, Path) else None
        self.name = str(path)  # found in a folder: already spelt as a Path would spell it
        self.explicit = explicit  # named on the command line rather than found in a folder
        self.source = source  # already read (standard input): not read from ``path``

    @property
    def path(self) -> Path:
        if self._path is None:
            self._path = Path(self.name)
        return self._path


# Whether a file or folder (the second argument says which) is excluded by the configuration.
Excluded = Callable[[str, bool], bool]


def _git(root: str, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", "-C", root, *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _join(folder: str, name: str) -> str:
    """``str(Path(folder, name))`` for a ``folder`` spelt as a Path spells it, without the Path."""
    return name if folder == "." else os.path.join(folder, name)


def _git_files(root: str) -> list[str] | None:
    """Files under ``root`` that git tracks or would track; None outside a git work tree. (Some
    may be gone, or no file: a tracked file deleted, a symlink; the reader passes over those.)

    A folder that git itself ignores (a virtualenv, a vendored package) was named on purpose:
    then it is walked like a folder outside git.
    """
    ignored = _git(root, "check-ignore", "-q", ".")
    if ignored is None or ignored.returncode == 0:
        return None
    result = _git(root, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    if result is None or result.returncode != 0:
        return None
    names = result.stdout.decode("utf-8", "surrogateescape").split("\0")
    return [_join(root, name) for name in names if name]


def _walk(root: str, excluded: Excluded) -> list[str]:
    """The files under ``root``, spelt as Paths would spell them (os.walk spells ``.``'s ``./a``)."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root):
        here = folder if root != "." else "." if folder == "." else folder[2:]
        dirs[:] = [
            d
            for d in dirs
            if d not in EXCLUDED_DIRS
            and not os.path.exists(os.path.join(folder, d, "pyvenv.cfg"))
            and not excluded(_join(here, d), True)
        ]
        found.extend(_join(here, f) for f in files)
    return found


def _checked(name: str) -> bool:
    """Whether a file's name ends in a suffix checked (Path.suffix's: ``.py`` itself has none)."""
    return name.endswith(SUFFIXES) and not name.endswith(("/.py", "/.ipynb")) and name not in SUFFIXES


def _skipped(path: str, root: str, folders: dict[str, bool], excluded: Excluded) -> bool:
    """True for a path inside an excluded folder or a virtualenv, below ``root``, or excluded itself."""
    return _folder_skipped(os.path.dirname(path), root, folders, excluded) or excluded(path, False)


class _Files:
    """Whether a file found in a folder walk is skipped (``_skipped``), with a folder's files asked
    of ``excluded`` only where ``files_excluded`` says that a pattern may exclude one."""

    __slots__ = ("asked", "excluded", "files_excluded", "folders")

    def __init__(self, excluded: Excluded, files_excluded: Callable[[str], bool] | None) -> None:
        self.excluded = excluded
        self.files_excluded = files_excluded
        self.folders: dict[str, bool] = {}  # see _folder_skipped
        self.asked: dict[str, bool] = {}  # a folder: whether its files are asked of ``excluded``

    def skipped(self, path: str, root: str) -> bool:
        folder = os.path.dirname(path)
        if _folder_skipped(folder, root, self.folders, self.excluded):
            return True
        if self.files_excluded is None:
            return self.excluded(path, False)
        asked = self.asked.get(folder)
        if asked is None:
            asked = self.asked[folder] = self.files_excluded(folder)
        return asked and self.excluded(path, False)


def _folder_skipped(folder: str, root: str, folders: dict[str, bool], excluded: Excluded) -> bool:
    """Whether ``folder``, or a folder it is in below ``root``, is excluded or a virtualenv: asked
    once a folder (``folders`` keeps the answers), as a tree's files share their folders."""
    known = folders.get(folder)
    if known is None:
        parent = os.path.dirname(folder)
        if folder == root or parent == folder:
            known = False  # ``root`` itself is not judged, nor anything above it
        else:
            known = (
                _folder_skipped(parent, root, folders, excluded)
                or os.path.basename(folder) in EXCLUDED_DIRS
                or os.path.exists(os.path.join(folder, "pyvenv.cfg"))
                or excluded(folder, True)
            )
        folders[folder] = known
    return known


def _hook_skipped(path: Path, folders: dict[str, bool], excluded: Excluded) -> bool:
    """For a file a hook passed: True when it, or a folder it is in below the working folder,
    would be skipped in a folder walk (ruff's --force-exclude)."""
    absolute = Path(os.path.abspath(path))
    cwd = Path.cwd()
    root = cwd if absolute.is_relative_to(cwd) else absolute.parent
    return _skipped(str(absolute), str(root), folders, excluded)


def _nothing(path: str, folder: bool) -> bool:
    return False


def discover(
    paths: list[str],
    excluded: Excluded | None = None,
    from_hook: bool = False,
    files_excluded: Callable[[str], bool] | None = None,
) -> tuple[list[Target], list[SourceError]]:
    """Targets in a stable order, and an error for each path that does not exist.

    ``excluded`` says whether a file or folder matches the configuration's ``exclude``. Files
    named on the command line are checked whatever it says, unless ``from_hook``: then they came
    from a hook runner such as pre-commit, are skipped as a folder walk would skip them, and are
    treated as found in a folder (an empty one is no error). ``files_excluded``, when given, says
    of a folder whether any pattern may exclude a file in it: where none may, its files are not
    asked one by one.

    Files found in a folder are not asked whether they are files (a stat each): the reader opens
    them anyway, and passes over one that turns out to be none (``sources.NotAFile``).
    """
    excluded = excluded or _nothing
    targets: dict[str, Target] = {}
    errors: list[SourceError] = []
    files = _Files(excluded, files_excluded)
    folders = files.folders  # see _folder_skipped
    for name in paths:
        root = Path(name)
        if root.is_file():
            if not from_hook:
                targets.setdefault(str(root), Target(root, explicit=True))
            elif not _hook_skipped(root, folders, excluded):
                targets.setdefault(str(root), Target(root, explicit=False))
        elif root.is_dir():
            top = str(root)
            listed = _git_files(top)
            candidates = listed if listed is not None else _walk(top, excluded)
            for path in candidates:
                if _checked(path) and path not in targets and not files.skipped(path, top):
                    targets[path] = Target(path, explicit=False)
        else:
            errors.append(SourceError(name, what_is(root) or "no such file or directory"))
    return sorted(targets.values(), key=lambda t: t.name), errors
