"""Fuzzing (issue 16): generated Keras programs in every model form and layout, and hypothesmith
programs, through check, fix (safe, then unsafe), a second fix, and flake8.

Properties, not expectations: no crash and no internal error; a fixed text parses, changes no
line but those of the calls a fix edits and the imports it removes, and a second fix changes
nothing; the CLI and flake8 report the same findings at the same places.

Fixed seeds and a few seconds by default; ``KERASCHECK_FUZZ=N`` runs N programs (the long run),
``KERASCHECK_FUZZ_SEED`` picks another seed.
"""

from __future__ import annotations

import ast
import difflib
import os
import random
import re
import time
from pathlib import Path
from typing import Any

import pytest

from kerascheck.check import check_source
from kerascheck.discovery import Target
from kerascheck.findings import SourceError
from kerascheck.fix import fix_text
from kerascheck.runner import check_files
from kerascheck.sources import decode, split_lines
from tests import fuzz
from tests.conftest import flake8_findings

PROGRAMS = int(os.environ.get("KERASCHECK_FUZZ", "12"))
SEED = int(os.environ.get("KERASCHECK_FUZZ_SEED", "20261201"))
EDITED = re.compile(r"(?:LSTM|GRU|SimpleRNN|RNN|Bidirectional|TimeDistributed)\s*\($")


def _edit_lines(text: str) -> set[int]:
    """Lines a fix may change: those of RNN, Bidirectional and TimeDistributed calls, and of
    `from` imports (an unwrap removes the import it left unused)."""
    allowed: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if EDITED.search(name + "("):
                allowed.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
        elif isinstance(node, ast.ImportFrom):
            allowed.update(range(node.lineno, (node.end_lineno or node.lineno) + 1))
    return allowed


def _changed_lines(before: str, after: str) -> set[int]:
    """Lines of ``before`` (1-based) that ``after`` replaces or deletes, or inserts next to."""
    old, new = split_lines(before, keepends=True), split_lines(after, keepends=True)
    changed: set[int] = set()
    for tag, i1, i2, _, _ in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        if tag != "equal":
            changed.update(range(i1 + 1, i2 + 1) if i2 > i1 else {i1, i1 + 1})
    return changed


def _no_internal_error(error: SourceError) -> None:
    assert "internal error" not in error.reason, error.reason
    assert "\n" not in error.reason and error.reason.strip()


def _fix_properties(text: str, name: str) -> int:
    """Fix safe, then unsafe, then again: every property holds; the number of fixes made."""
    try:
        check_source(text, name)
    except SourceError as error:
        _no_internal_error(error)
        return 0
    made = 0
    current = text
    for unsafe in (False, True):
        fixed, count = fix_text(current, name, unsafe=unsafe)
        if count == 0:
            assert fixed == current
            continue
        made += count
        ast.parse(fixed)  # a fixed text parses
        outside = _changed_lines(current, fixed) - _edit_lines(current)
        assert not outside, (name, sorted(outside))
        assert fix_text(fixed, name, unsafe=unsafe) == (fixed, 0), name  # settled
        current = fixed
    return made


def test_generated_programs(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    start = time.perf_counter()
    paths, fixes, refused = [], 0, 0
    for n in range(PROGRAMS):
        text, data = fuzz.layout(rng, fuzz.program(rng))
        path = tmp_path / f"p{n}.py"
        path.write_bytes(data)
        paths.append(path)
        assert decode(data, str(path))[0] == text
        try:
            ast.parse(text)
        except SyntaxError:
            refused += 1  # a layout Python itself refuses: only "no crash" applies
        fixes += _fix_properties(text, str(path))
    ours = {
        (Path(f.path).name, f.line, f.column, f.code)
        for r in check_files([Target(p, explicit=True) for p in paths], jobs=1)
        for f in r.findings
    }
    assert ours == flake8_findings(paths)
    seconds = time.perf_counter() - start
    print(f"fuzz: {PROGRAMS} programs (seed {SEED}), {refused} refused by Python, {fixes} fixes, {seconds:.1f} s")
    assert ours and fixes, "the generator no longer makes findings or fixes"


def test_mutated_generated_programs(tmp_path: Path) -> None:
    """Programs cut, spliced and re-indented at random lines: no crash, no internal error."""
    rng = random.Random(SEED + 1)
    for _ in range(max(PROGRAMS // 2, 6)):
        lines = split_lines(fuzz.program(rng), keepends=True)
        for _ in range(rng.randint(1, 3)):
            i = rng.randrange(len(lines))
            action = rng.randrange(4)
            if action == 0:
                del lines[i]
            elif action == 1:
                lines.insert(i, lines[rng.randrange(len(lines))])
            elif action == 2:
                lines[i] = lines[i][: rng.randrange(len(lines[i]) + 1)]
            else:
                lines[i] = "    " + lines[i]
            if not lines:
                break
        _fix_properties("".join(lines), "mutated.py")


def _python_programs() -> Any:
    """``hypothesmith.from_grammar()``'s strategy, the same programs drawn, without its LALR
    parser: the strategy reads only the grammar's rules and terminals, and building the parse
    tables it never uses is two thirds of the strategy's cost (about 2 s of CPU). Lark in
    lexer-only mode (``parser=None``) compiles the same grammar with no tables; should
    hypothesmith change its insides, its own ``from_grammar`` is used."""
    hypothesmith = pytest.importorskip("hypothesmith")
    try:
        from hypothesmith.syntactic import LARK_GRAMMAR, GrammarStrategy, PythonIndenter
        from lark import Lark
    except ImportError:
        return hypothesmith.from_grammar()
    start = "file_input"
    grammar = Lark(LARK_GRAMMAR, parser=None, lexer="basic", postlex=PythonIndenter(), start=start)
    return GrammarStrategy(grammar, start, auto_target=True)


def test_hypothesmith_programs() -> None:
    """Programs from Python's grammar, with a Keras header so the prefilter lets them through."""
    from hypothesis import HealthCheck, given, settings

    header = "import keras\nfrom keras.layers import LSTM, TimeDistributed\n"

    @settings(
        max_examples=max(PROGRAMS // 2, 10),
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(_python_programs())
    def run(source: str) -> None:
        text = header + source
        try:
            compile(text, "<fuzz>", "exec", flags=ast.PyCF_ONLY_AST)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return
        _fix_properties(text, "hypothesmith.py")

    run()
