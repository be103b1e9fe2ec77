"""A feed-forward network as a list of layers, for a whole population at once.

The population axis P comes last: layer l holds `weights` of shape (fan_in, fan_out, P), an
optional `bias` of shape (fan_out, P) and an activation, and a batch of rows flows through as
(rows, units, P). With P last, every elementwise step runs over long contiguous runs of memory
and the first layer of all P members is one matrix product; P = 1 is the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import DTypeLike, NDArray

from gatelearn.core.components import Activation, Initializer
from gatelearn.core.forward import ForwardPass

__all__ = ["Layer", "Network", "initialize"]

# Multiply-adds per matrix product of a prediction block. OpenBLAS hands a product above
# about 2^18 of them to its threads, which on a busy server (request threads, training
# workers) made prediction 10-40x slower than single-threaded blocks.
BLOCK_PRODUCT = 1 << 18
# ... but never fewer rows than this: a layer that wide is worth BLAS's threads, not a
# Python-level loop over a few rows at a time.
MIN_BLOCK_ROWS = 256

Array = NDArray[np.floating[Any]]


@dataclass
class Layer:
    """One fully connected layer of every population member."""

    weights: Array
    bias: Array | None
    activation: Activation

    @property
    def fan_in(self) -> int:
        return int(self.weights.shape[0])

    @property
    def fan_out(self) -> int:
        return int(self.weights.shape[1])


@dataclass
class Network:
    """P networks of one architecture, stored layer by layer with the population axis last."""

    layers: list[Layer]

    @property
    def population(self) -> int:
        return int(self.layers[0].weights.shape[2])

    @property
    def sizes(self) -> list[int]:
        """Units per layer, inputs first: [2, 3, 1] for article 000's net."""
        return [self.layers[0].fan_in, *(layer.fan_out for layer in self.layers)]

    @property
    def dtype(self) -> np.dtype[Any]:
        return self.layers[0].weights.dtype

    def predict(self, inputs: NDArray[Any]) -> Array:
        """Return the outputs of every member for `inputs` (rows, n_in): (rows, n_out, P).

        Rows go through the forward pass in blocks small enough that each layer's product stays
        in cache and on the calling thread (`BLOCK_PRODUCT`).
        Overflow is expected, not an error: exp(-z) reaching infinity is how sigmoid and tanh
        saturate, so it is not reported as a warning.
        """
        with np.errstate(over="ignore", under="ignore"):
            rows: Array = np.asarray(inputs, dtype=self.dtype)  # float32 may overflow: saturate
            contiguous = all(layer.weights.flags.c_contiguous for layer in self.layers)
            network = self if contiguous else self.copy()  # as the pass's products need
            outputs = np.empty((len(rows), self.sizes[-1], self.population), dtype=self.dtype)
            widest = max(layer.fan_in * layer.fan_out for layer in self.layers)
            rows_per_block = max(MIN_BLOCK_ROWS, BLOCK_PRODUCT // widest)
            block = max(1, rows_per_block // self.population)
            for start in range(0, len(rows), block):
                these = slice(start, start + block)
                ForwardPass(network, rows[these], outputs[these]).run()
            return outputs

    def member(self, index: int) -> Network:
        """Return a copy of population member `index` as a network of its own (P = 1)."""
        keep = slice(index, index + 1)
        return Network(
            [
                Layer(
                    layer.weights[..., keep].copy(),
                    None if layer.bias is None else layer.bias[..., keep].copy(),
                    layer.activation,
                )
                for layer in self.layers
            ]
        )

    def copy(self) -> Network:
        """Return a network with its own copies of every array."""
        return Network(
            [
                Layer(
                    layer.weights.copy(),
                    None if layer.bias is None else layer.bias.copy(),
                    layer.activation,
                )
                for layer in self.layers
            ]
        )


def initialize(
    sizes: Sequence[int],
    activations: Sequence[Activation],
    initializer: Initializer,
    *,
    bias: bool,
    seed: int,
    population: int = 1,
    dtype: DTypeLike = np.float64,
) -> Network:
    """Build a population of networks; member p draws its weights from `default_rng(seed + p)`.

    Seeding members one by one makes member p reproducible alone with seed `seed + p`.
    """
    if len(sizes) < 2:
        raise ValueError("sizes: need at least an input and an output layer")
    if len(activations) != len(sizes) - 1:
        raise ValueError(
            f"activations: need one per layer ({len(sizes) - 1}), got {len(activations)}"
        )
    initializer.check(sizes, bias)
    layers = [
        Layer(
            np.empty((fan_in, fan_out, population), dtype=dtype),
            np.empty((fan_out, population), dtype=dtype) if bias else None,
            activation,
        )
        for fan_in, fan_out, activation in zip(sizes[:-1], sizes[1:], activations, strict=True)
    ]
    for member in range(population):
        rng = np.random.default_rng(seed + member)
        for index, layer in enumerate(layers):
            weights = np.empty((layer.fan_in, layer.fan_out))
            member_bias = None if layer.bias is None else np.zeros(layer.fan_out)
            initializer.fill(rng, index, weights, member_bias)
            layer.weights[..., member] = weights
            if layer.bias is not None and member_bias is not None:
                layer.bias[..., member] = member_bias
    return Network(layers)
