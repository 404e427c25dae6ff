"""One source text in, findings out: parse with CPython's parser, build the graph, run the rules,
place the reports. libcst parses the text only when a fix is to be offered (``Analysis.module``)."""

from __future__ import annotations

import ast
import gc
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kerascheck import deep, rules
from kerascheck import noqa as noqa_comments
from kerascheck.edits import Edit, SetFlag, Unwrap
from kerascheck.findings import Finding, SourceError
from kerascheck.graph.builder import Syntax, build_graph
from kerascheck.graph.model import Application, Graph
from kerascheck.positions import Span
from kerascheck.positions import positions as locate
from kerascheck.rules.base import Report, describe
from kerascheck.sources import may_have_findings

if TYPE_CHECKING:
    import libcst as cst


def parse(text: str, path: str) -> ast.Module:
    """CPython's parse of ``text``, nested no deeper than kerascheck reads; SourceError otherwise."""
    tree = parse_ast(text, path)
    deep.check_depth(tree, path)
    return tree


def _parse_here(text: str, path: str) -> ast.Module | None:
    """``parse_ast`` on the caller's thread; None when the text is too deep for its recursion
    limit (the deep thread parses it then, see ``deep``)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except (RecursionError, MemoryError):
        return None
    except SyntaxError:
        return parse_ast(text, path)  # raises, in the words users know


def parse_ast(text: str, path: str) -> ast.Module:
    """CPython's parse of ``text``; SourceError, in the words users know, when it fails."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except SyntaxError as error:
        if "too many nested" in (error.msg or ""):
            raise SourceError(path, "too deeply nested to parse") from None
        raise SourceError(path, f"syntax error on line {error.lineno}: {error.msg}") from None
    except (RecursionError, MemoryError):
        raise SourceError(path, "too deeply nested to parse") from None


def parse_libcst(text: str, path: str, depth: int | None = None) -> cst.Module:
    """libcst's parse of a text CPython accepts (nested ``depth`` levels, when measured; see
    ``deep``): a refusal is libcst's limit, not a syntax error (its positions then are often
    wrong, so none is given)."""
    import libcst as cst

    def work() -> cst.Module:
        try:
            with _unvalidated():
                return cst.parse_module(text)
        except cst.ParserSyntaxError as error:
            detail = " ".join(error.message.split())
            raise Refused(path, f"valid Python that libcst, kerascheck's parser, cannot read ({detail})") from None

    return deep.run(work, path, depth)


@contextmanager
def _unvalidated() -> Iterator[None]:
    """libcst's parser without the validation of every node it makes, on this thread.

    Each libcst node validates its fields when made (``CSTNode.__post_init__`` calls
    ``_validate``): right for nodes a program puts together, nothing to find in those its own
    parser makes from a text it read, and a quarter of the parse (libcst's comment there says as
    much). Nodes made on other threads meanwhile are validated as ever, and so is every node a
    fix makes. When ``__post_init__`` is not that one call (another libcst), nothing changes.
    """
    from libcst._nodes.base import CSTNode

    validating = CSTNode.__dict__.get("__post_init__")
    code = getattr(validating, "__code__", None)
    if code is None or code.co_names != ("_validate",) or not _parsing.acquire(blocking=False):
        yield  # another libcst, or another thread parsing so now: validated as ever
        return

    def post_init(
        node: CSTNode, owner: int = threading.get_ident(), ident: Callable[[], int] = threading.get_ident
    ) -> None:
        if ident() != owner:
            node._validate()

    CSTNode.__post_init__ = post_init  # type: ignore[method-assign,assignment]
    try:
        yield
    finally:
        CSTNode.__post_init__ = validating  # type: ignore[method-assign,assignment]
        _parsing.release()


# Held by the one thread parsing without validation. Taken in one step: a check of a flag and a
# later set would let two threads both swap ``__post_init__``, and the second's "original" would be
# the first's stand-in, left in place for good (the test of the code cannot tell the two apart).
_parsing = threading.Lock()


class Refused(SourceError):
    """Text CPython accepts and libcst refuses (some tab indentation, see LibCST issues 829 and
    951): analysed all the same, but given no fix."""


@dataclass
class Analysis:
    """Everything one text gave: CPython's tree, the graph, and each finding with the report it
    came from (fixes and verification start from the report's graph nodes)."""

    tree: ast.Module
    graph: Graph
    results: list[tuple[Finding, Report]] = field(default_factory=list)  # the selected rules'
    all_findings: list[Finding] = field(default_factory=list)  # every rule's, for fix checks
    all_reports: list[Report] = field(default_factory=list)  # the reports of all_findings, in order
    positions: Mapping[ast.AST, Span] | None = None
    line_label: Callable[[int], str] = str  # a line number as messages write it (notebooks: "4 of cell 3")
    text: str = ""  # the analysed text (fixes keep every byte of it they do not edit)
    path: str = "<string>"
    depth: int | None = None  # the text's measured nesting (see deep): fixes are checked where it fits
    syntax: Syntax | None = field(default=None, repr=False)  # what the graph's build worked out of the nodes
    _module: cst.Module | None = field(default=None, repr=False)

    @property
    def findings(self) -> list[Finding]:
        return [finding for finding, _ in self.results]

    @property
    def module(self) -> cst.Module:
        """libcst's tree of the text, which fixes edit: parsed when first asked for (most files
        have no fix to offer). Raises Refused when libcst cannot read the text."""
        if self._module is None:
            self._module = parse_libcst(self.text, self.path, self.depth)
        return self._module

    def editable(self) -> cst.Module | None:
        """``module``, or None when libcst cannot read the text (then no fix is offered)."""
        try:
            return self.module
        except Refused:
            return None

    def line_of(self, node: ast.AST) -> int:
        assert self.positions is not None
        return self.positions[node].start.line

    def fix_message(self, report: Report, edit: Edit) -> str:
        if isinstance(edit, Unwrap):
            inner = report.subject.layer.inner if isinstance(report.subject, Application) else None
            return f"Replace the TimeDistributed wrapper with {describe(inner) if inner else 'the layer it wraps'}"
        if isinstance(edit, SetFlag):
            return f"Set {edit.keyword}={edit.value}"
        rnn = report.rnn
        assert rnn is not None
        return f"Set return_sequences={edit.value} on {describe(rnn)} on line {self.line_label(self.line_of(rnn.call))}"


