"""Fixes: what a rule proposes (an edit, as data), whether it is offered, and applying it.

Edits are applied to the very tree the analysis read, so every byte a fix does not touch stays
as it was; only the nodes on the way to an edit are made anew. A fix is offered only when the
fixed text parses and no new finding appears in it; ``fix_text`` applies the offered fixes,
re-checking after every pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import cast

import libcst as cst

from kerascheck import deep, rules
from kerascheck.check import Analysis, Options, analyse, analyse_parsed, collector_off, parse_ast
from kerascheck.edits import ARGUMENT, Edit, SetFlag, SetReturnSequences, inner_arg, is_blank
from kerascheck.findings import Finding, Fix, SourceError
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


def _changes(edits: Iterable[Edit]) -> tuple[dict[int, Change], set[str], dict[int, cst.CSTNode]]:
    """What each edited call becomes, by the call's id; the wrapper names unwrapped; and, filled
    in as the changes are made, what each edited call became."""
    values: dict[int, tuple[bool, int | None]] = {}  # the value, and the argument's position
    unwraps: dict[int, cst.Call] = {}
    flags: dict[int, dict[str, bool]] = {}
    for edit in edits:
        if isinstance(edit, SetReturnSequences):
            for layer in edit.layers:
                values.setdefault(id(layer.call), (edit.value, edit.position(layer)))
        elif isinstance(edit, SetFlag):
            flags.setdefault(id(edit.call), {}).setdefault(edit.keyword, edit.value)
        else:
            unwraps[id(edit.wrapper)] = edit.wrapper
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
    return {key: change(key) for key in {*values, *unwraps, *flags}}, names, made


def _remove_unused_imports(module: cst.Module, names: set[str]) -> cst.Module:
    """Drop ``from ... import TimeDistributed`` aliases that the unwrapping left unused.

    Only the aliases go: a statement left with none is removed, and the comments and blank
    lines above it move to the statement after it (or the end of the file).
    """
    names = names - _names_used(module)
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


def _names_used(module: cst.Module) -> set[str]:
    """Every name the module's code mentions outside its imports (attribute names too: a name
    counted used when it is not keeps its import, which is harmless)."""
    return {n.value for n in walk(module, (cst.Import, cst.ImportFrom)) if type(n) is cst.Name}


class Layout:
    """An analysed module's top-level statements: which one holds each call, and the text of
    each, so that applying edits rebuilds and prints only the statements the edits touch."""

    def __init__(self, module: cst.Module, text: str | None = None) -> None:
        self.module = module
        self.text = text  # the analysed text, when known
        self._faithful: bool | None = None
        self.index: dict[int, int] = {}  # id of a call -> its top-level statement
        for i, statement in enumerate(module.body):
            self.index.update((id(n), i) for n in walk(statement) if type(n) is cst.Call)
        self.pieces: list[str | None] = [None] * len(module.body)  # each statement's text, once printed

    @property
    def faithful(self) -> bool:
        """Whether libcst prints the analysed module back as the text it was (it does not, for
        one, with comments at the end of a file without a final newline): else no fix is made,
        since every byte a fix does not touch must stay."""
        if self._faithful is None:
            self._faithful = self.text is None or self.module.code == self.text
        return self._faithful

    def code(self, edited: cst.Module) -> str:
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


class BytesChanged(Exception):
    """The printed text differs from the analysed one outside the edited calls: not a fix."""


def apply_edits(layout: Layout, edits: Iterable[Edit]) -> cst.Module:
    """The laid out module with the edits made, and imports they left unused removed.

    Raises BytesChanged when the edited module would print differently from the analysed text
    anywhere but in the edited calls (see ``_kept_outside``).
    """
    module = layout.module
    if not layout.faithful:
        raise BytesChanged("libcst does not print this text back as it is")
    changes, unwrapped, made = _changes(edits)
    index = layout.index
    touched = {index.get(key) for key in changes}
    if None in touched:
        fixed = rebuild(module, changes)
    else:
        body: list[cst.BaseStatement] = list(module.body)
        for i in touched:
            assert i is not None  # None not in touched
            body[i] = cast(cst.BaseStatement, rebuild(body[i], changes))  # a statement stays a statement
        fixed = module.with_changes(body=body)
    assert isinstance(fixed, cst.Module)
    _kept_outside(module, fixed, made)
    return _remove_unused_imports(fixed, unwrapped)


def _kept_outside(module: cst.Module, fixed: cst.Module, made: dict[int, cst.CSTNode]) -> None:
    """BytesChanged unless each changed top-level statement prints as before once every edited
    call, old and new, is replaced by the same placeholder (the outermost edits only: an edit
    inside another is within its span)."""
    changed = [(old, new) for old, new in zip(module.body, fixed.body) if old is not new]
    calls = {id(n): n for old, _ in changed for n in walk(old) if id(n) in made}
    inner = {id(n) for call in calls.values() for n in walk(call) if n is not call and id(n) in made}
    outermost = sorted(key for key in made if key not in inner)
    mark = {key: f"__kerascheck_edit_{number}__" for number, key in enumerate(outermost)}

    def placeholder(name: str) -> Change:
        return lambda _node: cst.Name(name)

    for old, new in changed:
        before = rebuild(old, {key: placeholder(name) for key, name in mark.items()})
        after = rebuild(new, {id(made[key]): placeholder(name) for key, name in mark.items()})
        if module.code_for_node(before) != fixed.code_for_node(after):
            raise BytesChanged("the fix would change text outside the calls it edits")


def fixed_code(layout: Layout, edits: Iterable[Edit]) -> tuple[cst.Module, str]:
    """The edited module and its code; statements the edits leave alone keep their text.
    Raises BytesChanged (see ``apply_edits``)."""

    def work() -> tuple[cst.Module, str]:
        edited = apply_edits(layout, edits)
        return edited, layout.code(edited)

    return deep.run(work, "<fix>")


# ---------------------------------------------------------------- offering and applying fixes


@dataclass(frozen=True)
class Offer:
    finding: Finding
    edit: Edit
    fix: Fix


_COUNTS_KEPT = 8
_counts: dict[tuple[str, str], Counter[str] | None] = {}


def _fixed_counts(module: cst.Module, text: str, path: str) -> Counter[str] | None:
    """Finding codes in a fixed text (``module`` edited, ``text`` its code), or None when the
    text does not parse.

    Remembered for the last few texts: ``fix_text`` re-checks the very text ``offers`` has just
    checked. Callers only read.
    """
    key = (text, path)
    if key not in _counts:
        counts: Counter[str] | None = None
        with collector_off():
            try:
                analysis = analyse_parsed(module, parse_ast(text, path), text, path)
                counts = Counter(f.code for f in analysis.all_findings)
                del analysis
            except SourceError:
                pass
        if len(_counts) >= _COUNTS_KEPT:
            del _counts[next(iter(_counts))]
        _counts[key] = counts
    return _counts[key]


def _no_new_findings(before: Counter[str], after: Counter[str] | None, fixed: Counter[str]) -> bool:
    if after is None:
        return False
    expected = before - fixed
    return all(after[code] <= expected[code] for code in after)


def _checked(analysis: Analysis, layout: Layout, path: str, candidates: list[Offer]) -> str | None:
    """The text with these fixes applied together, when it parses and adds no finding."""
    before = Counter(f.code for f in analysis.all_findings)
    try:
        edited, fixed = fixed_code(layout, [c.edit for c in candidates])
    except BytesChanged:
        return None
    valid = _no_new_findings(before, _fixed_counts(edited, fixed, path), Counter(c.finding.code for c in candidates))
    return fixed if valid else None


def offers(analysis: Analysis, path: str, layout: Layout | None = None) -> list[Offer]:
    """The fixes an analysis can offer (see ``_offers``), worked out where deep trees fit."""
    return deep.run(lambda: _offers(analysis, path, layout), path)


def _offers(analysis: Analysis, path: str, layout: Layout | None = None) -> list[Offer]:
    """The fixes an analysis can offer: applied as ``--fix`` applies them, they parse and add
    no finding.

    ``--fix`` applies the safe fixes together, ``--fix --unsafe-fixes`` all of them: each group
    is checked as a whole (one re-analysis, however many findings). A group that fails is
    halved, and its halves checked, until the fixes to blame are alone: one bad fix among n
    costs about 2 log2(n) checks, and every other fix is still offered. After MAX_CHECKS
    checks, the fixes not yet checked are not offered. ``layout`` is the analysed module's,
    when the caller has made it already.
    """
    if analysis.reindented:
        return []  # its module is the spaces-only twin: printing it would change every indentation
    layout = layout or Layout(analysis.module, analysis.text)
    candidates = []
    for finding, report in analysis.results:
        rule = rules.get(report.code)
        assert rule is not None  # reports come from registered rules
        edit = rule.fix(report)
        if edit is not None:
            applicability = "unsafe" if isinstance(edit, SetFlag) and not edit.safe else rule.fix_applicability
            candidates.append(Offer(finding, edit, Fix(applicability, analysis.fix_message(report, edit))))
    offered: list[Offer] = []
    budget = MAX_CHECKS

    def passing(group: list[Offer]) -> list[Offer]:
        """The fixes of ``group`` that pass their check, with those offered before applied too."""
        nonlocal budget
        if not group or budget == 0:
            return []
        budget -= 1
        if _checked(analysis, layout, path, offered + group) is not None:
            return group
        if len(group) == 1:
            return []
        half = len(group) // 2
        return passing(group[:half]) + passing(group[half:])

    safe = [c for c in candidates if c.fix.applicability == "safe"]
    offered += passing(safe)
    alone = list(offered)  # the safe fixes that pass without any unsafe one
    offered += passing([c for c in candidates if c not in offered])
    # A safe fix that passes only beside unsafe ones is no safe fix: `--fix` alone would apply it
    # without them.
    return [c if c in alone or c.fix.applicability != "safe" else _unsafe(c) for c in candidates if c in offered]


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
) -> tuple[str, int]:
    """The text with every offered fix applied (safe ones, and unsafe ones if asked), and how many;
    ``codes``, when given, gets the code of each fix applied (``--show-fixes``)."""
    return deep.run(lambda: _fix_text(text, path, unsafe, select, ignore, codes), path)


def _fix_text(
    text: str,
    path: str,
    unsafe: bool,
    select: Iterable[str] | None,
    ignore: Iterable[str] | None,
    codes: list[str] | None,
) -> tuple[str, int]:
    if text and not text.endswith(("\n", "\r")):
        # libcst does not print back comments at the end of a file without a final newline: fix
        # the text with one (nothing moves), and take it off again.
        fixed, count = _fix_lines(text + "\n", path, unsafe, select, ignore, codes)
        return (fixed[:-1], count) if count and fixed.endswith("\n") else (text, 0)
    return _fix_lines(text, path, unsafe, select, ignore, codes)


def _fix_lines(
    text: str,
    path: str,
    unsafe: bool,
    select: Iterable[str] | None,
    ignore: Iterable[str] | None,
    codes: list[str] | None,
) -> tuple[str, int]:
    applied = 0
    for _ in range(MAX_PASSES):
        analysis = analyse(text, path, Options.of(select, ignore))
        if analysis is None:
            break
        layout = Layout(analysis.module, analysis.text)
        chosen = [o for o in offers(analysis, path, layout) if unsafe or o.fix.applicability == "safe"]
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
        text, applied = fixed, applied + len(chosen)
        if codes is not None:
            codes += [o.finding.code for o in chosen]
    return text, applied
