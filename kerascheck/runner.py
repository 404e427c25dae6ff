"""Check many files: read and prefilter them here, analyse the candidates over processes.

The analysis (the graph, the rules) is imported by the first file analysed, the fixes (libcst) by
the first with a finding: a run whose files the prefilter all turns away never loads them, nor a
process pool.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from kerascheck import pipeline, sources
from kerascheck.discovery import Target
from kerascheck.errors import SourceError

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck.cache import Cache, Entry
    from kerascheck.check import Analysis
    from kerascheck.findings import Finding
    from kerascheck.fix import Offer

# FileResult and Job are plain classes, not dataclasses: a run makes a result for every file, and
# a dataclass costs its module (and inspect) to import and its methods to generate at import.


class FileResult:
    """What checking one file gave."""

    __slots__ = ("error", "findings", "fixed", "fixed_codes", "fixed_text", "path", "source")

    def __init__(
        self,
        path: str,
        findings: list[Finding] | None = None,
        error: SourceError | None = None,
        fixed_text: str | None = None,  # with --fix: the new text, when it differs
        fixed: int = 0,  # how many fixes went into it
        source: pipeline.Source | None = None,  # the file as it was read
        fixed_codes: list[str] | None = None,  # the code of each fix that went into fixed_text
    ) -> None:
        self.path = path
        self.findings: list[Finding] = [] if findings is None else findings
        self.error = error
        self.fixed_text = fixed_text
        self.fixed = fixed
        self.source = source
        self.fixed_codes: list[str] = [] if fixed_codes is None else fixed_codes


class Job:
    """One file to analyse, and how (not changed once made; shipped whole to a worker process)."""

    __slots__ = ("explicit", "fix", "ignore", "select", "source", "verify")

    def __init__(
        self,
        source: pipeline.Source,
        explicit: bool,
        select: tuple[str, ...] | None,
        ignore: tuple[str, ...] | None,
        fix: str | None = None,  # "safe" or "unsafe": apply fixes up to that applicability
        verify: bool = False,  # attach each finding's verification plan (kerascheck.verify)
    ) -> None:
        self.source = source
        self.explicit = explicit
        self.select = select
        self.ignore = ignore
        self.fix = fix
        self.verify = verify

    @property
    def path(self) -> str:
        return self.source.path


def _findings_with_fixes(
    source: pipeline.Source, job: Job, analysed: tuple[Analysis, list[Offer]] | None = None
) -> list[Finding]:
    """The findings of ``source``, each carrying the fix it can be offered, if any; ``analysed``,
    its program's analysis and offers when --fix has made them already."""
    from dataclasses import replace

    if analysed is not None:
        analysis: Analysis | None = analysed[0]
    else:
        analysis = pipeline.analysis(source, select=job.select, ignore=job.ignore, validate=job.explicit)
    if analysis is None or not analysis.results:
        return []
    from kerascheck.fix import offers  # libcst's editing: only for files with a finding

    offered = {id(o.finding): o.fix for o in (analysed[1] if analysed is not None else offers(analysis, job.path))}
    findings = [replace(f, fix=offered.get(id(f))) for f in analysis.findings]
    if job.verify:
        from kerascheck.verify.spec import attach_plans

        findings = attach_plans(findings, analysis, source.program)
    return source.place(findings)


def _run(job: Job) -> FileResult:
    from kerascheck.check import collector_off

    with collector_off():  # the trees of the analyses are freed inside: never walked by it
        result = _run_job(job)
    line_map = job.source.line_map
    if result.error is None and line_map is not None and line_map.skipped:
        # Cells that are not Python were left out, the others checked: their findings stand,
        # and the run still fails.
        result.error = SourceError(job.path, line_map.skipped_reason() or "")
    return result


def _run_job(job: Job) -> FileResult:
    source = job.source
    try:
        if job.fix is None:
            return FileResult(job.path, _findings_with_fixes(source, job))
        if source.line_map is not None:
            from kerascheck import notebooks

            notebooks.validate(source.program, source.line_map, source.path, notebooks.parsed(source.program))
        from kerascheck.fix import fix_text

        codes: list[str] = []
        # The fixes' last analysis is the report's, of the same options (a notebook's messages
        # name cells, the fixes' lines of the program: analysed again).
        last: list[tuple[Analysis, list[Offer]]] | None = [] if source.line_map is None else None
        fixed, count = fix_text(
            source.program,
            job.path,
            unsafe=job.fix == "unsafe",
            select=job.select,
            ignore=job.ignore,
            codes=codes,
            last=last,
        )
        analysed = last[0] if last else None
        if fixed == source.program:
            return FileResult(job.path, _findings_with_fixes(source, job, analysed))
        # A notebook: the fixed program goes back into its cells, outputs and metadata kept.
        after = source.with_program(fixed)
        return FileResult(
            job.path, _findings_with_fixes(after, job, analysed), fixed_text=after.raw, fixed=count, fixed_codes=codes
        )
    except SourceError as error:
        return FileResult(job.path, error=error)
    except Exception as error:  # a bug of ours: say so in one line, keep checking the rest
        reason = f"internal error, please report: {type(error).__name__}: {error}"
        return FileResult(job.path, error=SourceError(job.path, reason))


# Characters of source one more process is worth. Starting and stopping a pool of two costs 0.04 to
# 0.13 s; parsing 50,000 characters of plain code takes about as long (model code dense with
# findings costs far more a character, so it is worth a process sooner than this says). Below it,
# one process: never slower than one (benchmarks/jobs_bench.py compares them).
WORK_PER_PROCESS = 50_000


