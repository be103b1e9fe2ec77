"""Between trained networks and stored records: what a saved model is made of.

A record keeps one network (P = 1) as plain matrices plus its metadata (`ModelMeta`): layer
sizes, each layer's activation by name and parameters, the task it learned, its label values,
metrics and history. Turning a record back into a network needs the registry, since activations are
plugins; a model whose activation is no longer installed cannot be served.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import ForwardPass, Layer, Network, TrainConfig, TrainResult
from gatelearn.plugins import Registry, UnknownComponentError
from gatelearn.plugins.recipe import DTYPES, Prepared
from gatelearn.server.errors import FailedPrecondition
from gatelearn.server.priority import ordinary_priority
from gatelearn.server.stores.meta import ComponentMeta, History, Metrics, ModelMeta, TaskMeta
from gatelearn.server.stores.records import ModelRecord

__all__ = [
    "Score",
    "ServableModel",
    "UnservableModelError",
    "best_member",
    "record_from_training",
    "score",
    "servable",
]


SMALL_BATCH = 64  # rows up to which Predict runs a pass prepared once per thread
# Activations (rows x units) from which a forward pass runs as an ordinary thread, not a real-time
# one (priority.py): about 1 ms of work here, long enough to let other processes take turns.
LONG_PASS = 1 << 19


class UnservableModelError(FailedPrecondition):
    """A stored model needs a component that is not installed now."""


def best_member(result: TrainResult) -> int:
    """The member to keep: the most rows right, then the widest margin (so a solved one if
    any), ties to the lowest index. A member whose loss or margin is not finite never wins.

    Accuracy comes first so that a member with every output stuck on the threshold (margin 0,
    no row right) never beats one that gets most rows right by a negative margin.
    """
    usable = np.isfinite(result.min_margin) & np.isfinite(result.loss)
    accuracy = np.where(usable, result.accuracy, -np.inf)
    most_right = usable & (accuracy == accuracy.max())
    return int(np.argmax(np.where(most_right, result.min_margin, -np.inf)))


def _held_out_metrics(result: TrainResult, member: int) -> dict[str, float]:
    """The kept member's loss and accuracy on the held-out rows; none without any."""
    if result.validation_loss is None or result.validation_accuracy is None:
        return {}
    return {
        "validation_loss": float(result.validation_loss[member]),
        "validation_accuracy": float(result.validation_accuracy[member]),
    }


def record_from_training(
    name: str,
    prepared: Prepared,
    result: TrainResult,
    task: dict[str, Any],
    request: bytes | None,
    parent: str,
    fresh_optimizer_state: bool,
    settings: dict[str, Any],
) -> ModelRecord:
    """A record of the best member of a finished run, with where its run left off; `parent`
    is the version a warm start continued, `settings` the run's whole recipe
    (`Checked.settings`)."""
    member = best_member(result)
    state = result.state.member(member)
    network = result.network.member(member)
    recipe = prepared.recipe
    meta = ModelMeta(
        sizes=tuple(network.sizes),
        activations=tuple(
            ComponentMeta(c.name, dict(c.params)) for c in recipe.layer_activations()
        ),
        bias=recipe.bias,
        dtype=recipe.dtype,
        low=float(prepared.data.low),
        high=float(prepared.data.high),
        task=TaskMeta(**task),
        member_seed=recipe.seed + member,
        population=recipe.population,
        stop_reason=str(result.stop_reason),
        epochs=result.epochs,
        metrics=Metrics(
            loss=float(result.loss[member]),
            accuracy=float(result.accuracy[member]),
            min_margin=float(result.min_margin[member]),
            solved=bool(result.solved[member]),
            solved_epoch=int(result.solved_epoch[member]),
            **_held_out_metrics(result, member),
        ),
        history=History(
            epochs=tuple(result.history.epochs.tolist()),
            loss=tuple(result.history.loss[:, member].tolist()),
            accuracy=tuple(result.history.accuracy[:, member].tolist()),
        ),
        solved_members=int(result.solved.sum()),
        member_solved_epochs=tuple(result.solved_epoch.tolist()),
        recipe=settings,
        loss=ComponentMeta(**settings["loss"]),
        optimizer=None if state.optimizer is None else ComponentMeta(**settings["optimizer"]),
        parent=parent,
        fresh_optimizer_state=fresh_optimizer_state,
    )
    weights = [layer.weights[..., 0].astype(np.float64) for layer in network.layers]
    biases = (
        [
            layer.bias[..., 0].astype(np.float64)
            for layer in network.layers
            if layer.bias is not None
        ]
        if recipe.bias
        else None
    )
    return ModelRecord(name, meta, weights, biases, request, state=state)


