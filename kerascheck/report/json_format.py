"""A JSON list of findings, one object each, with 1-based lines and columns."""

from __future__ import annotations

import json

from kerascheck.findings import Finding


def render(findings: list[Finding]) -> str:
    return json.dumps([f.to_json() for f in findings], indent=2) + "\n"
