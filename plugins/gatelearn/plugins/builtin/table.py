"""A truth table given as data in the request: rows of input bits and their output bits."""

from __future__ import annotations

from typing import Any

import numpy as np

from gatelearn.core import Dataset, Param, ParamError, Task
from gatelearn.plugins._markers import hookimpl
from gatelearn.plugins.builtin._rows import number_matrix

MAX_INPUTS = 16


def _bit_matrix(rows: Any, field: str) -> np.ndarray:
    """Rows of 0/1 values of one width, as an int array, or ParamError naming `field`."""
    matrix = number_matrix(rows, field, "0 or 1")
    if not np.isin(matrix, (0.0, 1.0)).all():
        raise ParamError(field, "values must be 0 or 1")
    return matrix.astype(np.int64)


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
            raise ParamError(
                "outputs", f"needs one row per input row ({len(inputs)}), got {len(outputs)}"
            )
        seen: dict[tuple[int, ...], tuple[int, ...]] = {}
        for index, (row_in, row_out) in enumerate(
            zip(inputs.tolist(), outputs.tolist(), strict=True)
        ):
            earlier = seen.setdefault(tuple(row_in), tuple(row_out))
            if earlier != tuple(row_out):
                raise ParamError(
                    "outputs",
                    f"row {index}: input {row_in} already maps to {list(earlier)}, not {row_out}",
                )
        self.inputs = inputs
        self.outputs = outputs

    def dataset(self, rng: np.random.Generator) -> Dataset:
        return self.preview(rng, self.row_count())

    def row_count(self) -> int:
        return len(self.inputs)

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        return Dataset(
            self.inputs[:rows].astype(np.float64), self.outputs[:rows].astype(np.float64)
        )


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [TruthTable]
