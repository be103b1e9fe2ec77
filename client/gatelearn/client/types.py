"""What the client returns: plain dataclasses, built from the protobuf responses."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from google.protobuf import json_format

from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = [
    "Component",
    "Evaluation",
    "EvaluatedRow",
    "ExplainedOutput",
    "Explanation",
    "HiddenUnit",
    "History",
    "Metrics",
    "ModelDetail",
    "ModelRef",
    "ModelSummary",
    "Param",
    "Prediction",
    "Progress",
    "SearchCandidate",
    "SearchProgress",
    "SearchResult",
    "TaskDescription",
    "TrainOutcome",
    "recipe_dict",
]


@dataclass(frozen=True)
class ModelRef:
    name: str
    version: int

    def __str__(self) -> str:
        return f"{self.name}:{self.version}"

    @classmethod
    def from_pb(cls, message: pb.ModelRef) -> ModelRef:
        return cls(message.name, message.version)


def _held_out(message: pb.Metrics | pb.TrainProgress) -> tuple[float | None, float | None]:
    """Validation loss and accuracy of a message, None where the server sent none."""
    loss, accuracy = (
        getattr(message, name) if message.HasField(name) else None
        for name in ("validation_loss", "validation_accuracy")
    )
    return loss, accuracy


@dataclass(frozen=True)
class Metrics:
    loss: float
    accuracy: float
    min_margin: float
    solved: bool
    solved_epoch: int  # -1 when never solved while training
    validation_loss: float | None = None  # on the held-out rows; None when none were held out
    validation_accuracy: float | None = None

    @classmethod
    def from_pb(cls, message: pb.Metrics) -> Metrics:
        return cls(
            message.loss,
            message.accuracy,
            message.min_margin,
            message.solved,
            message.solved_epoch,
            *_held_out(message),
        )


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any
    description: str
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...]


def _default(spec: pb.ParamSpec) -> Any:
    """A parameter's default as Python data; protobuf carries every number as a double."""
    if not spec.HasField("default_value"):
        return None
    value = json_format.MessageToDict(spec.default_value)
    return int(value) if spec.type == "int" and isinstance(value, float) else value


@dataclass(frozen=True)
class Component:
    """A registered activation, loss, optimizer, initializer or task."""

    kind: str
    name: str
    plugin: str
    version: str
    description: str
    params: tuple[Param, ...]

    @classmethod
    def from_pb(cls, message: pb.Component) -> Component:
        params = tuple(
            Param(
                p.name,
                p.type,
                _default(p),
                p.description,
                p.minimum if p.HasField("minimum") else None,
                p.maximum if p.HasField("maximum") else None,
                tuple(p.choices),
            )
            for p in message.params
        )
        return cls(
            message.kind, message.name, message.plugin, message.version, message.description, params
        )


def _rows(rows: Any) -> list[list[float]]:
    return [row.values[:] for row in rows]  # a slice copies in C: half the time of list()


@dataclass(frozen=True)
class TaskDescription:
    name: str
    inputs: int
    outputs: int
    low: float
    high: float
    threshold: float
    total_rows: int
    rows_inputs: list[list[float]]
    rows_targets: list[list[float]]
    # What a training naming only this task gets, resolved for it (see `recipe_dict`); None
    # when the defaults cannot train it.
    default_recipe: dict[str, Any] | None = None

    @classmethod
    def from_pb(cls, m: pb.TaskDescription) -> TaskDescription:
        return cls(
            m.name,
            m.inputs,
            m.outputs,
            m.low,
            m.high,
            m.threshold,
            m.total_rows,
            _rows(m.rows_inputs),
            _rows(m.rows_targets),
            recipe_dict(m.default_recipe) if m.HasField("default_recipe") else None,
        )


@dataclass(frozen=True)
class Progress:
    """A training progress event: the best member's loss and accuracy after `epoch` updates."""

    epoch: int
    epochs: int
    loss: float
    accuracy: float
    solved_members: int
    population: int
    validation_loss: float | None = None  # best on the held-out rows; None without any
    validation_accuracy: float | None = None

    @classmethod
    def from_pb(cls, m: pb.TrainProgress) -> Progress:
        return cls(
            m.epoch, m.epochs, m.loss, m.accuracy, m.solved_members, m.population, *_held_out(m)
        )