@dataclass(frozen=True)
class ServableModel:
    """A stored model rebuilt for prediction."""

    record: ModelRecord
    network: Network

    # Read on every Predict, so worked out once per loaded model.
    @functools.cached_property
    def low(self) -> float:
        return self.record.meta.low

    @functools.cached_property
    def high(self) -> float:
        return self.record.meta.high

    @functools.cached_property
    def threshold(self) -> float:
        return (self.low + self.high) / 2

    @functools.cached_property
    def n_inputs(self) -> int:
        return self.record.meta.sizes[0]

    @functools.cached_property
    def units(self) -> int:
        """Units a row passes through: a forward pass's work per row."""
        return sum(self.record.meta.sizes[1:])

    def outputs(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        """The network's outputs for `rows` (rows, n_inputs), as float64."""
        if len(rows) <= SMALL_BATCH:
            return self._small_batch(rows)
        long = len(rows) * self.units >= LONG_PASS
        with ordinary_priority() if long else contextlib.nullcontext():
            return np.asarray(self.network.predict(rows)[..., 0], dtype=np.float64)

    @overload
    def above(self, outputs: float) -> bool: ...
    @overload
    def above(self, outputs: NDArray[np.float64]) -> NDArray[np.bool_]: ...
    def above(self, outputs: Any) -> Any:
        """Which outputs are above the threshold: those labelled `high` (an array of them, or
        one output)."""
        return outputs > self.threshold

    def labels(self, above: NDArray[np.bool_]) -> NDArray[np.float64]:
        """The label values of outputs that are `above` the threshold or not."""
        return np.where(above, self.high, self.low)

    def _small_batch(self, rows: NDArray[np.float64]) -> NDArray[np.float64]:
        """`rows` through this thread's forward pass for that many rows: made on a thread's
        first call with that count, and kept until it asks for another (clients tend to keep
        theirs), so a small Predict is a copy in, a run over ready NumPy calls and a copy out;
        its products keep the GIL (`ForwardPass`), as the request threads take turns."""
        forward: ForwardPass | None = getattr(self._passes, "last", None)
        if forward is None or len(forward.inputs) != len(rows):
            inputs = np.empty((len(rows), self.network.sizes[0]), dtype=self.network.dtype)
            forward = self._passes.last = ForwardPass(self.network, inputs, keep_gil=True)
        if rows.shape != forward.inputs.shape:  # a copy would broadcast; a product would refuse
            raise ValueError(f"rows of shape {rows.shape}; this model takes {forward.inputs.shape}")
        with np.errstate(over="ignore", under="ignore"):  # saturating is not an error
            forward.inputs[...] = rows
            forward.run()
        return forward.output[..., 0].astype(np.float64)  # a copy: the buffer is used again

    @functools.cached_property
    def _passes(self) -> threading.local:
        return threading.local()


@dataclass(frozen=True)
class Score:
    """How a model's outputs compare with targets, row by row."""

    outputs: NDArray[np.float64]
    correct: NDArray[np.bool_]  # per row: every output on its label's side
    min_margin: float  # smallest signed distance past the threshold
    accuracy: float
    mse: float
    solved: bool  # every output past the threshold by the default training margin

    def metrics(self) -> Metrics:
        return Metrics(
            loss=self.mse, accuracy=self.accuracy, min_margin=self.min_margin, solved=self.solved
        )


def score(model: ServableModel, inputs: NDArray[np.float64], targets: NDArray[np.float64]) -> Score:
    """Run `model` on `inputs` and measure it against `targets`."""
    outputs = model.outputs(inputs)
    side = np.where(targets > model.threshold, 1.0, -1.0)
    signed = (outputs - model.threshold) * side
    correct = np.asarray((signed > 0).all(axis=1))
    solved = float(signed.min()) > TrainConfig.margin * (model.high - model.low)
    return Score(
        outputs,
        correct,
        float(signed.min()),
        float(correct.mean()),
        float(np.mean((outputs - targets) ** 2)),
        solved,
    )


def servable(record: ModelRecord, registry: Registry) -> ServableModel:
    """Rebuild a record's network with the activations installed now."""
    meta = record.meta
    dtype = DTYPES[meta.dtype]
    layers = []
    for index, (weights, spec) in enumerate(zip(record.weights, meta.activations, strict=True)):
        try:
            activation = registry.build("activation", spec.name, spec.params)
        except UnknownComponentError as error:
            raise UnservableModelError(
                f"model {record.name!r} version {record.version} needs {error}"
            ) from None
        bias = None if record.biases is None else record.biases[index][:, None].astype(dtype)
        layers.append(Layer(weights[:, :, None].astype(dtype), bias, activation))
    return ServableModel(record, Network(layers))
