"""Fixes: what a rule proposes (an edit, as data), whether it is offered, and applying it.

Edits name calls of CPython's tree, which the analysis read; they are applied to libcst's tree
of the same text (the calls' twins, see ``twins``), so every byte a fix does not touch stays
as it was; only the nodes on the way to an edit are made anew. A fix is offered only when the
fixed text parses and no new finding appears in it; ``fix_text`` applies the offered fixes,
re-checking after every pass.
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from itertools import accumulate, pairwise
from typing import cast

import libcst as cst
from libcst._nodes.internal import CodegenState  # libcst's printer; its PositionProvider extends it too

from kerascheck import deep, rules
from kerascheck.check import Analysis, Options, analyse, analyse_tree, collector_off, parse_ast
from kerascheck.edits import ARGUMENT, Edit, SetFlag, SetReturnSequences, Unwrap
from kerascheck.findings import Finding, Fix, SourceError
from kerascheck.graph.builder import Syntax, walked
from kerascheck.graph.model import Application, Layer, Seq, Tensor, TrainCall
from kerascheck.graph.replay import Builds
from kerascheck.rules.base import Report
from kerascheck.sources import LINE_BREAK
from kerascheck.twins import Twins
from kerascheck.walk import Change, rebuild, walk

MAX_PASSES = 8
MAX_CHECKS = 32  # re-analyses to decide one file's offers (see offers)


# ---------------------------------------------------------------- applying edits


def _arg_name(value: bool) -> cst.Name:
    return cst.Name("True" if value else "False")


def _append_arg(call: cst.Call, new: cst.Arg) -> cst.Call:
    """``call`` with one more argument, laid out as its other arguments are."""
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new.with_changes(comma=cst.MaybeSentinel.DEFAULT)])
    last = args[-1]
    comma = last.comma
    before = call.whitespace_before_args
    if isinstance(comma, cst.Comma) and isinstance(comma.whitespace_after, cst.ParenthesizedWhitespace):
        # One argument a line with a trailing comma: a new line, indented like the first one.
        closing = comma.whitespace_after
        if isinstance(before, cst.ParenthesizedWhitespace):
            indent, line = before.indent, before.last_line
        elif (
            len(args) > 1
            and isinstance(args[-2].comma, cst.Comma)
            and isinstance(args[-2].comma.whitespace_after, cst.ParenthesizedWhitespace)
        ):
            indent, line = args[-2].comma.whitespace_after.indent, args[-2].comma.whitespace_after.last_line
        else:
            indent, line = closing.indent, closing.last_line
        args[-1] = last.with_changes(
            comma=comma.with_changes(whitespace_after=closing.with_changes(indent=indent, last_line=line))
        )
        trailing = cst.ParenthesizedWhitespace(
            first_line=cst.TrailingWhitespace(), indent=closing.indent, last_line=closing.last_line
        )
        args.append(new.with_changes(comma=cst.Comma(whitespace_after=trailing)))
    elif isinstance(comma, cst.Comma):
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
        args.append(new.with_changes(comma=comma))
    else:
        # Right after the last argument: what stood between it and the parenthesis stays after.
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")), whitespace_after_arg=cst.SimpleWhitespace("")
        )
        args.append(new.with_changes(comma=cst.MaybeSentinel.DEFAULT, whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


def _set_keyword(call: cst.Call, name: str, value: cst.BaseExpression, position: int | None) -> cst.Call:
    """``call`` with ``name=value``: replacing the argument where it is given, else appending it."""
    positional = [i for i, a in enumerate(call.args) if a.keyword is None and not a.star]
    for i, arg in enumerate(call.args):
        if arg.keyword is not None and arg.keyword.value == name:
            return call.with_changes(args=[*call.args[:i], arg.with_changes(value=value), *call.args[i + 1 :]])
    if position is not None and position < len(positional):
        i = positional[position]
        return call.with_changes(args=[*call.args[:i], call.args[i].with_changes(value=value), *call.args[i + 1 :]])
    keyword = cst.Arg(
        keyword=cst.Name(name),
        value=value,
        equal=cst.AssignEqual(whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")),
    )
    return _append_arg(call, keyword)


def inner_arg(call: cst.Call) -> cst.Arg | None:
    """libcst's argument of a wrapper that holds its layer (see ``edits.inner_arg``)."""
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == "layer":
            return arg
    positional = [a for a in call.args if a.keyword is None and not a.star]
    return positional[0] if positional else None


def is_blank(whitespace: cst.BaseParenthesizableWhitespace) -> bool:
    return isinstance(whitespace, cst.SimpleWhitespace) and whitespace.value == ""


def _comments(node: cst.CSTNode) -> int:
    return sum(1 for n in walk(node, everything=True) if type(n) is cst.Comment)


def keeps_comments(wrapper: cst.Call) -> bool:
    """Whether unwrapping ``wrapper`` keeps every comment: none may stand in the wrapper's own
    layout, only in what moves (its layer, its keywords' values, the line break after ``(``)."""
    inner = inner_arg(wrapper)
    assert inner is not None  # edits.unwrap found it in ast's tree
    kept: list[cst.CSTNode] = [inner.value, *(a.value for a in wrapper.args if a is not inner)]
    if isinstance(inner.value, cst.Call) and is_blank(inner.value.whitespace_before_args):
        kept.append(wrapper.whitespace_before_args)  # it moves into the inner call
    return _comments(wrapper) == sum(_comments(node) for node in kept)


def _unwrapped(wrapper: cst.Call) -> cst.BaseExpression:
    inner = inner_arg(wrapper)
    assert inner is not None
    result = inner.value
    if isinstance(result, cst.Call) and is_blank(result.whitespace_before_args):
        # ``TimeDistributed(  # note`` keeps its comment and line break after ``Dense(``.
        result = result.with_changes(whitespace_before_args=wrapper.whitespace_before_args)
    for extra in wrapper.args:
        if extra is inner or extra.keyword is None:
            continue
        assert isinstance(result, cst.Call)
        result = _set_keyword(result, extra.keyword.value, extra.value, None)
    if wrapper.lpar:  # keep parentheses around the whole expression
        result = result.with_changes(lpar=wrapper.lpar, rpar=wrapper.rpar)
    elif not isinstance(result, _ATOMS) and not result.lpar:
        # `TimeDistributed(A if c else B)(h)` -> `(A if c else B)(h)`: the expression stays whole
        # wherever the call stood (a call binds tighter than anything but an atom).
        result = result.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return result


