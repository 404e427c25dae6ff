"""The rules, one module each, found by scanning this package (as Fixit finds its rules).

A module of a scanned package that defines ``RULE``, a ``Rule``, is a rule: adding a rule is
adding its module. Everything else (the CLI's listing and pages, the prefilter, fixes, the
verifier, SARIF's rule list, the server, the tests) asks this registry.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from collections.abc import Iterable, Iterator

from kerascheck.graph.model import Graph
from kerascheck.rules.base import Report, Rule

__all__ = ["Report", "Rule", "all_rules", "get", "register", "run", "scan", "selected", "unregister"]

_REGISTRY: dict[str, Rule] = {}
# The prefilter's patterns, made once the rules are known: each rule's words, and its also_words.
_WORDS: list[tuple[re.Pattern[str], re.Pattern[str] | None]] = []


def register(rule: Rule) -> Rule:
    """Add ``rule``; a second rule with the same code is an error, the same rule again is not."""
    known = _REGISTRY.get(rule.code)
    if known is not None and known is not rule:
        raise ValueError(f"two rules have the code {rule.code}: {known.name} and {rule.name}")
    _REGISTRY[rule.code] = rule
    _WORDS.clear()
    return rule


def unregister(code: str) -> None:
    """Remove the rule with ``code`` (tests that register a rule of their own undo it)."""
    _REGISTRY.pop(code, None)
    _WORDS.clear()


def scan(package: str) -> list[Rule]:
    """Import every module of ``package`` and register the ``RULE`` each defines."""
    root = importlib.import_module(package)
    found = []
    for info in sorted(pkgutil.iter_modules(root.__path__, f"{package}."), key=lambda i: i.name):
        rule = getattr(importlib.import_module(info.name), "RULE", None)
        if isinstance(rule, Rule):
            found.append(register(rule))
    return found


def all_rules() -> tuple[Rule, ...]:
    """Every registered rule, in code order."""
    return tuple(_REGISTRY[code] for code in sorted(_REGISTRY))


def get(code: str) -> Rule | None:
    return _REGISTRY.get(code)


def selected(select: Iterable[str] | None, ignore: Iterable[str] | None) -> list[Rule]:
    """Rules whose code starts with a selected prefix and with no ignored one."""
    chosen = [r for r in all_rules() if select is None or any(r.code.startswith(p) for p in select)]
    return [r for r in chosen if not any(r.code.startswith(p) for p in ignore or ())]


def may_report(text: str) -> bool:
    """The prefilter's question: does ``text`` contain the words some rule needs to report there?"""
    if not _WORDS:
        needs = {(tuple(sorted(rule.words)), tuple(sorted(rule.also_words))) for rule in all_rules()}
        _WORDS.extend((_any_of(words), _any_of(also) if also else None) for words, also in sorted(needs))
    return any(words.search(text) and (also is None or also.search(text)) for words, also in _WORDS)


def _any_of(words: Iterable[str]) -> re.Pattern[str]:
    return re.compile("|".join(map(re.escape, words)) or r"(?!)")


def run(graph: Graph, rules: Iterable[Rule]) -> Iterator[Report]:
    seen: set[tuple[str, int]] = set()
    for rule in rules:
        for report in rule.check(graph):
            key = (report.code, id(report.node))
            if key not in seen:  # a layer applied twice, an unrolled loop: report once
                seen.add(key)
                yield report


scan(__name__)
