"""kerascheck's findings and edits as LSP's types: 0-based lines, columns in the client's code units."""

from __future__ import annotations

from lsprotocol import types

from kerascheck import rules
from kerascheck.findings import Finding
from kerascheck.server import text
from kerascheck.server.lint import Placed
from kerascheck.server.verification import Verified

SOURCE = "kerascheck"
# No codeDescription.href: kerascheck has no published page per rule to point at (`kerascheck rule
# KER101` prints it, and hover shows it), and a link to a page that does not exist is worse than none.


def position(lines: list[str], line: int, column: int, encoding: str) -> types.Position:
    """LSP's position of a 0-based line and a column in code points."""
    if line >= len(lines):
        return types.Position(line=len(lines), character=0)
    return types.Position(line=line, character=text.column(lines[line], column, encoding))


def finding_range(finding: Finding, lines: list[str], encoding: str) -> types.Range:
    """A finding's range in its own document (kerascheck's lines and columns are 1-based, the
    end column one past the last character)."""
    return types.Range(
        start=position(lines, finding.line - 1, finding.column - 1, encoding),
        end=position(lines, finding.end_line - 1, finding.end_column - 1, encoding),
    )


def diagnostic(placed: Placed, lines: list[str], encoding: str, verified: Verified | None = None) -> types.Diagnostic:
    finding = placed.local
    message = finding.message
    if verified is not None:
        message += f" [{verified.status} by Keras]" if verified.status != "unverified" else " [unverified]"
    return types.Diagnostic(
        range=finding_range(finding, lines, encoding),
        message=message,
        severity=types.DiagnosticSeverity.Warning,
        code=finding.code,
        source=SOURCE,
        data={"index": placed.index},
    )


def text_edits(replacements: list[text.Replacement], lines: list[str], encoding: str) -> list[types.TextEdit]:
    return [
        types.TextEdit(
            range=types.Range(
                start=position(lines, r.start.line, r.start.column, encoding),
                end=position(lines, r.end.line, r.end.column, encoding),
            ),
            new_text=r.text,
        )
        for r in replacements
    ]


def rule_page(code: str) -> str:
    """The rule's page, as ``kerascheck rule CODE`` prints it (markdown already)."""
    rule = rules.get(code)
    return f"**{code}**" if rule is None else rule.page
