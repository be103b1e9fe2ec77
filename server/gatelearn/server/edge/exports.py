"""Exported models: a stored record as an ExportedModel, and an ExportedModel (exported or
written by hand) checked layer by layer into a record to import, training state included.

An export carries the loss, the recipe and the history when the record has them; an import
keeps them, and an export made before those fields existed imports without them.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from gatelearn.plugins.recipe import DTYPES
from gatelearn.server.edge.messages import component_ref, recipe_json, recipe_message
from gatelearn.server.edge.training_states import state_from_message, state_message
from gatelearn.server.errors import InvalidRequest
from gatelearn.server.limits import Limits
from gatelearn.server.models.answers import SLACK
from gatelearn.server.recipes.tasks import fill_task_source, task_json
from gatelearn.server.recipes.values import params_dict, tensor_array
from gatelearn.server.stores.meta import ComponentMeta, History, ModelMeta, TaskMeta
from gatelearn.server.stores.records import ModelRecord
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["EXPORT_FORMAT", "exported", "record_from_export"]

EXPORT_FORMAT = 1


def record_from_export(model: pb.ExportedModel, name: str, limits: Limits) -> ModelRecord:
    """A model record from exported (or hand-written) weights, checked layer by layer."""
    if model.format_version not in (0, EXPORT_FORMAT):
        raise InvalidRequest(
            "model.format_version", f"must be {EXPORT_FORMAT}, got {model.format_version}"
        )
    if not model.layers:
        raise InvalidRequest("model.layers", "at least one layer is required")
    if len(model.layers) > limits.max_layers:
        raise InvalidRequest(
            "model.layers",
            f"at most {limits.max_layers} (limit max_layers), got {len(model.layers)}",
        )
    dtype = model.dtype or "float64"
    if dtype not in DTYPES:
        raise InvalidRequest("model.dtype", f"must be one of {', '.join(DTYPES)}, got {dtype!r}")
    with_bias = [layer.HasField("bias") for layer in model.layers]
    if any(with_bias) and not all(with_bias):
        raise InvalidRequest("model.layers", "give a bias for every layer or for none")
    weights: list[NDArray[np.float64]] = []
    biases: list[NDArray[np.float64]] = []
    activations: list[ComponentMeta] = []
    for index, layer in enumerate(model.layers):
        field = f"model.layers[{index}]"
        matrix = tensor_array(layer.weights, f"{field}.weights", 2, dtype)
        if matrix.size == 0:
            raise InvalidRequest(f"{field}.weights", "must not be empty")
        if max(matrix.shape) > max(limits.max_units, limits.max_arity):
            raise InvalidRequest(
                f"{field}.weights",
                f"shape {list(matrix.shape)} is over the limits max_units/max_arity",
            )
        if weights and matrix.shape[0] != weights[-1].shape[1]:
            raise InvalidRequest(
                f"{field}.weights",
                f"has {matrix.shape[0]} rows; the layer before has {weights[-1].shape[1]} outputs",
            )
        if with_bias[index]:
            vector = tensor_array(layer.bias, f"{field}.bias", 1, dtype)
            if vector.shape != (matrix.shape[1],):
                raise InvalidRequest(
                    f"{field}.bias", f"needs {matrix.shape[1]} values, got {vector.shape[0]}"
                )
            biases.append(vector)
        if not layer.activation.name:
            raise InvalidRequest(f"{field}.activation.name", "required")
        weights.append(matrix)
        activations.append(
            ComponentMeta(layer.activation.name, params_dict(layer.activation.params))
        )
    low, high = (model.low, model.high) if (model.low, model.high) != (0, 0) else (0.0, 1.0)
    if not (math.isfinite(low + high) and math.isfinite(high - low) and low < high):
        raise InvalidRequest(
            "model.high", f"must be finite and greater than low ({low}), got {high}"
        )
    source = model.WhichOneof("source")
    if source is None:
        raise InvalidRequest("model.task", "required: the task, table or data the model computes")
    task = task_json(getattr(model, source))
    optimizer, state = None, None
    if model.HasField("training_state"):
        optimizer, state = state_from_message(
            model.training_state, weights, biases or None, limits.max_task_rows, dtype
        )
    meta = ModelMeta(
        sizes=(int(weights[0].shape[0]), *(int(w.shape[1]) for w in weights)),
        activations=tuple(activations),
        bias=bool(biases),
        dtype=dtype,
        low=float(low),
        high=float(high),
        task=TaskMeta(**task, seed=model.seed),
        member_seed=model.member_seed if model.HasField("member_seed") else model.seed,
        history=_history(model.history, limits) if model.HasField("history") else History(),
        recipe=recipe_json(model.recipe, "model.recipe") if model.HasField("recipe") else None,
        loss=(
            ComponentMeta(model.loss.name, params_dict(model.loss.params))
            if model.HasField("loss")
            else None
        ),
        optimizer=optimizer,
    )
    return ModelRecord(name, meta, weights, biases or None, state=state)


def _history(history: pb.History, limits: Limits) -> History:
    """An export's training history, checked: equal lengths, epochs ascending, within the
    history limit, values finite."""
    points = len(history.epochs)
    if not points == len(history.loss) == len(history.accuracy):
        raise InvalidRequest(
            "model.history",
            f"epochs, loss and accuracy need the same length, "
            f"got {points}, {len(history.loss)} and "
            f"{len(history.accuracy)}",
        )
    if points > limits.max_history_points:
        raise InvalidRequest(
            "model.history.epochs",
            f"at most {limits.max_history_points} points (limit max_history_points), got {points}",
        )
    epochs = list(history.epochs)
    if any(later <= earlier for earlier, later in zip(epochs, epochs[1:], strict=False)):
        raise InvalidRequest("model.history.epochs", "must be strictly ascending")
    values = (*history.loss, *history.accuracy)
    if not all(math.isfinite(value) for value in values):
        raise InvalidRequest("model.history", "loss and accuracy must be finite")
    return History(tuple(epochs), tuple(history.loss), tuple(history.accuracy))


def exported(record: ModelRecord, max_bytes: int) -> pb.ExportedModel:
    """A stored record as an ExportedModel: its layers, label values, task, loss, recipe and
    history, and its training state when the answer with it stays within `max_bytes` (the
    layers always do)."""
    meta = record.meta
    exported = pb.ExportedModel(
        format_version=EXPORT_FORMAT,
        name=record.name,
        version=record.version,
        low=meta.low,
        high=meta.high,
        dtype=meta.dtype,
        seed=meta.task.seed if meta.task else 0,
        member_seed=meta.member_seed,
    )
    for index, weights in enumerate(record.weights):
        layer = exported.layers.add()
        layer.weights.shape.extend(weights.shape)
        layer.weights.values.extend(weights.ravel().tolist())
        if record.biases is not None:
            layer.bias.shape.extend(record.biases[index].shape)
            layer.bias.values.extend(record.biases[index].tolist())
        activation = meta.activations[index]
        layer.activation.name = activation.name
        layer.activation.params.update(activation.params)
    if meta.task:
        fill_task_source(meta.task, exported)
    if meta.loss:
        exported.loss.CopyFrom(component_ref(meta.loss.name, meta.loss.params))
    if meta.recipe:
        exported.recipe.CopyFrom(recipe_message(meta.recipe))
    if meta.history.epochs:
        exported.history.CopyFrom(
            pb.History(
                epochs=meta.history.epochs, loss=meta.history.loss, accuracy=meta.history.accuracy
            )
        )
    state = state_message(record)
    if state is not None and exported.ByteSize() + state.ByteSize() + SLACK <= max_bytes:
        exported.training_state.CopyFrom(state)
    return exported
