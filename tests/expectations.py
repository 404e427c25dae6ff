"""Write a fixture's expectations snapshot: ``python -m tests.expectations fixtures/foo.py ...``.

It writes ``fixtures/foo.txt`` from what kerascheck reports now (``LINE:COLUMN CODE message``, one
finding a line). A snapshot is a claim: read it, and check it against the fixture's
``# expect:`` comments (the fixture tests do too), before you commit it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from kerascheck import check_source
from tests.conftest import render_snapshot, snapshot_path


def main(paths: list[str]) -> int:
    for name in paths:
        path = Path(name)
        findings = check_source(path.read_text(encoding="utf-8"), str(path))
        snapshot_path(path).write_text(
            render_snapshot([(f.line, f.column, f.code, f.message) for f in findings]), encoding="utf-8"
        )
        print(f"{snapshot_path(path)}: {len(findings)} finding{'s' if len(findings) != 1 else ''}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
