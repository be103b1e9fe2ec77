"""Turning protobuf messages into domain values and back, checking them on the way in.

Every check that can fail raises `RequestError` with the gRPC status it deserves and a message
that starts with the offending field, so the servicer stays a thin translation layer.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import grpc
import numpy as np
from google.protobuf import json_format, struct_pb2
from numpy.typing import NDArray

from gatelearn.core import Dataset, TrainConfig
from gatelearn.plugins.recipe import DTYPES, Checked, Choice, Recipe
from gatelearn.server.limits import Limits
from gatelearn.server.stores.meta import ComponentMeta, ModelMeta, TaskMeta
from gatelearn.server.stores.records import ModelRecord
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = [
    "RequestError",
    "check_task_size",
    "check_training_size",
    "check_name",
    "first_nonfinite_row",
    "in_packed_dtype",
    "pack",
    "packed_array",
    "choice",
    "recipe_from_request",
    "record_from_export",
    "rows_array",
    "task_json",
    "tensor_array",
    "to_value",
]

EXPORT_FORMAT = 1
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_DEFAULTS = Recipe()


class RequestError(Exception):
    """A request that cannot be served as sent; carries the status code to answer with."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def invalid(field: str, message: str) -> RequestError:
    return RequestError(grpc.StatusCode.INVALID_ARGUMENT, f"{field}: {message}")


def check_name(name: str, limits: Limits, field: str = "name") -> str:
    """A model name: letters, digits, '.', '_' and '-', starting with a letter or digit."""
    if not name:
        raise invalid(field, "required")
    if len(name) > limits.max_name_length:
        raise invalid(field, f"at most {limits.max_name_length} characters (limit "
                             f"max_name_length), got {len(name)}")
    if not _NAME.fullmatch(name):
        raise invalid(field, "may hold only letters, digits, '.', '_' and '-', and must start "
                             "with a letter or digit")
    return name


def to_value(obj: Any) -> struct_pb2.Value:
    """Any JSON-able Python value (tuples included) as a protobuf Value."""
    value = struct_pb2.Value()
    json_format.ParseDict(json.loads(json.dumps(obj)), value)
    return value


