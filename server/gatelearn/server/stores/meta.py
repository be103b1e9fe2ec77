"""What a stored model version records besides its arrays: typed, versioned model metadata.

`ModelMeta.to_json()` is the one writer and `ModelMeta.from_json()` the one reader. The JSON is
plain (it crosses the training worker's pipe and rests in the store's `meta` column) and carries
a `layout` number. Layout 0 is the one written before the number existed: the same keys, no
`layout`; layout 2 added `recipe` and `loss`, which rows of layouts 0 and 1 lack. Keys added since
(`search`) are optional and need no new layout: a reader ignores keys it does not know. An
imported model has no training, so its training fields take the defaults below.

Layout 3 writes the recipe's task as null when it is the model's own inline task (rows sent with
the request: `TaskMeta.table`), and the reader puts the task back: written twice, 6.6 MB of rows
made 27.6 MB of metadata, and a cold load of it peaked at 94 MB. Only such metadata is written in
layout 3; the rest stays in layout 2, which servers from before layout 3 read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, is_dataclass
from typing import Any

__all__ = [
    "NewerLayoutError",
    "LAYOUT",
    "ComponentMeta",
    "History",
    "Metrics",
    "ModelMeta",
    "SearchMeta",
    "SearchRow",
    "TaskMeta",
]

LAYOUT = 3  # the newest layout `to_json` writes; `from_json` reads it and every earlier one
_UNFOLDED_LAYOUT = 2  # what `to_json` writes for metadata whose recipe has no task to fold


class NewerLayoutError(ValueError):
    """Metadata written by a newer gatelearn, in a layout this one cannot read."""


@dataclass(frozen=True)
class ComponentMeta:
    """A component by registry name and the parameters it was built with (an activation)."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TaskMeta:
    """The task a model computes: a registered task with its parameters, or rows sent inline
    (`table`: a truth table named "table" or a dataset named "data", its rows in `params`);
    `seed` made its rows."""

    name: str
    params: dict[str, Any] = field(default_factory=dict)
    table: bool = False
    seed: int = 0


@dataclass(frozen=True)
class Metrics:
    """How the model did on its task: at the end of training, or measured at import."""

    loss: float = 0.0
    accuracy: float = 0.0
    min_margin: float = 0.0
    solved: bool = False
    solved_epoch: int = -1  # -1: never solved (or not trained here)
    validation_loss: float | None = None  # on the held-out rows; None: none held out
    validation_accuracy: float | None = None


@dataclass(frozen=True)
class History:
    """The recorded epochs of a training and the kept member's loss and accuracy at each."""

    epochs: tuple[int, ...] = ()
    loss: tuple[float, ...] = ()
    accuracy: tuple[float, ...] = ()


@dataclass(frozen=True)
class SearchRow:
    """One candidate of a search and how its seeds did (the proto's SearchCandidate)."""

    index: int  # place in size order
    hidden: tuple[int, ...]
    activation: str  # of the hidden layers; "" without any
    parameters: int  # weights and biases of one network
    seeds: int
    solved: int
    epochs: int  # epochs the population ran
    median_epochs: int | None = None  # over the solved seeds, nearest rank; None: none solved
    p90_epochs: int | None = None


@dataclass(frozen=True)
class SearchMeta:
    """The search that chose a model: its table in size order, which row is the answer, how
    many candidates its space held and the solved share it required."""

    rows: tuple[SearchRow, ...]
    answer: int | None
    candidates: int
    target: float

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SearchMeta:
        rows = tuple(SearchRow(**{**row, "hidden": tuple(row["hidden"])}) for row in data["rows"])
        return cls(
            rows=rows,
            answer=data["answer"],
            candidates=int(data["candidates"]),
            target=float(data["target"]),
        )


