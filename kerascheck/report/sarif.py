"""SARIF 2.1.0, as GitHub code scanning reads it (github/codeql-action/upload-sarif).

- ``tool.driver``: name, version, informationUri and every rule, each with its id, name, short and
  full description, help (the rule's page, as ``kerascheck rule`` prints it) and helpUri.
- Each result: ruleId and ruleIndex, level, message, one location relative to the working folder
  (``uriBaseId`` ``%SRCROOT%``) with start and end line and column, and a ``partialFingerprints``
  entry ``kerascheck/v1`` (see ``locations.fingerprints``). upload-sarif adds GitHub's own
  ``primaryLocationLineHash`` beside it.
- Columns count Unicode code points (``columnKind``), as kerascheck does.
- A notebook finding points into the .ipynb file itself (the JSON line holding the code, so code
  scanning shows it where it is), says its cell and line in its message, and carries them as
  ``properties``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from kerascheck import __version__, rules
from kerascheck.findings import Finding
from kerascheck.report.locations import SourceFiles, cell_prefix, fingerprints, uri

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
HOMEPAGE = "https://pypi.org/project/kerascheck/"  # the one place the project's address is written
LEVEL = "warning"
_GITHUB_LIMIT = 1024  # characters GitHub shows of a short or full description


def _limit(text: str) -> str:
    return text if len(text) <= _GITHUB_LIMIT else text[: _GITHUB_LIMIT - 1].rstrip() + "\u2026"


def rule_descriptor(rule: rules.Rule) -> dict[str, Any]:
    page = rule.page
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": _limit(rule.summary)},
        "fullDescription": {"text": _limit(" ".join(rule.what.split()))},
        "help": {"text": page, "markdown": page},
        "helpUri": f"{HOMEPAGE}#{rule.code.lower()}",
        "defaultConfiguration": {"level": LEVEL},
        "properties": {"tags": ["keras", "correctness"], "precision": "very-high", "problem.severity": LEVEL},
    }


def render(findings: list[Finding]) -> str:
    cwd = os.getcwd()
    files = SourceFiles()
    index = {rule.code: i for i, rule in enumerate(rules.all_rules())}
    results = []
    for finding, fingerprint in zip(findings, fingerprints(findings, files, cwd)):
        location_uri, relative = uri(finding.path, cwd)
        artifact: dict[str, Any] = {"uri": location_uri}
        if relative:
            artifact["uriBaseId"] = "%SRCROOT%"
        start_line, start_column, end_line, end_column = files.region(finding)
        result: dict[str, Any] = {
            "ruleId": finding.code,
            "ruleIndex": index[finding.code],
            "level": LEVEL,
            "message": {"text": cell_prefix(finding) + finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": artifact,
                        "region": {
                            "startLine": start_line,
                            "startColumn": start_column,
                            "endLine": end_line,
                            "endColumn": end_column,
                        },
                    }
                }
            ],
            "partialFingerprints": {"kerascheck/v1": fingerprint},
        }
        if finding.cell is not None:
            result["properties"] = {
                "cell": finding.cell,
                "cellLine": finding.line,
                "cellColumn": finding.column,
                "cellEndLine": finding.end_line,
                "cellEndColumn": finding.end_column,
            }
        results.append(result)
    root = Path(cwd).as_uri()
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kerascheck",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": HOMEPAGE,
                        "rules": [rule_descriptor(rule) for rule in rules.all_rules()],
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root if root.endswith("/") else root + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
