"""SARIF 2.1.0, as GitHub code scanning reads it (github/codeql-action/upload-sarif).

- ``tool.driver``: name, version and every rule, each with its id, name, short and full
  description and help (the rule's page, as ``kerascheck rule`` prints it); no informationUri or
  helpUri while the project has no published page (``HOMEPAGE``).
- ``invocations``: ``executionSuccessful`` false when a file could not be checked, each such file a
  ``toolExecutionNotifications`` entry (level ``error``, the reason, the file's location).
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
from typing import TYPE_CHECKING, Any

from kerascheck import __version__
from kerascheck.findings import SourceError
from kerascheck.report.locations import SourceFiles, cell_prefix, fingerprints, uri
from kerascheck.report.run import Run

if TYPE_CHECKING:
    from kerascheck import rules

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
# The project's page, for informationUri and each rule's helpUri: none until kerascheck is published
# somewhere with a stable address (SARIF makes both optional; each rule carries its page as help).
HOMEPAGE: str | None = None
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
        **({"helpUri": f"{HOMEPAGE}#{rule.code.lower()}"} if HOMEPAGE else {}),
        "defaultConfiguration": {"level": LEVEL},
        "properties": {"tags": ["keras", "correctness"], "precision": "very-high", "problem.severity": LEVEL},
    }


def _notification(error: SourceError, cwd: str) -> dict[str, Any]:
    """A file that could not be checked, as SARIF says a tool could not do its job on something."""
    notification: dict[str, Any] = {"level": "error", "message": {"text": f"{error.path}: {error.reason}"}}
    location_uri, relative = uri(error.path, cwd)
    artifact: dict[str, Any] = {"uri": location_uri}
    if relative:
        artifact["uriBaseId"] = "%SRCROOT%"
    notification["locations"] = [{"physicalLocation": {"artifactLocation": artifact}}]
    return notification


def render(run: Run) -> str:
    from kerascheck import rules  # SARIF lists every rule: the registry is read only here

    findings = run.findings
    cwd = os.getcwd()
    files = SourceFiles(run.sources)
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
                        **({"informationUri": HOMEPAGE} if HOMEPAGE else {}),
                        "rules": [rule_descriptor(rule) for rule in rules.all_rules()],
                    }
                },
                "invocations": [
                    {
                        "executionSuccessful": not run.errors,
                        "toolExecutionNotifications": [_notification(e, cwd) for e in run.errors],
                    }
                ],
                "originalUriBaseIds": {"%SRCROOT%": {"uri": root if root.endswith("/") else root + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"
