"""One document's lint: the analysis, its findings placed in their documents, and what can be
done with them (fixes, ``# noqa``, verification plans), each computed once, when first asked.

Everything here runs in the server's one lint thread: an analysis' libcst tree is only ever
touched there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kerascheck import notebooks
from kerascheck.check import Analysis, analyse
from kerascheck.findings import Finding, SourceError
from kerascheck.fix import Layout, Offer, fix_text, fixed_code, offers
from kerascheck.server import silence
from kerascheck.server.documents import Source
from kerascheck.server.settings import Choice
from kerascheck.server.text import Replacement, replacements
from kerascheck.server.verification import Verified


@dataclass(frozen=True)
class Placed:
    """A finding on the analysed text, and the same finding in the document it belongs to."""

    index: int  # in the analysis' results
    finding: Finding  # lines of the analysed text (a notebook's program)
    uri: str
    local: Finding  # lines of its document (a notebook's cell)


@dataclass
class Linted:
    source: Source
    choice: Choice
    analysis: Analysis | None = None
    placed: list[Placed] = field(default_factory=list)
    error: str | None = None  # why there are no findings: the text does not parse ...
    verdicts: dict[int, Verified] = field(default_factory=dict)  # Keras' verdict on findings, by index
    _offers: dict[int, Offer] | None = None
    _plans: list[dict[str, Any]] | None = None
    _layout: Layout | None = None
    _fixed_all: tuple[str | None] | None = None

    @property
    def version(self) -> int | None:
        return self.source.version

    def in_document(self, uri: str) -> list[Placed]:
        return [p for p in self.placed if p.uri == uri]

    # ------------------------------------------------------------ fixes

    def offers(self) -> dict[int, Offer]:
        """The fix offered for each finding (by index), as ``--fix`` would apply it."""
        if self._offers is None:
            self._offers = {}
            if self.analysis is not None and self.analysis.results:
                self._layout = Layout(self.analysis.module)
                by_id = {id(f): i for i, f in enumerate(self.analysis.findings)}
                for offer in offers(self.analysis, self.source.path, self._layout):
                    self._offers[by_id[id(offer.finding)]] = offer
        return self._offers

    def fixed(self, index: int) -> str | None:
        """The analysed text with the fix of finding ``index`` applied, if it has one."""
        offer = self.offers().get(index)
        if offer is None or self._layout is None:
            return None
        return fixed_code(self._layout, [offer.edit])[1]

    def fix_all(self) -> str | None:
        """The analysed text with every safe fix applied (``--fix``), when there is one."""
        if self._fixed_all is None:
            self._fixed_all = (None,)
            if any(o.fix.applicability == "safe" for o in self.offers().values()):
                source, choice = self.source, self.choice
                fixed, count = fix_text(
                    source.text, source.path, unsafe=False, select=choice.select, ignore=choice.ignore
                )
                self._fixed_all = (fixed if count else None,)
        return self._fixed_all[0]

    def silenced(self, index: int) -> str | None:
        """The analysed text with a ``# noqa`` for finding ``index``."""
        return silence.add_noqa(self.source.text, self.placed[index].finding)

    def edits(self, program: str) -> dict[str, list[Replacement]] | None:
        """A changed analysed text as the smallest edits of each document it changes; None when
        it cannot be written back (a notebook change spanning cells, or touching a magic)."""
        try:
            changed = self.source.write_back(program)
        except notebooks.NotebookError:
            return None
        out = {}
        for uri, text in changed.items():
            old = self.source.document_text(uri)
            assert old is not None
            out[uri] = replacements(old, text)
        return out

    # ------------------------------------------------------------ verification

    def plan(self, index: int) -> dict[str, Any]:
        """The verification plan of finding ``index`` (``kerascheck.verify.spec``)."""
        if self._plans is None:
            from kerascheck.verify.spec import attach_plans

            assert self.analysis is not None
            planned = attach_plans(self.analysis.findings, self.analysis, self.source.text)
            self._plans = [f.verification["plan"] for f in planned]  # type: ignore[index]
        return self._plans[index]


def lint(source: Source, choice: Choice) -> Linted:
    """Analyse a source. Never raises: a text that cannot be analysed has no findings and says why."""
    linted = Linted(source, choice)
    if choice.excluded:
        return linted
    try:
        if source.line_map is not None:
            if not source.text.strip():
                return linted
            notebooks.validate(source.text, source.line_map, source.path)
        label = str if source.line_map is None else source.line_map.label
        analysis = analyse(source.text, source.path, select=choice.select, ignore=choice.ignore, line_label=label)
    except SourceError as error:
        linted.error = error.reason
        return linted
    except Exception as error:  # a bug of ours: one line, and the server goes on
        linted.error = f"internal error, please report: {type(error).__name__}: {error}"
        return linted
    linted.analysis = analysis
    if analysis is not None:
        for index, finding in enumerate(analysis.findings):
            uri, local = source.place(finding)
            linted.placed.append(Placed(index, finding, uri, local))
    return linted
