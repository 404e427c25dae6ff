"""A JSON list of findings, one object each, with 1-based lines and columns.

It stays a list of findings: the files that could not be checked are not in it; each gets its
``error:`` line on stderr, and the exit status is 2 (see the README's "JSON output").
"""

from __future__ import annotations

import json

from kerascheck.report.run import Run


def render(run: Run) -> str:
    return json.dumps([f.to_json() for f in run.findings], indent=2) + "\n"
