"""Work done once: a notebook is parsed once when its cells are whole statements, and cell by
cell only when they are not (counted, never timed); IPython lines are all still found; the depth
measure, spelled out for speed, measures as it always did."""

from __future__ import annotations

import ast
import gc
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from kerascheck import check, cli, deep, notebooks, pipeline, sources
from kerascheck.discovery import Target
from kerascheck.findings import SourceError
from kerascheck.runner import check_files
from tests.conftest import FIXTURES, run_cli
from tests.test_notebooks import IMPORTS, MAGICS, MODEL, code, lines, nbformat_text, notebook


def _parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every ast.parse from now on, by the length of the text it parses."""
    seen: list[int] = []
    original: Callable[..., ast.Module] = ast.parse

    def counted(source: str, *args: object, **kwargs: object) -> ast.Module:
        seen.append(len(source))
        return original(source, *args, **kwargs)

    monkeypatch.setattr(ast, "parse", counted)
    return seen


def test_cells_of_whole_statements_are_parsed_once_together(monkeypatch: pytest.MonkeyPatch) -> None:
    cells = [code(lines(IMPORTS)), *(code(lines(MODEL)) for _ in range(20))]
    source = pipeline.from_text("nb.ipynb", nbformat_text(notebook(*cells)))  # read before counting
    parses = _parses(monkeypatch)
    findings = pipeline.check(pipeline.from_text("nb.ipynb", nbformat_text(notebook(*cells))))
    assert [f.cell for f in findings] == list(range(2, 22))
    assert parses == [len(source.program)]  # once, the whole program: not a cell more


def test_notebooks_read_before_any_is_analysed_are_each_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run reads every file before it analyses one: each notebook's tree, made when it was
    read, waits for its analysis, not only the last one read's; past ``KEPT_CHARS`` the oldest is
    let go and parsed again, its findings the same."""
    raws = [nbformat_text(notebook(code(lines(IMPORTS)), *(code(lines(MODEL)) for _ in range(n)))) for n in (3, 4, 5)]
    sources = [pipeline.from_text(f"nb{i}.ipynb", raw) for i, raw in enumerate(raws)]  # read, then analysed
    parses = _parses(monkeypatch)
    assert [len(pipeline.check(source)) for source in sources] == [3, 4, 5]
    assert parses == []  # each parsed once, when read
    monkeypatch.setattr(notebooks, "KEPT_CHARS", len(sources[1].program) + len(sources[2].program))
    sources = [pipeline.from_text(f"nb{i}.ipynb", raw) for i, raw in enumerate(raws)]
    del parses[:]
    assert [len(pipeline.check(source)) for source in sources] == [3, 4, 5]
    assert parses == [len(sources[0].program)]  # the oldest let go: parsed again, the others not


def test_a_check_without_fixes_or_a_cache_hashes_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file is stamped (its bytes hashed) only when --fix may write it or the cache is keyed
    by it: a notebook's outputs can be megabytes, and a plain check needs neither."""
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"m{i}.py")
        paths[-1].write_text(_FIXABLE, encoding="utf-8")
    stamped: list[int] = []
    original = sources.stamp_of

    def counted(data: bytes, info: os.stat_result) -> sources.Stamp:
        stamped.append(len(data))
        return original(data, info)

    monkeypatch.setattr(sources, "stamp_of", counted)
    checked = check_files([Target(p, explicit=False) for p in paths], jobs=1)
    assert [len(r.findings) for r in checked] == [1, 1, 1]
    assert stamped == []
    fixed = check_files([Target(p, explicit=False) for p in paths], jobs=1, fix="safe")
    assert [r.fixed for r in fixed] == [1, 1, 1]
    assert all(r.source is not None and r.source.stamp is not None for r in fixed)  # --fix writes over them
    assert stamped == [len(_FIXABLE)] * 3


def test_a_run_collects_young_objects_less_often(tmp_path: Path) -> None:
    """The CLI raises the young generation's threshold before it reads a file (the analyses run
    with the collector off; what else a run allocates, reference counting frees)."""

    saved = gc.get_threshold()
    try:
        gc.set_threshold(700, saved[1], saved[2])
        (tmp_path / "m.py").write_text(_FIXABLE, encoding="utf-8")
        assert run_cli("check", "--no-cache", str(tmp_path)).returncode == 1  # its finding
        assert gc.get_threshold() == (cli.GC_YOUNG, saved[1], saved[2])
    finally:
        gc.set_threshold(*saved)


