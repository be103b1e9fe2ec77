"""Each built-in activation computes the function its name promises.

The gradient tests check f' against f; these check f itself against a plain definition, over
ordinary values, values far enough out to saturate (where exp overflows on purpose), and 0.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from gatelearn.plugins import Registry
from gatelearn.plugins.builtin import activations

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


AVX2_ONLY = {"NPY_DISABLE_CPU_FEATURES": "AVX512_SPR X86_V4 AVX512_ICL"}  # NumPy 2.4's names


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_tanh_is_numpys_own_where_that_is_vector_code_and_the_exp_route_elsewhere(
    registry: Registry, dtype: type
) -> None:
    """np.tanh itself on a CPU with AVX-512 (unless NumPy is told not to use it); elsewhere the
    exp route, which gives an exact 0 for a tiny z where np.tanh returns z."""
    z = np.array([[1e-20, 0.5, -3.0]], dtype=dtype)
    out = np.empty_like(z)
    registry.build("activation", "tanh", {}).forward(z, out)
    if activations.TANH_IS_VECTOR_CODE:
        np.testing.assert_array_equal(out, np.tanh(z))
    else:
        assert out[0, 0] == 0.0
    numpy_may_use_avx512 = _cpu_has_avx512() and not os.environ.get("NPY_DISABLE_CPU_FEATURES")
    assert activations.TANH_IS_VECTOR_CODE is numpy_may_use_avx512


def _cpu_has_avx512() -> bool:
    """Whether Linux lists AVX-512 Foundation among this CPU's flags."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            return any(line.startswith("flags") and "avx512f" in line.split() for line in cpuinfo)
    except OSError:
        return False


def test_numpy_limited_to_avx2_code_takes_the_exp_route() -> None:
    """What bench/README.md tells a user measuring an AVX2 machine on an AVX-512 one."""
    shown = subprocess.run(
        [sys.executable, "-c", f"import {activations.__name__} as a; print(a.TANH_IS_VECTOR_CODE)"],
        env={**os.environ, **AVX2_ONLY},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert shown.stdout.strip() == "False"
