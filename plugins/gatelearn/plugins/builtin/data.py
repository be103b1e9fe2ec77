"""A dataset given as data in the request, like scikit-learn's fit(X, y): rows of real-valued
inputs and their labels, 0/1 or -1/+1 (which pair is read from the labels themselves)."""

from __future__ import annotations

from typing import Any

import numpy as np

from gatelearn.core import Dataset, Param, ParamError, Task
from gatelearn.plugins._markers import hookimpl
from gatelearn.plugins.builtin._rows import number_matrix

# The label pairs a dataset may use, as (low, high); 0/1 wins when every label is 1.
LABEL_PAIRS = ((0.0, 1.0), (-1.0, 1.0))


def _label_pair(targets: np.ndarray) -> tuple[float, float]:
    """The pair every target value belongs to, or ParamError naming `targets`."""
    values = np.unique(targets)
    for low, high in LABEL_PAIRS:
        if np.isin(values, (low, high)).all():
            return low, high
    shown = ", ".join(f"{value:g}" for value in values[:6])
    raise ParamError(
        "targets",
        f"labels must all be 0/1 or all -1/+1, got the values {shown}"
        f"{' ...' if len(values) > 6 else ''}",
    )


class LabelledRows(Task):
    name = "data"
    description = "rows of real-valued inputs given as data, with 0/1 or -1/+1 labels"
    params = (
        Param("inputs", "data", None, "rows of finite numbers, all of one width"),
        Param("targets", "data", None, "one row of labels per input row: all 0/1 or all -1/+1"),
    )

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.inputs = number_matrix(self.values["inputs"], "inputs")
        self.targets = number_matrix(self.values["targets"], "targets")
        if len(self.inputs) != len(self.targets):
            raise ParamError(
                "targets",
                f"needs one row per input row ({len(self.inputs)}), got {len(self.targets)}",
            )
        self.low, self.high = _label_pair(self.targets)

    def dataset(self, rng: np.random.Generator) -> Dataset:
        return self.preview(rng, self.row_count())

    def row_count(self) -> int:
        return len(self.inputs)

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        return Dataset(self.inputs[:rows], self.targets[:rows], low=self.low, high=self.high)


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [LabelledRows]
