"""Check many files: read and prefilter them here, analyse the candidates over processes."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

from kerascheck import sources
from kerascheck.check import analyse
from kerascheck.discovery import Target
from kerascheck.findings import Finding, SourceError
from kerascheck.fix import fix_text, offers


@dataclass
class FileResult:
    path: str
    findings: list[Finding] = field(default_factory=list)
    error: SourceError | None = None
    fixed_text: str | None = None  # with --fix: the new text, when it differs
    fixed: int = 0  # how many fixes went into it


@dataclass(frozen=True)
class Job:
    path: str
    text: str
    explicit: bool
    select: tuple[str, ...] | None
    ignore: tuple[str, ...] | None
    fix: str | None = None  # "safe" or "unsafe": apply fixes up to that applicability


def _findings_with_fixes(text: str, job: Job) -> list[Finding]:
    """The findings of ``text``, each carrying the fix it can be offered, if any."""
    analysis = analyse(text, job.path, select=job.select, ignore=job.ignore, validate=job.explicit)
    if analysis is None or not analysis.results:
        return []
    offered = {id(o.finding): o.fix for o in offers(analysis, text, job.path)}
    return [replace(f, fix=offered.get(id(f))) for f in analysis.findings]


def _run(job: Job) -> FileResult:
    try:
        if job.fix is None:
            return FileResult(job.path, _findings_with_fixes(job.text, job))
        fixed, count = fix_text(job.text, job.path, unsafe=job.fix == "unsafe", select=job.select, ignore=job.ignore)
        result = FileResult(job.path, _findings_with_fixes(fixed, job))
        if fixed != job.text:
            result.fixed_text, result.fixed = fixed, count
        return result
    except SourceError as error:
        return FileResult(job.path, error=error)
    except Exception as error:  # a bug of ours: say so in one line, keep checking the rest
        reason = f"internal error, please report: {type(error).__name__}: {error}"
        return FileResult(job.path, error=SourceError(job.path, reason))


def _run_all(jobs: list[Job], workers: int) -> list[FileResult]:
    if workers <= 1:
        return [_run(job) for job in jobs]
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            return list(pool.map(_run, jobs))
    except BrokenProcessPool:
        # A worker died (the native parser crashed on something): find which file, one at a time.
        return [_run_isolated(job) for job in jobs]


def _run_isolated(job: Job) -> FileResult:
    try:
        with ProcessPoolExecutor(max_workers=1) as pool:
            return pool.submit(_run, job).result()
    except BrokenProcessPool:
        return FileResult(job.path, error=SourceError(job.path, "internal error, please report: the parser crashed"))


def check_files(
    targets: list[Target],
    select: tuple[str, ...] | None = None,
    ignore: tuple[str, ...] | None = None,
    jobs: int | None = None,
    fix: str | None = None,
) -> list[FileResult]:
    """Results in the order of ``targets``, whatever the number of processes."""
    results: list[FileResult] = []
    pending: list[tuple[int, Job]] = []
    for target in targets:
        path = str(target.path)
        results.append(FileResult(path))
        try:
            text = sources.read(target.path)
        except SourceError as error:
            results[-1].error = error
            continue
        if not text.strip():
            if target.explicit:
                results[-1].error = SourceError(path, "empty file, nothing to check")
            continue
        if target.explicit or sources.may_have_findings(text):
            pending.append((len(results) - 1, Job(path, text, target.explicit, select, ignore, fix)))
    workers = min(jobs or os.cpu_count() or 1, len(pending))
    done = _run_all([job for _, job in pending], workers)
    for (index, _), result in zip(pending, done):
        results[index] = result
    return results
