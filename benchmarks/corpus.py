"""Precision and recall of kerascheck on public code that nobody here wrote.

The corpus is pointers and labels only (benchmarks/corpus/entries/<owner>__<repo>.toml, see
benchmarks/corpus/README.md): each file is taken from a local git mirror of its repository at
the labelled commit, its sha256 checked, written under a temporary folder, and checked with
`kerascheck check --format json` (the kerascheck of the Python running this script, or of
--python). Reported
and labelled (file, cell, line, code) are compared in both directions.

Usage: python benchmarks/corpus.py [--mirrors DIR] [--entries DIR] [--keep DIR] [--json]
                                  [--repo OWNER/NAME ...] [--python PYTHON]
  --mirrors DIR   where the mirrors are (default: $KERASCHECK_CORPUS_MIRRORS); a repository
                  owner/name is looked for in DIR/owner+name, DIR/owner__name, DIR/owner/name
                  and DIR/name, as a bare git directory or a clone, at any depth up to 3
  --keep DIR      materialize into DIR (created; never inside the repository) and keep it
  --repo R        measure only the entry of repository R (repeatable)
  --python P      run the kerascheck of interpreter P (default: this one), e.g. another worktree's
Exit status: 0 when every file was materialized and checked, 1 otherwise, 2 for bad entries.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CODES = ("KER101", "KER102", "KER103", "KER104", "KER105", "KER106", "KER107", "KER108", "KER109")
SOURCES = ("tutorial", "book", "applied", "bug-benchmark")
ENTRIES = Path(__file__).resolve().parent / "corpus" / "entries"
MIRRORS_ENV = "KERASCHECK_CORPUS_MIRRORS"

_REPO = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/[A-Za-z0-9_.-]+$")
_HEX40 = re.compile(r"^[0-9a-f]{40}$")
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
_ENTRY_KEYS = {"repo", "commit", "source", "file"}
_FILE_KEYS = {"path", "sha256", "findings", "note"}
_LABEL_KEYS = {"code", "line", "cell", "why"}


class EntryError(Exception):
    """An entry that is not well-formed: one line naming the file and what is wrong."""


@dataclass(frozen=True)
class Label:
    code: str
    line: int
    cell: int | None  # notebooks: 1-based among all cells, as kerascheck reports it
    why: str


@dataclass(frozen=True)
class CorpusFile:
    path: str  # inside the repository
    sha256: str
    labels: tuple[Label, ...]
    note: str = ""

    @property
    def is_notebook(self) -> bool:
        return self.path.endswith(".ipynb")


@dataclass(frozen=True)
class Entry:
    repo: str
    commit: str
    source: str
    files: tuple[CorpusFile, ...]
    origin: Path  # the .toml file

    def local(self, file: CorpusFile) -> str:
        """The file's path in the materialized folder: the entry's stem, then its own path."""
        return f"{self.origin.stem}/{file.path}"


def entry_stem(repo: str) -> str:
    owner, name = repo.split("/")
    return f"{owner}__{name}"


def _label(raw: Any, where: str, notebook: bool) -> Label:
    if not isinstance(raw, dict):
        raise EntryError(f"{where}: a finding must be a table {{ code = ..., line = ..., why = ... }}")
    unknown = set(raw) - _LABEL_KEYS
    if unknown:
        raise EntryError(f"{where}: unknown key(s) {sorted(unknown)} in a finding")
    code, line, cell, why = raw.get("code"), raw.get("line"), raw.get("cell"), raw.get("why")
    if code not in CODES:
        raise EntryError(f"{where}: unknown code {code!r}; one of {', '.join(CODES)}")
    if not isinstance(line, int) or isinstance(line, bool) or line < 1:
        raise EntryError(f"{where}: {code} needs line = a positive integer")
    if notebook:
        if not isinstance(cell, int) or isinstance(cell, bool) or cell < 1:
            raise EntryError(f"{where}: {code} in a notebook needs cell = a positive integer")
    elif cell is not None:
        raise EntryError(f"{where}: {code}: cell is for notebooks only")
    if not isinstance(why, str) or not why.strip():
        raise EntryError(f"{where}: {code} on line {line} needs a why")
    return Label(code, line, cell, why.strip())


def _file(raw: Any, origin: Path, index: int) -> CorpusFile:
    where = f"{origin.name}: [[file]] {index}"
    if not isinstance(raw, dict):
        raise EntryError(f"{where}: not a table")
    unknown = set(raw) - _FILE_KEYS
    if unknown:
        raise EntryError(f"{where}: unknown key(s) {sorted(unknown)}")
    path, sha, findings, note = raw.get("path"), raw.get("sha256"), raw.get("findings"), raw.get("note", "")
    if not isinstance(path, str) or not path.endswith((".py", ".ipynb")) or path.startswith("/") or ".." in path:
        raise EntryError(f"{where}: path must be a relative .py or .ipynb path, got {path!r}")
    where = f"{origin.name}: {path}"
    if not isinstance(sha, str) or not _HEX64.match(sha):
        raise EntryError(f"{where}: sha256 must be 64 lower-case hex digits")
    if not isinstance(findings, list):
        raise EntryError(f"{where}: findings must be a list ([] where no rule may fire)")
    if not isinstance(note, str):
        raise EntryError(f"{where}: note must be a string")
    labels = tuple(_label(item, where, path.endswith(".ipynb")) for item in findings)
    return CorpusFile(path, sha, labels, note)


def load_entry(origin: Path) -> Entry:
    """One entry file, checked for form; EntryError says what is wrong."""
    try:
        data = tomllib.loads(origin.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise EntryError(f"{origin.name}: cannot read: {error}") from None
    unknown = set(data) - _ENTRY_KEYS
    if unknown:
        raise EntryError(f"{origin.name}: unknown key(s) {sorted(unknown)}")
    repo, commit, source, files = data.get("repo"), data.get("commit"), data.get("source"), data.get("file")
    if not isinstance(repo, str) or not _REPO.match(repo):
        raise EntryError(f"{origin.name}: repo must be 'owner/name', got {repo!r}")
    if origin.stem != entry_stem(repo):
        raise EntryError(f"{origin.name}: the file of {repo} must be named {entry_stem(repo)}.toml")
    if not isinstance(commit, str) or not _HEX40.match(commit):
        raise EntryError(f"{origin.name}: commit must be 40 lower-case hex digits")
    if source not in SOURCES:
        raise EntryError(f"{origin.name}: source must be one of {', '.join(SOURCES)}, got {source!r}")
    if not isinstance(files, list) or not files:
        raise EntryError(f"{origin.name}: needs at least one [[file]]")
    parsed = tuple(_file(raw, origin, i) for i, raw in enumerate(files, 1))
    seen: set[str] = set()
    for file in parsed:
        if file.path in seen:
            raise EntryError(f"{origin.name}: {file.path} is listed twice")
        seen.add(file.path)
        places = [(label.cell, label.line, label.code) for label in file.labels]
        if len(set(places)) != len(places):
            cell, line, code = next(p for p in places if places.count(p) > 1)
            at = f"line {line}" if cell is None else f"cell {cell} line {line}"
            raise EntryError(f"{origin.name}: {file.path}: {code} on {at} is labelled twice")
    return Entry(repo, commit, source, parsed, origin)


def load_entries(folder: Path = ENTRIES) -> tuple[list[Entry], list[str]]:
    """Every entry of the folder, and one line for each that is not well-formed."""
    entries: list[Entry] = []
    errors: list[str] = []
    for origin in sorted(folder.glob("*.toml")):
        try:
            entries.append(load_entry(origin))
        except EntryError as error:
            errors.append(str(error))
    return entries, errors


# -- materializing ---------------------------------------------------------------------------


def _is_git_dir(path: Path) -> bool:
    return (path / "HEAD").is_file() and (path / "objects").is_dir()


def find_git_dir(mirrors: Path, repo: str) -> Path | None:
    """The git directory of ``repo``'s mirror under ``mirrors``, or None."""
    owner, name = repo.split("/")
    for base in (mirrors / f"{owner}+{name}", mirrors / f"{owner}__{name}", mirrors / owner / name, mirrors / name):
        if not base.is_dir():
            continue
        queue = [(base, 0)]
        while queue:
            here, depth = queue.pop(0)
            if _is_git_dir(here):
                return here
            if (here / ".git").is_dir() and _is_git_dir(here / ".git"):
                return here / ".git"
            if depth < 3:
                with contextlib.suppress(OSError):
                    queue += [(child, depth + 1) for child in sorted(here.iterdir()) if child.is_dir()]
    return None


