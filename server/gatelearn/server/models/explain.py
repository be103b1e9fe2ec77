"""Explaining a stored model: the core's read-back, plus which installed tasks it equals.

Comparing with tasks needs the registry, so it lives here rather than in the core: every
installed gate of the model's arity (built with its defaults, and with `n` set to the arity
when it takes one) is a candidate, and equals the model when its truth table is the model's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Gate, ParamError
from gatelearn.core.readback import TableReading
from gatelearn.plugins import Registry

__all__ = ["Explained", "TaskTable", "equal_tasks", "task_tables"]


@dataclass(frozen=True)
class TaskTable:
    """An installed gate's whole truth table: (2^n rows, outputs) of booleans."""

    label: str  # "xor", "parity n=3"
    values: NDArray[np.bool_]


@dataclass(frozen=True)
class Explained:
    """What Explain answers, before it becomes a message."""

    name: str
    version: int
    inputs: int
    boolean: bool
    threshold: float
    total_rows: int
    reading: TableReading
    equals: list[str]  # tasks equal to the whole model (boolean inputs)
    output_equals: list[list[str]]  # per output: single-output tasks equal to it
    trained_task: str
    matches_trained_task: bool


def task_tables(registry: Registry, arity: int) -> list[TaskTable]:
    """Every installed gate with `arity` inputs, as built with its defaults or with n = arity."""
    tables: dict[str, TaskTable] = {}
    for entry in registry.entries("task"):
        takes_n = any(param.name == "n" for param in entry.component.params)
        for params in ({}, {"n": arity}) if takes_n else ({},):
            try:
                task = registry.build("task", entry.name, params)
            except ParamError:  # e.g. majority with an even n, a table without rows
                continue
            if not isinstance(task, Gate) or task.arity != arity:
                continue
            label = entry.name + (f" n={task.values['n']}" if takes_n else "")
            targets = task.dataset(np.random.default_rng(0)).targets
            tables.setdefault(label, TaskTable(label, targets > 0.5))
    return list(tables.values())


def equal_tasks(tables: list[TaskTable], values: NDArray[np.bool_]) -> list[str]:
    """The labels of the tables equal to `values` (rows, outputs)."""
    return [
        t.label for t in tables if t.values.shape == values.shape and (t.values == values).all()
    ]
