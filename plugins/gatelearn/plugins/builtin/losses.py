"""Built-in losses. `pred` is (rows, outputs, P), `target` (rows, outputs, 1);
N = rows * outputs, the number of values each member is scored on. Each `gradient` is written
with `from_calls` as the NumPy calls it runs, so a training pass splices them in with their
scratch allocated once per run."""

from __future__ import annotations

import functools
from functools import partial
from typing import Any

import numpy as np

from gatelearn.core import Loss, Param
from gatelearn.core._calls import Call, from_calls
from gatelearn.core.components import Array
from gatelearn.plugins._markers import hookimpl


@functools.lru_cache(maxsize=64)
def _clip_bounds(eps: float, dtype: np.dtype[Any]) -> tuple[Array, Array]:
    """BinaryCrossEntropy.bounds, made once per eps and dtype: making them took 0.7 us, and
    `value` needs them on every recorded epoch. Read-only, as every caller shares them."""
    info = np.finfo(dtype)
    low = max(eps, float(info.tiny))
    high = 1.0 - max(eps, float(info.epsneg))  # epsneg: the step just below 1
    bounds = np.array(low, dtype), np.array(high, dtype)
    for bound in bounds:
        bound.flags.writeable = False
    return bounds


class MeanSquaredError(Loss):
    """L = (1/N) sum (y - t)^2; dL/dy = (2/N) (y - t). Article 001's loss."""

    name = "mse"
    description = "mean squared error"

    def value(self, pred: Array, target: Array) -> Array:
        return np.mean(np.square(pred - target), axis=(0, 1))

    @from_calls
    def gradient(self, pred: Array, target: Array, out: Array) -> list[Call]:
        scale = np.array(2.0 / target.size, dtype=out.dtype)
        return [partial(np.subtract, pred, target, out), partial(np.multiply, out, scale, out)]


class HalfSumSquaredError(Loss):
    """L = 1/2 sum (y - t)^2; dL/dy = y - t. The loss behind article 000's and 002's updates."""

    name = "sse_half"
    description = "half the sum of squared errors"

    def value(self, pred: Array, target: Array) -> Array:
        return 0.5 * np.sum(np.square(pred - target), axis=(0, 1))

    @from_calls
    def gradient(self, pred: Array, target: Array, out: Array) -> list[Call]:
        return [partial(np.subtract, pred, target, out)]


class BinaryCrossEntropy(Loss):
    """L = -(1/N) sum [t log y + (1 - t) log(1 - y)]; dL/dy = (y - t) / (y (1 - y) N).

    Outputs are clipped to [eps, 1 - eps] first (in float32, to the values nearest 0 and 1 it
    can tell apart from them when eps is finer), so neither the value nor the gradient can
    become infinite. Targets must be in [0, 1]; pair it with a sigmoid output.
    """

    name = "bce"
    description = "binary cross-entropy on outputs in (0, 1), clipped for stability"
    label_range = (0.0, 1.0)
    params = (
        Param("eps", "float", 1e-12, "clip outputs to [eps, 1 - eps]", minimum=1e-300, maximum=0.1),
    )
    eps: float

    def bounds(self, dtype: np.dtype[Any]) -> tuple[Array, Array]:
        """eps and 1 - eps as 0-d arrays of `dtype`, kept where `dtype` can tell them from 0 and
        1: in float32, 1 - 1e-12 rounds to 1.0, where log(1 - y) and the gradient break down."""
        return _clip_bounds(self.eps, np.dtype(dtype))

    def value(self, pred: Array, target: Array) -> Array:
        # np.minimum/np.maximum rather than np.clip (and a bare reduce rather than np.mean): the
        # same bits without NumPy's Python wrappers, which cost more than the arithmetic on a
        # truth table (it runs every recorded epoch).
        low, high = self.bounds(pred.dtype)
        y = np.minimum(np.maximum(pred, low), high)
        terms = target * np.log(y) + (1.0 - target) * np.log1p(-y)
        return -(np.add.reduce(terms, axis=(0, 1)) / (terms.shape[0] * terms.shape[1]))

    @from_calls
    def gradient(self, pred: Array, target: Array, out: Array) -> list[Call]:
        low, high = self.bounds(out.dtype)
        one, size = (np.array(v, dtype=out.dtype) for v in (1.0, target.size))
        spread = np.empty_like(out)  # y (1 - y) N, the denominator
        return [
            partial(np.maximum, pred, low, out=out),  # np.clip as two ufuncs: no Python wrapper
            partial(np.minimum, out, high, out=out),
            partial(np.subtract, one, out, spread),
            partial(np.multiply, spread, out, spread),
            partial(np.multiply, spread, size, spread),
            partial(np.subtract, out, target, out),
            partial(np.divide, out, spread, out),
        ]


@hookimpl
def gatelearn_losses() -> list[type[Loss]]:
    return [MeanSquaredError, HalfSumSquaredError, BinaryCrossEntropy]