@dataclass
class Problem:
    """A file that could not be measured: no mirror, no such commit or path, another sha256."""

    repo: str
    path: str
    reason: str


def _git_show(git_dir: Path, commit: str, path: str) -> bytes | str:
    """The file's bytes at ``commit``, or the reason it cannot be had."""
    done = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{path}"], capture_output=True, check=False)
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return message[0] if message else f"git show exited {done.returncode}"
    return done.stdout


def materialize(entries: Iterable[Entry], mirrors: Path | None, dest: Path) -> tuple[list[str], list[Problem]]:
    """Write each entry's files under ``dest``; the local paths written, and the problems."""
    written: list[str] = []
    problems: list[Problem] = []
    for entry in entries:
        git_dir = find_git_dir(mirrors, entry.repo) if mirrors is not None else None
        for file in entry.files:
            if git_dir is None:
                problems.append(Problem(entry.repo, file.path, "no mirror of the repository"))
                continue
            data = _git_show(git_dir, entry.commit, file.path)
            if isinstance(data, str):
                problems.append(Problem(entry.repo, file.path, f"not in the mirror at {entry.commit[:12]}: {data}"))
                continue
            digest = hashlib.sha256(data).hexdigest()
            if digest != file.sha256:
                problems.append(Problem(entry.repo, file.path, f"sha256 mismatch: the mirror has {digest}"))
                continue
            target = dest / entry.local(file)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            written.append(entry.local(file))
    return written, problems


