"""What flows through verification, typed: a finding's plan (spec.py), the worker's answer for its
job, and the verdict (verdict.py), which the session attaches to the finding and explain prints.

Only the job is JSON: it is what crosses the pipe to the worker (see spec.py for its form) and
what the cache is keyed by. The worker's answer is JSON too until ``JobResult.from_json`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from kerascheck.rules.base import Confirm
from kerascheck.shapes import format_shapes

Status = Literal["confirmed", "refuted", "unverified"]
JsonShape = list[Any]  # ints, None for Keras' None, "?" where kerascheck does not know the size


@dataclass(frozen=True)
class Environment:
    """The Keras a verification runs on: what the worker says in its hello, or what package
    metadata says before any worker starts (a warm run imports no Keras)."""

    module: str = "keras"  # "keras" (Keras 3) or "tf_keras" (Keras 2)
    keras: str | None = None  # its version; None when it cannot be told
    backend: str | None = None
    backend_version: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Environment:
        def text(name: str) -> str | None:
            value = data.get(name)
            return value if isinstance(value, str) else None

        return cls(text("module") or "keras", text("keras"), text("backend"), text("backend_version"))

    def same_keras(self, other: Environment) -> bool:
        """The same Keras and backend (a backend's version may be spelled differently by package
        metadata and by the module itself)."""
        return (self.module, self.keras, self.backend) == (other.module, other.keras, other.backend)

    def words(self) -> str:
        """``Keras 3.13.1 (tensorflow)``, ``tf-keras 2.21.0 (tensorflow)``."""
        name = "tf-keras" if self.module == "tf_keras" else "Keras"
        return f"{name} {self.keras} ({self.backend or '?'})" if self.keras else name


@dataclass(frozen=True)
class Label:
    """Where a node of the spec is in the source, and how its layer is written there."""

    line: int | None
    where: str | None  # the line as messages write it ("4 of cell 3" in notebooks)
    text: str


@dataclass
class Plan:
    """One finding's verification: the job for the worker and what judging its answer needs."""

    code: str
    confirm: Confirm  # the rule's verification strategy
    notes: list[str] = field(default_factory=list)  # every liberty taken in rebuilding it
    unverified: str | None = None  # why there is no job
    job: dict[str, Any] | None = None  # {"original": spec, "fixed": spec | None, "subject", "numeric"}
    subject: str = ""  # the node the finding is about
    labels: dict[str, Label] = field(default_factory=dict)
    fixed_labels: dict[str, str] = field(default_factory=dict)  # nodes written otherwise once fixed
    analyzer: dict[str, list[JsonShape | None]] = field(default_factory=dict)  # shapes kerascheck infers
    assumed: bool = False  # something not in the file was assumed (a size, a rank, a cut)
    fix: str | None = None  # what the fixed model changes, in words
    subject_input: JsonShape | None = None  # the shape kerascheck infers for the subject's input
    claimed_params: int | None = None  # the parameter count the message claims
    targets: JsonShape | None = None  # a training call's targets
    method: str = "fit"
    # KER108: the model's input refs, the data's shapes and the model's kind, as the job has them
    call: dict[str, Any] | None = None

    def label_text(self, node: str, fixed: bool = False) -> str | None:
        """How a node's layer is written in the source (in the fixed model: after the fix)."""
        if fixed and node in self.fixed_labels:
            return self.fixed_labels[node]
        label = self.labels.get(node)
        return None if label is None else label.text

    def label(self, node: str) -> str:
        """A node for messages: ``LSTM(16) on line 6``."""
        label = self.labels.get(node)
        if label is None:
            return node
        where = label.where if label.where is not None else label.line
        return f"{label.text} on line {where}" if where is not None else label.text


@dataclass(frozen=True)
class Pending:
    """A finding's verification before it is run."""

    plan: Plan
    status: Literal["pending"] = "pending"

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status}


# ---------------------------------------------------------------- the worker's answer


