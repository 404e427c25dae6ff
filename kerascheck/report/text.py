"""``path:line:column: CODE message``, the format editors and terminals know."""

from __future__ import annotations

from kerascheck.findings import Finding


def where(finding: Finding) -> str:
    """``path:line:column``; in a notebook ``path:cell 3:line:column``, the line counted in the cell (as ruff)."""
    cell = "" if finding.cell is None else f"cell {finding.cell}:"
    return f"{finding.path}:{cell}{finding.line}:{finding.column}"


def _verdict(finding: Finding) -> str:
    """`` [confirmed]`` (``refuted``, ``unverified``) after the message, with --verify."""
    status = None if finding.verification is None else finding.verification.status
    return f" [{status}]" if status else ""


def _fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    return finding.fix is not None and (unsafe_fixes or finding.fix.applicability == "safe")


def render(findings: list[Finding], *, unsafe_fixes: bool = False) -> str:
    """One line a finding, ``[*]`` marking those ``--fix`` would fix, then a summary."""
    lines = [
        f"{where(f)}: {f.code} {'[*] ' if _fixable(f, unsafe_fixes) else ''}{f.message}{_verdict(f)}" for f in findings
    ]
    files = len({f.path for f in findings})
    if findings:
        noun = "finding" if len(findings) == 1 else "findings"
        lines.append(f"Found {len(findings)} {noun} in {files} file{'s' if files != 1 else ''}.")
    else:
        lines.append("No findings.")
    fixable = sum(_fixable(f, unsafe_fixes) for f in findings)
    hidden = sum(f.fix is not None for f in findings) - fixable
    if fixable:
        flag = "--fix --unsafe-fixes" if unsafe_fixes else "--fix"
        lines.append(f"[*] {fixable} fixable with {flag}.")
    if hidden:
        lines.append(f"{hidden} more fixable with --fix --unsafe-fixes.")
    return "\n".join(lines) + "\n"