def workers(jobs: list[Job], wanted: int | None = None) -> int:
    """Processes for ``jobs``: ``wanted`` when given, else one, and one more for each
    WORK_PER_PROCESS characters that can be analysed beside the largest file (a file is analysed
    in one process: the others can only share what is left), at most one a core and one a file."""
    if wanted is not None:
        return max(1, min(wanted, len(jobs)))
    sizes = [len(job.source.program) for job in jobs]
    beside_largest = sum(sizes) - max(sizes, default=0)
    return max(1, min(os.cpu_count() or 1, len(jobs), 1 + beside_largest // WORK_PER_PROCESS))


def largest_first(jobs: list[Job]) -> list[int]:
    """The order a pool is handed the jobs in, largest first (the others share the processes
    beside it): in the files' order, a large file last would start when the others are done."""
    return sorted(range(len(jobs)), key=lambda i: len(jobs[i].source.program), reverse=True)


def _run_all(jobs: list[Job], workers: int) -> list[FileResult]:
    if workers <= 1:
        return [_run(job) for job in jobs]
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    order = largest_first(jobs)
    try:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            done = dict(zip(order, pool.map(_run, [jobs[i] for i in order])))
        return [done[i] for i in range(len(jobs))]
    except BrokenProcessPool:
        # A worker died (the native parser crashed on something): find which file, one at a time.
        return [_run_isolated(job) for job in jobs]


def _run_isolated(job: Job) -> FileResult:
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

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
    codes_for: Callable[[str], tuple[str, ...]] | None = None,
    verify: bool = False,
    cache: Cache | None = None,
) -> list[FileResult]:
    """Results in the order of ``targets``, whatever the number of processes.

    ``codes_for`` gives the rules to check in one file (its configuration's, the command line's on
    top, less its per-file-ignores), instead of ``select`` and ``ignore`` for every file.
    ``verify`` attaches verification plans to the findings (``kerascheck.verify`` runs them).
    ``jobs`` None: as many processes as the work is worth (``workers``).
    ``cache``, when given, serves the files it has seen with these bytes and rules, where that is
    sound (``_served``), and keeps what the others give.
    """
    results: list[FileResult] = []
    pending: list[tuple[int, Job, Entry | None]] = []
    for target in targets:
        path = target.name
        data: bytes | None = None  # the bytes read (standard input's are not cached)
        try:
            if target.source is not None:
                source = target.source
            else:
                try:
                    data, status = sources.read_with_status(path)
                except sources.NotAFile:
                    if target.explicit:
                        raise
                    continue  # found in a folder but no file (a tracked file deleted, a link to a folder)
                notebook = sources.is_notebook(path)
                text, encoding = sources.decode(data, path, notebook=notebook)
                if not target.explicit and not (
                    sources.notebook_may_mention_keras(path, text) if notebook else sources.mentions_keras(text)
                ):
                    results.append(FileResult(path))
                    continue  # the prefilter's first half (a notebook's: on its JSON): no Source made
                source = pipeline.from_text(path, text, encoding)
        except SourceError as error:
            results.append(FileResult(path, error=error))
            continue
        results.append(FileResult(path, source=source))
        if not source.raw.strip():
            if target.explicit:
                results[-1].error = SourceError(path, "empty file, nothing to check")
            continue
        if not source.program.strip():
            if target.explicit and source.line_map is not None and source.line_map.skipped:
                results[-1].error = SourceError(path, source.line_map.skipped_reason() or "")
            continue  # a notebook without code cells, or with a kernel that is not Python
        if not (target.explicit or sources.mentions_keras(source.program)):
            continue  # the prefilter's first half: no Keras, no finding (and no cache entry to read)
        if data is not None and (fix is not None or cache is not None):
            # Stamped, as it may be fixed (--fix writes only over these bytes) or cached (keyed by
            # their hash); a check without either hashes nothing (a notebook's outputs can be MBs).
            source = results[-1].source = source.with_stamp(sources.stamp_of(data, status))
        silenced = sources.file_noqa_codes(source.program)  # file-level noqa with codes: fixes too
        entry = (
            None
            if cache is None or data is None or source.stamp is None
            else cache.entry(path, data, target.explicit, silenced, sha256=source.stamp.sha256)
        )
        if entry is not None and cache is not None:
            found = cache.get(entry, path)
            if found is not None and _served(found, fix, verify):
                results[-1].findings = found
                continue
        if target.explicit or sources.may_have_findings(source.program):
            chosen, skip = (select, ignore) if codes_for is None else (codes_for(path), None)
            if silenced:
                skip = (*(skip or ()), *silenced)
            pending.append((len(results) - 1, Job(source, target.explicit, chosen, skip, fix, verify), entry))
        elif entry is not None and cache is not None:
            cache.put(entry, [])  # the prefilter's no, kept: a warm run then loads no rule for this file
    done = _run_all([job for _, job, _ in pending], workers([job for _, job, _ in pending], jobs))
    for (index, job, entry), result in zip(pending, done):
        result.source = job.source  # the parent's copy: not shipped back
        results[index] = result
        if entry is not None and cache is not None and result.error is None and result.fixed_text is None:
            cache.put(entry, result.findings)
    return results


def _served(findings: list[Finding], fix: str | None, verify: bool) -> bool:
    """Whether a file's cached findings are its whole result: always for a check;
    under --fix or --diff when no finding has a fix of the applicability asked for (the fixer
    applies only fixes the check offers: with none, the file stays as it is); under --verify when
    there is no finding (each finding's plan needs its analysis: such a file is analysed again, and
    --verify's own cache spares the builds)."""
    if fix is not None and any(
        f.fix is not None and (fix == "unsafe" or f.fix.applicability == "safe") for f in findings
    ):
        return False
    return not (verify and findings)