@dataclass(frozen=True)
class TrainOutcome:
    """The final event of a training: the saved model and how it did."""

    model: ModelRef
    metrics: Metrics
    stop_reason: str
    epochs: int
    member: int
    solved_members: int
    population: int
    member_solved_epochs: list[int]  # per member: first epoch solved, -1 if never
    parent: str = ""  # "NAME:VERSION" a warm start continued
    fresh_optimizer_state: bool = False  # a warm start whose parent kept no optimizer state

    @classmethod
    def from_pb(cls, m: pb.TrainDone) -> TrainOutcome:
        return cls(
            ModelRef.from_pb(m.model),
            Metrics.from_pb(m.metrics),
            m.stop_reason,
            m.epochs,
            m.member,
            m.solved_members,
            m.population,
            list(m.member_solved_epochs),
            m.parent,
            m.fresh_optimizer_state,
        )


@dataclass(frozen=True)
class SearchCandidate:
    """A row of a search table: one candidate network and how its seeds did."""

    index: int  # place in size order
    hidden: list[int]  # units of each hidden layer; empty: none
    activation: str  # of the hidden layers; "" without any
    parameters: int  # weights and biases of one network
    seeds: int
    solved: int
    solved_share: float
    median_epochs: int | None  # over the solved seeds (nearest rank); None: none solved
    p90_epochs: int | None
    epochs: int  # epochs the population ran

    @classmethod
    def from_pb(cls, m: pb.SearchCandidate) -> SearchCandidate:
        median, p90 = (
            getattr(m, name) if m.HasField(name) else None
            for name in ("median_epochs", "p90_epochs")
        )
        return cls(
            m.index,
            list(m.hidden),
            m.activation,
            m.parameters,
            m.seeds,
            m.solved,
            m.solved_share,
            median,
            p90,
            m.epochs,
        )


@dataclass(frozen=True)
class SearchProgress:
    """How the population of the candidate being trained is doing."""

    index: int
    candidates: int  # in the search space
    training: Progress

    @classmethod
    def from_pb(cls, m: pb.SearchProgress) -> SearchProgress:
        return cls(m.index, m.candidates, Progress.from_pb(m.training))


@dataclass(frozen=True)
class SearchResult:
    """A finished search: the table in size order, its answer (the smallest candidate that
    reached the target, None if none did) and the version saved for it."""

    table: list[SearchCandidate]
    answer: SearchCandidate | None
    model: ModelRef | None  # None: no answer, nothing saved
    candidates: int  # in the search space; the table stops at the answer
    target: float

    @classmethod
    def from_pb(cls, m: pb.SearchDone) -> SearchResult:
        table = [SearchCandidate.from_pb(row) for row in m.table]
        return cls(
            table,
            table[m.answer] if m.HasField("answer") else None,
            ModelRef.from_pb(m.model) if m.HasField("model") else None,
            m.candidates,
            m.target,
        )


@dataclass(frozen=True)
class Prediction:
    model: ModelRef
    outputs: list[list[float]]
    labels: list[list[float]]
    threshold: float

    @classmethod
    def from_pb(cls, m: pb.PredictResponse) -> Prediction:
        return cls(ModelRef.from_pb(m.model), _rows(m.outputs), _rows(m.labels), m.threshold)


@dataclass(frozen=True)
class EvaluatedRow:
    inputs: list[float]
    targets: list[float]
    outputs: list[float]
    correct: bool


@dataclass(frozen=True)
class Evaluation:
    model: ModelRef
    accuracy: float
    min_margin: float
    rows: list[EvaluatedRow]

    @classmethod
    def from_pb(cls, m: pb.EvaluateResponse) -> Evaluation:
        return cls(
            ModelRef.from_pb(m.model),
            m.accuracy,
            m.min_margin,
            [
                EvaluatedRow(list(r.inputs), list(r.targets), list(r.outputs), r.correct)
                for r in m.rows
            ],
        )