@dataclass(frozen=True)
class KerasError:
    node: str
    phase: str  # "construct" or "call"
    type: str
    message: str
    input_shapes: list[list[int | None]] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> KerasError:
        return cls(data["node"], data["phase"], data["type"], data["message"], list(data.get("input_shapes", [])))

    def words(self) -> str:
        """``ValueError: <first line of the message>``."""
        message = self.message.strip()
        line = message.splitlines()[0] if message else self.message
        return f"{self.type}: {line if len(line) <= 300 else line[:300] + ' ...'}"


@dataclass(frozen=True)
class Row:
    """One node of a build, as Keras' summary has it."""

    node: str
    cls: str
    params: int | None
    shapes: list[list[int | None]] | None = None  # None: Keras refused it
    error: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Row:
        return cls(data["node"], data["class"], data.get("params"), data.get("shapes"), data.get("error"))

    @property
    def output_shape(self) -> str | None:
        return None if self.shapes is None else format_shapes(self.shapes)


@dataclass(frozen=True)
class Build:
    """One model as Keras built it: per-node rows, the first error, the output shapes."""

    rows: list[Row]
    error: KerasError | None
    substituted: list[KerasError]  # earlier layers Keras refused, replaced by inferred shapes
    outputs: list[list[int | None]] | None
    total_params: int | None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Build:
        error = data.get("error")
        return cls(
            [Row.from_json(row) for row in data.get("rows", [])],
            None if error is None else KerasError.from_json(error),
            [KerasError.from_json(s) for s in data.get("substituted") or []],
            data.get("outputs"),
            data.get("total_params"),
        )

    def row(self, node: str) -> Row | None:
        return next((row for row in self.rows if row.node == node), None)


@dataclass(frozen=True)
class Numeric:
    """The same-model comparison: both heads on one random batch, with shared weights."""

    skipped: str | None = None
    batch: list[int] | None = None
    masked: bool = False
    equal: bool = False
    max_abs_diff: float | None = None
    mask: str | None = None
    seconds: list[float] | None = None
    runs: list[int] | None = None  # how many timed calls each median is of (None: 3, the older workers')

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Numeric:
        return cls(
            data.get("skipped"),
            data.get("batch"),
            bool(data.get("masked")),
            bool(data.get("equal")),
            data.get("max_abs_diff"),
            data.get("mask"),
            data.get("seconds"),
            data.get("runs"),
        )


@dataclass(frozen=True)
class Run:
    """The model run on zeros (KER108): on its own inputs' shapes, then on the data's."""

    skipped: str | None = None
    control: KerasError | None = None  # what Keras raised on zeros of the model's own input shapes
    error: KerasError | None = None  # what it raised on zeros of the data's shapes

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Run:
        control, error = data.get("control"), data.get("error")
        return cls(
            data.get("skipped"),
            None if control is None else KerasError.from_json(control),
            None if error is None else KerasError.from_json(error),
        )


@dataclass(frozen=True)
class JobResult:
    """The worker's answer for one job."""

    original: Build
    fixed: Build | None
    numeric: Numeric | None
    run: Run | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobResult:
        fixed, numeric, run = data.get("fixed"), data.get("numeric"), data.get("call")
        return cls(
            Build.from_json(data["original"]),
            None if fixed is None else Build.from_json(fixed),
            None if numeric is None else Numeric.from_json(numeric),
            None if run is None else Run.from_json(run),
        )


# ---------------------------------------------------------------- the verdict


@dataclass(frozen=True)
class SummaryRow:
    """A build's row for users: where, what, Keras' class, output shape, parameters."""

    line: int | None
    layer: str | None
    cls: str
    output_shape: str | None
    params: int | None
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "layer": self.layer,
            "class": self.cls,
            "output_shape": self.output_shape,
            "params": self.params,
        }
        if self.error:
            out["error"] = self.error
        return out


@dataclass(frozen=True)
class Verdict:
    """What Keras' answer means for a finding (the ``verification`` of its JSON)."""

    status: Status
    detail: str
    original: list[SummaryRow] = field(default_factory=list)
    fixed: list[SummaryRow] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "detail": self.detail,
            "original": [row.to_json() for row in self.original],
            "fixed": [row.to_json() for row in self.fixed],
        }