def _plain(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "struct_value":
        return params_dict(value.struct_value)
    if kind == "list_value":
        return [_plain(item) for item in value.list_value.values]
    if kind == "null_value" or kind is None:
        return None
    return getattr(value, kind)


def params_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    """A Struct as plain Python data. Unlike json_format it keeps NaN and infinity, so the
    parameter checks can refuse them by name."""
    return {key: _plain(value) for key, value in struct.fields.items()}


def choice(ref: pb.ComponentRef, default: Choice, field: str) -> Choice:
    """The component a request names, or `default` when it names none."""
    if not ref.name:
        if ref.params.fields:
            raise invalid(f"{field}.name", "required when params are given")
        return default
    return Choice(ref.name, params_dict(ref.params))


def tensor_array(tensor: pb.Tensor, field: str, ndim: int) -> NDArray[np.float64]:
    """A Tensor as an array of `ndim` dimensions, its size matching its shape, all finite."""
    shape = tuple(tensor.shape)
    if len(shape) != ndim:
        raise invalid(f"{field}.shape", f"needs {ndim} dimensions, got {list(shape)}")
    if math.prod(shape) != len(tensor.values):
        raise invalid(f"{field}.values", f"shape {list(shape)} needs {math.prod(shape)} values, "
                                         f"got {len(tensor.values)}")
    array = np.asarray(tensor.values, dtype=np.float64).reshape(shape)
    if not np.isfinite(array).all():
        raise invalid(f"{field}.values", "must be finite (no NaN or infinity)")
    return array


def rows_array(rows: Sequence[pb.Row], width: int, field: str, max_rows: int,
               limit_name: str) -> NDArray[np.float64]:
    """Rows of `width` finite numbers as a (rows, width) array."""
    if not rows:
        raise invalid(field, "at least one row is required")
    if len(rows) > max_rows:
        raise invalid(field, f"at most {max_rows} rows (limit {limit_name}), got {len(rows)}")
    flat: list[float] = []
    for index, row in enumerate(rows):
        if len(row.values) != width:
            raise invalid(f"{field}[{index}]", f"has {len(row.values)} values; the model takes "
                                               f"{width}")
        flat.extend(row.values)
    array = np.array(flat, dtype=np.float64).reshape(len(rows), width)
    if (bad := first_nonfinite_row(array)) is not None:
        raise invalid(f"{field}[{bad}]", "values must be finite (no NaN or infinity)")
    return array


def first_nonfinite_row(array: NDArray[Any]) -> int | None:
    """The index of the first row of a 2-D array holding NaN or infinity; None when every value
    is finite (one vectorised pass in that case, the common one)."""
    finite = np.isfinite(array)
    if finite.all():
        return None
    return int(np.flatnonzero(~finite.all(axis=1))[0])


_PACKED_DTYPES = {"": "<f8", "float64": "<f8", "float32": "<f4"}


def packed_array(packed: pb.PackedRows, width: int, field: str, max_rows: int,
                 limit_name: str) -> tuple[NDArray[np.float64], str]:
    """Packed rows as a (rows, width) float64 array, and the dtype name to answer in."""
    if packed.dtype not in _PACKED_DTYPES:
        raise invalid(f"{field}.dtype", f"must be float64 or float32, got {packed.dtype!r}")
    dtype = np.dtype(_PACKED_DTYPES[packed.dtype])
    if len(packed.shape) != 2:
        raise invalid(f"{field}.shape", f"needs [rows, values per row], got {list(packed.shape)}")
    count, columns = packed.shape
    if not 1 <= count <= max_rows:
        raise invalid(f"{field}.shape", f"1 to {max_rows} rows (limit {limit_name}), got {count}")
    if columns != width:
        raise invalid(f"{field}.shape", f"rows have {columns} values; the model takes {width}")
    data = packed.data  # every read of a bytes field is a fresh copy
    if len(data) != count * columns * dtype.itemsize:
        raise invalid(f"{field}.data", f"shape {[count, columns]} of {dtype.name} needs "
                                       f"{count * columns * dtype.itemsize} bytes, got "
                                       f"{len(data)}")
    array = np.frombuffer(data, dtype=dtype).reshape(count, columns)
    if (bad := first_nonfinite_row(array)) is not None:
        raise invalid(f"{field}.data", f"row {bad}: values must be finite (no NaN or infinity)")
    return np.asarray(array, dtype=np.float64), packed.dtype or "float64"


def in_packed_dtype(array: NDArray[Any], dtype: str) -> NDArray[Any]:
    """`array` as packed rows of `dtype` will hold it: a float64 value beyond float32's range
    becomes infinity here, so checks made on the result see what the client would get."""
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(array, dtype=_PACKED_DTYPES[dtype])


def pack(array: NDArray[Any], dtype: str) -> pb.PackedRows:
    """A 2-D array as little-endian packed rows of `dtype`."""
    data = in_packed_dtype(array, dtype).tobytes()
    return pb.PackedRows(data=data, shape=list(array.shape), dtype=dtype)


def table_params(table: pb.TruthTable) -> dict[str, Any]:
    return {"inputs": [list(r.values) for r in table.inputs],
            "outputs": [list(r.values) for r in table.outputs]}


def task_json(source: pb.ComponentRef | pb.TruthTable) -> dict[str, Any]:
    """How a model records its task: a component reference, or an inline table."""
    if isinstance(source, pb.TruthTable):
        return {"name": "table", "params": table_params(source), "table": True}
    return {"name": source.name, "params": params_dict(source.params)}


def _config(options: pb.TrainOptions, seed: int, limits: Limits) -> TrainConfig:
    defaults = _DEFAULTS.config
    epochs = options.epochs if options.HasField("epochs") else defaults.epochs
    if epochs > limits.max_epochs:
        raise invalid("options.epochs", f"at most {limits.max_epochs} (limit max_epochs), "
                                        f"got {epochs}")
    return TrainConfig(
        epochs=epochs,
        batch_size=options.batch_size,
        shuffle=options.shuffle if options.HasField("shuffle") else defaults.shuffle,
        shuffle_seed=seed,
        weight_decay=options.weight_decay,
        stop_when_solved=(options.stop_when_solved if options.HasField("stop_when_solved")
                          else defaults.stop_when_solved),
        margin=options.margin if options.HasField("margin") else defaults.margin,
        loss_target=options.loss_target if options.HasField("loss_target") else None,
        patience=options.patience,
        min_delta=options.min_delta,
        record_every=options.record_every,
        max_records=limits.max_history_points,
        progress_interval=(options.progress_interval_ms / 1000 if options.progress_interval_ms
                           else defaults.progress_interval),
    )


def _initializer(request: pb.TrainRequest) -> Choice:
    default = Choice("explicit") if request.HasField("weights") else _DEFAULTS.initializer
    picked = choice(request.initializer, default, "initializer")
    if picked.name != "explicit":
        if request.HasField("weights"):
            raise invalid("weights", "only used with initializer 'explicit'")
        return picked
    if not request.HasField("weights"):
        return picked  # the weights came as the initializer's own params
    if request.initializer.params.fields:  # one source of weights, or which wins is a guess
        twice = ", ".join(f"initializer.params.{key}"
                          for key in sorted(request.initializer.params.fields))
        raise invalid("weights", f"given together with {twice}; give the initial weights in "
                                 f"one of the two")
    weights = [tensor_array(t, f"weights.weights[{i}]", 2).tolist()
               for i, t in enumerate(request.weights.weights)]
    biases = [tensor_array(t, f"weights.biases[{i}]", 1).tolist()
              for i, t in enumerate(request.weights.biases)]
    return Choice("explicit", {"weights": weights, "biases": biases or None})


def recipe_from_request(request: pb.TrainRequest, limits: Limits) -> tuple[Recipe, dict[str, Any]]:
    """The recipe a Train request describes, with the task as the model will record it."""
    check_name(request.model_name, limits, "model_name")
    source = request.WhichOneof("source")
    if source is None:
        raise invalid("task", "required: name a task or give a table")
    if source == "task" and not request.task.name:
        raise invalid("task.name", "required")
    task_source = getattr(request, source)
    task = task_json(task_source)
    hidden = tuple(request.hidden.units) if request.HasField("hidden") else _DEFAULTS.hidden
    if len(hidden) + 1 > limits.max_layers:
        raise invalid("hidden.units", f"at most {limits.max_layers - 1} hidden layers (limit "
                                      f"max_layers = {limits.max_layers}), got {len(hidden)}")
    for index, units in enumerate(hidden):
        if not 1 <= units <= limits.max_units:
            raise invalid(f"hidden.units[{index}]", f"must be 1 to {limits.max_units} "
                                                    f"(limit max_units), got {units}")
    population = request.population or 1
    if population > limits.max_population:
        raise invalid("population", f"at most {limits.max_population} (limit max_population), "
                                    f"got {population}")
    if request.seed + population > 2**64:
        raise invalid("seed", f"member seeds seed..seed+{population - 1} must fit in 64 bits: "
                              f"at most {2**64 - population} with population {population}")
    activations = []
    for index, ref in enumerate(request.activations):
        if not ref.name:
            raise invalid(f"activations[{index}].name", "required")
        activations.append(Choice(ref.name, params_dict(ref.params)))
    dtype = {pb.FLOAT32: "float32"}.get(request.dtype, "float64")
    if request.dtype not in pb.Dtype.values():
        raise invalid("dtype", f"unknown value {request.dtype}")
    recipe = Recipe(
        task=Choice(task["name"], task["params"]),
        hidden=hidden,
        activations=tuple(activations),
        bias=request.bias if request.HasField("bias") else _DEFAULTS.bias,
        loss=choice(request.loss, _DEFAULTS.loss, "loss"),
        optimizer=choice(request.optimizer, _DEFAULTS.optimizer, "optimizer"),
        initializer=_initializer(request),
        config=_config(request.options, request.seed, limits),
        seed=request.seed,
        population=population,
        dtype=dtype,
    )
    return recipe, task


def check_task_size(rows: int, sample: Dataset, limits: Limits, field: str = "task") -> None:
    """Refuse a task of `rows` rows shaped like `sample` (its first rows) when it is larger than
    the limits allow, before its rows are built."""
    if sample.n_inputs > limits.max_arity:
        raise invalid(field, f"at most {limits.max_arity} inputs (limit max_arity), got "
                             f"{sample.n_inputs}")
    if sample.n_outputs > limits.max_units:
        raise invalid(field, f"at most {limits.max_units} outputs (limit max_units), got "
                             f"{sample.n_outputs}")
    if rows > limits.max_task_rows:
        raise invalid(field, f"at most {limits.max_task_rows} rows (limit max_task_rows), got "
                             f"{rows}")


def check_training_size(checked: Checked, limits: Limits) -> None:
    """Refuse a training larger than the limits allow, before any weights are drawn: the task,
    and the memory the population's weights and one pass over the rows would take."""
    check_task_size(checked.rows, checked.sample, limits)
    rows, sizes, population = checked.rows, checked.sizes, checked.recipe.population
    per_network = sum((fan_in + checked.recipe.bias) * fan_out
                      for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True))
    if per_network * population > limits.max_parameters:
        raise invalid("population" if population > 1 else "hidden.units",
                      f"{per_network} weights and biases per network (layer sizes {sizes}) x "
                      f"population {population} = {per_network * population}; at most "
                      f"{limits.max_parameters} (limit max_parameters)")
    units = sum(sizes[1:])
    if rows * units * population > limits.max_activations:
        raise invalid("population" if population > 1 else "task",
                      f"{rows} task rows x {units} units x population {population} = "
                      f"{rows * units * population} values per pass; at most "
                      f"{limits.max_activations} (limit max_activations)")