# What a call's place can hold without parentheses: ``X(...)``, ``X.y``, ``X[...]`` bind as tightly.
_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript)


def _changes(
    edits: Iterable[Edit], twin: Callable[[ast.Call], cst.Call]
) -> tuple[dict[int, Change], set[str], dict[int, cst.CSTNode], dict[int, object]]:
    """What each edited call becomes, by the id of libcst's call (``twin`` of the edit's); the
    wrapper names unwrapped; filled in as the changes are made, what each edited call became;
    and what each change makes of its call, as data (two equal ones make the same call)."""
    values: dict[int, tuple[bool, int | None]] = {}  # the value, and the argument's position
    unwraps: dict[int, cst.Call] = {}
    flags: dict[int, dict[str, bool]] = {}
    for edit in edits:
        if isinstance(edit, SetReturnSequences):
            for layer in edit.layers:
                values.setdefault(id(twin(layer.call)), (edit.value, edit.position(layer)))
        elif isinstance(edit, SetFlag):
            flags.setdefault(id(twin(edit.call)), {}).setdefault(edit.keyword, edit.value)
        else:
            wrapper = twin(edit.wrapper)
            unwraps[id(wrapper)] = wrapper
    made: dict[int, cst.CSTNode] = {}

    def change(key: int) -> Change:
        def apply(updated: cst.CSTNode) -> cst.CSTNode:
            assert isinstance(updated, cst.Call)
            for keyword, flag in flags.get(key, {}).items():
                updated = _set_keyword(updated, keyword, _arg_name(flag), None)
            if key in values:
                value, position = values[key]
                updated = _set_keyword(updated, ARGUMENT, _arg_name(value), position)
            result = _unwrapped(updated) if key in unwraps else updated
            made[key] = result
            return result

        return apply

    names = {w.func.value for w in unwraps.values() if isinstance(w.func, cst.Name)}
    keys = {*values, *unwraps, *flags}
    specs: dict[int, object] = {
        key: (values.get(key), tuple(flags.get(key, {}).items()), key in unwraps) for key in keys
    }
    return {key: change(key) for key in keys}, names, made, specs


def _remove_unused_imports(module: cst.Module, names: set[str]) -> cst.Module:
    """Drop ``from ... import TimeDistributed`` aliases of ``names`` (those the unwrapping left
    unused, see ``_left_unused``).

    Only the aliases go: a statement left with none is removed, and the comments and blank
    lines above it move to the statement after it (or the end of the file).
    """
    if not names:
        return module
    body: list[cst.BaseStatement] = []
    above: list[cst.EmptyLine] = []  # the lines above a removed statement
    for original in module.body:
        statement = _without_aliases(original, names)
        if statement is None:
            above += cast(cst.SimpleStatementLine, original).leading_lines  # only those are removed
            continue
        if above and isinstance(statement, (cst.SimpleStatementLine, cst.BaseCompoundStatement)):
            statement = statement.with_changes(leading_lines=[*above, *statement.leading_lines])
            above = []
        body.append(statement)
    return module.with_changes(body=body, footer=[*above, *module.footer])


