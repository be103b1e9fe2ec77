"""Test fixture plugin: the task `buffer` with two inputs (it copies the first), standing in
for a plugin whose task changed shape after models were trained on the one-input `buffer`.
Needs tests/plugins importable, for the original."""

from __future__ import annotations

from buffer_gate_plugin import Buffer

from gatelearn.core import Task
from gatelearn.plugins import hookimpl


class WideBuffer(Buffer):
    description = "copies its first input (two inputs)"
    arity = 2


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [WideBuffer]
