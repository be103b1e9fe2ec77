"""Parameters, component references and tensors from protobuf messages as plain values, and
rows of plain numbers into messages.

Every check that can fail raises `InvalidRequest` naming the offending field.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from google.protobuf import struct_pb2
from google.protobuf.internal.containers import RepeatedCompositeFieldContainer
from numpy.typing import NDArray

from gatelearn.core import check_known
from gatelearn.plugins import Registry, UnknownComponentError
from gatelearn.plugins.recipe import FLOAT32_MAX, Choice
from gatelearn.server.errors import InvalidRequest
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["add_rows", "check_param_names", "choice", "params_dict", "tensor_array"]


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


def check_param_names(ref: pb.ComponentRef, kind: str, registry: Registry) -> None:
    """Raise ParamError for a key of `ref.params` that the named component does not declare,
    before any value is converted (a 16 MB value under a wrong name took a second to convert
    only to be refused). A component not installed is left to be reported where it is built."""
    if not ref.name or not ref.params.fields:
        return
    try:
        declared = registry.entry(kind, ref.name).component.params
    except UnknownComponentError:
        return
    check_known(declared, ref.params.fields.keys())


def choice(ref: pb.ComponentRef, default: Choice) -> Choice:
    """The component a request names; when it names none, `default` with the params given
    on top (so `{"params": {"lr": 0.1}}` tunes the default optimizer)."""
    if ref.name:
        return Choice(ref.name, params_dict(ref.params))
    return Choice(default.name, {**default.params, **params_dict(ref.params)})


def tensor_array(
    tensor: pb.Tensor, field: str, ndim: int, dtype: str = "float64"
) -> NDArray[np.float64]:
    """A Tensor as an array of `ndim` dimensions, its size matching its shape, all finite; for
    a float32 network, rounded to the float32 numbers it computes with, none beyond their range."""
    shape = tuple(tensor.shape)
    if len(shape) != ndim:
        raise InvalidRequest(f"{field}.shape", f"needs {ndim} dimensions, got {list(shape)}")
    if math.prod(shape) != len(tensor.values):
        raise InvalidRequest(
            f"{field}.values",
            f"shape {list(shape)} needs {math.prod(shape)} values, got {len(tensor.values)}",
        )
    array = np.asarray(tensor.values, dtype=np.float64).reshape(shape)
    if not np.isfinite(array).all():
        raise InvalidRequest(f"{field}.values", "must be finite (no NaN or infinity)")
    if dtype != "float32":
        return array
    with np.errstate(over="ignore"):
        rounded = array.astype(np.float32)
    if not np.isfinite(rounded).all():
        raise InvalidRequest(
            f"{field}.values", f"a float32 network's values must be within ±{FLOAT32_MAX:.8g}"
        )
    return rounded.astype(np.float64)


def add_rows(field: RepeatedCompositeFieldContainer[pb.Row], rows: Iterable[list[float]]) -> None:
    """Append `rows` (lists of numbers) to a repeated Row field, each made in place: extending
    with Rows built apart copies every one, which was half of a unary Predict's answer."""
    add = field.add
    for row in rows:
        add(values=row)
