"""The forward pass of one network (P = 1) computes the same outputs whichever way its products
run: ndarray.dot (the default), or np.matmul, which keeps the GIL for small products (`keep_gil`,
the server's small Predicts)."""

from __future__ import annotations

import numpy as np
import pytest

from gatelearn.core import ForwardPass, initialize
from gatelearn.plugins import Registry


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("rows", [1, 4, 64, 300])
def test_a_pass_keeping_the_gil_computes_what_the_default_pass_does(
    registry: Registry, dtype: type, rows: int
) -> None:
    activations = [registry.build("activation", name) for name in ("tanh", "relu", "sigmoid")]
    initializer = registry.build("initializer", "normal", {"std": 1.0})
    network = initialize([5, 16, 8, 2], activations, initializer, bias=True, seed=3, dtype=dtype)
    inputs = np.random.default_rng(rows).uniform(-3, 3, size=(rows, 5)).astype(dtype)
    default, keeping = ForwardPass(network, inputs), ForwardPass(network, inputs, keep_gil=True)
    default.run()
    keeping.run()
    assert keeping.output.dtype == default.output.dtype
    np.testing.assert_allclose(
        keeping.output, default.output, rtol=1e-6 if dtype is np.float32 else 1e-12
    )
