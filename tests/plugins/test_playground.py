"""The TF Playground datasets: shape, labels, geometry, determinism, noise and previews."""

from __future__ import annotations

import numpy as np
import pytest

from gatelearn.core import Dataset, ParamError
from gatelearn.plugins import Registry

DATASETS = ["circle", "gauss", "xor_quadrants", "spiral"]


def sample(registry: Registry, name: str, seed: int = 0, **params: object) -> Dataset:
    return registry.build("task", name, params).dataset(np.random.default_rng(seed))


@pytest.mark.parametrize("name", DATASETS)
def test_dataset_has_the_asked_points_with_binary_labels_of_both_classes(
    registry: Registry, name: str
) -> None:
    data = sample(registry, name, points=300)
    assert data.inputs.shape == (300, 2) and data.targets.shape == (300, 1)
    assert (data.low, data.high) == (0.0, 1.0)
    assert set(np.unique(data.targets)) == {0.0, 1.0}
    assert 0.3 < data.targets.mean() < 0.7
    assert np.isfinite(data.inputs).all()


@pytest.mark.parametrize("name", DATASETS)
def test_sign_labels_are_minus_one_and_one_on_the_same_points(
    registry: Registry, name: str
) -> None:
    binary = sample(registry, name, points=50)
    signed = sample(registry, name, points=50, labels="sign")
    assert (signed.low, signed.high) == (-1.0, 1.0)
    assert np.array_equal(signed.inputs, binary.inputs)
    assert np.array_equal(signed.targets, 2 * binary.targets - 1)


@pytest.mark.parametrize("name", DATASETS)
def test_same_seed_same_rows_other_seed_other_rows(registry: Registry, name: str) -> None:
    first = sample(registry, name, seed=4, points=40, noise=0.1)
    again = sample(registry, name, seed=4, points=40, noise=0.1)
    other = sample(registry, name, seed=5, points=40, noise=0.1)
    assert np.array_equal(first.inputs, again.inputs)
    assert np.array_equal(first.targets, again.targets)
    assert not np.array_equal(first.inputs, other.inputs)


@pytest.mark.parametrize("name", DATASETS)
def test_noise_moves_each_point_by_at_most_noise_per_axis_and_keeps_labels(
    registry: Registry, name: str
) -> None:
    clean = sample(registry, name, seed=2, points=200)
    noisy = sample(registry, name, seed=2, points=200, noise=0.2)
    moved = np.abs(noisy.inputs - clean.inputs)
    assert moved.max() <= 0.2
    assert moved.max() > 0.1
    assert np.array_equal(noisy.targets, clean.targets)


@pytest.mark.parametrize("name", DATASETS)
@pytest.mark.parametrize("rows", [1, 7, 64])
def test_preview_is_the_first_rows_of_the_dataset(registry: Registry, name: str, rows: int) -> None:
    task = registry.build("task", name, {"points": 101, "noise": 0.3})
    full = task.dataset(np.random.default_rng(9))
    preview = task.preview(np.random.default_rng(9), rows)
    assert task.row_count() == 101
    assert np.array_equal(preview.inputs, full.inputs[:rows])
    assert np.array_equal(preview.targets, full.targets[:rows])


def test_circle_without_noise_puts_ones_inside_radius_half_and_zeros_in_the_ring(
    registry: Registry,
) -> None:
    data = sample(registry, "circle", points=400)
    radius = np.hypot(*data.inputs.T)
    ones = data.targets[:, 0] == 1
    assert radius[ones].max() <= 0.5
    assert radius[~ones].min() >= 0.7 and radius[~ones].max() <= 1.0


def test_gauss_clusters_sit_around_their_centres(registry: Registry) -> None:
    data = sample(registry, "gauss", points=2000)
    ones = data.targets[:, 0] == 1
    assert np.allclose(data.inputs[ones].mean(axis=0), [0.5, 0.5], atol=0.03)
    assert np.allclose(data.inputs[~ones].mean(axis=0), [-0.5, -0.5], atol=0.03)
    assert np.allclose(data.inputs[ones].std(axis=0), 0.25, atol=0.02)


def test_xor_quadrants_label_one_where_both_coordinates_share_a_sign(registry: Registry) -> None:
    data = sample(registry, "xor_quadrants", points=500)
    product = data.inputs[:, 0] * data.inputs[:, 1]
    assert np.array_equal(data.targets[:, 0] == 1, product > 0)
    assert np.abs(data.inputs).min() >= 0.05 and np.abs(data.inputs).max() <= 1.0


def test_spiral_arms_are_half_a_turn_apart_and_grow_to_radius_one(registry: Registry) -> None:
    data = sample(registry, "spiral", points=400)
    # Point 2j of one arm and point 2j + 1 of the other are mirrored through the origin.
    assert np.allclose(data.inputs[0::2], -data.inputs[1::2])
    radius = np.hypot(*data.inputs.T)
    assert radius.max() <= 1.0 and radius.max() > 0.99
    assert np.all(np.diff(radius[0::2]) > 0)


@pytest.mark.parametrize(
    ("param", "value"), [("points", 0), ("noise", -0.1), ("noise", 1.5), ("labels", "other")]
)
def test_out_of_range_parameters_are_refused_by_name(
    registry: Registry, param: str, value: object
) -> None:
    with pytest.raises(ParamError) as refused:
        registry.build("task", "circle", {param: value})
    assert refused.value.param == param
