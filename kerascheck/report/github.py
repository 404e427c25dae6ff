"""GitHub Actions workflow commands: one ``::warning`` line a finding, which the runner turns into
an annotation on the file and line in the run and the pull request.

    ::warning file=model.py,line=8,col=5,endLine=8,endColumn=45,title=KER101::TimeDistributed(Dense(15)) ...

Paths are relative to the working folder (the repository root in a workflow). Values are escaped as
the runner unescapes them: ``%``, CR and LF everywhere, and ``:`` and ``,`` in properties. A notebook
finding points into the .ipynb file itself (the JSON line that holds the code) and says its cell and
line in the message. A file that could not be checked gets an ``::error file=...`` line.
"""

from __future__ import annotations

import os

from kerascheck.report.locations import SourceFiles, cell_prefix, relative_path
from kerascheck.report.run import Run


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _path(path: str, cwd: str) -> str:
    return relative_path(path, cwd) or os.path.abspath(path)


def render(run: Run) -> str:
    cwd = os.getcwd()
    files = SourceFiles(run.sources)
    lines = []
    for error in run.errors:  # a file that could not be checked: an error annotation on it
        where = "" if error.path == "-" else f" file={escape_property(_path(error.path, cwd))}"
        lines.append(f"::error{where},title=kerascheck::{escape_data('could not be checked: ' + error.reason)}\n")
    for finding in run.findings:
        path = _path(finding.path, cwd)
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
