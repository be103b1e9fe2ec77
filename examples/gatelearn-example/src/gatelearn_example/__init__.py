"""gatelearn-example: a third-party gatelearn plugin.

Installing the distribution makes this module the plugin named `example` (through the
`gatelearn` entry point). gatelearn calls its hooks once at start-up and registers a task,
`mux`, and an activation, `softsign`, beside the built-ins.
"""

from __future__ import annotations

from gatelearn.core import Activation, Task
from gatelearn.plugins import hookimpl
from gatelearn_example.activations import Softsign
from gatelearn_example.gates import Mux

__all__ = ["Mux", "Softsign", "gatelearn_activations", "gatelearn_tasks"]


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [Softsign]


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [Mux]
