"""Test fixture plugin: a one-input gate `buffer`, loaded by module name."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Gate, Task
from gatelearn.plugins import hookimpl


class Buffer(Gate):
    """buffer(a) = a."""

    name = "buffer"
    description = "copies its one input"
    arity = 1

    def evaluate(self, bits: NDArray[np.int64]) -> NDArray[Any]:
        return bits[:, 0]


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [Buffer]
