"""``# noqa`` and ``# noqa: KER101`` comments, read as flake8 reads them."""

from __future__ import annotations

import io
import re
import sys
import tokenize

from kerascheck.findings import Finding
from kerascheck.sources import split_lines

# flake8's syntax: a bare noqa comment silences everything; one with codes (`noqa: A1,B2`) silences
# those codes and codes they prefix.
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


def _noqa_lines(text: str) -> dict[int, tuple[int, int]]:
    """Each line -> the span of lines whose comments count for it, exactly as flake8 has it.

    Spans end at every NL or NEWLINE token: a token that spans lines (a triple-quoted string)
    joins them; the lines inside brackets stay apart. Lines end where CPython's tokenizer ends
    them (a lone CR too: universal newlines).
    """
    spans: dict[int, tuple[int, int]] = {}
    low, high = sys.maxsize, -1
    try:
        for token in tokenize.generate_tokens(io.StringIO(text, newline=None).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            low, high = min(low, token.start[0]), max(high, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                for line in range(low, high + 1):
                    spans[line] = (low, high)
                low, high = sys.maxsize, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
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
    lines = split_lines(text)
    spans = _noqa_lines(text)
    kept = []
    for finding in findings:
        first, last = spans.get(finding.line, (finding.line, finding.line))
        covering = "\n".join(lines[first - 1 : last])
        if not suppressed(finding.code, covering):
            kept.append(finding)
    return kept
