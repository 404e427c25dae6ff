"""Calls of the file's own functions run the body with the call's arguments (``Builder.inline``):
what a helper returns has the shape its arguments give, and every case the analysis cannot
follow exactly falls back to a body whose arguments are unknown, the arguments escaping."""

from __future__ import annotations

import textwrap

import pytest

from kerascheck import check_source
from kerascheck.check import analyse
from kerascheck.graph import builder

HEADER = """\
from keras import Input, Sequential
from keras.layers import GRU, LSTM, Dense, Dropout, RepeatVector, TimeDistributed
seq = GRU(8, return_sequences=True)(Input(shape=(10, 4)))
"""


def _codes(body: str) -> list[tuple[int, str]]:
    text = HEADER + textwrap.dedent(body)
    return sorted((f.line - HEADER.count("\n"), f.code) for f in check_source(text, "t.py"))


def test_a_helper_returns_what_its_body_gives_for_the_argument() -> None:
    assert _codes(
        """\
        def f(x):
            return Dropout(0.1)(x)
        out = TimeDistributed(Dense(5))(f(seq))
        """
    ) == [(3, "KER101")]


@pytest.mark.parametrize(
    "call",
    ["g(seq)", "g(x=seq)", "g(seq, 0.2)", "g(seq, rate=0.2)", "g(rate=0.2, x=seq)", "g(seq, 0.1, unit=2)"],
)
def test_arguments_bind_by_position_keyword_and_default(call: str) -> None:
    body = f"""\
        def g(x, rate=0.1, *, unit=1, **rest):
            return Dropout(rate)(x)
        out = TimeDistributed(Dense(5))({call})
        """
    assert _codes(body) == [(3, "KER101")]


@pytest.mark.parametrize(
    "call",
    [
        "g(*[seq])",  # spread: not certain
        "g(**{'x': seq})",
        "g()",  # Python refuses: missing
        "g(seq, seq, seq)",  # too many
        "g(seq, x=seq)",  # given twice
        "g(seq, other=1)",  # unexpected keyword
    ],
)
def test_a_call_that_does_not_bind_exactly_is_not_followed(call: str) -> None:
    body = f"""\
        def g(x, rate=0.1):
            return Dropout(rate)(x)
        out = TimeDistributed(Dense(5))({call})
        """
    assert _codes(body) == []


def test_star_args_in_the_signature_are_a_tuple() -> None:
    assert _codes(
        """\
        def pick(*tensors):
            return tensors[1]
        out = TimeDistributed(Dense(5))(pick(None, seq))
        """
    ) == [(3, "KER101")]


@pytest.mark.parametrize(
    "function",
    [
        # a generator
        "def f(x):\n    yield x\n    return Dropout(0.1)(x)",
        # rebinds a module name
        "def f(x):\n    global seq\n    return Dropout(0.1)(x)",
        # a return before the end that the call may run: what follows would run here, not in Python
        "def f(x, n):\n    if n:\n        return x\n    return Dropout(0.1)(x)",
        "def f(x):\n    for _ in range(3):\n        return Dropout(0.1)(x)\n    x = GRU(2)(x)",
        # raises: nothing after runs in Python
        "def f(x):\n    raise ValueError(x)\n    return Dropout(0.1)(x)",
        # decorated by code the analysis does not see
        "@cache\ndef f(x):\n    return Dropout(0.1)(x)",
        # trusted decorators give another callable too
        "import tensorflow as tf\n@tf.function\ndef f(x):\n    return Dropout(0.1)(x)",
    ],
)
def test_bodies_the_interpreter_cannot_run_as_a_call_are_not_followed(function: str) -> None:
    assert _codes(function + "\nout = TimeDistributed(Dense(5))(f(seq))\n") == []


@pytest.mark.parametrize("mode", ["'sequence'", "'both'"])
def test_a_return_or_raise_the_call_does_not_run_is_no_obstacle(mode: str) -> None:
    body = f"""\
        def pick(x, mode):
            if mode == "vector":
                return GRU(4)(x)
            elif mode == "none":
                raise ValueError(mode)
            return Dropout(0.1)(x)
        out = TimeDistributed(Dense(5))(pick(seq, {mode}))
        """
    assert _codes(body) == [(7, "KER101")]


def test_a_body_left_early_leaves_nothing_behind() -> None:
    # The first call is not followed (its return may run): nothing it would have added stays.
    assert (
        _codes(
            """\
        def grow(m, stop):
            if stop:
                return m
            m.add(GRU(4))
            return m
        model = Sequential([Input(shape=(10, 4)), GRU(8, return_sequences=True)])
        grow(model, True)
        model.add(TimeDistributed(Dense(2)))
        """
        )
        == []
    )


def test_a_recursive_call_is_not_followed() -> None:
    assert (
        _codes(
            """\
        def deep(x, n):
            if n:
                x = deep(Dropout(0.1)(x), n - 1)
            return x
        out = TimeDistributed(Dense(5))(deep(seq, 2))
        """
        )
        == []
    )