def rows(array: NDArray[Any]) -> list[pb.Row]:
    return [pb.Row(values=row) for row in np.asarray(array, dtype=np.float64).tolist()]


def record_from_export(model: pb.ExportedModel, name: str, limits: Limits) -> ModelRecord:
    """A model record from exported (or hand-written) weights, checked layer by layer."""
    if model.format_version not in (0, EXPORT_FORMAT):
        raise invalid("model.format_version", f"must be {EXPORT_FORMAT}, got "
                                              f"{model.format_version}")
    if not model.layers:
        raise invalid("model.layers", "at least one layer is required")
    if len(model.layers) > limits.max_layers:
        raise invalid("model.layers", f"at most {limits.max_layers} (limit max_layers), got "
                                      f"{len(model.layers)}")
    with_bias = [layer.HasField("bias") for layer in model.layers]
    if any(with_bias) and not all(with_bias):
        raise invalid("model.layers", "give a bias for every layer or for none")
    weights, biases, activations = [], [], []
    for index, layer in enumerate(model.layers):
        field = f"model.layers[{index}]"
        matrix = tensor_array(layer.weights, f"{field}.weights", 2)
        if matrix.size == 0:
            raise invalid(f"{field}.weights", "must not be empty")
        if max(matrix.shape) > max(limits.max_units, limits.max_arity):
            raise invalid(f"{field}.weights", f"shape {list(matrix.shape)} is over the limits "
                                              f"max_units/max_arity")
        if weights and matrix.shape[0] != weights[-1].shape[1]:
            raise invalid(f"{field}.weights", f"has {matrix.shape[0]} rows; the layer before "
                                              f"has {weights[-1].shape[1]} outputs")
        if with_bias[index]:
            vector = tensor_array(layer.bias, f"{field}.bias", 1)
            if vector.shape != (matrix.shape[1],):
                raise invalid(f"{field}.bias", f"needs {matrix.shape[1]} values, got "
                                               f"{vector.shape[0]}")
            biases.append(vector)
        if not layer.activation.name:
            raise invalid(f"{field}.activation.name", "required")
        weights.append(matrix)
        activations.append(ComponentMeta(layer.activation.name,
                                         params_dict(layer.activation.params)))
    low, high = (model.low, model.high) if (model.low, model.high) != (0, 0) else (0.0, 1.0)
    if not (math.isfinite(low + high) and math.isfinite(high - low) and low < high):
        raise invalid("model.high", f"must be finite and greater than low ({low}), got {high}")
    dtype = model.dtype or "float64"
    if dtype not in DTYPES:
        raise invalid("model.dtype", f"must be one of {', '.join(DTYPES)}, got {dtype!r}")
    source = model.WhichOneof("source")
    if source is None:
        raise invalid("model.task", "required: the task or table the model computes")
    task = task_json(getattr(model, source))
    meta = ModelMeta(
        sizes=(int(weights[0].shape[0]), *(int(w.shape[1]) for w in weights)),
        activations=tuple(activations),
        bias=bool(biases),
        dtype=dtype,
        low=float(low),
        high=float(high),
        task=TaskMeta(**task, seed=model.seed),
        member_seed=model.seed,
    )
    return ModelRecord(name, meta, weights, biases or None)
