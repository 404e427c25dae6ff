"""Choose the files of the installed keras package that tests/test_keras_package.py checks:
``python -m tests.keras_package_cases`` (a minute or two) rewrites tests/keras_package_cases.txt.

Checking the whole package (about 900 files, 320 of them past the prefilter) took 8 s of the
suite. Each of those files is checked here with kerascheck's own code traced: the list keeps a
smallest set of files (chosen greedily, the files with findings first) that together run every
line of kerascheck and every step from one line to the next that the whole package runs, so a
fault on any of those paths fails the test as it would over the whole package. The list names
the keras version it was made from; with another version the test checks the whole package.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from kerascheck.discovery import Target
from kerascheck.runner import check_files

CASES = Path(__file__).with_suffix(".txt")
OURS = str(Path(__file__).resolve().parent.parent / "kerascheck")

Arc = tuple[str, int, int]  # file, line before (-1 at a call), line


def package() -> Path:
    """Where keras is installed, found without importing it (linting never imports what it reads)."""
    spec = importlib.util.find_spec("keras")
    assert spec is not None and spec.submodule_search_locations, "keras is a test dependency"
    return Path(next(iter(spec.submodule_search_locations)))


def version() -> str:
    return importlib.metadata.version("keras")


def listed() -> list[str] | None:
    """The files the list names (relative to the package), or None when it was made from another
    keras version than the installed one."""
    lines = CASES.read_text(encoding="utf-8").splitlines()
    if not lines or lines[0] != f"# keras {version()}":
        return None
    return [line for line in lines[1:] if line and not line.startswith("#")]


def _arcs(path: Path) -> tuple[set[Arc], int]:
    """The arcs of kerascheck's code that checking ``path`` runs, and how many findings it has."""
    arcs: set[Arc] = set()
    last: dict[int, int] = {}

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            key = id(frame)
            arcs.add((frame.f_code.co_filename, last.get(key, -1), frame.f_lineno))
            last[key] = frame.f_lineno
        elif event == "return":
            last.pop(id(frame), None)
        return local

    def call(frame: FrameType, event: str, arg: Any) -> Any:
        return local if frame.f_code.co_filename.startswith(OURS) else None

    threading.settrace(call)  # the deep thread too
    sys.settrace(call)
    try:
        (result,) = check_files([Target(path, explicit=False)], jobs=1)
    finally:
        sys.settrace(None)
        threading.settrace(None)
    return arcs, len(result.findings)


def choose() -> list[str]:
    root = package()
    every: dict[str, set[Arc]] = {}
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        arcs, findings = _arcs(path)
        name = path.relative_to(root).as_posix()
        every[name] = arcs
        if findings:
            found.append(name)
    size = {name: (root / name).stat().st_size + 1 for name in every}  # what checking it costs, about
    left = set().union(*every.values())
    chosen: list[str] = []
    for name in found:  # what was judged by hand (test_keras_package) stays checked
        chosen.append(name)
        left -= every[name]
    while left:  # the most arcs not yet run for the text read
        name = max(sorted(every), key=lambda n: len(every[n] & left) / size[n])
        chosen.append(name)
        left -= every[name]
    for name in sorted(chosen, key=lambda n: -size[n]):  # then without any file the others cover
        others = set().union(*(every[n] for n in chosen if n != name))
        if name not in found and every[name] <= others:
            chosen.remove(name)
    return chosen


def main() -> int:
    chosen = choose()
    header = f"# keras {version()}\n# made by python -m tests.keras_package_cases: read its docstring\n"
    CASES.write_text(header + "".join(f"{name}\n" for name in sorted(chosen)), encoding="utf-8")
    print(f"{CASES}: {len(chosen)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
