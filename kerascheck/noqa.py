"""``# noqa`` and ``# noqa: KER101`` comments, read as flake8 reads them."""

from __future__ import annotations

import io
import re
import tokenize

from kerascheck.findings import Finding

# flake8's syntax: a bare noqa comment silences everything; one with codes (`noqa: A1,B2`) silences
# those codes and codes they prefix.
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def _statement_lines(text: str) -> dict[int, tuple[int, int]]:
    """Each line of a multi-line statement -> the statement's first and last line.

    As in flake8, a ``# noqa`` anywhere on a statement's lines covers the whole statement.
    """
    spans: dict[int, tuple[int, int]] = {}
    start = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.NL, tokenize.COMMENT, tokenize.INDENT, tokenize.DEDENT):
                if start is None:
                    continue
            if start is None:
                start = token.start[0]
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                end = token.end[0]
                if end > start:
                    for line in range(start, end + 1):
                        spans[line] = (start, end)
                start = None
    except (tokenize.TokenError, SyntaxError):
        pass
    return spans


def suppressed(code: str, comment_text: str) -> bool:
    for match in _NOQA.finditer(comment_text):
        codes = match.group("codes")
        if codes is None:
            return True
        if any(code.upper().startswith(c.upper()) for c in _CODE.findall(codes)):
            return True
    return False


def filter_findings(text: str, findings: list[Finding]) -> list[Finding]:
    if not findings or "noqa" not in text.lower():
        return findings
    lines = text.splitlines()
    spans = _statement_lines(text)
    kept = []
    for finding in findings:
        first, last = spans.get(finding.line, (finding.line, finding.line))
        covering = "\n".join(lines[first - 1 : last])
        if not suppressed(finding.code, covering):
            kept.append(finding)
    return kept
