"""Test fixture plugin: a task named `buffer` with two inputs, standing in for a plugin whose
task changed shape after models were trained on the one-input `buffer`."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Gate, Task
from gatelearn.plugins import hookimpl


class WideBuffer(Gate):
    """buffer(a, b) = a."""

    name = "buffer"
    description = "copies its first input (two inputs)"
    arity = 2

    def evaluate(self, bits: NDArray[np.int64]) -> NDArray[Any]:
        return bits[:, 0]


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [WideBuffer]
