"""A version's training state (optimizer state, minibatch order) as a TrainingState message of
an export, and such a message checked back against the layers it came with."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import OptimizerState, RunState, ShuffleState
from gatelearn.server.errors import InvalidRequest
from gatelearn.server.recipes.values import params_dict, tensor_array
from gatelearn.server.stores.meta import ComponentMeta
from gatelearn.server.stores.records import ModelRecord
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["MAX_STEPS", "state_from_message", "state_message"]

_FIELD = "model.training_state"
_GENERATOR_WORDS = 6
# Stored as a signed 64-bit integer; half of that leaves the trainings that continue it room.
MAX_STEPS = 2**62


def _tensor(array: NDArray[np.floating[Any]], target: pb.Tensor) -> None:
    target.shape.extend(array.shape)
    target.values.extend(array.ravel().tolist())


def state_message(record: ModelRecord) -> pb.TrainingState | None:
    """The record's training state for an export; None when it keeps none."""
    state, optimizer = record.state, record.meta.optimizer
    if state is None or state.optimizer is None or optimizer is None:
        return None
    message = pb.TrainingState(steps=state.optimizer.steps)
    message.optimizer.name = optimizer.name
    message.optimizer.params.update(optimizer.params)
    layers = len(record.weights)
    for name, arrays in state.optimizer.arrays.items():
        slot = message.slots.add(name=name)
        for index, array in enumerate(arrays):  # the weights of every layer, then the biases
            _tensor(array[..., 0], slot.weights.add() if index < layers else slot.biases.add())
    if state.shuffle is not None:
        message.row_order.extend(state.shuffle.order.tolist())
        message.shuffle_generator.extend(state.shuffle.generator.tolist())
    return message


def _slot_arrays(
    slot: pb.OptimizerSlot,
    field: str,
    weights: list[NDArray[np.float64]],
    biases: list[NDArray[np.float64]] | None,
    dtype: str,
) -> list[NDArray[np.floating[Any]]]:
    """A slot's tensors, each shaped like its parameter (population axis added), as a network
    of `dtype` holds them."""
    arrays: list[NDArray[np.floating[Any]]] = []
    for part, params, ndim in (("weights", weights, 2), ("biases", biases or [], 1)):
        given = getattr(slot, part)
        if len(given) != len(params):
            raise InvalidRequest(
                f"{field}.{part}", f"needs {len(params)} tensors (one per layer), got {len(given)}"
            )
        for index, (tensor, param) in enumerate(zip(given, params, strict=True)):
            array = tensor_array(tensor, f"{field}.{part}[{index}]", ndim, dtype)
            if array.shape != param.shape:
                raise InvalidRequest(
                    f"{field}.{part}[{index}]",
                    f"shape {list(array.shape)}; the layer's is {list(param.shape)}",
                )
            arrays.append(array[..., None])
    return arrays


def _check_generator_flags(has_uint32: int, uinteger: int) -> None:
    """PCG64 takes back only a flag of 0 or 1 and a 32-bit spare value (NumPy overflows on
    others when the warm start sets the state)."""
    if has_uint32 > 1 or uinteger >= 2**32:
        raise InvalidRequest(
            f"{_FIELD}.shuffle_generator",
            f"its last two values are a flag (0 or 1) and a 32-bit value, got {has_uint32} "
            f"and {uinteger}",
        )


def state_from_message(
    message: pb.TrainingState,
    weights: list[NDArray[np.float64]],
    biases: list[NDArray[np.float64]] | None,
    max_rows: int,
    dtype: str,
) -> tuple[ComponentMeta, RunState]:
    """An imported training state, checked against the model's layers (a network of `dtype`):
    its optimizer and the run state to store."""
    if not message.optimizer.name:
        raise InvalidRequest(f"{_FIELD}.optimizer.name", "required")
    arrays: dict[str, list[NDArray[np.floating[Any]]]] = {}
    for index, slot in enumerate(message.slots):
        field = f"{_FIELD}.slots[{index}]"
        if not slot.name or slot.name in arrays:
            raise InvalidRequest(
                f"{field}.name", f"must be a name not given before, got {slot.name!r}"
            )
        arrays[slot.name] = _slot_arrays(slot, field, weights, biases, dtype)
    shuffle = None
    if message.row_order or message.shuffle_generator:
        order = np.asarray(message.row_order, dtype=np.int64)
        if len(order) > max_rows or not np.array_equal(np.sort(order), np.arange(len(order))):
            raise InvalidRequest(
                f"{_FIELD}.row_order",
                f"must be a permutation of 0..rows-1 "
                f"with at most {max_rows} rows (limit "
                f"max_task_rows)",
            )
        if len(message.shuffle_generator) != _GENERATOR_WORDS:
            raise InvalidRequest(
                f"{_FIELD}.shuffle_generator",
                f"needs {_GENERATOR_WORDS} values with row_order, got "
                f"{len(message.shuffle_generator)}",
            )
        _check_generator_flags(*message.shuffle_generator[4:])
        shuffle = ShuffleState(order, np.asarray(message.shuffle_generator, dtype=np.uint64))
    if message.steps > MAX_STEPS:
        raise InvalidRequest(f"{_FIELD}.steps", f"at most 2^62, got {message.steps}")
    optimizer = ComponentMeta(message.optimizer.name, params_dict(message.optimizer.params))
    return optimizer, RunState(OptimizerState(arrays, message.steps), shuffle)