def test_nested_calls_are_followed_to_a_bound() -> None:
    chain = "def f0(x):\n    return Dropout(0.1)(x)\n"
    for i in range(1, 6):
        chain += f"def f{i}(x):\n    return f{i - 1}(x)\n"
    within = chain + f"out = TimeDistributed(Dense(5))(f{builder.MAX_INLINE_DEPTH - 1}(seq))\n"
    beyond = chain + f"out = TimeDistributed(Dense(5))(f{builder.MAX_INLINE_DEPTH}(seq))\n"
    assert [code for _, code in _codes(within)] == ["KER101"]
    assert _codes(beyond) == []


def test_a_statement_inlines_at_most_its_budget() -> None:
    calls = builder.MAX_INLINE_CALLS
    body = "def f(x):\n    return Dropout(0.1)(x)\n"
    body += "y = [" + ", ".join(["f(seq)"] * (calls + 1)) + "]\n"
    last = body + f"out = TimeDistributed(Dense(5))(y[{calls - 1}])\n"
    over = body + f"out = TimeDistributed(Dense(5))(y[{calls}])\n"
    assert [code for _, code in _codes(last)] == ["KER101"]
    assert _codes(over) == []  # the call over the budget gives what the body gives for any argument
    again = body + "out = TimeDistributed(Dense(5))(f(seq))\n"  # the next statement has a budget of its own
    assert [code for _, code in _codes(again)] == ["KER101"]


def test_a_model_given_as_an_argument_is_followed() -> None:
    assert _codes(
        """\
        def add_rnn(m, units, sequences=False):
            m.add(LSTM(units, return_sequences=sequences))
        model = Sequential([Input(shape=(10, 4))])
        add_rnn(model, 16, sequences=True)
        add_rnn(model, 8)
        model.add(RepeatVector(3))
        model.add(TimeDistributed(Dense(2)))
        """
    ) == [(7, "KER101")]


def test_a_module_model_a_helper_changes_is_forgotten() -> None:
    assert (
        _codes(
            """\
        def to_sequences():
            model.add(RepeatVector(10))
        model = Sequential([Input(shape=(10, 4)), LSTM(8)])
        to_sequences()
        model.add(LSTM(4))
        """
        )
        == []
    )


def test_one_finding_at_a_node_of_a_body_run_for_several_calls() -> None:
    assert _codes(
        """\
        def head(x, units):
            return TimeDistributed(Dense(units))(x)
        head(seq, 2)
        head(seq, 3)
        head(Dropout(0.5)(seq), 4)
        """
    ) == [(2, "KER101")]


def test_no_fix_edits_an_rnn_made_in_a_body_run_for_one_call() -> None:
    text = HEADER + textwrap.dedent(
        """\
        def encode(x, sequences):
            return LSTM(4, return_sequences=sequences)(x)
        LSTM(2)(encode(seq, False))
        """
    )
    analysis = analyse(text, "t.py")
    assert analysis is not None
    [(finding, report)] = analysis.results
    assert finding.code == "KER103"
    assert report.rnn is not None and report.rnn.per_call
    from kerascheck.rules import get

    rule = get("KER103")
    assert rule is not None and rule.fix(report) is None


def test_the_arguments_of_a_call_not_followed_are_evaluated_once() -> None:
    # The call is given up when its early return runs; model.add in its argument ran once.
    assert _codes(
        """\
        def keep(x, stop):
            if stop:
                return x
            return x
        model = Sequential([Input(shape=(10, 4)), GRU(8, return_sequences=True)])
        keep(model.add(GRU(4)), True)
        model.add(TimeDistributed(Dense(2)))
        """
    ) == [(7, "KER102")]


@pytest.mark.parametrize(
    "change",
    [
        "def flip():\n    flags[0] = True\nflip()",
        "def flip():\n    flags.insert(0, True)\nflip()",
        "def flip():\n    global flags\n    flags[0] = True\nflip()",
        "import functools\n@functools.cache\ndef flip():\n    flags[0] = True\nflip()",  # not followed
        "def flip():\n    flags[0] = True\nregistry = [flip]",  # handed on, may run any time
    ],
)
def test_a_function_that_changes_a_modules_list_makes_it_unknown(change: str) -> None:
    """A list display is a value: a function that changes the module's list in place (called,
    followed or not) leaves the name unknown where it is bound, not a stale False."""
    body = "model = Sequential([Input(shape=(10, 4)), LSTM(8, return_sequences=True)])\nflags = [False]\n"
    body += change + "\nmodel.add(LSTM(8, return_sequences=flags[0]))\nmodel.add(TimeDistributed(Dense(3)))\n"
    assert [code for _, code in _codes(body)] == []


def test_a_function_that_leaves_the_list_alone_keeps_it() -> None:
    body = "model = Sequential([Input(shape=(10, 4)), LSTM(8, return_sequences=True)])\nflags = [False]\n"
    body += "def look():\n    return flags[0]\nlook()\n"
    body += "model.add(LSTM(8, return_sequences=flags[0]))\nmodel.add(TimeDistributed(Dense(3)))\n"
    assert [code for _, code in _codes(body)] == ["KER102"]
