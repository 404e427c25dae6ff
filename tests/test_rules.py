"""A rule is one module: its page's examples run, the registry is what everything asks, and a rule
that exists only in a temporary package goes through every output, ``--fix`` and ``--verify``."""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from kerascheck import check_source, cli, rules, sources
from kerascheck.fix import fix_text
from kerascheck.flake8_plugin import KerasCheckPlugin
from kerascheck.rules import ker103
from kerascheck.rules.base import Rule

RULES = rules.all_rules()


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_the_bad_example_gives_exactly_its_finding(rule: Rule) -> None:
    example = rule.example
    found = [(f.code, f.line, f.column, f.message) for f in check_source(example.bad)]
    assert found == [(rule.code, example.line, example.column, example.message)]


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_the_good_example_gives_nothing(rule: Rule) -> None:
    assert check_source(rule.example.good) == []


@pytest.mark.parametrize("rule", [r for r in RULES if r.example.fix_gives_good], ids=lambda r: r.code)
def test_the_fix_turns_the_bad_example_into_the_good_one(rule: Rule) -> None:
    assert fix_text(rule.example.bad, "<example>", unsafe=True) == (rule.example.good, 1)


@pytest.mark.parametrize("rule", RULES, ids=[r.code for r in RULES])
def test_the_page_shows_the_examples_and_the_finding(rule: Rule) -> None:
    page = rule.page
    assert page.startswith(f"# {rule.code} {rule.name}\n\n{rule.summary}.\n")
    for text in (rule.example.bad, rule.example.good, f"{rule.code} {rule.example.message}", rule.fix_safety):
        assert text in page
    if rule.fix_applicability == "none":
        assert "There is no fix:" in page
        assert fix_text(rule.example.bad, "<example>", unsafe=True) == (rule.example.bad, 0)
    else:
        assert f"The fix is {rule.fix_applicability}:" in page


def test_the_prefilter_asks_each_rules_words() -> None:
    plain = [rule for rule in RULES if not rule.also_words]
    assert plain and len(plain) < len(RULES)
    for rule in RULES:
        for word in rule.words:
            for also in rule.also_words or ("",):
                assert sources.may_have_findings(f"import keras\n{word}\n{also}\n"), (rule.code, word, also)
                assert not sources.may_have_findings(f"import numpy\n{word}\n{also}\n")
        assert sources.may_have_findings(rule.example.bad), rule.code
    assert not sources.may_have_findings("import keras\nkeras.layers.Dense(3)\n")


def test_a_rule_with_also_words_needs_one_of_them_too() -> None:
    """KER108 judges data of known shape, which only NumPy or to_categorical make: nearly every
    Keras module says "Input", and without the second word it would parse them all."""
    declared = "import keras\nx = keras.Input(shape=(3,))\n"
    assert not sources.may_have_findings(declared)
    assert sources.may_have_findings("import numpy as np\n" + declared)
    assert sources.may_have_findings(declared + "y = keras.utils.to_categorical([1, 2])\n")


def test_a_code_is_registered_once() -> None:
    with pytest.raises(ValueError, match="two rules have the code KER103"):
        rules.register(replace(ker103.RULE, name="another"))
    assert rules.register(ker103.RULE) is ker103.RULE  # the same rule again is no error
    assert rules.get("KER103") is ker103.RULE


# ---------------------------------------------------------------- a rule in a package of its own


@pytest.fixture
def ker199(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Rule]:
    """KER103's module copied under the code KER199 into a package of its own, then scanned."""
    package = tmp_path / "extra_rules_199"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = Path(ker103.__file__).read_text(encoding="utf-8")
    source = source.replace('"KER103"', '"KER199"').replace(
        '"missing-return-sequences"', '"missing-return-sequences-too"'
    )
    (package / "ker199.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        found = rules.scan("extra_rules_199")
        assert [rule.code for rule in found] == ["KER199"]
        yield found[0]
    finally:
        rules.unregister("KER199")
        for name in [m for m in sys.modules if m.startswith("extra_rules_199")]:
            del sys.modules[name]


@pytest.fixture
def model(tmp_path: Path, ker199: Rule) -> Path:
    path = tmp_path / "model.py"
    path.write_text(ker199.example.bad, encoding="utf-8")
    return path


def _cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    status = cli.main(list(args))
    return status, capsys.readouterr().out


def test_a_new_rule_is_listed_and_has_its_page(ker199: Rule, capsys: pytest.CaptureFixture[str]) -> None:
    status, listing = _cli(capsys, "rule")
    assert status == 0 and [line.split()[0] for line in listing.splitlines()] == [r.code for r in rules.all_rules()]
    assert "KER199  missing-return-sequences-too" in listing
    status, page = _cli(capsys, "rule", "ker199")
    assert status == 0 and page == ker199.page


def test_a_new_rule_reports_in_text_json_and_sarif(
    model: Path, ker199: Rule, capsys: pytest.CaptureFixture[str]
) -> None:
    line, column, message = ker199.example.line, ker199.example.column, ker199.example.message
    status, text = _cli(capsys, "check", "--jobs", "1", "--output-format", "concise", str(model))
    assert status == 1 and f"{model}:{line}:{column}: KER199 [*] {message}" in text
    _, out = _cli(capsys, "check", "--jobs", "1", "--format", "json", str(model))
    found = {(f["code"], f["name"], f["line"], f["column"], f["message"]) for f in json.loads(out)}
    assert ("KER199", "missing-return-sequences-too", line, column, message) in found
    assert ("KER103", "missing-return-sequences", line, column, message) in found
    _, out = _cli(capsys, "check", "--jobs", "1", "--format", "sarif", str(model))
    run = json.loads(out)["runs"][0]
    described = [rule["id"] for rule in run["tool"]["driver"]["rules"]]
    assert "KER199" in described
    result = next(r for r in run["results"] if r["ruleId"] == "KER199")
    assert described[result["ruleIndex"]] == "KER199"
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == line


def test_a_new_rule_reports_through_flake8(model: Path, ker199: Rule) -> None:
    text = model.read_text(encoding="utf-8")
    plugin = KerasCheckPlugin(ast.parse(text), text.splitlines(keepends=True), str(model))
    found = {(line, col) for line, col, message, _ in plugin.run() if message.startswith("KER199 ")}
    assert found == {(ker199.example.line, ker199.example.column - 1)}


def test_a_new_rule_is_fixed(model: Path, ker199: Rule, capsys: pytest.CaptureFixture[str]) -> None:
    _cli(capsys, "check", "--jobs", "1", "--select", "KER199", "--fix", str(model))
    assert model.read_text(encoding="utf-8") == ker199.example.good


def test_a_new_rule_is_verified(
    model: Path, ker199: Rule, capsys: pytest.CaptureFixture[str], shared_worker: object
) -> None:
    args = ("check", "--jobs", "1", "--select", "KER199", "--verify", "--no-cache", "--format", "json", str(model))
    status, out = _cli(capsys, *args)
    assert status == 1
    (finding,) = json.loads(out)
    assert finding["code"] == "KER199"
    assert finding["verification"]["status"] == "confirmed", finding["verification"]