@dataclass(frozen=True)
class Options:
    """What an analysis reports: the rules chosen, whether ``# noqa`` applies, how lines are
    written in messages (notebooks: "4 of cell 3")."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    noqa: bool = True
    line_label: Callable[[int], str] = str

    @classmethod
    def of(
        cls,
        select: Iterable[str] | None = None,
        ignore: Iterable[str] | None = None,
        noqa: bool = True,
        line_label: Callable[[int], str] = str,
    ) -> Options:
        """Options from any iterables of codes (None selects every rule)."""
        return cls(None if select is None else tuple(select), tuple(ignore or ()), noqa, line_label)


def analyse(
    text: str,
    path: str = "<string>",
    options: Options = Options(),
    *,
    validate: bool = False,
    tree: ast.Module | None = None,
) -> Analysis | None:
    """Analyse one Python source text; None when the prefilter says it cannot hold a finding.

    Raises SourceError when the text cannot be parsed. The text is never imported or executed.
    Text that cannot hold a finding is not parsed unless ``validate`` asks for its syntax to be
    checked all the same. ``tree``, when given, is ``ast.parse(text)``, made by the caller.
    ``options`` chooses the rules, ``# noqa`` and how messages write lines.
    """
    if not may_have_findings(text):
        if validate and tree is None:
            parse(text, path)
        elif validate and tree is not None:
            deep.check_depth(tree, path)
        return None
    with collector_off():
        if tree is None:
            tree = _parse_here(text, path)
        depth = None if tree is None else deep.check_depth(tree, path)  # None: measured on the deep thread

        def work() -> Analysis:
            parsed = tree if tree is not None else parse_ast(text, path)
            analysis = _analyse_tree(parsed, text, path, options)
            analysis.depth = depth if depth is not None else deep.check_depth(parsed, path)
            return analysis

        return deep.run(work, path, depth)


@contextmanager
def collector_off() -> Iterator[None]:
    """Run with the cyclic garbage collector off.

    A parse makes hundreds of thousands of objects and no cycles, so a collection only walks
    them. Callers that are done with an analysis drop it inside the block: freed before the
    collector is back on, its objects are never walked at all.
    """
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def analyse_tree(
    tree: ast.Module, text: str, path: str = "<string>", options: Options = Options(), depth: int | None = None
) -> Analysis:
    """The analysis of a text CPython has parsed, ``tree`` being its tree (checking a fix goes
    through here with the fixed text's tree); ``depth``, its nesting when measured."""
    with collector_off():
        analysis = deep.run(lambda: _analyse_tree(tree, text, path, options), path, depth)
        analysis.depth = depth
        return analysis


def _analyse_tree(tree: ast.Module, text: str, path: str, options: Options) -> Analysis:
    chosen = {rule.code for rule in rules.selected(options.select, options.ignore)}
    line_label = options.line_label
    syntax = Syntax()
    graph = build_graph(tree, syntax)
    reports = list(rules.run(graph, rules.all_rules()))
    analysis = Analysis(tree, graph, line_label=line_label, text=text, path=path, syntax=syntax)
    if not reports:
        return analysis
    wanted = [r.node for r in reports] + [p for r in reports for p in r.message if not isinstance(p, str)]
    positions = analysis.positions = locate(text, wanted + _fix_nodes(reports))

    for report in reports:
        where = positions[report.node]
        message = "".join(
            part if isinstance(part, str) else line_label(positions[part].start.line) for part in report.message
        )
        finding = Finding(
            path=path,
            line=where.start.line,
            column=where.start.column + 1,
            end_line=where.end.line,
            end_column=where.end.column + 1,
            code=report.code,
            name=_rule(report.code).name,
            message=message,
        )
        analysis.results.append((finding, report))
    if options.noqa:
        kept = set(map(id, noqa_comments.filter_findings(text, analysis.findings)))
        analysis.results = [(f, r) for f, r in analysis.results if id(f) in kept]
    analysis.all_findings = analysis.findings
    analysis.all_reports = [report for _, report in analysis.results]
    analysis.results = [(f, r) for f, r in analysis.results if f.code in chosen]
    analysis.results.sort(key=lambda pair: (pair[0].line, pair[0].column, pair[0].code))
    return analysis


def _rule(code: str) -> rules.Rule:
    rule = rules.get(code)
    assert rule is not None  # reports come from registered rules
    return rule


def _fix_nodes(reports: list[Report]) -> list[ast.AST]:
    """Nodes whose line a fix message names: the constructions of the RNNs to blame."""
    return [r.rnn.call for r in reports if r.rnn is not None]


def check_source(
    text: str,
    path: str = "<string>",
    *,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    noqa: bool = True,
    validate: bool = False,
    tree: ast.Module | None = None,
) -> list[Finding]:
    """Findings for one Python source text. Raises SourceError when it cannot be parsed.

    The text is never imported or executed. ``tree``, when given, is ``ast.parse(text)``.
    """
    with collector_off():
        analysis = analyse(text, path, Options.of(select, ignore, noqa), validate=validate, tree=tree)
        findings = [] if analysis is None else analysis.findings
        del analysis  # freed while the collector is off (see collector_off)
    return findings
