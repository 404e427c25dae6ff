"""The rules, one module each, in code order."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import ModuleType

from kerascheck.graph.model import Graph
from kerascheck.rules import ker101, ker102, ker103, ker104, ker105, ker106
from kerascheck.rules.base import Report

RULES: tuple[ModuleType, ...] = (ker101, ker102, ker103, ker104, ker105, ker106)
BY_CODE: dict[str, ModuleType] = {rule.CODE: rule for rule in RULES}


def selected(select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[ModuleType]:
    """Rules whose code starts with a selected prefix and with no ignored one."""
    chosen = [r for r in RULES if select is None or any(r.CODE.startswith(p) for p in select)]
    return [r for r in chosen if not any(r.CODE.startswith(p) for p in ignore or ())]


def run(graph: Graph, rules: Iterable[ModuleType]) -> Iterator[Report]:
    seen: set[tuple[str, int]] = set()
    for rule in rules:
        for report in rule.check(graph):
            key = (report.code, id(report.node))
            if key not in seen:  # a layer applied twice, an unrolled loop: report once
                seen.add(key)
                yield report
