"""Test fixture plugin: registers a second activation named `sigmoid`, which must clash."""

from __future__ import annotations

import numpy as np

from gatelearn.core import Activation
from gatelearn.core.components import Array
from gatelearn.plugins import hookimpl


class OtherSigmoid(Activation):
    """f(z) = (1 + tanh(z / 2)) / 2, the logistic function by another route; f' = f (1 - f)."""

    name = "sigmoid"
    description = "a second sigmoid, to collide with the built-in one"

    def forward(self, z: Array, out: Array) -> None:
        np.multiply(z, 0.5, out=out)
        np.tanh(out, out=out)
        out += 1.0
        out *= 0.5

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.subtract(1.0, a, out=out)
        out *= a


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [OtherSigmoid]