def test_libcst_parses_without_validating_what_its_parser_makes(monkeypatch: pytest.MonkeyPatch) -> None:
    """libcst's parse of an analysed text skips the validation of every node its parser makes
    (a quarter of the parse): the tree is the one libcst's own parse gives, the validation is
    back after it, and a node made on another thread meanwhile is validated all the same."""
    import threading

    import libcst as cst
    from libcst._nodes.base import CSTNode

    validating = CSTNode.__dict__["__post_init__"]
    during: list[bool] = []
    parse = cst.parse_module

    def watched(text: str) -> cst.Module:
        during.append(CSTNode.__dict__["__post_init__"] is validating)
        other: list[BaseException] = []

        def make() -> None:
            try:
                with check._unvalidated():  # a parse on this thread meanwhile: validated as ever
                    cst.Name("")  # an empty name: invalid
            except cst.CSTValidationError as error:
                other.append(error)

        thread = threading.Thread(target=make)
        thread.start()
        thread.join(timeout=60)
        assert not thread.is_alive() and len(other) == 1  # validated on the other thread
        return parse(text)

    names = ["form_functional_named.py", "layers_bidirectional.py", "spelling_keras_attribute.py"]
    for name in names:
        text = (FIXTURES / name).read_text(encoding="utf-8")
        analysis = check.analyse(text, name)
        assert analysis is not None
        monkeypatch.setattr(cst, "parse_module", watched)
        module = analysis.module
        monkeypatch.setattr(cst, "parse_module", parse)
        assert module.code == text and module.deep_equals(parse(text))
    assert during == [False] * len(names)  # parsed without it, and it is back after each parse
    assert CSTNode.__dict__["__post_init__"] is validating
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


_FIXABLE = (
    "import keras\nm = keras.Sequential([keras.Input(shape=(9, 2)), keras.layers.LSTM(4), keras.layers.LSTM(4)])\n"
)


@pytest.mark.parametrize(
    ("first", "second"),
    [("x = (1,\n", "2)\n"), ("x = 1 + \\\n", "2\n"), ("if True:\n    x = 1\n", "else:\n    x = 2\n")],
    ids=["bracket", "backslash", "else"],
)
def test_a_statement_across_cells_is_still_each_cells_error(first: str, second: str) -> None:
    """The program of such cells parses, but a cell does not on its own: it is skipped with
    its error, as Jupyter runs cells, and the others are checked."""
    assert ast.parse(first + second)  # together they are Python
    alone = [notebooks._syntax_error(part.splitlines(), n) for n, part in ((2, first), (3, second))]
    expected = tuple(error for error in alone if error is not None)
    assert expected  # at least one of them is not Python on its own
    raw = nbformat_text(notebook(code(lines(IMPORTS)), code(lines(first)), code(lines(second)), code(lines(MODEL))))
    source = pipeline.from_text("nb.ipynb", raw)
    assert source.line_map is not None and source.line_map.skipped == expected
    assert [f.cell for f in pipeline.check(source)] == [4]


SAMPLES = [
    *MAGICS.splitlines(),
    *MODEL.splitlines(),
    "%matplotlib inline",
    "  !ls",
    "?np",
    "np.zeros?",
    "a, b = !ls",
    "x.y = %time f()",
    "cd ..",
    "pip install -U keras",
    "mamba install x",
    "x = a != b",
    "print('%d' % 3)",
    "y = 1  # why?",
    "\t%%time",
    "\u00a0!ls",
]


@pytest.mark.parametrize("line", SAMPLES)
def test_every_ipython_line_is_seen_by_the_quick_look(line: str) -> None:
    """Cells with no line the quick look matches are not scanned: it must match every line
    that is taken for IPython syntax (it may match more)."""
    if notebooks._is_ipython(line):
        assert notebooks._MAYBE_IPYTHON.search(f"x = 1\n{line}\ny = 2") is not None


def test_validate_with_the_programs_tree_still_names_a_cell_that_is_not_python_alone() -> None:
    with pytest.raises(SourceError, match="cell 1 on line 1: '\\(' was never closed"):
        notebooks.validate("x = (1,\n2)\n", notebooks.LineMap(((1, 1), (2, 1))), "nb.ipynb", ast.parse("x = (1,\n2)\n"))


def _reference_nesting(tree: ast.AST) -> int:
    """The measure as first written, child by child through ``ast.iter_child_nodes``."""
    deepest = 0
    stack: list[tuple[ast.AST, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, ast.BoolOp):
            depth += len(node.values)
        elif isinstance(node, ast.Compare):
            depth += len(node.ops)
        deepest = max(deepest, depth)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


DEEP = [
    "x = " + " and ".join(f"a{i}" for i in range(300)),
    "x = " + " < ".join(f"a{i}" for i in range(300)),
    "x = " + "f(" * 90 + ")" * 90,
    "x = a" + ".b" * 500 + " or (c and d < e)",
    "y = [lambda q=(w if z else v): {k: [j for j in q if j and not j] for k in q} for _ in ()]",
    "@d(a and b)\nclass C(B, metaclass=M):\n    def f(self, *a, k: int = 1 < 2, **kw) -> T:\n        return (yield)\n",
    "match p:\n    case [1, *rest] if rest and rest[0] > 1:\n        pass\n    case {'k': v, **kw}:\n        pass\n",
    "try:\n    pass\nexcept* E as e:\n    del e\nfinally:\n    x: int = f'{a!r:>{w}}'\n",
]


@pytest.mark.parametrize("text", [*DEEP, *(p.read_text(encoding="utf-8") for p in sorted(FIXTURES.glob("*.py")))])
def test_nesting_is_the_measure_it_always_was(text: str) -> None:
    """deep.nesting, spelled out for speed, measures every tree as the plain walk does."""
    tree = ast.parse(text)
    assert deep.nesting(tree) == _reference_nesting(tree)
