"""The analysis and its fix checks waste no work: counted (objects left to the collector,
threads started, statements run again, checks made), never timed."""

from __future__ import annotations

import ast
import gc
import sys
from collections import Counter
from collections.abc import Callable

import libcst as cst
import pytest

from kerascheck import deep, fix, pipeline
from kerascheck.check import Analysis, analyse, check_source, collector_off
from kerascheck.graph.builder import Builder
from kerascheck.graph.model import Graph
from tests.conftest import FIXTURES


def _left_to_the_collector(work: Callable[[], None]) -> list[object]:
    """What the cyclic collector finds unreachable after ``work``, run with it off. The objects
    made before are frozen (``gc.freeze``): the collection walks only what ``work`` left, not
    the whole test process."""
    gc.freeze()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        with collector_off():
            work()
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.unfreeze()


# Fixtures whose findings have fixes offered, and one whose fix is refused (the checks halve it).
OFFERING = ["form_functional.py", "form_sequential_list.py", "ker101_redundant_time_distributed.py"]


@pytest.mark.parametrize("name", OFFERING)
def test_a_dropped_analysis_and_its_offers_leave_the_tree_to_reference_counting(name: str) -> None:
    """No cycle holds the libcst module, its statements, the graph or the builder: dropped inside
    ``collector_off``, they are freed at once, and the collector never walks the tree (a builder
    and its journal, or a fix search that calls itself, each kept it all until it did)."""
    source = pipeline.read(FIXTURES / name)

    def work() -> None:
        analysis = pipeline.analysis(source)
        assert analysis is not None and analysis.results
        assert fix.offers(analysis, source.path)  # the fixture has fixes to check

    garbage = _left_to_the_collector(work)
    kinds = Counter(type(o).__name__ for o in garbage)
    held = [o for o in garbage if isinstance(o, (cst.Module, cst.BaseStatement, Analysis, Graph, Builder))]
    assert not held, kinds.most_common(10)


