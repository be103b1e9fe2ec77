"""A truth table given as data in the request: rows of input bits and their output bits."""

from __future__ import annotations

from typing import Any

import numpy as np

from gatelearn.core import Dataset, Param, ParamError, Task
from gatelearn.plugins._markers import hookimpl

MAX_INPUTS = 16


def _bit_matrix(rows: Any, field: str) -> np.ndarray:
    """Rows of 0/1 values of one width, as an int array, or ParamError naming `field`."""
    if not isinstance(rows, list | tuple) or not rows:
        raise ParamError(field, "must be a non-empty list of rows")
    if not all(isinstance(row, list | tuple) for row in rows):
        raise ParamError(field, "every row must be a list of 0/1 values")
    widths = {len(row) for row in rows}
    if len(widths) != 1 or widths == {0}:
        raise ParamError(field, f"rows must have one common non-zero width, got widths "
                                f"{sorted(widths)}")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and v in (0, 1)
               for row in rows for v in row):
        raise ParamError(field, "values must be 0 or 1")
    return np.asarray(rows, dtype=np.int64)


class TruthTable(Task):
    name = "table"
    description = "a custom truth table given as data: input rows and their output rows"
    params = (
        Param("inputs", "data", None, "rows of input bits, all of one width (<= 16)"),
        Param("outputs", "data", None, "one row of output bits per input row"),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        inputs = _bit_matrix(self.values["inputs"], "inputs")
        outputs = _bit_matrix(self.values["outputs"], "outputs")
        if inputs.shape[1] > MAX_INPUTS:
            raise ParamError("inputs", f"at most {MAX_INPUTS} inputs, got {inputs.shape[1]}")
        if len(inputs) != len(outputs):
            raise ParamError("outputs", f"needs one row per input row ({len(inputs)}), got "
                                        f"{len(outputs)}")
        seen: dict[tuple[int, ...], tuple[int, ...]] = {}
        for index, (row_in, row_out) in enumerate(zip(inputs.tolist(), outputs.tolist(),
                                                      strict=True)):
            earlier = seen.setdefault(tuple(row_in), tuple(row_out))
            if earlier != tuple(row_out):
                raise ParamError("outputs", f"row {index}: input {row_in} already maps to "
                                            f"{list(earlier)}, not {row_out}")
        self.inputs = inputs
        self.outputs = outputs

    def dataset(self, rng: np.random.Generator) -> Dataset:
        return self.preview(rng, self.row_count())

    def row_count(self) -> int:
        return len(self.inputs)

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        return Dataset(self.inputs[:rows].astype(np.float64),
                       self.outputs[:rows].astype(np.float64))


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [TruthTable]
