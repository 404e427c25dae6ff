"""One document's lint: its findings placed in their documents, and what can be done with them
(fixes, ``# noqa``, verification plans), each computed once, when first asked.

No analysis is kept. A syntax tree is hundreds of thousands of objects, made with the cyclic
collector off (``check.collector_off``); kept, the collector would walk all of them in the
collections that follow, which costs a 500-line file about 100 ms of latency after every change.
So each analysis is dropped inside its block: fixes and plans analyse the text again when first
asked, and keep only their results (texts, plain data).

Everything here runs in the server's one lint thread.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from kerascheck import notebooks
from kerascheck.check import Analysis, Options, analyse, collector_off
from kerascheck.findings import Finding, Fix, SourceError
from kerascheck.server import silence
from kerascheck.server.documents import Source
from kerascheck.server.settings import Choice
from kerascheck.server.text import Replacement, replacements
from kerascheck.server.verification import Verified
from kerascheck.verify.plans import Pending, Plan


@dataclass(frozen=True)
class Placed:
    """A finding on the analysed text, and the same finding in the document it belongs to."""

    index: int  # in the analysis' results
    finding: Finding  # lines of the analysed text (a notebook's program)
    uri: str
    local: Finding  # lines of its document (a notebook's cell)


@dataclass(frozen=True)
class Offered:
    fix: Fix
    text: str  # the analysed text with this fix applied


@dataclass
class Linted:
    source: Source
    choice: Choice
    placed: list[Placed] = field(default_factory=list)
    error: str | None = None  # why there are no findings: the text does not parse ...
    verdicts: dict[int, Verified] = field(default_factory=dict)  # Keras' verdict on findings, by index
    _offers: dict[int, Offered] | None = None
    _plans: list[Plan] | None = None
    _fixed_all: tuple[str | None] | None = None

    @property
    def version(self) -> int | None:
        return self.source.version

    def in_document(self, uri: str) -> list[Placed]:
        return [p for p in self.placed if p.uri == uri]

    @contextmanager
    def _analysis(self) -> Iterator[Analysis]:
        """The text analysed again, as ``lint`` analysed it (the same findings in the same
        order); to be dropped inside the block (see the module's docstring)."""
        with collector_off():
            analysis = _analyse(self.source, self.choice)
            assert analysis is not None and len(analysis.results) == len(self.placed)
            try:
                yield analysis
            finally:
                del analysis

    # ------------------------------------------------------------ fixes

    def offers(self) -> dict[int, Offered]:
        """The fix offered for each finding (by index), as ``--fix`` would apply it."""
        if self._offers is None:
            self._offers = {}
            if self.placed:
                # libcst's editing, imported by the first code action: a server that only lints
                # (its first diagnostics, after start) never loads it.
                from kerascheck.fix import Layout, fixed_code, offers

                with self._analysis() as analysis:
                    layout = Layout.of(analysis)  # None: libcst cannot read the text, no fix
                    by_id = {id(f): i for i, f in enumerate(analysis.findings)}
                    for offer in offers(analysis, self.source.path, layout) if layout is not None else []:
                        assert layout is not None
                        fixed = fixed_code(layout, [offer.edit])[1]
                        self._offers[by_id[id(offer.finding)]] = Offered(offer.fix, fixed)
                    del analysis, layout
        return self._offers

    def fixed(self, index: int) -> str | None:
        """The analysed text with the fix of finding ``index`` applied, if it has one."""
        offered = self.offers().get(index)
        return None if offered is None else offered.text

    def fix_all(self) -> str | None:
        """The analysed text with every safe fix applied (``--fix``), when there is one."""
        if self._fixed_all is None:
            self._fixed_all = (None,)
            if any(o.fix.applicability == "safe" for o in self.offers().values()):
                from kerascheck.fix import fix_text

                source, choice = self.source, self.choice
                with collector_off():
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

    def plan(self, index: int) -> Plan:
        """The verification plan of finding ``index`` (``kerascheck.verify.spec``)."""
        if self._plans is None:
            with self._analysis() as analysis:
                self._plans = _plans(analysis, self.source.text)
                del analysis
        return self._plans[index]


def _plans(analysis: Analysis, text: str) -> list[Plan]:
    from kerascheck.verify.spec import attach_plans

    planned = attach_plans(analysis.findings, analysis, text)
    return [v.plan for f in planned if isinstance(v := f.verification, Pending)]


def _analyse(source: Source, choice: Choice) -> Analysis | None:
    """Raises SourceError."""
    if source.line_map is not None:
        if not source.text.strip():
            return None
        notebooks.validate(source.text, source.line_map, source.path)
    label = str if source.line_map is None else source.line_map.label
    return analyse(source.text, source.path, Options.of(choice.select, choice.ignore, line_label=label))


def lint(source: Source, choice: Choice, plans: bool = False) -> Linted:
    """Analyse a source (with ``plans``, make the verification plans in the same analysis).
    Never raises: a text that cannot be analysed has no findings and says why."""
    linted = Linted(source, choice)
    if choice.excluded:
        return linted
    if source.problem is not None:
        linted.error = source.problem
        return linted
    with collector_off():
        try:
            analysis = _analyse(source, choice)
            if analysis is not None:
                for index, finding in enumerate(analysis.findings):
                    uri, local = source.place(finding)
                    linted.placed.append(Placed(index, finding, uri, local))
                if plans and analysis.results:
                    linted._plans = _plans(analysis, source.text)
            del analysis  # freed while the collector is off: never walked by it
        except SourceError as error:
            linted.error = error.reason
        except Exception as error:  # a bug of ours: one line, and the server goes on
            linted.error = f"internal error, please report: {type(error).__name__}: {error}"
    return linted