# -- checking and comparing ------------------------------------------------------------------


@dataclass(frozen=True)
class Reported:
    local: str
    cell: int | None
    line: int
    code: str
    message: str


def run_kerascheck(
    dest: Path, paths: Sequence[str], jobs: int, python: str = sys.executable
) -> tuple[list[Reported], dict[str, list[str]]]:
    """kerascheck's findings on ``paths`` (relative to ``dest``), and each file's error lines.

    ``python`` is the interpreter whose kerascheck is measured (another worktree's .venv, say).
    """
    if not paths:
        return [], {}
    command = [python, "-m", "kerascheck", "check", "--format", "json", "--isolated", "--exit-zero"]
    command += ["--jobs", str(jobs), "--", *paths]
    done = subprocess.run(command, cwd=dest, capture_output=True, text=True, check=False)
    errors: dict[str, list[str]] = {}
    known = sorted(paths, key=len, reverse=True)
    for line in done.stderr.splitlines():
        text = line.removeprefix("error: ")
        owner = next((p for p in known if text.startswith(p + ":")), None)
        if owner is not None:
            errors.setdefault(owner, []).append(text[len(owner) + 1 :].strip())
        elif line.strip():
            errors.setdefault("(kerascheck)", []).append(line.strip())
    try:
        rows = json.loads(done.stdout) if done.stdout.strip() else []
    except json.JSONDecodeError as error:
        errors.setdefault("(kerascheck)", []).append(f"output is not JSON ({error}), exit status {done.returncode}")
        rows = []
    found = [Reported(Path(r["path"]).as_posix(), r.get("cell"), r["line"], r["code"], r["message"]) for r in rows]
    return found, errors


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    def to_json(self) -> dict[str, Any]:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": self.precision, "recall": self.recall}