def _without_aliases(statement: cst.BaseStatement, names: set[str]) -> cst.BaseStatement | None:
    """``statement`` without the ``from`` import aliases of ``names``; None when none is left."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return statement
    small = statement.body[0]
    if not isinstance(small, cst.ImportFrom) or small.relative or isinstance(small.names, cst.ImportStar):
        return statement
    kept = [a for a in small.names if (a.evaluated_alias or a.evaluated_name) not in names]
    if len(kept) == len(small.names):
        return statement
    if not kept:
        return None
    kept[-1] = kept[-1].with_changes(comma=small.names[-1].comma)  # a trailing comma, or none, stays
    return statement.with_changes(body=[small.with_changes(names=kept)])


_IMPORTS = (cst.Import, cst.ImportFrom)


def _mentions(root: cst.CSTNode, names: set[str]) -> Counter[str]:
    """How often the code under ``root`` mentions each of ``names`` outside imports."""
    return Counter(n.value for n in walk(root, _IMPORTS) if type(n) is cst.Name and n.value in names)


def _left_unused(layout: Layout, edited: cst.Module, names: set[str], swaps: _Swaps | None) -> set[str]:
    """Those of ``names`` that no code of ``edited`` mentions outside imports.

    The analysed module's mentions are counted once (``Layout.names``); only the edited calls
    are walked again, before and after (``swaps``: an edited statement is the old one with its
    outermost edited calls swapped for new ones, nothing else made anew, see ``rebuild``), or
    without them the statements the edits changed. A name is a mention wherever it stands (an
    attribute's name too): a name counted used when it is not keeps its import, which is
    harmless.
    """
    names = {name for name in names if layout.names[name]}
    if not names:
        return set()
    left = Counter({name: layout.names[name] for name in names})
    pairs = swaps if swaps is not None else [(o, n) for o, n in zip(layout.module.body, edited.body) if n is not o]
    for old, new in pairs:
        left.subtract(_mentions(old, names))
        left.update(_mentions(new, names))
    return {name for name in names if left[name] <= 0}


# Each outermost edited call of libcst's tree, and what the edits made of it.
_Swaps = list[tuple[cst.CSTNode, cst.CSTNode]]


class Mentions(Counter[str]):
    """How often the code of ``body`` mentions a name outside imports, counted when the name is
    first asked for, in the statements whose text (``pieces``, beside each statement) holds it:
    a statement that mentions a name holds its spelling. Without the pieces, in every statement.
    (An unwrap asks for its wrapper's name: the module is not walked for every other one.)"""

    def __init__(self, body: Sequence[cst.BaseStatement], pieces: list[str] | None) -> None:
        super().__init__()
        self._body = body
        self._pieces = pieces

    def __missing__(self, name: str) -> int:
        pieces, count = self._pieces, 0
        for i, statement in enumerate(self._body):
            if pieces is None or name in pieces[i]:
                count += sum(1 for node in walk(statement, _IMPORTS) if type(node) is cst.Name and node.value == name)
        self[name] = count
        return count


_UNSET: list[int] = []


class Layout:
    """An analysed module's top-level statements: which one holds each edited call, where the
    text of each is in the analysed text, and the names the module's code mentions, so that
    applying edits rebuilds, prints and walks only the statements the edits touch.

    ``twins`` finds libcst's call for each call of CPython's tree an edit names, and its
    top-level statement (``Layout.of`` makes them from an analysis). The names are counted
    when first needed (an unwrap), once.
    """

    def __init__(
        self,
        module: cst.Module,
        text: str | None = None,
        tree: ast.Module | None = None,
        twins: Twins | None = None,
        syntax: Syntax | None = None,
    ) -> None:
        self.module = module
        self.text = text  # the analysed text, when known
        self.tree = tree  # CPython's tree of it, when known
        self.twins = twins
        self._faithful: bool | None = None
        self.index: dict[int, int] = {}  # id of an edited libcst call -> its top-level statement
        self.calls: dict[int, cst.Call] = {}  # id of an edited libcst call -> the call
        # The print of an edited statement, cut at the edited calls in it (see _kept_outside)
        self._cuts: dict[tuple[int, tuple[int, ...]], tuple[str, list[str]]] = {}
        # Each edited statement made, by its place and its changes (see _edited), with the calls
        # made in it; and the new statements' cut prints, by identity
        self.rebuilt: dict[
            tuple[int, frozenset[tuple[int, object]]], tuple[cst.BaseStatement, dict[int, cst.CSTNode]]
        ] = {}
        self._new_cuts: dict[int, tuple[cst.CSTNode, tuple[str, ...], tuple[str, list[str]]]] = {}
        self._names: Counter[str] | None = None
        self.pieces: list[str | None] = [None] * len(module.body)  # each statement's text, once printed
        self._starts: list[int] | None = _UNSET
        self._position: dict[int, int] = {}
        self._spans: list[tuple[int, int]] = []  # see starts
        # CPython's tree of each statement printed anew, by its place and code (see spliced)
        self._parsed: dict[tuple[int, str], list[ast.stmt]] = {}
        self.builds = Builds(syntax)  # the graphs of the fix checks of this text (see replay)

    @classmethod
    def of(cls, analysis: Analysis) -> Layout | None:
        """The layout of an analysis' text, parsed by libcst now if it was not; None when libcst
        cannot read it (then no fix is made: there is no tree to edit)."""
        module = analysis.editable()
        if module is None:
            return None
        twins = Twins(module, analysis.tree, analysis.text, analysis.graph.statement_of)
        return cls(module, analysis.text, analysis.tree, twins, analysis.syntax)

    def twin(self, call: ast.Call) -> cst.Call:
        """libcst's call for a call of CPython's tree; BytesChanged when it has none (no fix)."""
        found = self.twins.call(call) if self.twins is not None else None
        if found is None:
            raise BytesChanged("libcst's tree has no call where CPython's has this one")
        self.index[id(found[0])] = found[1]
        self.calls[id(found[0])] = found[0]
        return found[0]

    def feasible(self, edit: Edit) -> bool:
        """Whether ``edit`` can be made on libcst's tree: its calls have twins, and an unwrapped
        wrapper holds no comment that unwrapping would lose."""
        try:
            twins = [self.twin(call) for call in _calls(edit)]
        except BytesChanged:
            return False
        return keeps_comments(twins[-1]) if isinstance(edit, Unwrap) else True

    @property
    def names(self) -> Counter[str]:
        """How often the module's code mentions each name outside imports (``Mentions``)."""
        if self._names is None:
            starts, text = self.starts(), self.padded
            pieces = None if starts is None or text is None else [text[a:b] for a, b in pairwise(starts)]
            self._names = Mentions(self.module.body, pieces)
        return self._names

    @property
    def faithful(self) -> bool:
        """Whether libcst prints the analysed module back as the text it was (it does not, for
        one, with comments at the end of a file without a final newline): else no fix is made,
        since every byte a fix does not touch must stay."""
        if self._faithful is None:
            self._faithful = self.text is None or self.module.code == self.text
        return self._faithful

    def code(self, edited: cst.Module) -> str:
        """``edited.code``, with the statements the edits leave alone as the analysed text has
        them (see ``printed``)."""
        return self.printed(edited)[0]

    def printed(self, edited: cst.Module, prints: Prints | None = None) -> tuple[str, list[str] | None]:
        """``edited``'s code, and the code of each statement printed anew (None when the whole
        module was printed). Raises BytesChanged when libcst does not print the analysed text
        back as it was where it must.

        Statements the edits leave alone are taken from the analysed text; those they change
        are printed, once their old code is seen to be just their span of the text. ``prints``
        holds statements printed already (see ``apply_edits``).
        """
        made = self._from_text(edited, prints or Prints())
        if made is not None:
            return made
        if not self.faithful:
            raise BytesChanged("libcst does not print this text back as it is")
        return self._whole(edited), None

    def starts(self) -> list[int] | None:
        """Where the text of each top-level statement (its comment and blank lines above it
        included) begins in the analysed text (``padded``), and where the footer does; None
        when that cannot be told: no text or ast tree, the two trees not lining up, a line
        libcst dropped, or a header or footer libcst does not print back as it was.

        CPython's tree gives the line of each statement's first token and of its last, and
        libcst's node the lines above it and those closing its blocks: each line of the text
        must be one statement's, or the header's, or the footer's.
        """
        if self._starts is not _UNSET:
            return self._starts
        self._starts = None
        module, text, tree = self.module, self.padded, self.tree
        if text is None or tree is None or not module.body or not text.endswith(("\n", "\r")):
            return None
        lines = [0] + [match.end() for match in LINE_BREAK.finditer(text)]
        firsts: list[int] = []  # the first line of each statement's text
        spans: list[tuple[int, int]] = []  # the ast statements of each libcst one
        after = 1 + len(module.header)  # the line after the previous statement
        k = 0  # the ast statement of the next libcst statement
        for statement in module.body:
            count = len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
            if k + count > len(tree.body):
                return None
            first, last = tree.body[k], tree.body[k + count - 1]
            line = first.lineno
            if isinstance(first, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and first.decorator_list:
                line = min(line, *(d.lineno for d in first.decorator_list))
            line -= len(statement.leading_lines)
            if last.end_lineno is None or (firsts and line != after):
                return None  # a line between the two statements is neither's: libcst dropped it
            firsts.append(line)
            spans.append((k, k + count))
            # The next statement's lines begin after this one's code and the comment lines
            # libcst keeps closing its last blocks.
            after = last.end_lineno + 1 + _closing_lines(statement)
            k += count
        if k != len(tree.body) or firsts[0] < 1 or after != len(lines) - len(module.footer):
            return None  # the text ends with a line break: its last line is len(lines) - 1
        firsts.append(after)
        starts = [lines[line - 1] for line in firsts]
        header = "".join(module.code_for_node(line) for line in module.header)
        footer = "".join(module.code_for_node(line) for line in module.footer)
        if text[: starts[0]] != header or text[starts[-1] :] != footer:
            return None
        self._starts = starts
        self._position = {id(statement): i for i, statement in enumerate(module.body)}
        self._spans = spans
        return starts

    @property
    def padded(self) -> str | None:
        """The analysed text, with the final line break libcst prints and then takes off when
        the text has none (``Module.has_trailing_newline``)."""
        text = self.text
        if text is None or self.module.has_trailing_newline:
            return text
        return text + self.module.default_newline

    def spliced(self, edited: cst.Module, new: list[str], path: str) -> ast.Module:
        """CPython's tree of ``edited``'s code (``new``: what ``printed`` printed anew), made from
        the analysed tree: a statement the edits left alone keeps its ast statements, and only
        those printed anew are parsed. Their lines count from 1: the tree is for the graph, not
        for placing findings. SourceError when a new statement does not parse.

        A statement printed as another check printed it, at the same place among those that are
        not imports (the only ones an edit removes), is that check's tree of it: the graph
        builds of the checks share it (see ``replay``)."""
        assert self.tree is not None and self._spans  # printed from the text (see _from_text)
        body: list[ast.stmt] = []
        pieces = iter(new)
        place = 0  # statements before this one that are not imports
        for statement in edited.body:
            at = self._position.get(id(statement))
            if at is None:
                code = next(pieces)
                key = (place if not _is_import(statement) else -1 - len(body), code)
                parsed = self._parsed.get(key)
                if parsed is None:
                    parsed = self._parsed[key] = parse_ast(code, path).body
                body += parsed
            else:
                first, after = self._spans[at]
                body += self.tree.body[first:after]
            place += not _is_import(statement)
        return ast.Module(body=body, type_ignores=[])

    def _from_text(self, edited: cst.Module, prints: Prints) -> tuple[str, list[str]] | None:
        """``printed`` from the analysed text; None when the spans cannot be trusted."""
        starts = self.starts()
        module, text = self.module, self.padded
        if starts is None or text is None or edited.header is not module.header:
            return None
        position = self._position
        kept = {position[id(s)] for s in edited.body if id(s) in position}
        for i, old in enumerate(module.body):
            if i not in kept and prints.code(module, old) != text[starts[i] : starts[i + 1]]:
                return None  # an edited statement that libcst does not print back as it was
        parts, new = [text[: starts[0]]], list[str]()
        for statement in edited.body:
            at = position.get(id(statement))
            if at is None:
                new.append(prints.code(edited, statement))
                parts.append(new[-1])
            else:
                parts.append(text[starts[at] : starts[at + 1]])
        if edited.footer is module.footer:
            parts.append(text[starts[-1] :])
        else:
            parts.append("".join(edited.code_for_node(line) for line in edited.footer))
        code = "".join(parts)
        if not module.has_trailing_newline:
            if not code.endswith(module.default_newline):
                return None
            code = code[: -len(module.default_newline)]
        return code, new

    def _whole(self, edited: cst.Module) -> str:
        """``edited.code``, printing only the statements that differ from the analysed ones
        (and those not printed yet, once).

        A module prints as its header, statements and footer one after the other, except that
        without a newline at its end the last one is taken off: then it is printed whole.
        """
        module = self.module
        if not module.has_trailing_newline or edited.header is not module.header or edited.footer is not module.footer:
            return edited.code
        if len(edited.body) != len(module.body):
            return edited.code
        parts = [edited.code_for_node(line) for line in edited.header]
        for i, (old, new) in enumerate(zip(module.body, edited.body)):
            if new is not old:
                parts.append(edited.code_for_node(new))
                continue
            piece = self.pieces[i]
            if piece is None:
                piece = self.pieces[i] = module.code_for_node(old)
            parts.append(piece)
        parts += [edited.code_for_node(line) for line in edited.footer]
        return "".join(parts)


def _is_import(statement: cst.BaseStatement) -> bool:
    return isinstance(statement, cst.SimpleStatementLine) and all(isinstance(s, _IMPORTS) for s in statement.body)


def _closing_lines(statement: cst.BaseStatement) -> int:
    """The comment and blank lines libcst keeps after a statement's last line of code: the
    footers of the blocks that close it (a compound statement's last block, that block's last
    statement's, and so on)."""
    count = 0
    node: cst.CSTNode | None = statement
    while node is not None:
        block = _last_block(node)
        if not isinstance(block, cst.IndentedBlock):
            break
        count += len(block.footer)
        node = block.body[-1] if block.body else None
    return count


def _last_block(node: cst.CSTNode) -> cst.BaseSuite | None:
    """The block a compound statement ends with; None for any other node."""
    while isinstance(node, cst.If) and isinstance(node.orelse, cst.If):
        node = node.orelse  # elif
    if isinstance(node, (cst.If, cst.For, cst.While)):
        return node.orelse.body if node.orelse is not None else node.body
    if isinstance(node, (cst.Try, cst.TryStar)):
        for ending in (node.finalbody, node.orelse):
            if ending is not None:
                return ending.body
        return node.handlers[-1].body if node.handlers else node.body
    if isinstance(node, cst.Match):
        return node.cases[-1].body if node.cases else None
    if isinstance(node, (cst.With, cst.FunctionDef, cst.ClassDef)):
        return node.body
    return None


class BytesChanged(Exception):
    """The printed text differs from the analysed one outside the edited calls: not a fix."""


class Prints:
    """Statements printed already, by identity (the node is kept: an id alone could be reused)."""

    def __init__(self) -> None:
        self._made: dict[int, tuple[cst.CSTNode, str]] = {}

    def keep(self, node: cst.CSTNode, code: str) -> None:
        self._made[id(node)] = (node, code)

    def code(self, module: cst.Module, node: cst.CSTNode) -> str:
        made = self._made.get(id(node))
        if made is not None and made[0] is node:
            return made[1]
        return module.code_for_node(node)


def apply_edits(layout: Layout, edits: Iterable[Edit]) -> cst.Module:
    """The laid out module with the edits made, and imports they left unused removed.

    Raises BytesChanged when the edited module would print differently from the analysed text
    anywhere but in the edited calls (see ``_kept_outside``).
    """
    return _edited(layout, edits)[0]


def _edited(layout: Layout, edits: Iterable[Edit]) -> tuple[cst.Module, Prints]:
    """``apply_edits``, and the changed statements as printed on the way, old and new."""
    module = layout.module
    changes, unwrapped, made, specs = _changes(edits, layout.twin)
    index = layout.index
    touched: dict[int | None, list[int]] = {}
    for key in changes:
        touched.setdefault(index.get(key), []).append(key)
    if None in touched:
        fixed = rebuild(module, changes)
    else:
        body: list[cst.BaseStatement] = list(module.body)
        for i, keys in touched.items():
            assert i is not None  # None not in touched
            # The same changes of a statement make the same statement: made once, for every
            # check that makes them (its prints are kept with it, see _kept_outside).
            same = (i, frozenset((key, specs[key]) for key in keys))
            if same not in layout.rebuilt:
                statement = cast(cst.BaseStatement, rebuild(body[i], changes))  # a statement stays one
                layout.rebuilt[same] = (statement, {key: made[key] for key in keys if key in made})
            body[i], calls = layout.rebuilt[same]
            made.update(calls)
        fixed = module.with_changes(body=body)
    assert isinstance(fixed, cst.Module)
    changed = [(i, old, new) for i, (old, new) in enumerate(zip(module.body, fixed.body)) if old is not new]
    calls, outermost, twinned = _outermost(layout, changed, made)
    prints = _kept_outside(layout, fixed, made, changed, outermost, twinned)
    swaps = [(calls[key], made[key]) for key in outermost] if twinned else None
    return _remove_unused_imports(fixed, _left_unused(layout, fixed, unwrapped, swaps)), prints


def _outermost(
    layout: Layout, changed: Sequence[tuple[int, cst.BaseStatement, cst.BaseStatement]], made: dict[int, cst.CSTNode]
) -> tuple[dict[int, cst.CSTNode], list[int], bool]:
    """The old node of each edited call, by its id; the ids of the outermost ones (an edit
    inside another is within its span); and whether the calls are the twins' (else the changed
    statements, ``changed``, were walked for them)."""
    index, known = layout.index, layout.calls
    twinned = all(key in known and key in index for key in made)
    if twinned:
        calls: dict[int, cst.CSTNode] = {key: known[key] for key in made}
    else:  # not made by twins: walk the changed statements for them
        calls = {id(n): n for _, old, _ in changed for n in walk(old) if id(n) in made}
    inner = {id(n) for call in calls.values() for n in walk(call) if n is not call and id(n) in made}
    return calls, sorted(key for key in made if key not in inner), twinned


class _Marking(CodegenState):
    """libcst's printer, noting where the nodes of ``marks`` begin and end among the tokens
    (as libcst's own PositionProvider does, by the same two hooks)."""

    def __init__(self, module: cst.Module, marks: dict[int, str]) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.marks = marks
        self.spans: list[tuple[str, int, int]] = []  # mark, first token, token after
        self._open: list[tuple[str, int]] = []

    def before_codegen(self, node: cst.CSTNode) -> None:
        mark = self.marks.get(id(node))
        if mark is not None:
            self._open.append((mark, len(self.tokens)))

    def after_codegen(self, node: cst.CSTNode) -> None:
        if id(node) in self.marks:
            mark, start = self._open.pop()
            self.spans.append((mark, start, len(self.tokens)))


def _marked(module: cst.Module, node: cst.CSTNode, marks: dict[int, str]) -> tuple[str, list[str]]:
    """The code of ``node``, and that code cut at the marked nodes: the text between them,
    with each mark where its node stands."""
    state = _Marking(module, marks)
    node._codegen(state)
    tokens = state.tokens
    offsets = list(accumulate(map(len, tokens), initial=0))
    code = "".join(tokens)
    cut, at = [], 0
    for mark, start, end in sorted(state.spans, key=lambda span: span[1]):
        cut += [code[at : offsets[start]], mark]
        at = offsets[end]
    cut.append(code[at:])
    return code, cut


def _kept_outside(
    layout: Layout,
    fixed: cst.Module,
    made: dict[int, cst.CSTNode],
    changed: Sequence[tuple[int, cst.BaseStatement, cst.BaseStatement]],
    outermost: list[int],
    twinned: bool,
) -> Prints:
    """BytesChanged unless each changed top-level statement (``changed``: its place, old and
    new) prints as before once every edited call, old and new, is cut out (the ``outermost``
    edits only: an edit inside another is within its span; ``twinned``: their statements are
    known, see ``_outermost``). Each changed statement is printed once, old and new: the prints
    are kept.

    An edited call is marked by its id, so the old statement's cut print is the same in every
    check that edits the same calls in it: the layout keeps it, and it is printed once."""
    module = layout.module
    index = layout.index if twinned else {}
    old_marks = {key: f"edit {key}" for key in outermost}
    new_marks = {id(made[key]): mark for key, mark in old_marks.items()}
    within: dict[int, list[int]] = {}
    for key in outermost:
        if key in index:
            within.setdefault(index[key], []).append(key)
    prints = Prints()
    for i, old, new in changed:
        if i in within:
            cut_key = (i, tuple(within[i]))
            if cut_key not in layout._cuts:
                layout._cuts[cut_key] = _marked(module, old, old_marks)
            old_code, old_cut = layout._cuts[cut_key]
        else:
            old_code, old_cut = _marked(module, old, old_marks)
        marks = tuple(f"edit {key}" for key in within.get(i, ()))
        kept = layout._new_cuts.get(id(new))
        if i in within and kept is not None and kept[0] is new and kept[1] == marks:
            new_code, new_cut = kept[2]
        else:
            new_code, new_cut = _marked(fixed, new, new_marks)
            if i in within:
                layout._new_cuts[id(new)] = (new, marks, (new_code, new_cut))
        if old_cut != new_cut:
            raise BytesChanged("the fix would change text outside the calls it edits")
        prints.keep(old, old_code)
        prints.keep(new, new_code)
    return prints


def fixed_code(layout: Layout, edits: Iterable[Edit]) -> tuple[cst.Module, str]:
    """The edited module and its code; statements the edits leave alone keep their text.
    Raises BytesChanged (see ``apply_edits`` and ``Layout.printed``)."""
    edited, code, _ = _fixed(layout, edits)
    return edited, code


def _fixed(layout: Layout, edits: Iterable[Edit], depth: int | None = None) -> tuple[cst.Module, str, list[str] | None]:
    """``fixed_code``, and the code of each statement printed anew (None: all of it); ``depth``,
    the analysed text's nesting, when known (see ``deep.run``)."""

    def work() -> tuple[cst.Module, str, list[str] | None]:
        edited, prints = _edited(layout, edits)
        code, new = layout.printed(edited, prints)
        return edited, code, new

    return deep.run(work, "<fix>", depth)


# ---------------------------------------------------------------- offering and applying fixes


@dataclass(frozen=True)
class Offer:
    finding: Finding
    edit: Edit
    fix: Fix


_COUNTS_KEPT = 8
_counts: dict[tuple[str, str], Found | None] = {}

# Where a finding stands, as fix checks compare findings: its code and the place (``Places``) of
# its top-level statement (None: an import, or a node without a position). Edits change
# statements in place, so a finding a fix adds never counts as one that another fix took away
# somewhere else.
Bucket = tuple[str, int | None]


@dataclass(frozen=True)
class Found:
    """The findings of a fixed text: how many of each code in each top-level statement
    (``Bucket``), and for each bucket there are more of than the check allows, the places of
    the top-level statements its findings are reached from along the graph (``_reach``): where
    a fix to blame for them most likely stands."""

    counts: Counter[Bucket]
    reach: Mapping[Bucket, frozenset[int]]


def _fixed_counts(
    module: cst.Module,
    text: str,
    path: str,
    new: list[str] | None = None,
    depth: int | None = None,
    layout: Layout | None = None,
    expected: Counter[Bucket] | None = None,
) -> Found | None:
    """The findings in a fixed text (``module`` edited, ``text`` its code), or None when the
    text does not parse.

    The text is analysed through CPython's tree, as any text is. ``new``, the code of the
    statements the fix printed anew (the rest is the analysed text, laid out by ``layout``):
    only those are parsed again, and without a ``noqa`` comment in the text no finding needs a
    line, so the rules run on the graph of the analysed tree with those statements replaced
    and nothing is located. ``expected``, the most of each bucket the check allows: where there
    are more, ``Found.reach`` says where they are reached from. Remembered for the last few texts:
    ``fix_text`` re-checks the very text ``offers`` has just checked. Callers only read.
    """
    key = (text, path)
    if key not in _counts:
        with collector_off():
            counts = deep.run(lambda: _codes_in(module, text, path, new, layout, expected or Counter()), path, depth)
        if len(_counts) >= _COUNTS_KEPT:
            del _counts[next(iter(_counts))]
        _counts[key] = counts
    return _counts[key]


def _codes_in(
    module: cst.Module,
    text: str,
    path: str,
    new: list[str] | None,
    layout: Layout | None,
    expected: Counter[Bucket],
) -> Found | None:
    try:
        if new is None or layout is None or "noqa" in text.lower():
            whole = parse_ast(text, path)
            analysis = analyse_tree(whole, text, path)
            found = _found([report for _, report in analysis.results], expected, Places(whole.body))
            del analysis
            return found
        tree = layout.spliced(module, new, path)
        reports = list(rules.run(layout.builds.graph(tree), rules.all_rules()))
        return _found(reports, expected, Places(tree.body, layout.tree))
    except SourceError:
        return None


def _found(reports: list[Report], expected: Counter[Bucket], places: Places) -> Found:
    """The counts of ``reports`` by bucket, and the reach of each bucket there are more of than
    ``expected`` (only a check that fails needs to know where to look)."""
    buckets = [places.bucket(report) for report in reports]
    counts = Counter(buckets)
    excess = {bucket for bucket in counts if counts[bucket] > expected[bucket]}
    if not excess:
        return Found(counts, {})
    return Found(counts, _reach([(b, r) for b, r in zip(buckets, reports) if b in excess], places))


class Places:
    """Where a node of a module's tree stands: the place of its top-level statement among those
    that are not imports (None: an import, or a node without a position).

    Edits change statements in place and remove only imports: a statement keeps its place in
    the edited module, whatever imports the edits left unused. A node is placed by its start,
    which lies in its statement's span (a decorator's included). In a tree spliced from
    ``analysed`` (``Layout.spliced``), the statements parsed anew count their lines from 1:
    their nodes are placed by identity, walking only them.
    """

    def __init__(self, body: Sequence[ast.stmt], analysed: ast.Module | None = None) -> None:
        kept = None if analysed is None else {id(statement) for statement in analysed.body}
        self.starts: list[tuple[int, int]] = []
        self.places: list[int | None] = []  # beside each start
        self.fresh: dict[int, int | None] = {}  # id of a node parsed anew -> its place
        count = 0
        for statement in body:
            place = None if isinstance(statement, (ast.Import, ast.ImportFrom)) else count
            count += place is not None
            if kept is None or id(statement) in kept:
                self.starts.append(_start(statement))
                self.places.append(place)
            else:
                self.fresh.update((id(node), place) for node in walked(statement))

    def bucket(self, report: Report) -> Bucket:
        return (report.code, self.of(report.node))

    def of(self, node: ast.AST) -> int | None:
        if id(node) in self.fresh:
            return self.fresh[id(node)]
        line = getattr(node, "lineno", None)
        if line is None:
            return None
        at = bisect_right(self.starts, (line, getattr(node, "col_offset", 0))) - 1
        return self.places[at] if at >= 0 else None


def _start(statement: ast.stmt) -> tuple[int, int]:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([(statement.lineno, statement.col_offset), *((d.lineno, d.col_offset - 1) for d in decorators)])


def _reach(reports: list[tuple[Bucket, Report]], places: Places) -> dict[Bucket, frozenset[int]]:
    """For each bucket, the places (``Places``) of the top-level statements holding the nodes
    its reports stand on or are fed by: their layers and sites, and upstream of their tensors
    every producing layer and RNN.

    The reports are sorted into their buckets once, and each graph object is walked once a
    bucket: the work stays linear in the reports, and in the graph for each bucket.
    """
    by_bucket: dict[Bucket, list[Report]] = {}
    for bucket, report in reports:
        by_bucket.setdefault(bucket, []).append(report)
    reach: dict[Bucket, frozenset[int]] = {}
    for bucket, held in by_bucket.items():
        nodes: list[ast.AST] = []
        seen: set[int] = set()
        todo: list[Tensor | Layer] = []
        for report in held:
            nodes.append(report.node)
            subject = report.subject
            if isinstance(subject, Application):
                nodes.append(subject.site)
                todo += [subject.layer, *subject.inputs]
            elif isinstance(subject, TrainCall):
                nodes.append(subject.call)
                todo.append(subject.output)
            else:
                nodes.append(subject.call)
                todo += [*subject.inputs, subject.output]
            if report.rnn is not None:
                todo.append(report.rnn)
        while todo:
            item = todo.pop()
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, Layer):
                nodes.append(item.call)
                todo += [v for value in item.kwargs.values() for v in _held(value) if isinstance(v, Layer)]
                continue
            if item.origin is not None:
                todo.append(item.origin)
            if item.producer is not None:
                nodes.append(item.producer.site)
                todo += [item.producer.layer, *item.producer.inputs]
        reach[bucket] = frozenset(place for node in nodes if (place := places.of(node)) is not None)
    return reach


def _held(value: object) -> tuple[object, ...]:
    return value.items if isinstance(value, Seq) else (value,)


@dataclass(frozen=True)
class _Outcome:
    """One check of fixes applied together: the fixed text when it passes; else, when known,
    the places (``Places``) of the top-level statements the excess findings are reached from."""

    fixed: str | None
    near: frozenset[int] | None = None


class Before:
    """An analysis' findings as fix checks compare them: how many in each bucket (``Bucket``),
    and the bucket of each finding, by identity (``Offer.finding`` is one of them)."""

    def __init__(self, analysis: Analysis, places: Places | None = None) -> None:
        places = places or Places(analysis.tree.body)
        buckets = {id(f): places.bucket(r) for f, r in zip(analysis.all_findings, analysis.all_reports)}
        self.counts = Counter(buckets.values())
        self.buckets = buckets  # the selected findings (``results``) are among all_findings

    def fixed(self, candidates: Iterable[Offer]) -> Counter[Bucket]:
        """The findings the candidates take away, by bucket."""
        return Counter(self.buckets[id(c.finding)] for c in candidates)


def _checked(analysis: Analysis, layout: Layout, path: str, candidates: list[Offer]) -> str | None:
    """The text with these fixes applied together, when it parses and adds no finding."""
    return _check(analysis, layout, path, candidates).fixed


def _check(
    analysis: Analysis, layout: Layout, path: str, candidates: list[Offer], before: Before | None = None
) -> _Outcome:
    """``_checked``, with where to look first when it fails (see ``_Outcome``); ``before``, the
    analysis' findings by bucket, when the caller has them already."""
    before = before or Before(analysis)
    try:
        edited, fixed, new = _fixed(layout, [c.edit for c in candidates], analysis.depth)
    except BytesChanged:
        return _Outcome(None)
    fixed_buckets = before.fixed(candidates)
    expected = before.counts - fixed_buckets
    after = _fixed_counts(edited, fixed, path, new, analysis.depth, layout, expected)
    if after is None:
        return _Outcome(None)
    # No top-level statement may have more findings of a code than before, less those the fixes
    # take away: counted by code alone, a finding a fix adds could hide behind one that vanished
    # elsewhere.
    excess = [bucket for bucket in after.counts if after.counts[bucket] > expected[bucket]]
    if not excess:
        return _Outcome(fixed)
    return _Outcome(None, frozenset(place for bucket in excess for place in after.reach.get(bucket, ())))


def _calls(edit: Edit) -> tuple[ast.Call, ...]:
    """The calls an edit changes."""
    if isinstance(edit, SetReturnSequences):
        return edit.calls
    return (edit.call,) if isinstance(edit, SetFlag) else (edit.wrapper,)


class _Search:
    """The checks that decide one analysis' offers: each combination of fixes is checked once,
    in the order the candidates come in (``--fix`` applies them in that order), and at most
    MAX_CHECKS combinations are."""

    def __init__(self, analysis: Analysis, layout: Layout, path: str, candidates: list[Offer]) -> None:
        self.analysis, self.layout, self.path = analysis, layout, path
        self.order = {id(c): i for i, c in enumerate(candidates)}
        self.budget = MAX_CHECKS
        self.done: dict[tuple[int, ...], _Outcome] = {}
        self._places = Places(analysis.tree.body)
        self.before = Before(analysis, self._places)

    def places(self, offer: Offer) -> list[int | None]:
        """The places (``Places``) of the top-level statements the offer's edit changes (None:
        not known)."""
        return [self._places.of(call) for call in _calls(offer.edit)]

    def check(self, fixes: list[Offer]) -> _Outcome | None:
        """The outcome of these fixes applied together; None once the budget is spent."""
        fixes = sorted(fixes, key=lambda c: self.order[id(c)])
        key = tuple(self.order[id(c)] for c in fixes)
        if key not in self.done:
            if self.budget == 0:
                return None
            self.budget -= 1
            self.done[key] = _check(self.analysis, self.layout, self.path, fixes, self.before)
        return self.done[key]

    def passing(self, group: list[Offer], base: list[Offer]) -> list[Offer]:
        """The fixes of ``group`` that pass, each checked with ``base`` and every fix of the group
        passed before it applied too: those offered all pass together.

        A group that fails is split: the fixes in statements its excess findings are reached
        from (``_Outcome.near``) apart from the others, which are checked first; when that
        tells nothing apart, it is halved. One bad fix among n costs about three checks when
        its finding is reached from it, 2 log2(n) when not. (A worklist, not recursion: a
        function that calls itself is a cycle that keeps the analysis alive after it is
        dropped, until the cyclic collector walks it.)
        """
        passed: list[Offer] = []
        todo = [group]
        while todo:
            part = todo.pop()
            outcome = self.check(base + passed + part) if part else None
            if outcome is None:
                continue
            if outcome.fixed is not None:
                passed += part
            elif len(part) > 1:
                todo += self._split(part, outcome.near)
        return passed

    def _split(self, part: list[Offer], near: frozenset[int] | None) -> list[list[Offer]]:
        """``part`` in two, the one to check first last."""
        if near is not None:
            close = {id(c) for c in part if any(place is None or place in near for place in self.places(c))}
            if 0 < len(close) < len(part):
                return [[c for c in part if id(c) in close], [c for c in part if id(c) not in close]]
        half = len(part) // 2
        return [part[half:], part[:half]]


def offers(analysis: Analysis, path: str, layout: Layout | None = None) -> list[Offer]:
    """The fixes an analysis can offer (see ``_offers``), worked out where deep trees fit."""
    return deep.run(lambda: _offers(analysis, path, layout), path, analysis.depth)


def _offers(analysis: Analysis, path: str, layout: Layout | None = None) -> list[Offer]:
    """The fixes an analysis can offer: applied as ``--fix`` applies them, they parse and add
    no finding.

    ``--fix`` applies the safe fixes together, ``--fix --unsafe-fixes`` all of them: each group
    is checked as a whole (one re-analysis, however many findings). A group that fails is split
    until the fixes to blame are alone, and every other fix is still offered (see
    ``_Search.passing``). After MAX_CHECKS checks, the fixes not yet checked are not offered.
    ``layout`` is the analysed module's, when the caller has made it already.
    """
    proposed = []
    for finding, report in analysis.results:
        rule = rules.get(report.code)
        assert rule is not None  # reports come from registered rules
        edit = rule.fix(report)
        if edit is not None:
            proposed.append((finding, report, rule, edit))
    if not proposed:
        return []  # libcst never parses the text
    layout = layout or Layout.of(analysis)
    if layout is None:
        return []  # libcst cannot read the text: there is no tree to edit
    candidates = []
    for finding, report, rule, edit in proposed:
        if layout.feasible(edit):
            applicability = "unsafe" if isinstance(edit, SetFlag) and not edit.safe else rule.fix_applicability
            candidates.append(Offer(finding, edit, Fix(applicability, analysis.fix_message(report, edit))))
    search = _Search(analysis, layout, path, candidates)
    # Offers are told apart by identity, never compared: with thousands of findings in a file,
    # list membership on the dataclasses would cost millions of comparisons.
    offered = search.passing([c for c in candidates if c.fix.applicability == "safe"], [])
    alone = {id(c) for c in offered}  # the safe fixes that pass without any unsafe one
    offered += search.passing([c for c in candidates if id(c) not in alone], offered)
    chosen = {id(c) for c in offered}
    # A safe fix that passes only beside unsafe ones is no safe fix: `--fix` alone would apply it
    # without them.
    return [c if id(c) in alone or c.fix.applicability != "safe" else _unsafe(c) for c in candidates if id(c) in chosen]


def _unsafe(offer: Offer) -> Offer:
    return replace(offer, fix=replace(offer.fix, applicability="unsafe"))


def fix_text(
    text: str,
    path: str,
    *,
    unsafe: bool,
    select: Iterable[str] | None = None,
    ignore: Iterable[str] | None = None,
    codes: list[str] | None = None,
    last: list[tuple[Analysis, list[Offer]]] | None = None,
) -> tuple[str, int]:
    """The text with every offered fix applied (safe ones, and unsafe ones if asked), and how many;
    ``codes``, when given, gets the code of each fix applied (``--show-fixes``); ``last``, the
    analysis of the text returned and the fixes it offers, when the last pass made them (it
    found nothing more to apply): what a report of the fixed text would analyse again."""
    # Not on the deep thread as a whole: each analysis measures its text, and what it fits
    # (the caller's thread, for most code) its offers and checks are worked on too.
    return _fix_text(text, path, unsafe, select, ignore, codes, last)


def _fix_text(
    text: str,
    path: str,
    unsafe: bool,
    select: Iterable[str] | None,
    ignore: Iterable[str] | None,
    codes: list[str] | None,
    last: list[tuple[Analysis, list[Offer]]] | None,
) -> tuple[str, int]:
    if text and not text.endswith(("\n", "\r")):
        # libcst does not print back comments at the end of a file without a final newline: fix
        # the text with one (nothing moves), and take it off again (its analysis is of another text).
        fixed, count = _fix_lines(text + "\n", path, unsafe, select, ignore, codes, None)
        return (fixed[:-1], count) if count and fixed.endswith("\n") else (text, 0)
    return _fix_lines(text, path, unsafe, select, ignore, codes, last)


def _fix_lines(
    text: str,
    path: str,
    unsafe: bool,
    select: Iterable[str] | None,
    ignore: Iterable[str] | None,
    codes: list[str] | None,
    last: list[tuple[Analysis, list[Offer]]] | None,
) -> tuple[str, int]:
    applied = 0
    final: tuple[Analysis, list[Offer]] | None = None  # of ``text``, as it is now
    for _ in range(MAX_PASSES):
        analysis = analyse(text, path, Options.of(select, ignore))
        if analysis is None:
            break
        layout = Layout.of(analysis)
        if layout is None:
            break
        offered = offers(analysis, path, layout)
        final = (analysis, offered)
        chosen = [o for o in offered if unsafe or o.fix.applicability == "safe"]
        if not chosen:
            break
        fixed = _checked(analysis, layout, path, chosen)
        if fixed is None:  # together they interact: the first that passes its check alone
            for offer in chosen:
                fixed = _checked(analysis, layout, path, [offer])
                if fixed is not None:
                    chosen = [offer]
                    break
        if fixed is None or fixed == text:
            break
        text, applied, final = fixed, applied + len(chosen), None
        if codes is not None:
            codes += [o.finding.code for o in chosen]
    if last is not None and final is not None:
        last.append(final)
    return text, applied
