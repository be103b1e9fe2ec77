"""Rows and packed rows in and out of Predict and Evaluate, and the Values, component references
and recipes the edge answers with (or reads back from an import).

Every check that can fail raises `InvalidRequest` naming the offending field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from google.protobuf import json_format, struct_pb2
from numpy.typing import NDArray

from gatelearn.plugins.recipe import FLOAT32_MAX, first_beyond_float32
from gatelearn.server.checks import beyond_float32, first_nonfinite_row
from gatelearn.server.errors import InvalidRequest
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = [
    "component_ref",
    "in_packed_dtype",
    "label_bits",
    "packed_array",
    "recipe_json",
    "recipe_message",
    "rows",
    "rows_array",
    "to_value",
]


def to_value(obj: Any) -> struct_pb2.Value:
    """Any JSON-able Python value (tuples included) as a protobuf Value."""
    value = struct_pb2.Value()
    json_format.ParseDict(json.loads(json.dumps(obj)), value)
    return value


def rows_array(
    rows: Sequence[pb.Row],
    width: int,
    field: str,
    max_rows: int,
    limit_name: str,
    model_dtype: str = "float64",
) -> NDArray[np.float64]:
    """Rows of `width` finite numbers as a (rows, width) array; for a float32 model, numbers
    float32 can hold (one beyond its range would be computed as infinity)."""
    if not rows:
        raise InvalidRequest(field, "at least one row is required")
    if len(rows) > max_rows:
        raise InvalidRequest(
            field, f"at most {max_rows} rows (limit {limit_name}), got {len(rows)}"
        )
    flat: list[float] = []
    for index, row in enumerate(rows):
        values = row.values  # read once: each read of a repeated field builds a new wrapper
        if len(values) != width:
            raise InvalidRequest(
                f"{field}[{index}]", f"has {len(values)} values; the model takes {width}"
            )
        flat.extend(values)
    array = np.array(flat, dtype=np.float64).reshape(len(rows), width)
    # Checked on the list first: for the few rows a unary Predict sends, a fraction of the
    # cost of NumPy's pass, which only finds the row to name.
    if not all(map(math.isfinite, flat)):
        bad = first_nonfinite_row(array)
        raise InvalidRequest(f"{field}[{bad}]", "values must be finite (no NaN or infinity)")
    if (
        model_dtype == "float32"
        and max(map(abs, flat)) > FLOAT32_MAX  # as above: NumPy's pass only names the row
        and (beyond := first_beyond_float32(array)) is not None
    ):
        raise InvalidRequest(f"{field}[{beyond[0]}]", beyond_float32(beyond[1]))
    return array


_PACKED_DTYPES = {"": "<f8", "float64": "<f8", "float32": "<f4"}


def packed_array(
    packed: pb.PackedRows,
    width: int,
    field: str,
    max_rows: int,
    limit_name: str,
    model_dtype: str = "float64",
) -> tuple[NDArray[np.float64], str]:
    """Packed rows as a (rows, width) float64 array, and the dtype name to answer in; for a
    float32 model, rows of float64 numbers must be ones float32 can hold."""
    if packed.dtype not in _PACKED_DTYPES:
        raise InvalidRequest(f"{field}.dtype", f"must be float64 or float32, got {packed.dtype!r}")
    dtype = np.dtype(_PACKED_DTYPES[packed.dtype])
    if len(packed.shape) != 2:
        raise InvalidRequest(
            f"{field}.shape", f"needs [rows, values per row], got {list(packed.shape)}"
        )
    count, columns = packed.shape
    if not 1 <= count <= max_rows:
        raise InvalidRequest(
            f"{field}.shape", f"1 to {max_rows} rows (limit {limit_name}), got {count}"
        )
    if columns != width:
        raise InvalidRequest(
            f"{field}.shape", f"rows have {columns} values; the model takes {width}"
        )
    data = packed.data  # every read of a bytes field is a fresh copy
    if len(data) != count * columns * dtype.itemsize:
        raise InvalidRequest(
            f"{field}.data",
            f"shape {[count, columns]} of {dtype.name} needs "
            f"{count * columns * dtype.itemsize} bytes, got "
            f"{len(data)}",
        )
    array = np.frombuffer(data, dtype=dtype).reshape(count, columns)
    if (bad := first_nonfinite_row(array)) is not None:
        raise InvalidRequest(
            f"{field}.data", f"row {bad}: values must be finite (no NaN or infinity)"
        )
    if (
        model_dtype == "float32"
        and dtype.itemsize > 4  # float32 rows fit by construction
        and (beyond := first_beyond_float32(array)) is not None
    ):
        raise InvalidRequest(f"{field}.data", f"row {beyond[0]}: {beyond_float32(beyond[1])}")
    return np.asarray(array, dtype=np.float64), packed.dtype or "float64"


def in_packed_dtype(array: NDArray[Any], dtype: str) -> NDArray[Any]:
    """`array` as packed rows of `dtype` will hold it: a float64 value beyond float32's range
    becomes infinity here, so checks made on the result see what the client would get."""
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(array, dtype=_PACKED_DTYPES[dtype])


def label_bits(above: NDArray[np.bool_], low: float, high: float) -> pb.LabelBits:
    """Labels as one bit per output: set where the output is `above` the threshold (labelled
    `high`), clear where it is labelled `low`."""
    return pb.LabelBits(bits=np.packbits(above).tobytes(), shape=above.shape, low=low, high=high)


def rows(array: NDArray[Any]) -> list[pb.Row]:
    return [pb.Row(values=row) for row in np.asarray(array, dtype=np.float64).tolist()]


def component_ref(name: str, params: dict[str, Any]) -> pb.ComponentRef:
    ref = pb.ComponentRef(name=name)
    ref.params.update(params)
    return ref


def recipe_message(settings: dict[str, Any]) -> pb.Recipe:
    """A recipe's plain JSON (`Checked.settings`) as the proto's Recipe."""
    return json_format.ParseDict(settings, pb.Recipe())


def recipe_json(message: pb.Recipe, field: str) -> dict[str, Any]:
    """A Recipe message as the plain JSON a model stores; every number must be finite."""
    data = json_format.MessageToDict(
        message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    data["seed"] = int(data["seed"])  # proto JSON writes 64-bit integers as strings
    data.get("options", {}).pop("progress_interval_ms", None)  # changes no model: not kept
    try:
        json.dumps(data, allow_nan=False)
    except ValueError:
        raise InvalidRequest(field, "numbers must be finite (no NaN or infinity)") from None
    return data