@dataclass
class Result:
    files: int = 0
    repos: int = 0
    notebooks: int = 0
    negative_files: int = 0
    positives: int = 0
    by_source: dict[str, int] = field(default_factory=dict)
    checked: int = 0
    per_code: dict[str, Counts] = field(default_factory=lambda: {code: Counts() for code in CODES})
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)  # files kerascheck could not check
    problems: list[Problem] = field(default_factory=list)  # files that could not be materialized

    @property
    def total(self) -> Counts:
        return Counts(*(sum(getattr(c, k) for c in self.per_code.values()) for k in ("tp", "fp", "fn")))


def _where(repo: str, path: str, cell: int | None, line: int) -> str:
    return f"{repo} {path}:{'' if cell is None else f'cell {cell}:'}{line}"


def compare(entries: Sequence[Entry], written: Sequence[str], found: Sequence[Reported]) -> Result:
    """Labels against findings, as multisets of (file, cell, line, code), for the files written."""
    result = Result()
    result.files = sum(len(e.files) for e in entries)
    result.repos = len({e.repo for e in entries})
    result.notebooks = sum(f.is_notebook for e in entries for f in e.files)
    result.negative_files = sum(not f.labels for e in entries for f in e.files)
    result.positives = sum(len(f.labels) for e in entries for f in e.files)
    for entry in entries:
        result.by_source[entry.source] = result.by_source.get(entry.source, 0) + len(entry.files)
    measured = set(written)
    result.checked = len(measured)
    by_local = {entry.local(file): (entry, file) for entry in entries for file in entry.files}
    reported: dict[str, list[Reported]] = {}
    for finding in found:
        reported.setdefault(finding.local, []).append(finding)
    for local in sorted(measured):
        entry, file = by_local[local]
        expected = Counter((label.cell, label.line, label.code) for label in file.labels)
        got = Counter((f.cell, f.line, f.code) for f in reported.get(local, []))
        for key in expected.keys() | got.keys():
            cell, line, code = key
            hit = min(expected[key], got[key])
            counts = result.per_code.setdefault(code, Counts())
            counts.tp += hit
            for _ in range(expected[key] - hit):
                counts.fn += 1
                why = next(label.why for label in file.labels if (label.cell, label.line, label.code) == key)
                result.misses.append(_row(entry, file, cell, line, code, why=why))
            for _ in range(got[key] - hit):
                counts.fp += 1
                message = next(f.message for f in reported[local] if (f.cell, f.line, f.code) == key)
                result.false_positives.append(_row(entry, file, cell, line, code, message=message))
    result.misses.sort(key=lambda r: (r["repo"], r["path"], r["cell"] or 0, r["line"]))
    result.false_positives.sort(key=lambda r: (r["repo"], r["path"], r["cell"] or 0, r["line"]))
    return result


def _row(entry: Entry, file: CorpusFile, cell: int | None, line: int, code: str, **extra: str) -> dict[str, Any]:
    return {"repo": entry.repo, "path": file.path, "cell": cell, "line": line, "code": code, **extra}