def _thread_starts(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Each start of the deep thread from now on."""
    starts: list[int] = []
    original = deep._start_deep

    def counted(body: Callable[[], None]) -> bool:
        starts.append(1)
        return original(body)

    monkeypatch.setattr(deep, "_start_deep", counted)
    return starts


@pytest.mark.parametrize("name", OFFERING)
def test_shallow_code_is_checked_and_fixed_without_a_thread(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """A file nested as real code is (23 levels at most in the corpus) is analysed, its offers
    checked and its fixes applied on the caller's thread: no thread is started for it."""
    source = pipeline.read(FIXTURES / name)
    starts = _thread_starts(monkeypatch)
    analysis = pipeline.analysis(source)
    assert analysis is not None and analysis.depth is not None and deep.fits_here(analysis.depth)
    assert fix.offers(analysis, source.path)
    fixed, count = fix.fix_text(source.program, source.path, unsafe=True)
    assert count and fixed != source.program
    assert check_source(source.program, source.path, tree=ast.parse(source.program))  # as flake8 calls it
    assert starts == []


@pytest.mark.parametrize("limit", [None, 1_000_000])
def test_code_deeper_than_fits_here_goes_to_the_deep_thread(monkeypatch: pytest.MonkeyPatch, limit: int | None) -> None:
    """Also when the recursion limit has been raised: it does not measure the C stack."""
    text = HEAD + "x = layers.Dense(" + "f(" * 150 + "1" + ")" * 150 + ")\n" + MODEL
    starts = _thread_starts(monkeypatch)
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(limit or before)
    try:
        assert not deep.fits_here(deep.nesting(ast.parse(text)))
        assert [f.code for f in check_source(text, "deep.py")] == ["KER103"]
    finally:
        sys.setrecursionlimit(before)
    assert starts == [1]


HEAD = "import keras\nfrom keras import layers\nfrom keras.layers import TimeDistributed\n"
MODEL = "m = keras.Sequential([keras.Input(shape=(9, 2)), layers.LSTM(4), layers.LSTM(4)])\n"  # KER103, a fix


def _indented(heads: Callable[[int], str], n: int, tail: str = "") -> str:
    """``n`` nested block heads, a model in the innermost block, then ``tail``."""
    body = "".join("    " * k + heads(k) + "\n" for k in range(n))
    return HEAD + body + "".join("    " * n + line for line in MODEL.splitlines(True)) + tail


# Each shape of nesting n levels, with a fixable finding inside or after it. (Not loops: nested
# loops cost passes that multiply with each level, and 65 levels would not end.)
SHAPES: dict[str, Callable[[int], str]] = {
    "calls": lambda n: HEAD + "x = layers.Dense(" + "f(" * n + "1" + ")" * n + ")\n" + MODEL,
    "operators": lambda n: HEAD + "u = " + " + ".join(["1"] * n) + "\nx = layers.Dense(u)\n" + MODEL,
    "and": lambda n: HEAD + "u = " + " and ".join(["a"] * n) + "\n" + MODEL,
    "comparisons": lambda n: HEAD + "u = " + " < ".join(["a"] * n) + "\n" + MODEL,
    "unary": lambda n: HEAD + "u = " + "-" * n + "1\nx = layers.Dense(u)\n" + MODEL,
    "attributes": lambda n: HEAD + "u = x" + ".a" * n + "\n" + MODEL,
    "subscripts": lambda n: HEAD + "u = x" + "[0]" * n + "\n" + MODEL,
    "lists": lambda n: HEAD + "u = " + "[" * n + "]" * n + "\n" + MODEL,
    "dicts": lambda n: HEAD + "u = " + '{"a": ' * n + "1" + "}" * n + "\n" + MODEL,
    "conditionals": lambda n: HEAD + "u = " + "1 if c else " * n + "2\nx = layers.Dense(u)\n" + MODEL,
    "lambdas": lambda n: HEAD + "u = " + "lambda: " * n + "1\n" + MODEL,
    "wrappers": lambda n: (
        HEAD
        + "t = "
        + "TimeDistributed(" * n
        + "layers.Dense(2)"
        + ")" * n
        + "(layers.GRU(3, return_sequences=True)(keras.Input(shape=(9, 2))))\n"
        + MODEL
    ),
    "applications": lambda n: (
        HEAD
        + "x = keras.Input(shape=(9, 2))\nx = "
        + "layers.LSTM(4, return_sequences=True)(" * n
        + "x"
        + ")" * n
        + "\ny = layers.LSTM(2)(layers.LSTM(2)(x))\n"
    ),
    "ifs": lambda n: _indented(lambda k: f"if c{k}:", n),
    "functions": lambda n: _indented(lambda k: f"def f{k}():", n),
    "with": lambda n: _indented(lambda k: f"with c{k}:", n),
    "try": lambda n: _indented(
        lambda k: "try:",
        n,
        "".join("    " * k + "except E:\n" + "    " * (k + 1) + "pass\n" for k in reversed(range(n))),
    ),
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_deepest_code_that_fits_here_is_checked_and_fixed_here(monkeypatch: pytest.MonkeyPatch, shape: str) -> None:
    """``deep.FRAMES_PER_LEVEL`` holds: each shape of nesting, as deep as the caller's thread is
    said to fit, is analysed, offered fixes and fixed there to the end (a RecursionError would
    have sent it to the deep thread)."""
    make = SHAPES[shape]
    n = 1
    # Two levels to spare: the calls below measure a few frames deeper than this test does, and
    # the fixed text nests a level more. Blocks and brackets stop at 100.
    while n < 90 and deep.fits_here(deep.nesting(ast.parse(make(n + 1))) + 2):
        n += 1
    text = make(n)
    assert n > 20 and not deep.fits_here(deep.nesting(ast.parse(make(n + 1))) + 3)
    starts = _thread_starts(monkeypatch)
    analysis = analyse(text, "shape.py")
    assert analysis is not None and analysis.findings
    fix.offers(analysis, "shape.py")
    fix.fix_text(text, "shape.py", unsafe=True)
    assert starts == []
