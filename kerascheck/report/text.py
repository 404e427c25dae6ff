"""``path:line:column: CODE message``, the format editors and terminals know (``concise``), and the
summary every text format ends with."""

from __future__ import annotations

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck.findings import Finding
    from kerascheck.report.run import Run

BOLD, RED, CYAN, RESET = "\x1b[1m", "\x1b[31m", "\x1b[36m", "\x1b[0m"


def paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{RESET}" if color else text


def where(finding: Finding) -> str:
    """``path:line:column``; in a notebook ``path:cell 3:line:column``, the line counted in the cell (as ruff)."""
    cell = "" if finding.cell is None else f"cell {finding.cell}:"
    return f"{finding.path}:{cell}{finding.line}:{finding.column}"


def verdict(finding: Finding) -> str:
    """`` [confirmed]`` (``refuted``, ``unverified``) after the message, with --verify."""
    status = None if finding.verification is None else finding.verification.status
    return f" [{status}]" if status else ""


def fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    return finding.fix is not None and (unsafe_fixes or finding.fix.applicability == "safe")


def headline(finding: Finding, run: Run) -> str:
    """``CODE [*] message [verdict]``: what a finding says, without where."""
    code = paint(finding.code, BOLD + RED, run.color)
    mark = paint("[*]", CYAN, run.color) + " " if fixable(finding, run.unsafe_fixes) else ""
    return f"{code} {mark}{finding.message}{verdict(finding)}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(run: Run) -> list[str]:
    """The closing lines: what was found, the files that could not be checked, what is fixable."""
    findings = run.findings
    files = len({f.path for f in findings})
    unchecked = f"; {_plural(run.unchecked, 'file')} could not be checked" if run.unchecked else ""
    if findings:
        lines = [f"Found {_plural(len(findings), 'finding')} in {_plural(files, 'file')}{unchecked}."]
    elif run.unchecked:
        lines = [f"No findings in the files checked{unchecked}."]
    else:
        lines = ["No findings."]
    count = sum(fixable(f, run.unsafe_fixes) for f in findings)
    hidden = sum(f.fix is not None for f in findings) - count
    if count:
        flag = "--fix --unsafe-fixes" if run.unsafe_fixes else "--fix"
        lines.append(f"{paint('[*]', CYAN, run.color)} {count} fixable with {flag}.")
    if hidden:
        lines.append(f"{hidden} more fixable with --fix --unsafe-fixes.")
    return lines


def render(run: Run) -> str:
    """One line a finding, ``[*]`` marking those ``--fix`` would fix, then the summary."""
    lines = [f"{paint(where(f), BOLD, run.color)}: {headline(f, run)}" for f in run.findings]
    return "\n".join(lines + summary(run)) + "\n"
