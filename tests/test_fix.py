"""Fixes: expected text for every place an edit lands, safe/unsafe, --diff, idempotence, and
writing that is atomic and leaves untouched files alone."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from kerascheck.findings import SourceError
from kerascheck.writeback import write_fixed
from tests.conftest import FIXTURES, run_cli

PAIRS = sorted((FIXTURES / "fixes").glob("*.py"))


@pytest.mark.parametrize("source", PAIRS, ids=[p.name for p in PAIRS])
def test_fix_gives_the_expected_text(tmp_path: Path, source: Path) -> None:
    target = tmp_path / source.name
    shutil.copy(source, target)
    result = run_cli("check", "--fix", "--unsafe-fixes", str(target))
    assert "Traceback" not in result.stderr
    assert target.read_text() == source.with_suffix(".py.fixed").read_text()
    # A second run finds nothing more to fix and leaves the file alone.
    before = target.stat().st_mtime_ns
    again = run_cli("check", "--fix", "--unsafe-fixes", "--format", "json", str(target))
    assert target.stat().st_mtime_ns == before
    assert all(f["fix"] is None for f in json.loads(again.stdout))


def test_safe_fixes_only_without_unsafe_fixes(tmp_path: Path) -> None:
    target = tmp_path / "training.py"
    shutil.copy(FIXTURES / "fixes" / "training.py", target)
    before = target.read_text()
    result = run_cli("check", "--fix", str(target))
    assert target.read_text() == before  # KER104/KER105 fixes are unsafe
    assert "Fixed 0 findings." in result.stdout
    assert "2 more fixable with --fix --unsafe-fixes." in result.stdout


def test_fix_applicability_in_json_and_text() -> None:
    path = FIXTURES / "fixes" / "training.py"
    findings = json.loads(run_cli("check", "--format", "json", str(path)).stdout)
    assert [(f["code"], f["fix"] and f["fix"]["applicability"]) for f in findings] == [
        ("KER104", "unsafe"),
        ("KER105", "unsafe"),
        ("KER104", None),  # its fix would make a KER105 appear on the next fit
    ]
    text = run_cli("check", "--unsafe-fixes", str(path)).stdout
    assert text.count("[*]") == 3 and "[*] 2 fixable with --fix --unsafe-fixes." in text
    safe = json.loads(run_cli("check", "--format", "json", str(FIXTURES / "fixes" / "sequential_list.py")).stdout)
    assert [f["fix"] and f["fix"]["applicability"] for f in safe] == ["safe"] * 5 + [None]
    assert safe[0]["fix"]["message"] == "Set return_sequences=True on LSTM(32) on line 7"


def test_diff_prints_and_writes_nothing(tmp_path: Path) -> None:
    target = tmp_path / "sequential_list.py"
    shutil.copy(FIXTURES / "fixes" / "sequential_list.py", target)
    before = target.stat().st_mtime_ns
    result = run_cli("check", "--diff", str(target))
    assert result.returncode == 1
    assert target.stat().st_mtime_ns == before
    assert result.stdout.startswith(f"--- {target}\n+++ {target}\n")
    assert "+    layers.LSTM(32, return_sequences=True),\n" in result.stdout
    clean = tmp_path / "clean.py"
    clean.write_text("import keras\nm = keras.Sequential([keras.layers.LSTM(3)])\n")
    assert run_cli("check", "--diff", str(clean)).returncode == 0


def test_write_is_atomic_and_keeps_mode_and_bom(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_bytes(b"\xef\xbb\xbfx = 1\r\n")
    os.chmod(target, 0o640)
    inode = target.stat().st_ino
    assert write_fixed(target, "x = 2\r\n")
    assert target.read_bytes() == b"\xef\xbb\xbfx = 2\r\n"
    assert target.stat().st_mode & 0o777 == 0o640
    assert target.stat().st_ino != inode  # replaced in one step, not rewritten in place
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]  # no temporary file left
    mtime = target.stat().st_mtime_ns
    assert not write_fixed(target, "x = 2\r\n")  # nothing changes: not written
    assert target.stat().st_mtime_ns == mtime


def test_text_that_does_not_parse_is_never_written(tmp_path: Path) -> None:
    target = tmp_path / "m.py"
    target.write_text("x = 1\n")
    with pytest.raises(SourceError):
        write_fixed(target, "x = (\n")
    assert target.read_text() == "x = 1\n"


def test_fixing_every_fixture_leaves_nothing_fixable(tmp_path: Path) -> None:
    copy = tmp_path / "fixtures"
    shutil.copytree(FIXTURES, copy)
    untouched = copy / "seed_question_dense.py"  # no finding there
    mtime = untouched.stat().st_mtime_ns
    first = run_cli("check", "--fix", "--unsafe-fixes", "--exit-zero", str(copy))
    assert first.returncode == 0, first.stderr
    after = json.loads(run_cli("check", "--unsafe-fixes", "--format", "json", "--exit-zero", str(copy)).stdout)
    assert [f for f in after if f["fix"] is not None] == []
    for path in copy.rglob("*.py"):
        compile(path.read_text(encoding="utf-8"), str(path), "exec")
    assert untouched.stat().st_mtime_ns == mtime


FIXABLE = sorted(FIXTURES.glob("*.py")) + sorted((FIXTURES / "fixes").glob("*.py"))


@pytest.mark.parametrize("path", FIXABLE, ids=lambda p: p.name)
def test_printing_only_the_touched_statements_gives_the_whole_code(path: Path) -> None:
    """Every fix, alone and all together: the statements it leaves alone keep their original
    text, and the result is exactly what libcst prints for the whole edited module."""
    from kerascheck import rules
    from kerascheck.check import Options, analyse
    from kerascheck.fix import Layout, fixed_code

    analysis = analyse(path.read_text(encoding="utf-8"), str(path), Options(noqa=False))
    if analysis is None:
        return
    layout = Layout.of(analysis)
    if layout is None:
        assert path.name == "indentation_tabs.py"  # libcst refuses it: no tree to edit, no fix
        return
    edits = [
        e for _, r in analysis.results if (rule := rules.get(r.code)) and (e := rule.fix(r)) and layout.feasible(e)
    ]
    printed: dict[int, tuple[object, str]] = {}
    assert _whole_code(layout.module, printed) == layout.module.code
    for group in [[e] for e in edits] + [edits]:
        edited, code = fixed_code(layout, group)
        assert code == _whole_code(edited, printed)


def _whole_code(module: Any, printed: dict[int, tuple[object, str]]) -> str:
    """``module.code``, as libcst makes it (its header, each top-level statement and its footer,
    printed in turn), with each statement printed once for all the edited modules of a fixture:
    a statement no edit touches is the analysed module's own, an edited one is shared by the
    groups that make the same edits. (Printing every edited module whole was most of this
    file's time.)"""
    if not module.has_trailing_newline:  # libcst drops the last newline token: not redone here
        return str(module.code)

    def text(node: Any) -> str:
        kept = printed.get(id(node))
        if kept is None or kept[0] is not node:
            kept = printed[id(node)] = (node, module.code_for_node(node))
        return kept[1]

    parts = [
        *map(module.code_for_node, module.header),
        *map(text, module.body),
        *map(module.code_for_node, module.footer),
    ]
    return "".join(parts) or module.default_newline


def test_one_fix_that_would_add_a_finding_does_not_hide_the_others() -> None:
    """24 stacked-LSTM fixes and one whose fix would make a KER101: the group fails, halving
    finds the one to blame, and all 24 others are offered, however many there are."""
    from kerascheck.check import analyse
    from kerascheck.fix import MAX_CHECKS, offers

    lines = [f"m{i} = keras.Sequential([keras.Input(shape=(9, 2)), layers.LSTM(4), layers.LSTM(4)])" for i in range(24)]
    lines.insert(12, "y = layers.TimeDistributed(layers.Dense(1))(layers.LSTM(8)(keras.Input(shape=(9, 2))))")
    text = "\n".join(["import keras", "from keras import layers", *lines, ""])
    analysis = analyse(text, "many.py")
    assert analysis is not None
    assert sorted(f.code for f in analysis.findings) == ["KER102"] + ["KER103"] * 24
    offered = offers(analysis, "many.py")
    assert sorted(o.finding.code for o in offered) == ["KER103"] * 24
    assert MAX_CHECKS // 2 < 24  # more fixes than one-by-one checks could have reached


def test_a_flag_given_through_a_dict_is_not_edited_in_the_call() -> None:
    """``LSTM(8, **config)`` holds its return_sequences in ``config``: writing the flag into the
    call would make Python refuse it (a keyword given twice), so only the unwraps are offered."""
    from kerascheck.check import analyse
    from kerascheck.edits import Unwrap
    from kerascheck.fix import offers

    path = FIXTURES / "form_dict_config.py"
    analysis = analyse(path.read_text(encoding="utf-8"), str(path))
    assert analysis is not None
    assert sorted(f.code for f in analysis.findings) == ["KER101"] * 3 + ["KER102"] * 2
    offered = offers(analysis, str(path))
    assert sorted(o.finding.code for o in offered) == ["KER101"] * 3
    assert all(isinstance(o.edit, Unwrap) for o in offered)
