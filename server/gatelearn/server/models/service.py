"""The model service: resolve a stored model, describe and score against tasks, import, and
the default recipe.

It knows no gRPC. A reference is "NAME", "NAME:VERSION" or "NAME@ALIAS" with a version field
(0: the latest), resolved in one place (`resolve`) for every call that names a stored model;
errors are domain errors naming the request field they are about.
"""

from __future__ import annotations

import builtins
import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Dataset, Loss, ParamError, Task
from gatelearn.core.readback import MAX_TABLE_VALUES, read_region, read_table
from gatelearn.plugins import Registry, UnknownComponentError
from gatelearn.plugins.recipe import Choice, Recipe, check
from gatelearn.server.checks import (
    check_activations,
    check_name,
    check_task_size,
    first_nonfinite_row,
    overflowed,
    retry_of,
    task_exists,
)
from gatelearn.server.errors import FailedPrecondition, InvalidRequest
from gatelearn.server.limits import Limits
from gatelearn.server.models.answers import check_fits, evaluate_bytes
from gatelearn.server.models.cache import ModelCache
from gatelearn.server.models.explain import Explained, equal_tasks, task_tables
from gatelearn.server.models.references import parse_reference
from gatelearn.server.models.servable import Score, ServableModel, score, servable
from gatelearn.server.stores.base import Store
from gatelearn.server.stores.errors import RequestSavedError
from gatelearn.server.stores.records import ModelRecord, ModelSummary, with_aliases

__all__ = ["DescribedTask", "Evaluation", "ModelService"]


@dataclass(frozen=True)
class Evaluation:
    """A model scored on rows: the inputs, the targets and how its outputs compare."""

    inputs: NDArray[np.float64]
    targets: NDArray[np.float64]
    score: Score


@dataclass(frozen=True)
class DescribedTask:
    """A task's row count, a preview of its rows and its default recipe, resolved."""

    total_rows: int
    preview: Dataset
    default_recipe: dict[str, Any] | None


