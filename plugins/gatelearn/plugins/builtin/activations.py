"""Built-in activations, each given as the NumPy operations that compute f(z) and f'(z).

Each `forward` and `derivative` is the plain method of the contract, written with `from_calls`
as the list of NumPy calls it runs: a pass splices those calls in, and any scratch array is
allocated when they are prepared (once per run, or per block of rows in prediction), so an
epoch allocates nothing. A subclass overriding either method replaces its calls everywhere.
"""

from __future__ import annotations

import functools
from functools import partial
from typing import Any

import numpy as np

from gatelearn.core import Activation, Param
from gatelearn.core._calls import Call, from_calls
from gatelearn.core.components import Array
from gatelearn.plugins._markers import hookimpl


def _c(value: float, like: Array) -> Array:
    """A 0-d constant of `like`'s dtype: no Python float is converted to an array on every
    call, and float32 runs stay in float32."""
    return _constant(value, like.dtype)


@functools.lru_cache(maxsize=256)  # parameters such as alpha make values users choose
def _constant(value: float, dtype: np.dtype[Any]) -> Array:
    """One shared, read-only 0-d array per value and dtype (prediction asks for them often)."""
    constant = np.array(value, dtype=dtype)
    constant.flags.writeable = False
    return constant


def _sigmoid_calls(z: Array, out: Array) -> list[Call]:
    """out = 1 / (1 + exp(-z)), in the article's order of operations."""
    return [
        partial(np.negative, z, out),
        partial(np.exp, out, out),
        partial(np.add, out, _c(1.0, out), out),
        partial(np.reciprocal, out, out),
    ]


class Sigmoid(Activation):
    """f(z) = 1 / (1 + e^-z); f'(z) = f(z) (1 - f(z))."""

    name = "sigmoid"
    description = "logistic function 1/(1+e^-z), outputs in (0, 1)"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        return _sigmoid_calls(z, out)

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(np.subtract, _c(1.0, out), a, out), partial(np.multiply, out, a, out)]


def _tanh_is_vector_code() -> bool:
    """Whether NumPy runs its AVX-512 tanh here: vectorised in both dtypes, and faster than
    the exp route below at every size (with AVX2 alone, its float64 tanh is scalar code)."""
    try:
        loops = np.lib.introspect.opt_func_info(func_name="^tanh$")
        target = str(loops["tanh"]["dd"]["current"])
    except KeyError:  # no float64 tanh loop listed: take the route that runs everywhere
        return False
    return target.startswith(("X86_V4", "AVX512"))


# Decided once per process from the CPU alone, never from array sizes: a population member
# must compute exactly what that seed computes alone.
TANH_IS_VECTOR_CODE = _tanh_is_vector_code()


class Tanh(Activation):
    """f(z) = tanh z; f'(z) = 1 - f(z)^2.

    np.tanh where NumPy runs AVX-512 code. Elsewhere computed as 2 / (1 + e^-2z) - 1: within
    4e-16 of np.tanh in float64 and 2e-7 in float32 (absolute error; +-1 exactly where it
    saturates, 0 at 0, and 0 too for |z| below about 1e-16, or 6e-8 in float32, where np.tanh
    would return z), since NumPy's AVX2 float64 exp is vector code and its tanh is not.
    Measured on an AMD EPYC, P=1000 members of a 2-8-1 net on 4 rows: with AVX-512, np.tanh
    24 us against the exp route's 32 in float64, 5.2 against 15 in float32; with AVX2 alone,
    135 against 107, and 32 against 28.
    """

    name = "tanh"
    description = "hyperbolic tangent, outputs in (-1, 1)"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        if TANH_IS_VECTOR_CODE:
            return [partial(np.tanh, z, out)]
        return [
            partial(np.multiply, z, _c(-2.0, out), out),
            partial(np.exp, out, out),
            partial(np.add, out, _c(1.0, out), out),
            partial(np.divide, _c(2.0, out), out, out),
            partial(np.subtract, out, _c(1.0, out), out),
        ]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(np.square, a, out), partial(np.subtract, _c(1.0, out), out, out)]


class Relu(Activation):
    """f(z) = max(z, 0); f'(z) = 1 for z > 0, else 0."""

    name = "relu"
    description = "rectified linear unit max(z, 0)"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        return [partial(np.maximum, z, _c(0.0, out), out=out)]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(np.greater, z, _c(0.0, out), out)]


