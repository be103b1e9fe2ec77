"""The model service: resolve a stored model, describe and score against tasks, import.

It knows no gRPC. A reference is a name and a version (0: the latest); errors are domain
errors naming the request field they are about.
"""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Dataset, ParamError, Task
from gatelearn.plugins import Registry, UnknownComponentError
from gatelearn.server.checks import (
    check_task_size,
    first_nonfinite_row,
    overflowed,
    task_exists,
)
from gatelearn.server.errors import FailedPrecondition, InvalidRequest
from gatelearn.server.limits import Limits
from gatelearn.server.models.answers import check_fits, evaluate_bytes
from gatelearn.server.models.cache import ModelCache
from gatelearn.server.models.servable import Score, ServableModel, score, servable
from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import RequestSavedError
from gatelearn.server.stores.records import ModelRecord, ModelSummary

__all__ = ["Evaluation", "ModelService"]


@dataclass(frozen=True)
class Evaluation:
    """A model scored on rows: the inputs, the targets and how its outputs compare."""

    inputs: NDArray[np.float64]
    targets: NDArray[np.float64]
    score: Score


class ModelService:
    """Stored models: served from `cache`, read and written through `store`."""

    def __init__(self, registry: Registry, store: Store, limits: Limits,
                 cache: ModelCache) -> None:
        self.registry = registry
        self.store = store
        self.limits = limits
        self.cache = cache

    # ------------------------------------------------------------ tasks
    def describe_task(self, name: str, params: dict[str, Any], seed: int,
                      preview: int) -> tuple[int, Dataset]:
        """A task's row count and its first `preview` rows."""
        task_exists(self.registry, name, "task.name")
        _, total, data = self._sized_task(name, params, "task", seed, preview)
        return total, data

    def _sized_task(self, name: str, params: dict[str, Any], field: str, seed: int,
                    preview: int) -> tuple[Task, int, Dataset]:
        """Build a task, its row count and its first `preview` rows, refusing it (naming
        `field`) when it is over the limits, before any more rows exist."""
        try:
            task = self.registry.build("task", name, params)
        except ParamError as error:
            raise InvalidRequest(f"{field}.params.{error.param}", error.message) from None
        total = task.row_count()
        sample = task.preview(np.random.default_rng(seed), preview)
        check_task_size(total, sample, self.limits, field)
        return task, total, sample

    def _own_task_data(self, record: ModelRecord) -> tuple[np.ndarray, np.ndarray]:
        task = record.meta.task
        if task is None:
            raise FailedPrecondition(f"model {record.name!r} records no task; send a table")
        built, _, _ = self._sized_task(task.name, task.params, "model.task", task.seed, 1)
        data = built.dataset(np.random.default_rng(task.seed))
        return data.inputs, data.targets

    # ------------------------------------------------------------ serving
    def servable(self, name: str, version: int, field: str = "model") -> ServableModel:
        """The model `name` at `version` (0: the latest), ready to predict."""
        if not name:
            raise InvalidRequest(field, "required")
        return self.cache.get(name, version)

    def evaluate_table(self, model: ServableModel, inputs: NDArray[np.float64],
                       bits: NDArray[np.float64]) -> Evaluation:
        """Score `model` on a table whose outputs are 0/1 bits (0 = low, 1 = high)."""
        if len(bits) != len(inputs):
            raise InvalidRequest("table.outputs", f"needs one row per input row "
                                                  f"({len(inputs)}), got {len(bits)}")
        if not np.isin(bits, (0.0, 1.0)).all():
            raise InvalidRequest("table.outputs", "values must be 0 or 1")
        targets = np.where(bits == 1.0, model.high, model.low)  # 0 = low, 1 = high
        result = score(model, inputs, targets)
        if (bad := first_nonfinite_row(result.outputs)) is not None:
            raise overflowed(f"table.inputs[{bad}]")
        return Evaluation(inputs, targets, result)

    def evaluate_own_task(self, model: ServableModel) -> Evaluation:
        """Score `model` on every row of the task it records."""
        inputs, targets = self._own_task_data(model.record)
        sizes = model.record.meta.sizes
        if (inputs.shape[1], targets.shape[1]) != (sizes[0], sizes[-1]):
            raise FailedPrecondition(f"the model maps {sizes[0]} inputs to {sizes[-1]} "
                                     f"outputs, but its task now has {inputs.shape[1]} and "
                                     f"{targets.shape[1]} (was the task's plugin changed?); "
                                     f"send a table")
        result = score(model, inputs, targets)
        if (bad := first_nonfinite_row(result.outputs)) is not None:
            raise FailedPrecondition(f"the model's output on row {bad} of its own task is not "
                                     f"finite; send a table")
        return Evaluation(inputs, targets, result)

    # ------------------------------------------------------------ the store
    def stored(self, name: str, version: int) -> ModelRecord:
        """A stored version, weights included; `name` is required."""
        if not name:
            raise InvalidRequest("name", "required")
        return self.store.load(name, version)

    def list(self, name: str) -> builtins.list[ModelSummary]:
        return self.store.list(name)

    def delete(self, name: str, version: int) -> builtins.list[int]:
        """Delete a version (0: every version) of `name`; the versions deleted."""
        if not name:
            raise InvalidRequest("name", "required")
        return self.store.delete(name, version)

    def _check_optimizer_state(self, record: ModelRecord) -> None:
        """Refuse imported optimizer state that its optimizer, as installed, would not take."""
        optimizer, state = record.meta.optimizer, record.state
        if optimizer is None or state is None or state.optimizer is None:
            return
        field = "model.training_state"
        try:
            built = self.registry.build("optimizer", optimizer.name, optimizer.params)
        except UnknownComponentError as error:
            raise InvalidRequest(f"{field}.optimizer.name", str(error)) from None
        except ParamError as error:
            raise InvalidRequest(f"{field}.optimizer.params.{error.param}",
                                 error.message) from None
        if sorted(built.state_names or ()) != sorted(state.optimizer.arrays):
            raise InvalidRequest(f"{field}.slots",
                                 f"{optimizer.name!r} keeps {list(built.state_names or ())}, "
                                 f"got {sorted(state.optimizer.arrays)}")

    def import_record(self, record: ModelRecord, export_bytes: int,
                      request_id: str = "") -> tuple[str, int]:
        """Check an imported record against the plugins installed and its own task, measure
        it there, and store it; `export_bytes` is the size of its ExportModel answer. The
        (name, version) stored, or the one already saved for `request_id`."""
        if request_id and (saved := self.store.saved_for(request_id)):
            return saved
        for index, activation in enumerate(record.meta.activations):
            field = f"model.layers[{index}].activation"
            try:
                self.registry.build("activation", activation.name, activation.params)
            except UnknownComponentError as error:
                raise InvalidRequest(f"{field}.name", str(error)) from None
            except ParamError as error:
                raise InvalidRequest(f"{field}.params.{error.param}", error.message) from None
        self._check_optimizer_state(record)
        model = servable(record, self.registry)
        task = record.meta.task
        if task is not None and not task.table:
            task_exists(self.registry, task.name, "model.task.name")
        inputs, targets = self._own_task_data(record)
        rows, width = inputs.shape
        check_fits("Evaluate", evaluate_bytes(rows, width, targets.shape[1]), "model",
                   self.limits)
        check_fits("ExportModel", export_bytes, "model", self.limits)
        if inputs.shape[1] != model.n_inputs or targets.shape[1] != record.meta.sizes[-1]:
            raise InvalidRequest("model.layers",
                                 f"the network maps {model.n_inputs} inputs to "
                                 f"{record.meta.sizes[-1]} outputs; its task has "
                                 f"{inputs.shape[1]} and {targets.shape[1]}")
        measured = score(model, inputs, targets)
        metrics = measured.metrics()
        if not all(np.isfinite(v) for v in (metrics.loss, metrics.accuracy, metrics.min_margin,
                                             *measured.outputs.ravel())):
            raise InvalidRequest("model.layers",
                                 "the network's outputs on its task are not finite")
        record.meta = dataclasses.replace(record.meta, metrics=metrics)
        try:
            stored = self.store.save(record, max_models=self.limits.max_models,
                                     request_id=request_id)
        except RequestSavedError as saved:  # a concurrent attempt of this request saved first
            return saved.name, saved.version
        return stored.name, stored.version
