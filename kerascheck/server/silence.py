"""``# noqa: KER101`` written into a text, where ``kerascheck.noqa`` will read it.

A comment counts for every line of the logical line it ends (flake8's rule, which
``kerascheck.noqa`` follows): it goes at the end of the physical line that holds the logical
line's NEWLINE (or NL), which is past any string that spans lines and past backslash
continuations. A ``# noqa: CODES`` already there is extended; any other comment is kept, the
noqa written after it.
"""

from __future__ import annotations

import io
import re
import sys
import tokenize

from kerascheck import noqa
from kerascheck.findings import Finding

_CODES = re.compile(r"#\s*noqa:\s?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*)", re.IGNORECASE)


def _end_of(text: str, line: int) -> tuple[int, list[tokenize.TokenInfo], tokenize.TokenInfo] | None:
    """The physical line that ends the logical line holding ``line``, its comments, and the
    token that ends it; None when the text does not tokenize."""
    low, high = sys.maxsize, -1
    comments: list[tokenize.TokenInfo] = []
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT, tokenize.INDENT):
                continue
            low, high = min(low, token.start[0]), max(high, token.end[0])
            if token.type == tokenize.COMMENT:
                comments.append(token)
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                if low <= line <= high:
                    return token.start[0], [c for c in comments if c.start[0] == token.start[0]], token
                low, high, comments = sys.maxsize, -1, []
    except (tokenize.TokenError, SyntaxError):
        return None
    return None


def add_noqa(text: str, finding: Finding) -> str | None:
    """``text`` with a comment that silences ``finding`` (on the analysed text's lines), or None
    when none can be written (the text does not tokenize, or the comment would not silence it)."""
    found = _end_of(text, finding.line)
    if found is None:
        return None
    number, comments, end = found
    lines = text.splitlines(keepends=True)
    if number > len(lines):
        return None
    physical = lines[number - 1]
    new = None
    for comment in comments:
        match = _CODES.search(comment.string)
        if match is not None:
            at = comment.start[1] + match.end("codes")
            new = physical[:at] + f",{finding.code}" + physical[at:]
            break
    if new is None:
        at = len(physical[: end.start[1]].rstrip())
        new = physical[:at] + f"  # noqa: {finding.code}" + physical[end.start[1] :]
    result = "".join(lines[: number - 1]) + new + "".join(lines[number:])
    return result if not noqa.filter_findings(result, [finding]) else None
