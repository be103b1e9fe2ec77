"""Built-in activations. Each writes f(z) or f'(z) into `out`.

sigmoid, tanh, relu, leaky_relu, linear and sign allocate nothing; elu, softplus and swish
need one temporary array per call.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from gatelearn.core import Activation, Param
from gatelearn.core.components import Array, Call
from gatelearn.plugins._markers import hookimpl

# A 0-d array operand is converted faster than a Python float in a ufunc call on small arrays.
_ONE = np.array(1.0)


def _sigmoid_calls(z: Array, out: Array) -> list[Call]:
    """out = 1 / (1 + exp(-z)), in the article's order of operations."""
    return [
        partial(np.negative, z, out),
        partial(np.exp, out, out),
        partial(np.add, out, _ONE, out),
        partial(np.reciprocal, out, out),
    ]


def _sigmoid(z: Array, out: Array) -> None:
    for call in _sigmoid_calls(z, out):
        call()


class Sigmoid(Activation):
    """f(z) = 1 / (1 + e^-z); f'(z) = f(z) (1 - f(z))."""

    name = "sigmoid"
    description = "logistic function 1/(1+e^-z), outputs in (0, 1)"

    def forward(self, z: Array, out: Array) -> None:
        _sigmoid(z, out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        for call in self.derivative_calls(z, a, out):
            call()

    def forward_calls(self, z: Array, out: Array) -> list[Call]:
        return _sigmoid_calls(z, out)

    def derivative_calls(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(np.subtract, _ONE, a, out), partial(np.multiply, out, a, out)]


class Tanh(Activation):
    """f(z) = tanh z; f'(z) = 1 - f(z)^2."""

    name = "tanh"
    description = "hyperbolic tangent, outputs in (-1, 1)"

    def forward(self, z: Array, out: Array) -> None:
        np.tanh(z, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        for call in self.derivative_calls(z, a, out):
            call()

    def forward_calls(self, z: Array, out: Array) -> list[Call]:
        return [partial(np.tanh, z, out)]

    def derivative_calls(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(np.square, a, out), partial(np.subtract, _ONE, out, out)]


class Relu(Activation):
    """f(z) = max(z, 0); f'(z) = 1 for z > 0, else 0."""

    name = "relu"
    description = "rectified linear unit max(z, 0)"

    def forward(self, z: Array, out: Array) -> None:
        np.maximum(z, 0.0, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.greater(z, 0.0, out=out)


class LeakyRelu(Activation):
    """f(z) = z for z > 0, else alpha z; f'(z) = 1 or alpha."""

    name = "leaky_relu"
    description = "relu with slope alpha for negative inputs"
    params = (Param("alpha", "float", 0.01, "slope for z <= 0", minimum=0.0, maximum=0.999),)
    alpha: float

    def forward(self, z: Array, out: Array) -> None:
        np.multiply(z, self.alpha, out=out)
        np.maximum(z, out, out=out)  # alpha < 1, so the larger of z and alpha z is right

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.greater(z, 0.0, out=out)
        out *= 1.0 - self.alpha
        out += self.alpha


class Elu(Activation):
    """f(z) = z for z > 0, else alpha (e^z - 1); f'(z) = 1, or f(z) + alpha."""

    name = "elu"
    description = "exponential linear unit, smooth for negative inputs"
    params = (Param("alpha", "float", 1.0, "scale of the negative part", minimum=0.0,
                    maximum=100.0),)
    alpha: float

    def forward(self, z: Array, out: Array) -> None:
        np.minimum(z, 0.0, out=out)
        np.expm1(out, out=out)
        out *= self.alpha
        np.copyto(out, z, where=z > 0)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.add(a, self.alpha, out=out)
        np.copyto(out, 1.0, where=z > 0)


class Softplus(Activation):
    """f(z) = log(1 + e^z), computed as max(z, 0) + log1p(e^-|z|); f'(z) = sigmoid(z)."""

    name = "softplus"
    description = "smooth relu log(1 + e^z)"

    def forward(self, z: Array, out: Array) -> None:
        np.abs(z, out=out)
        np.negative(out, out=out)
        np.exp(out, out=out)
        np.log1p(out, out=out)
        out += np.maximum(z, 0.0)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        _sigmoid(z, out)


class Swish(Activation):
    """f(z) = z sigmoid(z); f'(z) = s + f (1 - s) with s = sigmoid(z)."""

    name = "swish"
    description = "z * sigmoid(z) (also called SiLU)"

    def forward(self, z: Array, out: Array) -> None:
        _sigmoid(z, out)
        out *= z

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        _sigmoid(z, out)
        rest = 1.0 - out
        rest *= a
        out += rest


class Linear(Activation):
    """f(z) = z; f'(z) = 1."""

    name = "linear"
    description = "identity, for regression-style outputs"

    def forward(self, z: Array, out: Array) -> None:
        np.copyto(out, z)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        out.fill(1.0)


class Sign(Activation):
    """The perceptron step: f(z) = 1 for z > 0, else -1 (so f(0) = -1, as in article 002).

    Its true derivative is zero almost everywhere, so training uses a surrogate: the
    straight-through estimator clipped to |z| <= 1, f'(z) = 1 there and 0 outside (the
    derivative of hardtanh). Forward values are always exact.
    """

    name = "sign"
    description = "perceptron step: 1 if z > 0 else -1 (surrogate gradient: 1 for |z| <= 1)"

    def forward(self, z: Array, out: Array) -> None:
        np.greater(z, 0.0, out=out)
        out *= 2.0
        out -= 1.0

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.abs(z, out=out)
        np.less_equal(out, 1.0, out=out)


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [Sigmoid, Tanh, Relu, LeakyRelu, Elu, Softplus, Swish, Linear, Sign]
