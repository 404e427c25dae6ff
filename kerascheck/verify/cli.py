"""The command line of verification: what ``check --verify`` and ``explain`` do (their flags:
``kerascheck.verify.options``)."""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kerascheck import config, notebooks, pipeline
from kerascheck.findings import Finding, SourceError
from kerascheck.report import text as text_report
from kerascheck.verify import verdict
from kerascheck.verify.options import no_cache
from kerascheck.verify.plans import Build, JobResult, Pending, Plan, Verdict
from kerascheck.verify.session import Stats, VerifyOptions, summary_line, verify_plans, verify_results
from kerascheck.verify.spec import attach_plans

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def options(args: argparse.Namespace) -> VerifyOptions:
    settings = getattr(args, "settings", None)
    table = getattr(settings, "table", None) or {}
    return VerifyOptions.from_config(
        table if isinstance(table, dict) else {},
        keras=getattr(args, "keras", None),
        cache=False if no_cache(args) else None,
        timeout=getattr(args, "verify_timeout", None),
    )


def run(results: list[Any], args: argparse.Namespace) -> Stats:
    """Verify every finding of ``results`` in place; say on stderr how it went."""
    stats = verify_results(results, options(args))
    findings = [f for r in results for f in r.findings]
    for finding in findings:
        verification = finding.verification
        if isinstance(verification, Verdict) and verification.status == verdict.REFUTED:
            print(
                f"error: {finding.path}:{finding.line}: {finding.code} is refuted, Keras disagrees; this is a bug in "
                f"kerascheck, please report it: {verification.detail}",
                file=sys.stderr,
            )
    if findings:
        print(summary_line(stats), file=sys.stderr)
        reasons = sorted({v.detail for f in findings if (v := _not_run(f)) is not None})
        for reason in reasons[:3]:
            print(f"kerascheck: could not verify: {reason}{_hint(reason)}", file=sys.stderr)
    return stats


INSTALL_HINT = (
    "; to get it: pip install 'kerascheck[verify]' (Keras 3 and TensorFlow), or set verify-python in"
    " [tool.kerascheck] to an interpreter that has Keras"
)


def _hint(reason: str) -> str:
    """How to get Keras, after a reason that says it is missing."""
    return INSTALL_HINT if "not installed" in reason or "cannot be imported" in reason else ""


def _not_run(finding: Finding) -> Verdict | None:
    """The verdict of a finding left unverified because the worker could not serve (the same
    reason for many findings), or None."""
    v = finding.verification
    if not isinstance(v, Verdict):
        return None
    detail = v.detail
    ran = not (
        v.status == verdict.UNVERIFIED
        and not v.original
        and (
            "not installed" in detail
            or "cannot be imported" in detail
            or "did not start" in detail
            or "cannot run" in detail
        )
    )
    return None if ran else v


# ---------------------------------------------------------------- explain


@dataclass(frozen=True)
class Location:
    path: Path
    line: int
    column: int | None = None
    cell: int | None = None  # a notebook: the line counts in this cell


_POSITION = re.compile(r":(?P<line>\d+)(?::(?P<column>\d+))?")
_CELL_POSITION = re.compile(r":(?:cell )?(?P<cell>\d+):(?P<line>\d+)(?::(?P<column>\d+))?")


def parse_location(text: str) -> Location:
    """``FILE:LINE:COL``, ``FILE:LINE`` or ``NOTEBOOK:cell N:LINE[:COL]``, as ``check`` prints
    them (a notebook's ``NOTEBOOK:N:LINE`` too). Of the readings of the text, the one naming a
    file that exists wins (a path may hold ``:12`` itself); else the shortest path."""
    readings = []
    for cut in (i for i, c in enumerate(text) if c == ":" and i > 0):
        path = text[:cut]
        match = (notebooks.is_notebook(path) and _CELL_POSITION.fullmatch(text, cut)) or _POSITION.fullmatch(text, cut)
        if match:
            cell = match.groupdict().get("cell")
            column = match["column"]
            readings.append(
                Location(
                    Path(path),
                    int(match["line"]),
                    None if column is None else int(column),
                    None if cell is None else int(cell),
                )
            )
    if not readings:
        raise argparse.ArgumentTypeError(f"{text!r} is not FILE:LINE:COL, FILE:LINE or NOTEBOOK:cell N:LINE:COL")
    chosen = next((r for r in readings if r.path.exists()), readings[0])
    if notebooks.is_notebook(chosen.path) and chosen.cell is None:
        raise argparse.ArgumentTypeError(f"{text!r}: give a notebook's finding as NOTEBOOK:cell N:LINE:COL")
    return chosen


def choose(findings: list[Finding], where: Location, code: str | None = None) -> list[Finding]:
    """The findings at ``where``: those starting at its line and column, or, without a column,
    every finding whose lines cover its line; with ``code``, of that code only."""
    return [
        f
        for f in findings
        if f.cell == where.cell
        and f.line <= where.line <= f.end_line
        and (where.column is None or (f.line, f.column) == (where.line, where.column))
        and (not code or f.code == code.upper())
    ]


