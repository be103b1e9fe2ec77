"""The built-in cross-entropy's value, bit for bit the formula it documents.

The value runs every recorded epoch, so it is written as bare ufuncs; the reference here is the
same formula through np.clip and np.mean, over outputs inside, at and past the clipped ends,
several members and outputs, in both dtypes.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from gatelearn.plugins import Registry


def _reference(pred: np.ndarray, target: np.ndarray, low: Any, high: Any) -> np.ndarray:
    y = np.clip(pred, low, high)
    return -np.mean(target * np.log(y) + (1.0 - target) * np.log1p(-y), axis=(0, 1))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape", [(4, 1, 1), (5, 2, 7), (300, 3, 4)])
def test_bce_value_is_its_formula_bit_for_bit(
    registry: Registry, dtype: type[np.floating], shape: tuple[int, int, int]
) -> None:
    rng = np.random.default_rng(sum(shape))
    pred = rng.random(shape).astype(dtype)
    pred.flat[:3] = [0.0, 1.0, 1e-15]  # clipped to eps or 1 - eps
    target = rng.integers(0, 2, (shape[0], shape[1], 1)).astype(dtype)
    for eps in (1e-12, 0.05):
        loss = registry.build("loss", "bce", {"eps": eps})
        got = loss.value(pred, target)
        want = _reference(pred, target, *loss.bounds(pred.dtype))  # float32 keeps inside 0, 1
        assert got.dtype == want.dtype and got.shape == (shape[2],)
        assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_bce_bounds_are_made_once_per_eps_and_dtype_and_cannot_be_changed(
    registry: Registry, dtype: type[np.floating]
) -> None:
    # Every loss with this eps shares them, so they are read-only.
    first = registry.build("loss", "bce", {"eps": 1e-9}).bounds(np.dtype(dtype))
    again = registry.build("loss", "bce", {"eps": 1e-9}).bounds(dtype)  # type, not dtype
    other = registry.build("loss", "bce", {"eps": 1e-3}).bounds(np.dtype(dtype))
    assert all(a is b for a, b in zip(first, again, strict=True))
    assert [float(b) for b in other] == [float(dtype(1e-3)), float(dtype(1 - 1e-3))]
    low, high = first
    assert low.dtype == high.dtype == np.dtype(dtype)
    with pytest.raises(ValueError, match="read-only"):
        low[...] = 0.5
