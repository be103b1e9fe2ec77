"""Test fixture plugin: components that break the host's assumptions rather than the maths.

- importing the module prints a line to stdout (flushed), as a chatty plugin does;
- `fd_writer` is tanh, but its forward pass writes bytes straight to file descriptor 1, as a C
  library or a child process sharing the descriptor would;
- `unreadable` raises an exception whose `__str__` itself raises;
- `held` is tanh, but once `ARMED` is set its forward pass waits for `RELEASE` (after setting
  `ENTERED`), as a plugin stuck on a lock or a network call would;
- the gate `broken_gate` raises from `evaluate`, which runs when a request is checked;
- the gate `three_gate` is XOR with 3 for 1, a label its dataset does not declare;
- the loss `misshapen` returns a (3, 7) array of values, not one per member;
- the optimizer `failing_step` binds, but the step it returns (a closure, with no `self`)
  raises.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence

import numpy as np

from gatelearn.core import Activation, Gate, Loss, Optimizer, Step
from gatelearn.core.components import Array
from gatelearn.plugins import hookimpl
from gatelearn.plugins.builtin.losses import MeanSquaredError
from gatelearn.plugins.builtin.optimizers import GradientDescent

print("unruly plugin loaded", flush=True)

STDOUT_BYTES = b"\x00\x00\x00\x04\x05junk written to fd 1 by a plugin\n"
GATE_MESSAGE = "broken_gate cannot evaluate on purpose"
STEP_MESSAGE = "failing_step cannot step on purpose"
ARMED, ENTERED, RELEASE = threading.Event(), threading.Event(), threading.Event()


class FdWriter(Activation):
    name = "fd_writer"
    description = "tanh that writes bytes to file descriptor 1 (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        os.write(1, STDOUT_BYTES)
        np.tanh(z, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.subtract(1.0, np.square(a), out=out)


class Held(Activation):
    name = "held"
    description = "tanh that, once armed, waits to be released (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        if ARMED.is_set():
            ENTERED.set()
            RELEASE.wait(60)
        np.tanh(z, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.subtract(1.0, np.square(a), out=out)


class UnprintableError(Exception):
    """An exception that cannot say what it is."""

    def __str__(self) -> str:
        raise RuntimeError("this exception's message cannot be read")


class Unreadable(Activation):
    name = "unreadable"
    description = "raises an exception whose message raises (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        raise UnprintableError()

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        out.fill(1.0)


class BrokenGate(Gate):
    name = "broken_gate"
    description = "a 2-input gate whose evaluate raises (test fixture)"
    arity = 2

    def evaluate(self, bits: np.ndarray) -> np.ndarray:
        raise ValueError(GATE_MESSAGE)


class ThreeGate(Gate):
    name = "three_gate"
    description = "XOR answering 3 for true (test fixture)"
    arity = 2

    def evaluate(self, bits: np.ndarray) -> np.ndarray:
        return (bits[:, 0] ^ bits[:, 1]) * 3


class Misshapen(MeanSquaredError):
    name = "misshapen"
    description = "mse whose value has the wrong shape (test fixture)"

    def value(self, pred: Array, target: Array) -> Array:
        return np.zeros((3, 7))


class FailingStep(GradientDescent):
    name = "failing_step"
    description = "gradient descent whose step raises (test fixture)"

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        self.start_state(params)

        def step() -> None:
            raise ValueError(STEP_MESSAGE)

        return step


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [FdWriter, Held, Unreadable]


@hookimpl
def gatelearn_tasks() -> list[type[Gate]]:
    return [BrokenGate, ThreeGate]


@hookimpl
def gatelearn_optimizers() -> list[type[Optimizer]]:
    return [FailingStep]


@hookimpl
def gatelearn_losses() -> list[type[Loss]]:
    return [Misshapen]
