"""``path:line:column: CODE message``, the format editors and terminals know."""

from __future__ import annotations

from kerascheck.findings import Finding


def render(findings: list[Finding]) -> str:
    lines = [f"{f.path}:{f.line}:{f.column}: {f.code} {f.message}" for f in findings]
    files = len({f.path for f in findings})
    if findings:
        noun = "finding" if len(findings) == 1 else "findings"
        lines.append(f"Found {len(findings)} {noun} in {files} file{'s' if files != 1 else ''}.")
    else:
        lines.append("No findings.")
    return "\n".join(lines) + "\n"
