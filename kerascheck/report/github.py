"""GitHub Actions workflow commands: one ``::warning`` line a finding, which the runner turns into
an annotation on the file and line in the run and the pull request.

    ::warning file=model.py,line=8,col=5,endLine=8,endColumn=45,title=KER101::TimeDistributed(Dense(15)) ...

Paths are relative to the working folder (the repository root in a workflow). Values are escaped as
the runner unescapes them: ``%``, CR and LF everywhere, and ``:`` and ``,`` in properties. A notebook
finding points into the .ipynb file itself (the JSON line that holds the code) and says its cell and
line in the message.
"""

from __future__ import annotations

import os

from kerascheck.findings import Finding
from kerascheck.report.locations import SourceFiles, cell_prefix, relative_path


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: list[Finding]) -> str:
    cwd = os.getcwd()
    files = SourceFiles()
    lines = []
    for finding in findings:
        path = relative_path(finding.path, cwd) or os.path.abspath(finding.path)
        line, column, end_line, end_column = files.region(finding)
        properties = {
            "file": path,
            "line": line,
            "col": column,
            "endLine": end_line,
            "endColumn": end_column,
            "title": finding.code,
        }
        joined = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties.items())
        lines.append(f"::warning {joined}::{escape_data(cell_prefix(finding) + finding.message)}\n")
    return "".join(lines)
