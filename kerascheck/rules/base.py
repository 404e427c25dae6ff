"""What a rule is (``Rule``), what it reports (``Report``), and the words rules share for layers and shapes."""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from kerascheck import names, shapes
from kerascheck.edits import Edit
from kerascheck.graph.model import UNKNOWN, Application, Const, Graph, InputCall, Layer, Seq, Tensor, TrainCall

# Every array whose shape the graph knows starts at a NumPy function (reached through an import
# that names numpy, see ``names.numpy_function``) or at ``to_categorical``: a rule that judges
# data or targets can fire only in a file with one of these words.
ARRAY_WORDS = ("numpy", names.TO_CATEGORICAL)

# A message is text with nodes in it; a node is written as its line number once positions
# are known (they are computed only for files that have something to report).
MessagePart = str | ast.AST


@dataclass(frozen=True)
class Report:
    code: str
    node: ast.AST  # where the finding is reported: a node of CPython's tree (a call, a keyword argument ...)
    message: tuple[MessagePart, ...]
    subject: Application | TrainCall | InputCall  # the graph node the finding is about
    rnn: Layer | None = None  # the RNN whose return_sequences is to blame, if one is


def describe(layer: Layer) -> str:
    """A short constructor-like name: ``GRU(16)``, ``TimeDistributed(Dense(15))``."""
    inner = layer.inner
    if inner is not None:
        return f"{layer.spelled}({describe(inner)})"
    spec = shapes.spec_of(layer)
    first = spec.params[0] if spec is not None and spec.params else None
    value = layer.arg(first) if first is not None else None
    if isinstance(value, Const) and isinstance(value.value, (int, float, str)) and not isinstance(value.value, bool):
        return (
            f"{layer.spelled}({value.value!r})" if isinstance(value.value, str) else f"{layer.spelled}({value.value})"
        )
    if isinstance(value, Seq):
        return f"{layer.spelled}({shapes.format_shape(shapes.dims(value))[0:]})"
    return f"{layer.spelled}(...)" if value is not None else f"{layer.spelled}()"


def recurrent(layer: Layer) -> Layer:
    """The layer that holds ``return_sequences``: the RNN itself or the one Bidirectional wraps."""
    return layer.inner if layer.kind == "Bidirectional" and layer.inner is not None else layer


def rank(tensor: Tensor) -> int | None:
    return None if tensor.shape is None else len(tensor.shape)


def last_dim(tensor: Tensor) -> object:
    return UNKNOWN if tensor.shape is None else tensor.shape[-1]


# ---------------------------------------------------------------- what a rule is


class Confirm(Enum):
    """How Keras confirms a finding under ``--verify`` (the verifier has one judge for each)."""

    SAME_MODEL = "both models build with the same summary, and give the same outputs with shared weights"
    REFUSED = "Keras refuses the reported layer on the rank it gets, and builds it once the fix is made"
    TARGET_RANK = "the model's output rank differs from the targets', and the fix makes them agree"
    RESHAPED = (
        "Keras refuses the reported layer on the rank it gets, and builds it once the layer the message "
        "suggests (`Reshape` to a sequence, `Flatten` to a vector) is put before it"
    )
    TRUTHINESS = (
        "Keras builds the layer with the literal as written and with the bool it is true or false as, "
        "to the same output shapes"
    )
    INPUT_REFUSED = "Keras refuses to run the model, rebuilt with its declared inputs, on zeros of the data's shape"


@dataclass(frozen=True)
class Insert:
    """A layer the verifier puts before the reported one in the fixed model (``Confirm.RESHAPED``)."""

    cls: str  # a buildable class of the shape table
    config: tuple[tuple[str, Any], ...]  # its literal arguments
    text: str  # how messages write it: ``Reshape((15, 1))``


@dataclass(frozen=True)
class Verification:
    """A rule's verification strategy and the values the verifier needs for it."""

    confirm: Confirm
    # The fixed model the verifier builds: None unwraps the reported TimeDistributed(Dense);
    # True or False is the return_sequences given to the RNN to blame (both directions of a
    # Bidirectional).
    return_sequences: bool | None = None
    # Confirm.RESHAPED: the layer to put before the reported one, if one fits.
    insert: Callable[[Report], Insert | None] | None = None


@dataclass(frozen=True)
class Example:
    """A whole file that shows the rule, run by the tests: ``bad`` gives exactly one finding, of
    this rule, at ``line`` and ``column`` with ``message``; ``good`` gives no finding at all."""

    bad: str
    good: str
    line: int
    column: int
    message: str
    fix_gives_good: bool = True  # --fix (unsafe fixes included) turns ``bad`` into ``good``


Applicability = Literal["safe", "unsafe", "none"]  # "none": the rule has no fix
Where = Literal["layer", "site", "train", "argument"]


@dataclass(frozen=True)
class Rule:
    """Everything about one rule. A module of the ``rules`` package defines one as ``RULE``."""

    code: str
    name: str
    summary: str  # one line, no final period
    # A file that contains none of these words cannot give this rule a finding: it is not parsed
    # for it (the prefilter asks every rule's words, and "keras"). See ``also_words`` too.
    words: tuple[str, ...]
    what: str  # the page: what it finds,
    why: str  # why it matters,
    example: Example
    fix_text: str  # what its fix does,
    fix_applicability: Applicability
    fix_safety: str  # and why the fix is safe or unsafe
    verification: Verification
    # Where its findings are reported: the layer's construction, where the layer is applied, the
    # argument of the construction, or the training call (the differential oracle places its expectations there).
    reported_at: Where
    check: Callable[[Graph], Iterator[Report]]
    fix: Callable[[Report], Edit | None]
    # And, when given, one of these words as well: a rule that judges data can fire only where an
    # array of known shape is made (``ARRAY_WORDS``), a word most Keras files do not contain.
    also_words: tuple[str, ...] = ()

    @property
    def page(self) -> str:
        """The rule's documentation in Markdown (``kerascheck rule CODE``, SARIF's help, the server's hover)."""
        example = self.example
        return (
            f"# {self.code} {self.name}\n\n{self.summary}.\n\n"
            f"## What it does\n\n{self.what.strip()}\n\n"
            f"## Why it matters\n\n{self.why.strip()}\n\n"
            f"## Example\n\n```python\n{example.bad}```\n\n"
            f"kerascheck reports, on line {example.line}:\n\n"
            f"    {self.code} {example.message}\n\n"
            f"Use instead:\n\n```python\n{example.good}```\n\n"
            f"## Fix\n\n{self._fix_page()}\n\n"
            f"## Verification\n\nWith `--verify`, Keras confirms a finding when {self.verification.confirm.value}.\n"
        )

    def _fix_page(self) -> str:
        if self.fix_applicability == "none":
            return f"{self.fix_text.strip()} There is no fix: {self.fix_safety.strip()}"
        return f"{self.fix_text.strip()} The fix is {self.fix_applicability}: {self.fix_safety.strip()}"