class ModelService:
    """Stored models: served from `cache`, read and written through `store`."""

    def __init__(self, registry: Registry, store: Store, limits: Limits, cache: ModelCache) -> None:
        self.registry = registry
        self.store = store
        self.limits = limits
        self.cache = cache

    # ------------------------------------------------------------ tasks
    def default_recipe(self) -> dict[str, Any]:
        """The settings a Train request naming only a 2-input task gets, task and hidden left
        out: the hidden width is chosen from the task (`recipe.WIDTH_RULE`), and so are the
        optimizer, initializer and epochs of larger tasks (`describe_task` resolves them all)."""
        settings = check(Recipe(), self.registry).settings()
        del settings["task"], settings["hidden"]
        return settings

    def describe_task(
        self, name: str, params: dict[str, Any], seed: int, preview: int
    ) -> DescribedTask:
        """A task's row count, its first `preview` rows and the recipe a training naming only
        it gets (None when the defaults cannot train it: sign labels, which bce refuses)."""
        task_exists(self.registry, name, "task.name")
        _, total, data = self._sized_task(name, params, "task", seed, preview)
        try:
            recipe = check(Recipe(task=Choice(name, params), seed=seed), self.registry)
        except ParamError:
            return DescribedTask(total, data, None)
        return DescribedTask(total, data, recipe.settings())

    def _sized_task(
        self, name: str, params: dict[str, Any], field: str, seed: int, preview: int
    ) -> tuple[Task, int, Dataset]:
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
        data = built.checked_dataset(np.random.default_rng(task.seed))
        return data.inputs, data.targets

    # ------------------------------------------------------------ references
    def resolve(self, reference: str, version: int = 0, field: str = "model") -> tuple[str, int]:
        """The (name, version) that request field `field` names with the request's `version`:
        an alias is looked up now (version 0 stays: the latest, or every version to delete)."""
        name, number, alias = parse_reference(reference, version, field)
        return name, self.cache.alias_version(name, alias) if alias else number

    # ------------------------------------------------------------ serving
    def servable(self, reference: str, version: int, field: str = "model") -> ServableModel:
        """The model version `reference` names, ready to predict."""
        return self.cache.get(*self.resolve(reference, version, field))

    def evaluate_table(
        self, model: ServableModel, inputs: NDArray[np.float64], bits: NDArray[np.float64]
    ) -> Evaluation:
        """Score `model` on a table whose outputs are 0/1 bits (0 = low, 1 = high)."""
        if len(bits) != len(inputs):
            raise InvalidRequest(
                "table.outputs", f"needs one row per input row ({len(inputs)}), got {len(bits)}"
            )
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
            raise FailedPrecondition(
                f"the model maps {sizes[0]} inputs to {sizes[-1]} "
                f"outputs, but its task now has {inputs.shape[1]} and "
                f"{targets.shape[1]} (was the task's plugin changed?); "
                f"send a table"
            )
        result = score(model, inputs, targets)
        if (bad := first_nonfinite_row(result.outputs)) is not None:
            raise FailedPrecondition(
                f"the model's output on row {bad} of its own task is not finite; send a table"
            )
        return Evaluation(inputs, targets, result)

    # ------------------------------------------------------------ explaining
    def explain(self, name: str, version: int) -> Explained:
        """What the model `name` at `version` computes, read from its weights (stores nothing).

        Its inputs are boolean when every row of its own task is 0/1 (and there are at most
        max_arity of them): then it is read over its whole truth table."""
        model = self.servable(name, version)
        own = self.evaluate_own_task(model)
        n, outputs = model.n_inputs, model.record.meta.sizes[-1]
        boolean = n <= self.limits.max_arity and bool(np.isin(own.inputs, (0.0, 1.0)).all())
        equals: list[str] = []
        output_equals: list[list[str]] = [[] for _ in range(outputs)]
        if boolean:
            if (1 << n) * outputs > MAX_TABLE_VALUES:
                raise InvalidRequest(
                    "model",
                    f"its truth table holds 2^{n} rows x {outputs} "
                    f"outputs = {(1 << n) * outputs} values; "
                    f"Explain reads at most {MAX_TABLE_VALUES}",
                )
            reading = read_table(model.network, model.threshold)
            values = np.stack([o.values for o in reading.outputs], axis=1)
            tables = task_tables(self.registry, n)
            equals = equal_tasks(tables, values)
            output_equals = [equal_tasks(tables, values[:, [i]]) for i in range(outputs)]
        else:
            reading = read_region(model.network, own.inputs, model.threshold)
        task = model.record.meta.task
        return Explained(
            name=model.record.name,
            version=model.record.version,
            inputs=n,
            boolean=boolean,
            threshold=model.threshold,
            total_rows=len(reading.outputs[0].values),
            reading=reading,
            equals=equals,
            output_equals=output_equals,
            trained_task="" if task is None else task.name,
            matches_trained_task=bool(own.score.correct.all()),
        )

    # ------------------------------------------------------------ the store
    def stored(self, reference: str, version: int, field: str = "name") -> ModelRecord:
        """The stored version `reference` names, weights included."""
        return self.store.load(*self.resolve(reference, version, field))

    def summary(self, record: ModelRecord) -> ModelSummary:
        """A stored version's summary, with the aliases naming it."""
        named = (
            (record.name, version, alias)
            for alias, version in self.store.aliases(record.name).items()
        )
        return with_aliases([record.summary()], named)[0]

    def list(self, name: str) -> builtins.list[ModelSummary]:
        return self.store.list(name)

    def delete(self, reference: str, version: int) -> builtins.list[int]:
        """Delete the version `reference` names (version 0: every version); those deleted.
        Refused (the store's AliasInUseError) while an alias names one of them."""
        return self.store.delete(*self.resolve(reference, version, "name"))

    def set_alias(self, name: str, alias: str, version: int) -> int:
        """Point `alias` of `name` at `version`; the version it named before (0: none)."""
        check_name(name, self.limits, "name")
        check_name(alias, self.limits, "alias")
        if version < 1:
            raise InvalidRequest("version", "required: the version the alias is to name")
        return self.store.set_alias(name, alias, version, max_aliases=self.limits.max_aliases)

    def delete_alias(self, name: str, alias: str) -> int:
        """Remove `alias` of `name`; the version it named."""
        check_name(name, self.limits, "name")
        check_name(alias, self.limits, "alias")
        return self.store.delete_alias(name, alias)

    def _own_loss(self, record: ModelRecord) -> Loss | None:
        """The loss an imported record names, built and checked against its labels."""
        named = record.meta.loss
        if named is None:
            return None
        try:
            loss: Loss = self.registry.build("loss", named.name, named.params)
        except UnknownComponentError as error:
            raise InvalidRequest("model.loss.name", str(error)) from None
        except ParamError as error:
            raise InvalidRequest(f"model.loss.params.{error.param}", error.message) from None
        meta = record.meta
        if refused := loss.labels_refused(meta.low, meta.high):
            raise InvalidRequest(
                "model.loss", f"{refused}; this model's are {meta.low:g}/{meta.high:g}"
            )
        return loss

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
            raise InvalidRequest(f"{field}.optimizer.params.{error.param}", error.message) from None
        if sorted(built.state_names or ()) != sorted(state.optimizer.arrays):
            raise InvalidRequest(
                f"{field}.slots",
                f"{optimizer.name!r} keeps {list(built.state_names or ())}, "
                f"got {sorted(state.optimizer.arrays)}",
            )
        slots, layers = list(state.optimizer.arrays), len(record.weights)
        for name in built.nonnegative_state:
            for index, array in enumerate(state.optimizer.arrays[name]):
                if (array < 0).any():  # finite already: the values were checked as tensors
                    part = f"weights[{index}]" if index < layers else f"biases[{index - layers}]"
                    raise InvalidRequest(
                        f"{field}.slots[{slots.index(name)}].{part}.values",
                        f"must be >= 0 ({optimizer.name}'s {name!r} never is negative), "
                        f"got {array.min():g}",
                    )

    def import_record(
        self, record: ModelRecord, export_bytes: int, request_id: str = ""
    ) -> tuple[str, int]:
        """Check an imported record against the plugins installed and its own task, measure
        it there, and store it; `export_bytes` is the size of its ExportModel answer. The
        (name, version) stored, or the one already saved for `request_id`."""
        if request_id and (saved := self.store.saved_for(request_id)):
            return retry_of(request_id, record.name, saved)
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
        # Measuring it is one pass over its task: as large as a training here may take, no more.
        check_activations(rows, sum(record.meta.sizes[1:]), 1, self.limits, "model.layers")
        check_fits("Evaluate", evaluate_bytes(rows, width, targets.shape[1]), "model", self.limits)
        check_fits("ExportModel", export_bytes, "model", self.limits)
        if inputs.shape[1] != model.n_inputs or targets.shape[1] != record.meta.sizes[-1]:
            raise InvalidRequest(
                "model.layers",
                f"the network maps {model.n_inputs} inputs to "
                f"{record.meta.sizes[-1]} outputs; its task has "
                f"{inputs.shape[1]} and {targets.shape[1]}",
            )
        measured = score(model, inputs, targets)
        metrics = measured.metrics()
        if (loss := self._own_loss(record)) is not None:
            value = loss.checked_value(measured.outputs[..., None], targets[..., None])
            metrics = dataclasses.replace(metrics, loss=float(value[0]))
        if not all(
            np.isfinite(v)
            for v in (metrics.loss, metrics.accuracy, metrics.min_margin, *measured.outputs.ravel())
        ):
            raise InvalidRequest("model.layers", "the network's outputs on its task are not finite")
        record.meta = dataclasses.replace(record.meta, metrics=metrics)
        try:
            stored = self.store.save(
                record, max_models=self.limits.max_models, request_id=request_id
            )
        except RequestSavedError as saved:  # a concurrent attempt of this request saved first
            return retry_of(request_id, record.name, (saved.name, saved.version))
        return stored.name, stored.version