def no_finding(findings: list[Finding], where: Location) -> str:
    """Why ``explain`` has nothing to show, with where the file's findings are."""
    place = f"line {where.line}" + ("" if where.column is None else f", column {where.column}")
    place += "" if where.cell is None else f" of cell {where.cell}"
    listed = ", ".join(text_report.where(f).removeprefix(f"{f.path}:") for f in findings) or "none"
    return f"no finding on {place} of {where.path} (findings at: {listed})"


def explain_command(args: argparse.Namespace) -> int:
    try:
        # The working folder's [tool.kerascheck] tunes the verification, as for check --verify:
        # its verify-python builds the models, and names the answers its cache keeps.
        args.settings = config.Resolver().default
        where = parse_location(args.where)
        source = pipeline.read(where.path)
        analysis = pipeline.analysis(source, validate=True)
    except argparse.ArgumentTypeError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    except SourceError as error:
        print(f"error: {error.path}: {error.reason}", file=sys.stderr)
        return EXIT_ERROR
    except config.ConfigError as bad:
        print(f"error: {bad}", file=sys.stderr)
        return EXIT_ERROR
    found = (
        attach_plans(analysis.findings, analysis, source.program) if analysis is not None and analysis.results else []
    )
    findings = source.place(found)
    chosen = choose(findings, where, args.code)
    if not chosen:
        skipped = source.line_map.skipped_reason() if source.line_map is not None else None
        print(f"error: {no_finding(findings, where)}{f'; {skipped}' if skipped else ''}", file=sys.stderr)
        return EXIT_ERROR
    if len(chosen) > 1:
        print(f"{len(chosen)} findings here:", file=sys.stderr)
        for finding in chosen:
            print(f"  {text_report.where(finding)}: {finding.code} {finding.message}", file=sys.stderr)
    plans = [v.plan for f in chosen if isinstance(v := f.verification, Pending)]
    verifications, results, _stats = verify_plans(plans, options(args))
    width = shutil.get_terminal_size((120, 24)).columns
    blocks = []
    for finding, plan, verification, result in zip(chosen, plans, verifications, results):
        blocks.append(render_explanation(finding, plan, verification, result, width))
    sys.stdout.write("\n\n".join(blocks) + "\n")
    return EXIT_CLEAN


def _table(title: str, plan: Plan, build: Build | None, nodes: list[str], fixed: bool = False) -> list[str]:
    """Summary rows of one build, one line per node in ``nodes`` (blank where it has none)."""
    by_node = {row.node: row for row in (build.rows if build is not None else [])}
    header = ["Line", "Layer (type)", "Output Shape", "Param #"]
    cells: list[list[str]] = []
    for node in nodes:
        row = by_node.get(node)
        if row is None:
            cells.append(["", "", "", ""])
            continue
        label = plan.labels.get(node)
        where = None if label is None else label.where
        name = plan.label_text(node, fixed) or row.cls
        kind = row.cls
        layer = name if name.startswith(kind) else f"{name} ({kind})"
        if row.error:
            shape, params = "error: " + row.error.split(":")[0], "-"
        else:
            shape, params = row.output_shape or "?", "-" if row.params is None else f"{row.params:,}"
        cells.append(["" if where is None else str(where), layer, shape, params])
    widths = [max([len(header[i])] + [len(c[i]) for c in cells]) for i in range(4)]
    rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
    total = None if build is None else build.total_params
    out = [title, "  ".join(h.ljust(w) for h, w in zip(header, widths)), rule]
    out += [
        "  ".join(c.rjust(w) if i == 3 else c.ljust(w) for i, (c, w) in enumerate(zip(cell, widths))) for cell in cells
    ]
    out.append(rule)
    out.append(
        f"Total params: {total:,}" if isinstance(total, int) else "Total params: - (it does not build)" if build else ""
    )
    return out


def render_explanation(
    finding: Finding,
    plan: Plan,
    verification: Verdict,
    result: JobResult | None,
    width: int = 120,
) -> str:
    head = f"{text_report.where(finding)}: {finding.code} {finding.message} [{verification.status}]"
    lines = [head]
    if result is None:
        lines.append(f"{verification.status}: {verification.detail}")
        return "\n".join(lines)
    original, fixed = result.original, result.fixed
    nodes: list[str] = []
    for build in (original, fixed):
        for row in build.rows if build is not None else []:
            if row.node not in nodes:
                nodes.append(row.node)
    nodes.sort(
        key=lambda n: (0 if n.startswith("i") else 1, int(n[1:].split(":")[0]) if n[1:].split(":")[0].isdigit() else 0)
    )
    left = _table("original", plan, original, nodes)
    if fixed is None:
        right: list[str] = []
    else:
        right = _table(f"fixed: {plan.fix or 'fixed'}", plan, fixed, nodes, fixed=True)
    lines.append("")
    pad = max(len(s) for s in left)
    if right and pad + 4 + max(len(s) for s in right) <= width:
        for i in range(max(len(left), len(right))):
            a = left[i] if i < len(left) else ""
            b = right[i] if i < len(right) else ""
            lines.append((a.ljust(pad) + "    " + b).rstrip())
    else:
        lines += left
        if right:
            lines += [""] + right
    for build, name in ((original, "original"), (fixed, "fixed")):
        error = None if build is None else build.error
        if error is not None:
            lines.append(f"{name}: Keras raised {error.type}: {error.message.strip().splitlines()[0]}")
    lines.append("")
    lines.append(f"{verification.status}: {verification.detail}")
    return "\n".join(lines)
