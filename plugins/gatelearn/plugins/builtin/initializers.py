"""Built-in initializers: random ones draw from the generator they are given, in layer order,
weights before bias; `explicit` copies matrices the caller wrote by hand."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import numpy as np

from gatelearn.core import Initializer, Param, ParamError
from gatelearn.core.components import Array
from gatelearn.plugins._markers import hookimpl


def _draw_both(draw: Callable[..., Any], weights: Array, bias: Array | None) -> None:
    """Weights, then the bias if any, from `draw(size=shape)`: the order seeds reproduce."""
    weights[...] = draw(size=weights.shape)
    if bias is not None:
        bias[...] = draw(size=bias.shape)


class Uniform(Initializer):
    """Weights and biases from U[low, high). The default [0, 1) is article 000's."""

    name = "uniform"
    description = "weights and biases uniform on [low, high)"
    params = (
        Param("low", "float", 0.0, "lower bound", minimum=-1e6, maximum=1e6),
        Param("high", "float", 1.0, "upper bound (exclusive)", minimum=-1e6, maximum=1e6),
    )
    low: float
    high: float

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.low > self.high:
            raise ParamError("high", f"must be >= low ({self.low}), got {self.high}")

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        _draw_both(partial(rng.uniform, self.low, self.high), weights, bias)


class Normal(Initializer):
    """Weights and biases from N(mean, std^2). The default N(0, 1) is article 001's."""

    name = "normal"
    description = "weights and biases normal with the given mean and standard deviation"
    params = (
        Param("mean", "float", 0.0, "mean", minimum=-1e6, maximum=1e6),
        Param("std", "float", 1.0, "standard deviation", minimum=0.0, maximum=1e6),
    )
    mean: float
    std: float

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        _draw_both(partial(rng.normal, self.mean, self.std), weights, bias)


class Xavier(Initializer):
    """Glorot uniform: weights from U(-r, r) with r = gain sqrt(6 / (fan_in + fan_out));
    biases zero."""

    name = "xavier"
    description = "Glorot/Xavier uniform weights, zero biases"
    params = (Param("gain", "float", 1.0, "scale of the range", minimum=0.0, maximum=100.0),)
    gain: float

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        fan_in, fan_out = weights.shape
        limit = self.gain * np.sqrt(6.0 / (fan_in + fan_out))
        weights[...] = rng.uniform(-limit, limit, size=weights.shape)
        if bias is not None:
            bias[...] = 0.0


class He(Initializer):
    """He normal: weights from N(0, 2 / fan_in), suited to relu; biases zero."""

    name = "he"
    description = "He/Kaiming normal weights (std sqrt(2/fan_in)), zero biases"

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        weights[...] = rng.normal(0.0, np.sqrt(2.0 / weights.shape[0]), size=weights.shape)
        if bias is not None:
            bias[...] = 0.0


class Explicit(Initializer):
    """Every weight matrix (and bias vector) given by the caller, e.g. article 002's perceptron.

    `weights[l]` is a fan_in x fan_out matrix as nested lists; `biases[l]` a vector of
    fan_out numbers, required for every layer when the network has biases.
    """

    name = "explicit"
    description = "weights (and biases) given by the caller, layer by layer"
    params = (
        Param("weights", "data", None, "one fan_in x fan_out matrix per layer"),
        Param("biases", "data", None, "one vector of fan_out numbers per layer"),
    )
    weights: list[Any] | None
    biases: list[Any] | None

    def check(self, sizes: Sequence[int], bias: bool) -> None:
        layers = len(sizes) - 1
        weights = [] if self.weights is None else self.weights
        biases = [] if self.biases is None else self.biases
        _check_count(weights, "weights", layers)
        if biases and not bias:
            raise ParamError("biases", "given, but the network has no biases")
        if bias:
            _check_count(biases, "biases", layers)
        for layer, shape in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
            _layer_array(weights, "weights", layer, shape)
            if bias:
                _layer_array(biases, "biases", layer, shape[1:])

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        weights[...] = _layer_array(self.weights or [], "weights", layer, weights.shape)
        if bias is not None:
            bias[...] = _layer_array(self.biases or [], "biases", layer, bias.shape)


def _check_count(arrays: list[Any], field: str, layers: int) -> None:
    """One array per layer: name the first missing one, or say how many are too many."""
    if not isinstance(arrays, list | tuple):
        raise ParamError(field, "must be a list with one array per layer")
    if len(arrays) < layers:
        raise ParamError(f"{field}[{len(arrays)}]", f"missing: the network has {layers} layers")
    if len(arrays) > layers:
        raise ParamError(field, f"the network has {layers} layers, got {len(arrays)} arrays")


def _layer_array(arrays: list[Any], field: str, layer: int, shape: tuple[int, ...]) -> Array:
    """The caller's array for `layer`, checked against the shape the network needs."""
    name = f"{field}[{layer}]"
    try:
        array = np.asarray(arrays[layer], dtype=np.float64)
    except (TypeError, ValueError):
        raise ParamError(name, "must be numbers in rows of one length") from None
    if array.shape != shape:
        raise ParamError(name, f"shape {array.shape}, the network needs {shape}")
    if not np.isfinite(array).all():
        raise ParamError(name, "values must be finite")
    return array


@hookimpl
def gatelearn_initializers() -> list[type[Initializer]]:
    return [Uniform, Normal, Xavier, He, Explicit]