@dataclass(frozen=True)
class ModelSummary:
    name: str
    version: int
    task: str
    sizes: list[int]
    created_at: datetime
    metrics: Metrics
    aliases: list[str] = field(default_factory=list)  # the aliases naming this version

    @property
    def ref(self) -> ModelRef:
        return ModelRef(self.name, self.version)

    @classmethod
    def from_pb(cls, m: pb.ModelSummary) -> ModelSummary:
        return cls(
            m.name,
            m.version,
            m.task,
            list(m.sizes),
            m.created_at.ToDatetime(tzinfo=UTC),
            Metrics.from_pb(m.metrics),
            list(m.aliases),
        )


@dataclass(frozen=True)
class History:
    epochs: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def recipe_dict(message: pb.Recipe) -> dict[str, Any]:
    """A Recipe as plain data keyed by the proto's field names, every field present."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    data["seed"] = int(data["seed"])  # proto JSON writes 64-bit integers as strings
    del data["options"]["progress_interval_ms"]  # never part of a recipe
    return data


@dataclass(frozen=True)
class ModelDetail:
    summary: ModelSummary
    activations: list[str]
    bias: bool
    history: History
    member_seed: int
    dtype: str
    request: dict[str, Any] | None  # the Train request as JSON-style data; None if imported
    # Every setting the training used, defaults filled in (see `recipe_dict`); None when the
    # model records none (imported without one, or trained before recipes were recorded).
    recipe: dict[str, Any] | None = None
    loss: dict[str, Any] | None = None  # what metrics.loss is measured with; None: mse
    parent: str = ""  # "NAME:VERSION" it was warm-started from
    # Per member of the population: the first epoch solved, -1 if never; empty if imported.
    member_solved_epochs: list[int] = field(default_factory=list)
    search: SearchResult | None = None  # the search that chose it, if one did

    @classmethod
    def from_pb(cls, m: pb.ModelDetail) -> ModelDetail:
        request = json_format.MessageToDict(m.request) if m.HasField("request") else None
        return cls(
            ModelSummary.from_pb(m.summary),
            list(m.activations),
            m.bias,
            History(list(m.history.epochs), list(m.history.loss), list(m.history.accuracy)),
            m.member_seed,
            m.dtype,
            request,
            recipe_dict(m.recipe) if m.HasField("recipe") else None,
            (
                {"name": m.loss.name, "params": json_format.MessageToDict(m.loss.params)}
                if m.HasField("loss")
                else None
            ),
            m.parent,
            list(m.member_solved_epochs),
            SearchResult.from_pb(m.search) if m.HasField("search") else None,
        )


@dataclass(frozen=True)
class ExplainedOutput:
    """One output read back: its values and margins on the first rows, its minimal formula
    (boolean inputs) or its region (real inputs), and the tasks it equals."""

    values: list[bool]
    margins: list[float]
    formula: str
    exact: bool
    products: int
    literals: int
    equals: list[str]
    region: str


@dataclass(frozen=True)
class HiddenUnit:
    """A first-layer unit: where it is on, and what it computes on the truth table."""

    weights: list[float]
    bias: float
    inequality: str
    formula: str
    exact: bool
    dead: bool
    duplicate_of: int | None


@dataclass(frozen=True)
class Explanation:
    """What a model computes (see the Explain RPC in gatelearn.proto)."""

    model: ModelRef
    boolean_inputs: bool
    input_names: list[str]
    threshold: float
    total_rows: int
    outputs: list[ExplainedOutput]
    hidden_units: list[HiddenUnit]
    equals: list[str]
    trained_task: str
    matches_trained_task: bool

    @classmethod
    def from_pb(cls, m: pb.Explanation) -> Explanation:
        outputs = [
            ExplainedOutput(
                list(o.values),
                list(o.margins),
                o.formula,
                o.exact,
                o.products,
                o.literals,
                list(o.equals),
                o.region,
            )
            for o in m.outputs
        ]
        units = [
            HiddenUnit(
                list(u.weights),
                u.bias,
                u.inequality,
                u.formula,
                u.exact,
                u.dead,
                u.duplicate_of if u.HasField("duplicate_of") else None,
            )
            for u in m.hidden_units
        ]
        return cls(
            ModelRef.from_pb(m.model),
            m.boolean_inputs,
            list(m.input_names),
            m.threshold,
            m.total_rows,
            outputs,
            units,
            list(m.equals),
            m.trained_task,
            m.matches_trained_task,
        )
