"""Held-out validation rows: a seeded split, their loss and accuracy reported beside the
training rows', and patience watching their loss."""

from __future__ import annotations

import numpy as np
from conftest import train_prepared

from gatelearn.core import Dataset, TrainConfig, TrainResult, split_validation
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare


def points(rows: int) -> Dataset:
    inputs = np.arange(rows * 2, dtype=np.float64).reshape(rows, 2)
    return Dataset(inputs, (inputs[:, :1] % 3 == 0).astype(np.float64))


def test_split_holds_out_a_rounded_share_and_keeps_every_row_once() -> None:
    data = points(50)
    kept, held = split_validation(data, 0.2, seed=7)
    assert held is not None and len(held.inputs) == 10 and len(kept.inputs) == 40
    together = np.concatenate([kept.inputs, held.inputs])
    assert sorted(map(tuple, together.tolist())) == sorted(map(tuple, data.inputs.tolist()))
    assert np.array_equal(held.targets[:, 0], held.inputs[:, 0] % 3 == 0)


def test_split_is_fixed_by_the_seed() -> None:
    data = points(50)
    _, first = split_validation(data, 0.2, seed=7)
    _, again = split_validation(data, 0.2, seed=7)
    _, other = split_validation(data, 0.2, seed=8)
    assert first is not None and again is not None and other is not None
    assert np.array_equal(first.inputs, again.inputs)
    assert not np.array_equal(first.inputs, other.inputs)


def test_no_share_holds_nothing_out_and_a_tiny_share_holds_one_row() -> None:
    data = points(4)
    assert split_validation(data, 0.0, seed=0) == (data, None)
    _, held = split_validation(data, 0.01, seed=0)
    assert held is not None and len(held.inputs) == 1


def noisy_circle(
    registry: Registry, epochs: int = 3000, patience: int = 0, validation_share: float = 0.0
) -> TrainResult:
    """16 tanh units on a noisy circle (its classes overlap, so a network can overfit)."""
    config = TrainConfig(
        epochs=epochs, stop_when_solved=False, patience=patience, validation_share=validation_share
    )
    recipe = Recipe(task=Choice("circle", {"noise": 0.3}), hidden=(16,), config=config)
    return train_prepared(prepare(recipe, registry))


def test_held_out_rows_get_their_own_loss_and_accuracy(registry: Registry) -> None:
    plain = noisy_circle(registry, epochs=300)
    held = noisy_circle(registry, epochs=300, validation_share=0.25)
    assert plain.validation_loss is None and plain.validation_accuracy is None
    assert held.validation_loss is not None and held.validation_accuracy is not None
    assert held.validation_loss.shape == held.validation_accuracy.shape == (1,)
    assert 0 < held.validation_accuracy[0] <= 1
    # Trained on 150 of the 200 rows: an accuracy is a multiple of 1/150, not of 1/200.
    assert round(held.accuracy[0] * 150, 9) % 1 == 0
    again = noisy_circle(registry, epochs=300, validation_share=0.25)
    assert again.validation_loss is not None
    assert np.array_equal(again.validation_loss, held.validation_loss)


def test_patience_on_validation_loss_stops_before_patience_on_training_loss(
    registry: Registry,
) -> None:
    on_training = noisy_circle(registry, patience=50)
    on_validation = noisy_circle(registry, patience=50, validation_share=0.25)
    assert on_validation.stop_reason == "patience"
    assert on_validation.epochs < on_training.epochs
