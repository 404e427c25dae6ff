"""Check many files: read and prefilter them here, analyse the candidates over processes."""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace

from kerascheck import notebooks, sources
from kerascheck.check import analyse, collector_off
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
    line_map: notebooks.LineMap | None = None  # a notebook: ``text`` is its program (notebooks.to_program)
    verify: bool = False  # attach each finding's verification plan (kerascheck.verify)
    raw: str | None = None  # a notebook: its JSON text, where fixes are written back


def _findings_with_fixes(text: str, job: Job, line_map: notebooks.LineMap | None) -> list[Finding]:
    """The findings of ``text``, each carrying the fix it can be offered, if any."""
    label = str if line_map is None else line_map.label
    analysis = analyse(text, job.path, select=job.select, ignore=job.ignore, validate=job.explicit, line_label=label)
    if analysis is None or not analysis.results:
        return []
    offered = {id(o.finding): o.fix for o in offers(analysis, job.path)}
    findings = [replace(f, fix=offered.get(id(f))) for f in analysis.findings]
    if job.verify:
        from kerascheck.verify.spec import attach_plans

        findings = attach_plans(findings, analysis, text)
    return findings if line_map is None else notebooks.to_cells(findings, line_map)


def _run(job: Job) -> FileResult:
    with collector_off():  # the trees of the analyses are freed inside: never walked by it
        return _run_job(job)


def _run_job(job: Job) -> FileResult:
    try:
        if job.line_map is not None:
            notebooks.validate(job.text, job.line_map, job.path)
        if job.fix is None:
            return FileResult(job.path, _findings_with_fixes(job.text, job, job.line_map))
        fixed, count = fix_text(job.text, job.path, unsafe=job.fix == "unsafe", select=job.select, ignore=job.ignore)
        if fixed == job.text:
            return FileResult(job.path, _findings_with_fixes(job.text, job, job.line_map))
        if job.raw is None:
            return FileResult(job.path, _findings_with_fixes(fixed, job, None), fixed_text=fixed, fixed=count)
        # A notebook: the fixed program goes back into its cells, outputs and metadata kept.
        try:
            raw = notebooks.with_program(job.raw, fixed)
        except notebooks.NotebookError as error:
            raise SourceError(job.path, f"cannot write the fixes back: {error.reason}") from None
        program, line_map = notebooks.to_program(raw)
        return FileResult(job.path, _findings_with_fixes(program, job, line_map), fixed_text=raw, fixed=count)
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
    per_file_ignore: Callable[[str], tuple[str, ...]] | None = None,
    verify: bool = False,
) -> list[FileResult]:
    """Results in the order of ``targets``, whatever the number of processes.

    ``per_file_ignore`` gives codes to skip in one file (configuration's per-file-ignores).
    ``verify`` attaches verification plans to the findings (``kerascheck.verify`` runs them).
    """
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
        line_map, raw = None, None
        if notebooks.is_notebook(target.path):
            try:
                raw = text
                text, line_map = notebooks.to_program(text)
            except notebooks.NotebookError as error:
                results[-1].error = SourceError(path, error.reason)
                continue
            if not text.strip():
                continue  # no code cells, or a kernel that is not Python
        if target.explicit or sources.may_have_findings(text):
            skip = ignore
            if per_file_ignore is not None and (extra := per_file_ignore(path)):
                skip = (ignore or ()) + extra
            pending.append(
                (len(results) - 1, Job(path, text, target.explicit, select, skip, fix, line_map, verify, raw))
            )
    workers = min(jobs or os.cpu_count() or 1, len(pending))
    done = _run_all([job for _, job in pending], workers)
    for (index, _), result in zip(pending, done):
        results[index] = result
    return results
