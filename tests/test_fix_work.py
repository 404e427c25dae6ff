"""Fix offers do work in proportion to what they touch: counted (comparisons, checks, nodes
walked), never timed."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import libcst as cst
import pytest

from kerascheck import fix, rules
from kerascheck.check import analyse, check_source
from kerascheck.edits import SetReturnSequences, Unwrap
from kerascheck.findings import Finding, Fix
from kerascheck.rules.base import Report
from tests.conftest import FIXTURES

HEAD = ["import keras", "from keras import layers", "from keras.layers import TimeDistributed"]
STACKED = "m{i} = keras.Sequential([keras.Input(shape=(9, 2)), layers.LSTM(4), layers.LSTM(4)])"  # KER103, safe
WRAPPED = "t{i} = TimeDistributed(layers.Dense(2))(layers.GRU(3, return_sequences=True)(keras.Input(shape=(9, 2))))"


def _program(lines: list[str]) -> str:
    return "\n".join([*HEAD, *lines, ""])


def _counting(monkeypatch: pytest.MonkeyPatch, counts: Counter[str], owner: object, name: str) -> None:
    """Count the calls of ``owner.name`` in ``counts``, under the owner's name."""
    original: Callable[..., object] = getattr(owner, name)

    def counted(*args: object, **kwargs: object) -> object:
        counts[f"{getattr(owner, '__name__', owner)}.{name}"] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)


def test_offers_for_hundreds_of_findings_compare_none_of_them(monkeypatch: pytest.MonkeyPatch) -> None:
    """200 fixable findings in one file (100 safe, 100 unsafe), more than MAX_CHECKS: offers tell
    them apart by identity, so no finding, fix, report, edit or offer is compared with another
    (list membership made it quadratic: millions of comparisons for thousands of findings; any
    comparison at all fails here, at any size), and two checks decide them all."""
    pairs = 100
    assert pairs > fix.MAX_CHECKS  # one check per fix could not reach them all
    lines = [line.format(i=i) for i in range(pairs) for line in (STACKED, WRAPPED)]
    analysis = analyse(_program(lines), "many.py")
    assert analysis is not None
    assert Counter(f.code for f in analysis.findings) == {"KER103": pairs, "KER101": pairs}
    counts: Counter[str] = Counter()
    for cls in (Finding, Fix, Report, SetReturnSequences, Unwrap, fix.Offer):
        _counting(monkeypatch, counts, cls, "__eq__")
    checks: Counter[str] = Counter()
    _counting(monkeypatch, checks, fix, "_fixed_counts")
    offered = fix.offers(analysis, "many.py")
    assert Counter((o.finding.code, o.fix.applicability) for o in offered) == {
        ("KER103", "safe"): pairs,
        ("KER101", "unsafe"): pairs,
    }
    assert sum(counts.values()) == 0, counts
    assert checks["kerascheck.fix._fixed_counts"] == 2  # the safe fixes together, then the unsafe ones


