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
    """A file to check (a plain class: one is made for every file found)."""

    __slots__ = ("explicit", "path", "source")

    def __init__(self, path: Path, explicit: bool, source: Source | None = None) -> None:
        self.path = path
        self.explicit = explicit  # named on the command line rather than found in a folder
        self.source = source  # already read (standard input): not read from ``path``


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes] | None:
    try:
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return None


def _git_files(root: Path) -> list[Path] | None:
    """Files under ``root`` that git tracks or would track; None outside a git work tree.

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
    return [root / name for name in names if name]


def _walk(root: Path, excluded: Callable[[Path], bool]) -> list[Path]:
    found: list[Path] = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if d not in EXCLUDED_DIRS
            and not (Path(folder, d) / "pyvenv.cfg").exists()
            and not excluded(Path(folder, d))
        ]
        found.extend(Path(folder, f) for f in files)
    return found


def _skipped(path: Path, root: Path, folders: dict[str, bool], excluded: Callable[[Path], bool]) -> bool:
    """True for a path inside an excluded folder or a virtualenv, below ``root``, or excluded itself."""
    return _folder_skipped(os.path.dirname(str(path)), str(root), folders, excluded) or excluded(path)


def _folder_skipped(folder: str, root: str, folders: dict[str, bool], excluded: Callable[[Path], bool]) -> bool:
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
                or excluded(Path(folder))
            )
        folders[folder] = known
    return known


def _hook_skipped(path: Path, folders: dict[str, bool], excluded: Callable[[Path], bool]) -> bool:
    """For a file a hook passed: True when it, or a folder it is in below the working folder,
    would be skipped in a folder walk (ruff's --force-exclude)."""
    absolute = Path(os.path.abspath(path))
    cwd = Path.cwd()
    root = cwd if absolute.is_relative_to(cwd) else absolute.parent
    return _skipped(absolute, root, folders, excluded)


def _nothing(path: Path) -> bool:
    return False


def discover(
    paths: list[str],
    excluded: Callable[[Path], bool] | None = None,
    from_hook: bool = False,
) -> tuple[list[Target], list[SourceError]]:
    """Targets in a stable order, and an error for each path that does not exist.

    ``excluded`` says whether a file or folder matches the configuration's ``exclude``. Files
    named on the command line are checked whatever it says, unless ``from_hook``: then they came
    from a hook runner such as pre-commit, are skipped as a folder walk would skip them, and are
    treated as found in a folder (an empty one is no error).
    """
    excluded = excluded or _nothing
    targets: dict[Path, Target] = {}
    errors: list[SourceError] = []
    folders: dict[str, bool] = {}  # see _folder_skipped
    for name in paths:
        root = Path(name)
        if root.is_file():
            if not from_hook:
                targets.setdefault(root, Target(root, explicit=True))
            elif not _hook_skipped(root, folders, excluded):
                targets.setdefault(root, Target(root, explicit=False))
        elif root.is_dir():
            listed = _git_files(root)
            candidates = listed if listed is not None else _walk(root, excluded)
            for path in candidates:
                if path.suffix in SUFFIXES and path.is_file() and not _skipped(path, root, folders, excluded):
                    targets.setdefault(path, Target(path, explicit=False))
        else:
            errors.append(SourceError(name, what_is(root) or "no such file or directory"))
    return sorted(targets.values(), key=lambda t: str(t.path)), errors