class LeakyRelu(Activation):
    """f(z) = z for z > 0, else alpha z; f'(z) = 1 or alpha."""

    name = "leaky_relu"
    description = "relu with slope alpha for negative inputs"
    params = (Param("alpha", "float", 0.01, "slope for z <= 0", minimum=0.0, maximum=0.999),)
    alpha: float

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        # alpha < 1, so the larger of z and alpha z is right on both sides.
        return [
            partial(np.multiply, z, _c(self.alpha, out), out),
            partial(np.maximum, z, out, out=out),
        ]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [
            partial(np.greater, z, _c(0.0, out), out),
            partial(np.multiply, out, _c(1.0 - self.alpha, out), out),
            partial(np.add, out, _c(self.alpha, out), out),
        ]


class Elu(Activation):
    """f(z) = z for z > 0, else alpha (e^z - 1); f'(z) = 1, or f(z) + alpha."""

    name = "elu"
    description = "exponential linear unit, smooth for negative inputs"
    params = (
        Param("alpha", "float", 1.0, "scale of the negative part", minimum=0.0, maximum=100.0),
    )
    alpha: float

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        positive = np.empty(z.shape, dtype=bool)
        return [
            partial(np.greater, z, _c(0.0, out), positive),
            partial(np.minimum, z, _c(0.0, out), out=out),
            partial(np.expm1, out, out),
            partial(np.multiply, out, _c(self.alpha, out), out),
            partial(np.copyto, out, z, where=positive),
        ]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        positive = np.empty(z.shape, dtype=bool)
        return [
            partial(np.greater, z, _c(0.0, out), positive),
            partial(np.add, a, _c(self.alpha, out), out),
            partial(np.copyto, out, _c(1.0, out), where=positive),
        ]


class Softplus(Activation):
    """f(z) = log(1 + e^z), computed as max(z, 0) + log1p(e^-|z|); f'(z) = sigmoid(z)."""

    name = "softplus"
    description = "smooth relu log(1 + e^z)"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        positive_part = np.empty_like(out)
        return [
            partial(np.abs, z, out),
            partial(np.negative, out, out),
            partial(np.exp, out, out),
            partial(np.log1p, out, out),
            partial(np.maximum, z, _c(0.0, out), out=positive_part),
            partial(np.add, out, positive_part, out),
        ]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return _sigmoid_calls(z, out)


class Swish(Activation):
    """f(z) = z sigmoid(z); f'(z) = s + f (1 - s) with s = sigmoid(z)."""

    name = "swish"
    description = "z * sigmoid(z) (also called SiLU)"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        return [*_sigmoid_calls(z, out), partial(np.multiply, out, z, out)]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        rest = np.empty_like(out)
        return [
            *_sigmoid_calls(z, out),
            partial(np.subtract, _c(1.0, out), out, rest),
            partial(np.multiply, rest, a, rest),
            partial(np.add, out, rest, out),
        ]


class Linear(Activation):
    """f(z) = z; f'(z) = 1."""

    name = "linear"
    description = "identity, for regression-style outputs"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        return [partial(np.copyto, out, z)]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(out.fill, 1.0)]


class Sign(Activation):
    """The perceptron step: f(z) = 1 for z > 0, else -1 (so f(0) = -1, as in article 002).

    Its true derivative is zero almost everywhere, so training uses a surrogate: the
    straight-through estimator clipped to |z| <= 1, f'(z) = 1 there and 0 outside (the
    derivative of hardtanh). Forward values are always exact.
    """

    name = "sign"
    description = "perceptron step: 1 if z > 0 else -1 (surrogate gradient: 1 for |z| <= 1)"

    @from_calls
    def forward(self, z: Array, out: Array) -> list[Call]:
        return [
            partial(np.greater, z, _c(0.0, out), out),
            partial(np.multiply, out, _c(2.0, out), out),
            partial(np.subtract, out, _c(1.0, out), out),
        ]

    @from_calls
    def derivative(self, z: Array, a: Array, out: Array) -> list[Call]:
        return [partial(np.abs, z, out), partial(np.less_equal, out, _c(1.0, out), out)]


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [Sigmoid, Tanh, Relu, LeakyRelu, Elu, Softplus, Swish, Linear, Sign]
