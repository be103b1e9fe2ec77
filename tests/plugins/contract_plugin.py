"""Test fixture plugin: each kind's built-in subclassed with ONE method overridden.

Each override changes the numbers, so a path that still ran the built-in's own math would
show. Loaded by module name (`plugins=("contract_plugin",)`), with tests/plugins importable.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Activation, Initializer, Loss, Optimizer, Step, Task
from gatelearn.core.components import Array
from gatelearn.plugins import hookimpl
from gatelearn.plugins.builtin.activations import Sigmoid
from gatelearn.plugins.builtin.gates import Xor
from gatelearn.plugins.builtin.initializers import Uniform
from gatelearn.plugins.builtin.losses import HalfSumSquaredError
from gatelearn.plugins.builtin.optimizers import GradientDescent


class ShiftedSigmoid(Sigmoid):
    """f(z) = sigmoid(z + 1): only `forward` changes, and f' = f (1 - f) still holds."""

    name = "shifted_sigmoid"
    description = "sigmoid(z + 1), overriding forward only"

    def forward(self, z: Array, out: Array) -> None:
        np.add(z, 1.0, out=out)
        super().forward(out, out)


class SteepSigmoid(Sigmoid):
    """The built-in forward with twice its derivative: only `derivative` changes."""

    name = "steep_sigmoid"
    description = "sigmoid with a doubled derivative, overriding derivative only"

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        super().derivative(z, a, out)
        out *= 2.0


class SignSse(HalfSumSquaredError):
    """sse_half's value with the sign of its gradient as the gradient: only `gradient` changes."""

    name = "sign_sse"
    description = "sse_half stepping by the sign of its gradient, overriding gradient only"

    def gradient(self, pred: Array, target: Array, out: Array) -> None:
        np.subtract(pred, target, out=out)
        np.sign(out, out=out)


class HalvedGd(GradientDescent):
    """gd at half the step: only `bind` changes."""

    name = "halved_gd"
    description = "gd with its gradients halved first, overriding bind only"

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        step = super().bind(params, grads)

        def halved() -> None:
            for grad in grads:
                grad *= 0.5
            step()

        return halved


class ShiftedUniform(Uniform):
    """uniform, then every weight moved by 0.5: only `fill` changes."""

    name = "shifted_uniform"
    description = "uniform plus 0.5 on the weights, overriding fill only"

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        super().fill(rng, layer, weights, bias)
        weights += 0.5


class NotXor(Xor):
    """1 - xor: only `evaluate` changes."""

    name = "not_xor"
    description = "xnor by negating xor, overriding evaluate only"

    def evaluate(self, bits: NDArray[np.int64]) -> NDArray[Any]:
        return 1 - super().evaluate(bits)


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [ShiftedSigmoid, SteepSigmoid]


@hookimpl
def gatelearn_losses() -> list[type[Loss]]:
    return [SignSse]


@hookimpl
def gatelearn_optimizers() -> list[type[Optimizer]]:
    return [HalvedGd]


@hookimpl
def gatelearn_initializers() -> list[type[Initializer]]:
    return [ShiftedUniform]


@hookimpl
def gatelearn_tasks() -> list[type[Task]]:
    return [NotXor]