def _walked(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Nodes fix.py's walks give, by the node's type."""
    seen: Counter[str] = Counter()
    original = fix.walk

    def counted(root: cst.CSTNode, *args: object, **kwargs: object) -> Iterator[cst.CSTNode]:
        for node in original(root, *args, **kwargs):  # type: ignore[arg-type]
            seen[type(node).__name__] += 1
            yield node

    monkeypatch.setattr(fix, "walk", counted)
    return seen


@pytest.mark.parametrize("used_elsewhere", [False, True])
def test_an_unused_import_is_told_by_walking_only_the_edited_statement(
    monkeypatch: pytest.MonkeyPatch, used_elsewhere: bool
) -> None:
    """Whether an unwrap leaves ``TimeDistributed`` unused is decided from the module's names,
    counted once for the layout: checking the fix walks the edited statement, not the
    100 others, and the import goes only when no other code names it."""
    others = [f"x{i} = keras.ops.ones((2, {i} + 1))" for i in range(100)]
    if used_elsewhere:
        others[80] = "wrapper = TimeDistributed"
    analysis = analyse(_program([WRAPPED.format(i=0), *others]), "one.py")
    assert analysis is not None
    assert [f.code for f in analysis.findings] == ["KER101"]
    layout = fix.Layout.of(analysis)
    assert layout is not None
    assert layout.names["TimeDistributed"]  # counted once, when first needed (before counting here)
    nodes = sum(1 for _ in fix.walk(analysis.module))
    walked = _walked(monkeypatch)
    offered = fix.offers(analysis, "one.py", layout)
    assert [o.finding.code for o in offered] == ["KER101"]
    assert sum(walked.values()) < 200 < nodes // 8, walked  # walking an eighth of the module fails
    fixed, count = fix.fix_text(analysis.text, "one.py", unsafe=True)
    assert count == 1
    assert ("from keras.layers import TimeDistributed\n" in fixed) is used_elsewhere


@pytest.mark.parametrize(
    "name", ["ker101_redundant_time_distributed.py", "ker103_missing_return_sequences.py", "ker109_non_boolean_flag.py"]
)
def test_a_fix_check_parses_only_the_statements_printed_anew(name: str) -> None:
    """The tree a fix check analyses is the analysed one with the edited statements parsed
    again: the very tree CPython makes of the whole fixed text (positions aside)."""
    import ast

    from kerascheck import rules
    from tests.conftest import FIXTURES

    text = (FIXTURES / name).read_text(encoding="utf-8")
    analysis = analyse(text, name)
    assert analysis is not None
    layout = fix.Layout.of(analysis)
    assert layout is not None
    edits = [
        e for _, r in analysis.results if (rule := rules.get(r.code)) and (e := rule.fix(r)) and layout.feasible(e)
    ]
    assert edits
    for group in [[e] for e in edits] + [edits]:
        edited, code, new = fix._fixed(layout, group)
        assert new is not None and 0 < len(new) < len(edited.body)
        assert ast.dump(layout.spliced(edited, new, name)) == ast.dump(ast.parse(code))


CELL = [  # a notebook cell: a KER103 (safe fix) and a KER101 (unsafe fix), its names its own
    "inputs_{i} = keras.Input(shape=(30, 8))",
    "encoded_{i} = layers.LSTM(32)(inputs_{i})",
    "decoded_{i} = layers.LSTM(16)(encoded_{i})",
    "tagged_{i} = TimeDistributed(layers.Dense(8))(layers.GRU(16, return_sequences=True)(inputs_{i}))",
]
# A KER102 whose fix (return_sequences=True on decoded's LSTM(16)) would make a KER101 here.
REFUSED = ["flat_{i} = layers.Dense(4)(decoded_{i})", "flat_{i} = layers.TimeDistributed(layers.Dense(2))(flat_{i})"]


@pytest.mark.parametrize("cells", [40, 400])
def test_the_fix_to_blame_is_found_in_a_few_whole_checks(monkeypatch: pytest.MonkeyPatch, cells: int) -> None:
    """One fix among hundreds adds a finding three statements below it: the failed check's new
    finding leads to the fixes in the statements it is reached from, so the others pass in one
    more check and the blame takes a few checks, however many fixes there are (halving took
    about 2 log2(n) in each of the two rounds: 30 for 300 fixes)."""
    refused = cells // 2
    lines = [line.format(i=i) for i in range(cells) for line in CELL + (REFUSED if i == refused else [])]
    analysis = analyse(_program(lines), "cells.py")
    assert analysis is not None
    assert Counter(f.code for f in analysis.findings) == {"KER103": cells, "KER101": cells, "KER102": 1}
    checks: Counter[str] = Counter()
    _counting(monkeypatch, checks, fix, "_fixed_counts")
    layout = fix.Layout.of(analysis)
    assert layout is not None
    offered = fix.offers(analysis, "cells.py", layout)
    assert Counter((o.finding.code, o.fix.applicability) for o in offered) == {
        ("KER103", "safe"): cells,
        ("KER101", "unsafe"): cells,
    }
    # Safe round: all, fail; all but the two the new KER101 is reached from (decoded's and
    # encoded's LSTM), pass; encoded's, pass. Unsafe round: all, fail; all but decoded's, pass.
    assert checks["kerascheck.fix._fixed_counts"] == 5
    # The first check builds the whole graph; each later one copies what the statements it
    # shares with an earlier check did, and runs the others and those reading what they wrote:
    # the second and third, the statements of the fixes left out and their readers (a few); the
    # fourth, those of the unsafe fixes (the unwrapped TimeDistributed, one line a cell); the
    # fifth, decoded's LSTM and the lines reading it. Whole builds ran 5 times every statement.
    statements = len(analysis.tree.body)
    assert layout.builds.counts["whole"] == 1
    assert layout.builds.counts["run"] + layout.builds.counts["copied"] == 5 * statements
    assert statements + cells < layout.builds.counts["run"] < statements + cells + 20


class _Scanned(list[tuple[fix.Bucket, Report]]):
    """A list that counts the times it is read through."""

    scans = 0

    def __iter__(self) -> Iterator[tuple[fix.Bucket, Report]]:
        self.scans += 1
        return super().__iter__()


def test_where_excess_findings_are_reached_from_reads_the_reports_once() -> None:
    """A failed check with an excess in hundreds of buckets (one top-level statement each) sorts
    the reports into their buckets once: scanning them all for each bucket made the work
    quadratic in the buckets. Each bucket is still reached from its own statement."""
    count = 300
    analysis = analyse(_program([STACKED.format(i=i) for i in range(count)]), "buckets.py")
    assert analysis is not None
    places = fix.Places(analysis.tree.body)
    reports = _Scanned((places.bucket(report), report) for report in analysis.all_reports)
    assert len({bucket for bucket, _ in reports}) == count
    reports.scans = 0
    reach = fix._reach(reports, places)
    assert reports.scans == 1
    assert reach == {("KER103", i): frozenset({i}) for i in range(count)}


@pytest.mark.parametrize("name", ["spelling_keras_attribute.py", "form_functional_named.py", "layers_bidirectional.py"])
def test_the_fixes_offered_pass_together(name: str) -> None:
    """Fixes that interact (one adds a finding another takes away, of the same code): the safe
    fixes offered applied together add no finding, nor all the fixes offered; a fix passes its
    check with every fix passed before it applied too."""
    path = FIXTURES / name
    text = path.read_text(encoding="utf-8")
    analysis = analyse(text, str(path))
    assert analysis is not None
    before = Counter(f.code for f in analysis.all_findings)
    offered = fix.offers(analysis, str(path))
    layout = fix.Layout.of(analysis)
    assert layout is not None
    safe = [o for o in offered if o.fix.applicability == "safe"]
    for group in (safe, offered):
        fixed = fix.fixed_code(layout, [o.edit for o in group])[1]
        after = Counter(f.code for f in check_source(fixed, str(path)))
        assert not after - (before - Counter(o.finding.code for o in group)), (name, len(group))


def test_a_new_finding_never_hides_behind_one_that_vanished_elsewhere() -> None:
    """return_sequences=False on the LSTM takes away the KER106 it is offered for, and moves the
    rank-3 tensor one RepeatVector down: the KER107 on ``c`` vanishes and one on ``b`` appears.
    Counted by code the fix adds nothing; counted by code and statement it adds a finding, and
    is refused."""
    text = _program(
        [
            "x = keras.Input(shape=(9, 2))",
            "h = layers.LSTM(4, return_sequences=True)(x)",
            "a = layers.RepeatVector(3)(h)",  # KER106: the fix is return_sequences=False above
            "b = layers.RepeatVector(3)(a)",  # after the fix, a is rank 3: KER107
            "c = layers.RepeatVector(3)(b)",  # KER107: b is rank 3 (after the fix, not known)
        ]
    )
    analysis = analyse(text, "moved.py")
    assert analysis is not None
    assert [(f.code, f.line) for f in analysis.findings] == [("KER106", 6), ("KER107", 8)]
    layout = fix.Layout.of(analysis)
    assert layout is not None
    report = analysis.results[0][1]
    rule = rules.get("KER106")
    assert rule is not None
    edit = rule.fix(report)
    assert edit is not None and layout.feasible(edit)
    fixed = fix.fixed_code(layout, [edit])[1]
    assert [(f.code, f.line) for f in check_source(fixed, "moved.py")] == [("KER107", 7)]  # the one moved
    assert fix.offers(analysis, "moved.py") == []
    assert fix.fix_text(text, "moved.py", unsafe=True) == (text, 0)


@pytest.mark.parametrize(
    ("lines", "analysed", "left"),
    [
        ([STACKED.format(i=0)], 2, 0),  # the text, then the fixed text: its findings are the report's
        ([STACKED.format(i=0), WRAPPED.format(i=1)], 2, 1),  # the unsafe fix is left: the same
        ([WRAPPED.format(i=0)], 1, 1),  # nothing --fix applies: the text's findings are the report's
    ],
    ids=["fixed", "one of two fixed", "nothing to apply"],
)
def test_fix_analyses_each_text_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, lines: list[str], analysed: int, left: int
) -> None:
    """``--fix`` reports the findings of the text its last pass analysed: neither the fixed text
    nor a text with nothing to apply is analysed again for the report."""
    from kerascheck import check
    from tests.conftest import run_cli

    path = tmp_path / "model.py"
    path.write_text(_program(lines), encoding="utf-8")
    texts: Counter[str] = Counter()
    original = check._analyse_tree

    def counted(tree: object, text: str, *args: object) -> object:
        texts[text] += 1
        return original(tree, text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(check, "_analyse_tree", counted)
    result = run_cli("check", "--fix", "--format", "json", str(path))
    assert result.returncode == (1 if left else 0), result.stderr
    assert len(json.loads(result.stdout)) == left
    assert sum(texts.values()) == analysed and set(texts.values()) == {1}, texts
