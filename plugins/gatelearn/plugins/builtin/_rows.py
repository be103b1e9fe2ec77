"""Rows given as data in a request (lists of numbers of one width), checked into an array."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import ParamError

__all__ = ["number_matrix"]


def number_matrix(rows: Any, field: str, values: str = "finite numbers") -> NDArray[np.float64]:
    """Rows of finite numbers of one common width as a float array, or ParamError naming
    `field` (and the first bad row) and saying the rows must hold `values`."""
    if not isinstance(rows, list | tuple) or not rows:
        raise ParamError(field, "must be a non-empty list of rows")
    if not all(isinstance(row, list | tuple) for row in rows):
        raise ParamError(field, f"every row must be a list of {values}")
    width = len(rows[0])
    for index, row in enumerate(rows):
        if len(row) != width or not width:
            raise ParamError(
                field,
                f"rows must have one common non-zero width: row {index} has "
                f"{len(row)} values, row 0 has {width}",
            )
        # bool is an int subclass, but True is not a number a table or dataset means.
        if not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in row
        ):
            raise ParamError(field, f"row {index}: values must be {values}")
    return np.asarray(rows, dtype=np.float64)
