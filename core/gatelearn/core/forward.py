"""The forward pass: the one place the core computes a network's outputs.

Training, population and single-network prediction and the server's small batches all run a
`ForwardPass`: buffers allocated and NumPy calls bound once, so running it again computes the
outputs for whatever its inputs hold now, without allocating.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core._calls import Call, calls_of, run_calls

if TYPE_CHECKING:
    from gatelearn.core.network import Layer, Network

__all__ = ["ForwardPass"]

Array = NDArray[np.floating[Any]]


def matrices(array: Array) -> Array:
    """View a (a, b, 1) array as the (a, b) matrix of its only member."""
    return array[..., 0]


def flat(array: Array) -> Array:
    """View a (a, b, P) array as (a, b * P): all members side by side, for one matrix product.

    It must be a view (a copy would compute with a frozen snapshot), so the array must be
    C-contiguous; reshape refuses otherwise.
    """
    return np.reshape(array, (array.shape[0], -1), copy=False)


def _product(source: Array, layer: Layer, z: Array, first: bool, keep_gil: bool) -> Call:
    """z = source . weights for every member, bound as one call."""
    if layer.weights.shape[2] == 1:
        source_m = source if first else matrices(source)
        if keep_gil:  # np.matmul lets other threads run only when the product is large
            return partial(np.matmul, source_m, matrices(layer.weights), out=matrices(z))
        # ndarray.dot skips np.dot's Python-level dispatch: it counts at this size.
        return partial(source_m.dot, matrices(layer.weights), matrices(z))
    if first:  # the inputs are shared: one product with all members side by side
        return partial(source.dot, flat(layer.weights), flat(z))
    return partial(np.einsum, "rip,iop->rop", source, layer.weights, out=z)


class ForwardPass:
    """Every member's forward pass over the rows of `inputs` (rows, n_in), into `output`
    (rows, n_out, P; allocated if not given). `z` and `a` hold each layer's pre-activations
    and activations, (rows, units, P), for the backward pass to read.

    With P = 1 the products run on plain matrices; with P > 1 the first layer is one product
    of the shared inputs with all members side by side (the weights must be C-contiguous),
    and later layers contract per member with einsum.

    `keep_gil`, for a pass on one of many threads (a server's): ndarray.dot releases the GIL
    for every product, however small, and under concurrent calls each release is a thread
    switch that costs more than a few rows' product; with it, P = 1 products hold the GIL
    unless NumPy finds them large enough to release it.
    """

    def __init__(
        self, network: Network, inputs: Array, output: Array | None = None, keep_gil: bool = False
    ) -> None:
        rows, population, dtype = len(inputs), network.population, network.dtype
        self.inputs = inputs
        shapes = [(rows, layer.fan_out, population) for layer in network.layers]
        self.z = [np.empty(shape, dtype=dtype) for shape in shapes]
        self.a = [np.empty(shape, dtype=dtype) for shape in shapes[:-1]]
        self.a.append(np.empty(shapes[-1], dtype=dtype) if output is None else output)
        self.calls: list[Call] = []
        for index, layer in enumerate(network.layers):
            source = inputs if index == 0 else self.a[index - 1]
            z, a = self.z[index], self.a[index]
            self.calls.append(_product(source, layer, z, index == 0, keep_gil))
            if layer.bias is not None:
                self.calls.append(partial(np.add, z, layer.bias, z))
            self.calls += calls_of(layer.activation.forward, z, a)

    @property
    def output(self) -> Array:
        return self.a[-1]

    def run(self) -> None:
        """Compute `output` from what `inputs` holds now."""
        run_calls(self.calls)
