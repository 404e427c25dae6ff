"""Code actions: each finding's fix, fix all, ``# noqa``, and "Verify with Keras".

Every edit is the smallest set of replacements between the document and the changed text (see
``text.replacements``), never the whole document. Computed in the lint thread: fixes re-analyse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from lsprotocol import types

from kerascheck.server import convert, text
from kerascheck.server.lint import Linted, Placed

FIX_ALL = "source.fixAll.kerascheck"
VERIFY = "kerascheck.verify"
FIX_ALL_TITLE = "Fix all safe kerascheck findings"


def wants(only: Sequence[str] | None, kind: str) -> bool:
    """Whether a request's ``only`` admits actions of ``kind`` (kinds are dotted hierarchies)."""
    return only is None or any(kind == o or kind.startswith(o + ".") for o in only)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _edit(linted: Linted, program: str | None, encoding: str) -> types.WorkspaceEdit | None:
    if program is None:
        return None
    edits = linted.edits(program)
    if not edits:
        return None
    changes: dict[str, list[types.TextEdit]] = {}
    for uri, replacements in edits.items():
        old = linted.source.document_text(uri)
        assert old is not None
        changes[uri] = convert.text_edits(replacements, text.lines(old), encoding)
    return types.WorkspaceEdit(changes=changes)


def verify_command(placed: Placed, lines: list[str], encoding: str, title: str = "Verify with Keras") -> types.Command:
    start = convert.finding_range(placed.local, lines, encoding).start
    arguments: list[Any] = [placed.uri, start.line, start.character, placed.finding.code]
    return types.Command(title=title, command=VERIFY, arguments=arguments)


def code_actions(
    linted: Linted, uri: str, wanted: types.Range, only: Sequence[str] | None, encoding: str
) -> list[types.CodeAction]:
    document = linted.source.document_text(uri)
    if document is None:
        return []
    lines = text.lines(document)
    actions: list[types.CodeAction] = []
    here = [p for p in linted.in_document(uri) if _overlaps(convert.finding_range(p.local, lines, encoding), wanted)]
    for placed in here:
        diagnostic = convert.diagnostic(placed, lines, encoding)
        offer = linted.offers().get(placed.index)
        if offer is not None and wants(only, types.CodeActionKind.QuickFix):
            safe = offer.fix.applicability == "safe"
            edit = _edit(linted, linted.fixed(placed.index), encoding)
            if edit is not None:
                actions.append(
                    types.CodeAction(
                        title=offer.fix.message if safe else f"{offer.fix.message} (unsafe fix)",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        is_preferred=safe,
                        edit=edit,
                    )
                )
        if wants(only, types.CodeActionKind.QuickFix):
            edit = _edit(linted, linted.silenced(placed.index), encoding)
            if edit is not None:
                actions.append(
                    types.CodeAction(
                        title=f"Silence {placed.finding.code} on this line",
                        kind=types.CodeActionKind.QuickFix,
                        diagnostics=[diagnostic],
                        edit=edit,
                    )
                )
        if only is None:
            command = verify_command(placed, lines, encoding, f"Verify {placed.finding.code} with Keras")
            actions.append(types.CodeAction(title=command.title, diagnostics=[diagnostic], command=command))
    if wants(only, FIX_ALL) and (only is not None or here):  # it costs a --fix run: not on every cursor move
        edit = _edit(linted, linted.fix_all(), encoding)
        if edit is not None:
            actions.append(types.CodeAction(title=FIX_ALL_TITLE, kind=FIX_ALL, edit=edit))
    return actions