# -- report ----------------------------------------------------------------------------------


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(result: Result) -> str:
    total = result.total
    sources = ", ".join(f"{n} {s}" for s, n in sorted(result.by_source.items()))
    lines = [
        f"Corpus: {result.files} files ({result.notebooks} notebooks; {sources}) from {result.repos} repositories; "
        f"{result.positives} places where a rule must fire, {result.negative_files} files where none may.",
        f"Measured: {result.checked} files materialized, {len(result.problems)} not; "
        f"{len(result.failed)} of them kerascheck could not check (wholly or in part).",
        "",
        f"{'code':<8} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>10} {'recall':>7}",
    ]
    for code, c in sorted(result.per_code.items()):
        lines.append(f"{code:<8} {c.tp:>4} {c.fp:>4} {c.fn:>4} {_ratio(c.precision):>10} {_ratio(c.recall):>7}")
    lines.append(
        f"{'total':<8} {total.tp:>4} {total.fp:>4} {total.fn:>4} {_ratio(total.precision):>10} {_ratio(total.recall):>7}"
    )
    if result.false_positives:
        lines += ["", f"False positives ({len(result.false_positives)}):"]
        lines += [
            f"  {_where(r['repo'], r['path'], r['cell'], r['line'])} {r['code']}: {r['message']}"
            for r in result.false_positives
        ]
    if result.misses:
        lines += ["", f"Misses ({len(result.misses)}):"]
        lines += [
            f"  {_where(r['repo'], r['path'], r['cell'], r['line'])} {r['code']}: {r['why']}" for r in result.misses
        ]
    if result.failed:
        lines += ["", f"Files kerascheck could not check ({len(result.failed)}):"]
        lines += [f"  {r['repo']} {r['path']}: {r['reason']}" for r in result.failed]
    if result.problems:
        lines += ["", f"Files not materialized ({len(result.problems)}):"]
        lines += [f"  {p.repo} {p.path}: {p.reason}" for p in result.problems]
    return "\n".join(lines)


def to_json(result: Result) -> dict[str, Any]:
    return {
        "files": result.files,
        "repos": result.repos,
        "notebooks": result.notebooks,
        "negative_files": result.negative_files,
        "positives": result.positives,
        "by_source": result.by_source,
        "checked": result.checked,
        "total": result.total.to_json(),
        "per_code": {code: c.to_json() for code, c in sorted(result.per_code.items())},
        "false_positives": result.false_positives,
        "misses": result.misses,
        "failed": result.failed,
        "not_materialized": [{"repo": p.repo, "path": p.path, "reason": p.reason} for p in result.problems],
    }


def measure(
    entries: Sequence[Entry], mirrors: Path | None, dest: Path, jobs: int, python: str = sys.executable
) -> Result:
    written, problems = materialize(entries, mirrors, dest)
    found, errors = run_kerascheck(dest, written, jobs, python)
    result = compare(entries, written, found)
    result.problems = problems
    by_local = {entry.local(file): (entry, file) for entry in entries for file in entry.files}
    for local, reasons in sorted(errors.items()):
        entry_file = by_local.get(local)
        repo, path = (entry_file[0].repo, entry_file[1].path) if entry_file else ("", local)
        result.failed.extend({"repo": repo, "path": path, "reason": reason} for reason in reasons)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mirrors", type=Path, default=None, help=f"the mirrors' folder (default: ${MIRRORS_ENV})")
    parser.add_argument("--entries", type=Path, default=ENTRIES, help="the entries' folder")
    parser.add_argument("--keep", type=Path, default=None, help="materialize into this folder and keep it")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="kerascheck's processes")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--repo", action="append", default=[], help="only this owner/name (repeatable)")
    parser.add_argument("--python", default=sys.executable, help="the Python whose kerascheck is run")
    args = parser.parse_args(argv)
    entries, errors = load_entries(args.entries)
    unknown = set(args.repo) - {entry.repo for entry in entries}
    errors += [f"--repo {repo}: no entry for it" for repo in sorted(unknown)]
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    if errors:
        return 2
    if args.repo:
        entries = [entry for entry in entries if entry.repo in args.repo]
    mirrors = args.mirrors or (Path(os.environ[MIRRORS_ENV]) if os.environ.get(MIRRORS_ENV) else None)
    if mirrors is None:
        print(f"note: no --mirrors and no ${MIRRORS_ENV}: every file counts as not materialized", file=sys.stderr)
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = measure(entries, mirrors, args.keep.resolve(), args.jobs, args.python)
    else:
        with tempfile.TemporaryDirectory(prefix="kerascheck-corpus-") as folder:
            result = measure(entries, mirrors, Path(folder), args.jobs, args.python)
    print(json.dumps(to_json(result), indent=2) if args.json else render(result))
    return 0 if not result.problems and not result.failed else 1


if __name__ == "__main__":
    sys.exit(main())
