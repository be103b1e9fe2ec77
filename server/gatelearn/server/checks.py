"""Checks the edge and the services share: a name is well formed, a task is installed and not
over the limits, rows are finite, the store has room. Each failure is a domain error naming the
field it is about."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Dataset
from gatelearn.plugins import Registry, UnknownComponentError
from gatelearn.plugins.recipe import FLOAT32_MAX
from gatelearn.server.errors import InvalidRequest, NotFound
from gatelearn.server.limits import Limits

__all__ = [
    "beyond_float32",
    "check_activations",
    "check_name",
    "check_task_size",
    "first_nonfinite_row",
    "overflowed",
    "retry_of",
    "task_exists",
]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def check_name(name: str, limits: Limits, field: str = "name") -> str:
    """A model or alias name: letters, digits, '.', '_' and '-', starting with a letter or
    digit (so ':' and '@' can mark a version or an alias after it)."""
    if not name:
        raise InvalidRequest(field, "required")
    if len(name) > limits.max_name_length:
        raise InvalidRequest(
            field,
            f"at most {limits.max_name_length} characters (limit max_name_length), got {len(name)}",
        )
    if not _NAME.fullmatch(name):
        raise InvalidRequest(
            field,
            "may hold only letters, digits, '.', '_' and '-', and must start "
            "with a letter or digit",
        )
    return name


def task_exists(registry: Registry, name: str, field: str = "task") -> None:
    """Raise NotFound unless a task of that name is installed."""
    try:
        registry.entry("task", name)
    except UnknownComponentError as error:
        raise NotFound(f"{field}: {error}") from None


def first_nonfinite_row(array: NDArray[Any]) -> int | None:
    """The index of the first row of a 2-D array holding NaN or infinity; None when every value
    is finite (one vectorised pass in that case, the common one)."""
    finite = np.isfinite(array)
    if finite.all():
        return None
    return int(np.flatnonzero(~finite.all(axis=1))[0])


def beyond_float32(value: float) -> str:
    """Why a float32 model refuses an input `value`."""
    return f"{value:g} is beyond float32's range (±{FLOAT32_MAX:.8g}), in which this model computes"


def check_task_size(rows: int, sample: Dataset, limits: Limits, field: str = "task") -> None:
    """Refuse a task of `rows` rows shaped like `sample` (its first rows) when it is larger than
    the limits allow, before its rows are built."""
    if sample.n_inputs > limits.max_arity:
        raise InvalidRequest(
            field, f"at most {limits.max_arity} inputs (limit max_arity), got {sample.n_inputs}"
        )
    if sample.n_outputs > limits.max_units:
        raise InvalidRequest(
            field, f"at most {limits.max_units} outputs (limit max_units), got {sample.n_outputs}"
        )
    if rows > limits.max_task_rows:
        raise InvalidRequest(
            field, f"at most {limits.max_task_rows} rows (limit max_task_rows), got {rows}"
        )


def overflowed(field: str, dtype: str = "") -> InvalidRequest:
    """Outputs past the float range (of `dtype`, when answered packed): the rows that caused
    it are the client's, so an invalid request naming the first such row."""
    answered = f" as {dtype}" if dtype else ""
    return InvalidRequest(
        field,
        f"output is not finite{answered}: the model's values overflowed on "
        f"these inputs (too large for its weights); nothing was answered",
    )


def check_activations(
    rows: int, units: int, population: int, limits: Limits, field: str, counted: str = "task rows"
) -> None:
    """Refuse a pass over `rows` rows (`counted` names them) through networks of `units` units
    (all layers) x `population` whose values are more than the limit max_activations."""
    if rows * units * population > limits.max_activations:
        raise InvalidRequest(
            field,
            f"{rows} {counted} x {units} units x population {population} = "
            f"{rows * units * population} values per pass; at most "
            f"{limits.max_activations} (limit max_activations)",
        )


def retry_of(
    request_id: str, name: str, saved: tuple[str, int], field: str = "request_id"
) -> tuple[str, int]:
    """`saved`, the (name, version) an earlier attempt of request `request_id` stored, when
    this attempt names the same model; an id sent again for another model is refused, since
    answering with the first model's version would pass one model off as another."""
    if saved[0] != name:
        raise InvalidRequest(
            field,
            f"{request_id!r} already saved {saved[0]}:{saved[1]}; a retry names the same "
            f"model ({name!r} is another), a new request takes a new id",
        )
    return saved
