"""The graphs of one text's fix checks, each re-analysing only what its edits touched.

Every check builds the graph of the analysed tree with a few statements printed anew (see
``fix.Layout.spliced``), and checks differ from each other in a few statements more. Each build
records, per top-level statement, the locations of the module's state it read and the values it
left in those it wrote (``trace``), and the graph nodes it made. The next build walks its own
statements beside the recorded ones: a statement that is the very same (CPython's tree of it is
shared) and read no location that differs here from there (``dirty``) would do exactly what it
did, so its writes and graph nodes are copied; any other statement runs, and the locations it
writes, or its recorded twin wrote, are dirty from then on. Copying a statement's writes makes
them equal again. Once the state whose reads are not noted (``trace.UNREAD``: ``global``
names, star imports, module attributes) differs, nothing more is copied.

Values are shared between builds, never changed in place (a layer changed by unseen code is the
builder's ``changed`` location, not a flag on the layer), and heap keys come from one
``Allocator``: a copied statement's objects are what the whole build would make, named alike.
"""

from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass
from itertools import islice
from typing import Any

from kerascheck.graph.builder import Allocator, Builder, Syntax
from kerascheck.graph.model import Application, Graph, InputCall, TrainCall
from kerascheck.graph.state import MISSING
from kerascheck.graph.trace import ANY, UNREAD, Location, Trace

KEPT = 3  # builds kept to copy statements from: the offer search checks sets that grow


@dataclass(frozen=True, eq=False)
class Step:
    """What one top-level statement did in a build."""

    statement: ast.stmt
    reads: frozenset[Location]
    writes: frozenset[Location]
    values: tuple[tuple[str, object, object], ...]  # (tag, key, value left there) of each key written
    stars: tuple[str, ...]  # star imports it added
    applications: tuple[Application, ...]
    train_calls: tuple[TrainCall, ...]
    input_calls: tuple[InputCall, ...]
    statement_of: tuple[tuple[int, ast.stmt | None], ...]


@dataclass(frozen=True, eq=False)
class _Build:
    steps: tuple[Step, ...]
    index: dict[int, int]  # id of a statement -> its step


class Builds:
    """The builds of one analysed text's fix checks. ``counts`` says what they did: ``run``
    statements run, ``copied`` statements whose effects were copied, ``whole`` builds with no
    build before them to copy from."""

    def __init__(self, syntax: Syntax | None = None) -> None:
        self.allocator = Allocator()
        # What the nodes say, worked out once for every build (and, when given, for the
        # analysed text's own build: the checks share most of its statements)
        self.syntax = syntax or Syntax()
        self.kept: list[_Build] = []
        self.counts: Counter[str] = Counter()

    def graph(self, tree: ast.Module) -> Graph:
        """The graph of ``tree``: exactly what ``build_graph`` makes of it."""
        body = tree.body
        before = self._closest(body)
        if before is None:
            self.counts["whole"] += 1
        trace = Trace()
        builder = Builder(trace, self.allocator, self.syntax)
        containers = builder.containers()
        steps: list[Step] = []
        dirty: set[Location] = set()
        recorded = before.steps if before is not None else ()
        index = before.index if before is not None else {}
        position = 0  # the recorded step after the last one matched
        unread = [(tag, ANY) for tag in UNREAD]
        for statement in body:
            at = index.get(id(statement), -1)
            if at >= position and not dirty.isdisjoint(unread):
                at = -1  # state whose reads are not noted differs: nothing more is copied
            if at >= position:
                for skipped in recorded[position:at]:  # statements not in this tree (edited, removed)
                    dirty |= skipped.writes
                position = at + 1
                step = recorded[at]
                if step.reads.isdisjoint(dirty):
                    _copy(builder, containers, step)
                    dirty.difference_update(w for w in step.writes if w[1] is not ANY)
                    steps.append(step)
                    self.counts["copied"] += 1
                    continue
                dirty |= step.writes
            step = _run(builder, trace, containers, statement)
            dirty |= step.writes
            steps.append(step)
            self.counts["run"] += 1
        built = _Build(tuple(steps), {id(step.statement): i for i, step in enumerate(steps)})
        self.kept = [built, *self.kept[: KEPT - 1]]
        return builder.graph

    def _closest(self, body: list[ast.stmt]) -> _Build | None:
        """The kept build that shares the most statements with ``body``."""
        best, shared = None, 0
        for build in self.kept:
            count = sum(1 for statement in body if id(statement) in build.index)
            if count > shared:
                best, shared = build, count
        return best


def _run(builder: Builder, trace: Trace, containers: dict[str, Any], statement: ast.stmt) -> Step:
    """Run one top-level statement, noting what it read and wrote."""
    graph = builder.graph
    apps, trains, inputs = graph.mark()
    calls = len(graph.statement_of)
    stars = list.__len__(builder.scope.stars)
    trace.reads.clear()
    trace.writes.clear()
    builder.run(statement)
    values = []
    for tag, key in trace.writes:
        if key is ANY:
            continue
        container = containers[tag]
        value = dict.get(container, key, MISSING) if isinstance(container, dict) else True
        values.append((tag, key, value))
    made = len(graph.statement_of) - calls  # a call node is evaluated by its own statement only
    return Step(
        statement,
        frozenset(trace.reads),
        frozenset(trace.writes),
        tuple(values),
        tuple(list.__getitem__(builder.scope.stars, slice(stars, None))),
        tuple(graph.applications[apps:]),
        tuple(graph.train_calls[trains:]),
        tuple(graph.input_calls[inputs:]),
        tuple(reversed([(k, graph.statement_of[k]) for k in islice(reversed(graph.statement_of), made)])),
    )


def _copy(builder: Builder, containers: dict[str, Any], step: Step) -> None:
    """Do what a recorded statement did, through the containers' own methods (noting nothing)."""
    for tag, key, value in step.values:
        container = containers[tag]
        if isinstance(container, set):
            set.add(container, key)
        elif value is MISSING:
            dict.pop(container, key, None)
        else:
            dict.__setitem__(container, key, value)
    list.extend(builder.scope.stars, step.stars)
    graph = builder.graph
    graph.applications += step.applications
    graph.train_calls += step.train_calls
    graph.input_calls += step.input_calls
    graph.statement_of.update(step.statement_of)
