"""``full``: each finding with the lines around it, a caret under what it reports and, for a
fixable one, what the fix does, as ruff's default output shows them.

    KER101 TimeDistributed(Dense(15)) on (None, 64, 16) is the same as Dense(15): ...
     --> model.py:8:5
      |
    6 |     keras.Input(shape=(64, 15)),
    7 |     layers.GRU(16, return_sequences=True),
    8 |     layers.TimeDistributed(layers.Dense(15)),
      |     ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
    9 | ])
      |
    help: Replace the TimeDistributed wrapper with Dense(15)
"""

from __future__ import annotations

from kerascheck.report.locations import SourceFiles
from kerascheck.report.text import BOLD, CYAN, RED, headline, paint, summary, where

TYPE_CHECKING = False  # typing's, without importing typing: a run without Keras never does
if TYPE_CHECKING:
    from kerascheck.findings import Finding
    from kerascheck.report.run import Run

CONTEXT = 2  # lines shown before and after, as ruff shows them
TAB = 4  # columns a tab is shown as


def _shown(text: str) -> str:
    return text.replace("\t", " " * TAB)


def _offset(line: str, column: int) -> int:
    """Where 1-based ``column`` of ``line`` is shown, tabs expanded."""
    return len(_shown(line[: column - 1]))


def snippet(finding: Finding, lines: list[str], color: bool) -> list[str]:
    """The gutter, the lines around the finding and its marks."""
    first = max(1, finding.line - CONTEXT)
    last = min(len(lines), finding.end_line + CONTEXT)
    width = len(str(last))
    bar = paint(" " * width + " |", CYAN, color)
    multi = finding.end_line > finding.line
    out = [bar]
    for number in range(first, last + 1):
        text = _shown(lines[number - 1])
        gutter = paint(f"{number:>{width}} |", CYAN, color)
        if not multi:
            out.append(f"{gutter} {text}".rstrip())
            if number == finding.line:
                start = _offset(lines[number - 1], finding.column)
                end = max(_offset(lines[number - 1], finding.end_column), start + 1)
                out.append(f"{bar} {' ' * start}{paint('^' * (end - start), BOLD + RED, color)}")
            continue
        inside = finding.line <= number <= finding.end_line
        mark = "/" if number == finding.line else "|" if inside else " "
        out.append(f"{gutter} {paint(mark, BOLD + RED, color)} {text}".rstrip())
        if number == finding.end_line:
            caret = max(_offset(lines[number - 1], finding.end_column) - 1, 0)
            out.append(f"{bar} {paint('|' + '_' * (caret + 1) + '^', BOLD + RED, color)}")
    out.append(bar)
    return out


def render(run: Run) -> str:
    files = SourceFiles(run.sources)
    blocks = []
    for finding in run.findings:
        lines = files.lines(finding)
        block = [headline(finding, run)]
        arrow = " " * len(str(min(len(lines or []), finding.end_line + CONTEXT))) + paint("-->", CYAN, run.color)
        block.append(f"{arrow} {paint(where(finding), BOLD, run.color)}")
        if lines is not None and 1 <= finding.line <= finding.end_line <= len(lines):
            block += snippet(finding, lines, run.color)
        if finding.fix is not None:
            block.append(f"{paint('help', BOLD, run.color)}: {finding.fix.message}")
        blocks.append("\n".join(block) + "\n")
    return "\n".join(blocks) + ("\n" if blocks else "") + "\n".join(summary(run)) + "\n"