@dataclass(frozen=True)
class ModelMeta:
    """Everything stored about a model version besides its arrays."""

    sizes: tuple[int, ...]  # units per layer, inputs first
    activations: tuple[ComponentMeta, ...]  # one per weight layer
    bias: bool
    dtype: str  # what the network computes in: "float64" or "float32"
    low: float  # the label values: targets are low or high, outputs split at their middle
    high: float
    task: TaskMeta | None = None
    member_seed: int = 0  # the seed of the population member kept
    population: int = 1
    stop_reason: str = ""
    epochs: int = 0
    metrics: Metrics = Metrics()
    history: History = History()
    solved_members: int = 0
    member_solved_epochs: tuple[int, ...] = ()
    # Every setting of the training, defaults filled in (plain JSON shaped like the proto's
    # Recipe); an import's when its export carried one, else None.
    recipe: dict[str, Any] | None = None
    loss: ComponentMeta | None = None  # what metrics.loss is measured with; None: mse
    optimizer: ComponentMeta | None = None  # whose state the version keeps; None: it keeps none
    parent: str = ""  # "NAME:VERSION" a warm start continued; empty for a cold start
    fresh_optimizer_state: bool = False  # a warm start whose parent kept no optimizer state
    search: SearchMeta | None = None  # the search that chose it, if one did

    def to_json(self) -> dict[str, Any]:
        """The metadata as plain JSON data, in the first layout that holds it. Its dicts of
        parameters and recipe are the metadata's own (not copies): read it or encode it, do not
        change it."""
        data = _plain(self)
        for key in ("task", "recipe", "loss", "optimizer", "search"):
            if data[key] is None:
                del data[key]
        if self.recipe and self._recipe_repeats_inline_task():
            data["recipe"] = {**self.recipe, "task": None}
            return {"layout": LAYOUT, **data}
        return {"layout": _UNFOLDED_LAYOUT, **data}

    def _recipe_repeats_inline_task(self) -> bool:
        """Whether the recipe's task is the model's own task of inline rows, rows and all."""
        task, recipe = self.task, self.recipe
        if task is None or not task.table or not recipe:
            return False
        return recipe.get("task") == {"name": task.name, "params": task.params}

    def to_text(self) -> str:
        """`to_json` as the JSON text a store keeps and a training worker sends."""
        return json.dumps(self.to_json(), allow_nan=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelMeta:
        """Read metadata of any layout up to LAYOUT; KeyError, TypeError or ValueError when
        it is not model metadata."""
        layout = data.get("layout", 0)
        if not isinstance(layout, int) or layout < 0:
            raise ValueError(f"metadata layout {layout!r} is not a layout number")
        if layout > LAYOUT:
            raise NewerLayoutError(f"metadata layout {layout}; this gatelearn reads 0 to {LAYOUT}")
        sizes = tuple(int(units) for units in data["sizes"])
        if len(sizes) < 2:
            raise ValueError(f"layer sizes {list(sizes)}: a network has at least two layers")
        optional = {key: read(data[key]) for key, read in _OPTIONAL.items() if key in data}
        if layout >= 3 and "recipe" in optional:
            optional["recipe"] = _unfolded(optional["recipe"], optional.get("task"))
        return cls(
            sizes=sizes,
            activations=tuple(ComponentMeta(**spec) for spec in data["activations"]),
            bias=bool(data["bias"]),
            dtype=str(data["dtype"]),
            low=float(data["low"]),
            high=float(data["high"]),
            **optional,
        )


def _plain(value: Any) -> Any:
    """A dataclass (and those nested in it, alone or in tuples) as dicts of its fields, in
    field order; other values as they are. Not `dataclasses.asdict`: it deep-copies every
    value, which made writing the metadata of one small model cost about 0.2 ms."""
    if is_dataclass(value) and not isinstance(value, type):
        return {name: _plain(item) for name, item in vars(value).items()}
    if isinstance(value, tuple) and value and is_dataclass(value[0]):
        return [_plain(item) for item in value]
    return value


def _unfolded(recipe: dict[str, Any], task: TaskMeta | None) -> dict[str, Any]:
    """A layout-3 recipe with its task back: a null one is the model's task, rows shared."""
    if "task" not in recipe or recipe["task"] is not None:
        return recipe
    if task is None:
        raise ValueError("the recipe's task is the model's, but the model records no task")
    return {**recipe, "task": {"name": task.name, "params": task.params}}


def _task(data: dict[str, Any] | None) -> TaskMeta | None:
    return TaskMeta(**data) if data else None


def _history(data: dict[str, list[Any]]) -> History:
    return History(**{key: tuple(values) for key, values in data.items()})


# The fields a row may lack (imports have no training; layout 0 wrote no defaults), each with
# how its JSON is read; a missing one takes the dataclass's default.
_OPTIONAL: dict[str, Callable[[Any], Any]] = {
    "task": _task,
    "member_seed": int,
    "population": int,
    "stop_reason": str,
    "epochs": int,
    "metrics": lambda data: Metrics(**data),
    "history": _history,
    "solved_members": int,
    "member_solved_epochs": tuple,
    "recipe": dict,
    "loss": lambda data: ComponentMeta(**data),
    "optimizer": lambda data: ComponentMeta(**data),
    "parent": str,
    "fresh_optimizer_state": bool,
    "search": SearchMeta.from_json,
}
