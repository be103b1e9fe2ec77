"""Each built-in activation computes the function its name promises.

The gradient tests check f' against f; these check f itself against a plain definition, over
ordinary values, values far enough out to saturate (where exp overflows on purpose), and 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gatelearn.plugins import Registry

Z = np.concatenate([np.linspace(-8.0, 8.0, 1601), [-1e-12, 0.0, 1e-12, -800.0, 800.0]])


def _sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z)) if z > -700 else 0.0


REFERENCES: dict[str, tuple[dict[str, Any], Callable[[float], float]]] = {
    "sigmoid": ({}, _sigmoid),
    "tanh": ({}, math.tanh),
    "relu": ({}, lambda z: max(z, 0.0)),
    "leaky_relu": ({"alpha": 0.2}, lambda z: z if z > 0 else 0.2 * z),
    "elu": ({"alpha": 0.7}, lambda z: z if z > 0 else 0.7 * math.expm1(z)),
    "softplus": ({}, lambda z: z + math.log1p(math.exp(-z)) if z > 0 else math.log1p(math.exp(z))),
    "swish": ({}, lambda z: z * _sigmoid(z)),
    "linear": ({}, lambda z: z),
    "sign": ({}, lambda z: 1.0 if z > 0 else -1.0),
}
# A few units in the last place of values up to 1, per dtype (errors are taken relative to
# max(|f(z)|, 1), so absolute for small outputs).
TOLERANCE = {np.float64: 4e-16, np.float32: 4e-7}


@pytest.mark.parametrize("name", sorted(REFERENCES))
@pytest.mark.parametrize("shape", [(len(Z), 1, 1), (len(Z) // 2, 2, 3)])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_forward_matches_the_definition(
    registry: Registry, name: str, shape: tuple[int, ...], dtype: type
) -> None:
    params, reference = REFERENCES[name]
    activation = registry.build("activation", name, params)
    with np.errstate(over="ignore"):
        z = np.resize(Z, shape).astype(dtype)  # +-800 becomes +-inf in float32
    out = np.full_like(z, np.nan)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        activation.forward(z, out)
    finite = np.isfinite(z)
    expected = np.vectorize(reference)(z[finite].astype(np.float64))
    scale = np.maximum(np.abs(expected), 1.0)
    assert out.dtype == dtype
    np.testing.assert_array_less(np.abs(out[finite] - expected) / scale, TOLERANCE[dtype])


def test_every_builtin_activation_has_a_reference(registry: Registry) -> None:
    builtin = {
        entry.name
        for entry in registry.entries("activation")
        if entry.plugin == "gatelearn.plugins.builtin.activations"
    }
    assert builtin == set(REFERENCES)
