"""A run continued from the state another handed on is that run going on: N epochs, then M more
from the state, give the weights of one N + M epoch run bit for bit, for every built-in
optimizer, full batch and with shuffled minibatches."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from gatelearn.core import Network, Optimizer, RunState, Step, TrainConfig, TrainResult, train
from gatelearn.core.components import Array
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare

OPTIMIZERS = {
    "gd": Choice("gd", {"lr": 0.5}),
    "momentum": Choice("momentum", {"lr": 0.1}),
    "nesterov": Choice("momentum", {"lr": 0.1, "nesterov": True}),
    "adam": Choice("adam", {"lr": 0.05}),
    "rmsprop": Choice("rmsprop", {"lr": 0.01}),
    "adagrad": Choice("adagrad", {"lr": 0.1}),
    "rprop": Choice("rprop", {"lr": 0.05}),
}
FIRST, MORE = 70, 50


def recipe(optimizer: Choice, batch_size: int, epochs: int) -> Recipe:
    config = TrainConfig(epochs=epochs, batch_size=batch_size, stop_when_solved=False)
    return Recipe(
        task=Choice("parity", {"n": 3}), hidden=(5, 4), seed=3, optimizer=optimizer, config=config
    )


def arrays(network: Network) -> list[np.ndarray]:
    return [a for layer in network.layers for a in (layer.weights, layer.bias) if a is not None]


def run(
    registry: Registry,
    optimizer: Choice,
    batch_size: int,
    epochs: int,
    start: tuple[Network, RunState] | None = None,
) -> TrainResult:
    """Train the recipe for `epochs`, from `start`'s weights and state if given."""
    prepared = prepare(recipe(optimizer, batch_size, epochs), registry)
    if start is not None:
        for mine, stored in zip(arrays(prepared.network), arrays(start[0]), strict=True):
            mine[...] = stored
    return train(
        prepared.network,
        prepared.data,
        prepared.loss,
        prepared.optimizer,
        prepared.recipe.config,
        start=None if start is None else start[1],
    )


@pytest.mark.parametrize("batch_size", [0, 3], ids=["full_batch", "minibatch"])
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_n_then_m_epochs_equal_n_plus_m_bit_for_bit(
    registry: Registry, name: str, batch_size: int
) -> None:
    optimizer = OPTIMIZERS[name]
    whole = run(registry, optimizer, batch_size, FIRST + MORE)
    first = run(registry, optimizer, batch_size, FIRST)
    continued = run(registry, optimizer, batch_size, MORE, (first.network, first.state))
    assert continued.epochs == MORE
    for together, split in zip(arrays(whole.network), arrays(continued.network), strict=True):
        assert np.array_equal(together, split)
    # Without the state, the same weights go elsewhere (gd has no state: only the order).
    fresh = run(registry, optimizer, batch_size, MORE, (first.network, RunState()))
    same = all(
        np.array_equal(a, b)
        for a, b in zip(arrays(whole.network), arrays(fresh.network), strict=True)
    )
    assert same == (name == "gd" and batch_size == 0)


def test_the_state_is_kept_per_parameter_array_with_the_step_count(registry: Registry) -> None:
    result = run(registry, OPTIMIZERS["adam"], 0, 10)
    state = result.state.optimizer
    assert state is not None and state.steps == 10
    shapes = [a.shape for a in arrays(result.network)]
    shapes = shapes[0::2] + shapes[1::2]  # the weights of every layer, then the biases
    assert {name: [a.shape for a in values] for name, values in state.arrays.items()} == {
        "m": shapes,
        "v": shapes,
    }
    assert result.state.shuffle is None  # full batch: no row order to carry


class PerArrayAdam(Optimizer):
    """Adam bound to each array on its own: the state comes back in the same layout."""

    name = "per_array_adam"
    description = "adam, not elementwise"
    state_names = ("m", "v")

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.inner: Optimizer | None = None

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        from gatelearn.plugins.builtin.optimizers import Adam

        inner = Adam(lr=0.05)
        inner.resume = self.resume
        step = inner.bind(params, grads)
        self.state = inner.state
        return step


def test_a_per_array_binding_hands_on_the_same_state(registry: Registry) -> None:
    flat = run(registry, OPTIMIZERS["adam"], 3, 20)
    prepared = prepare(recipe(OPTIMIZERS["adam"], 3, 20), registry)
    per_array = train(
        prepared.network, prepared.data, prepared.loss, PerArrayAdam(), prepared.recipe.config
    )
    assert flat.state.optimizer is not None and per_array.state.optimizer is not None
    for name, values in flat.state.optimizer.arrays.items():
        for a, b in zip(values, per_array.state.optimizer.arrays[name], strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


class Undeclared(Optimizer):
    """A plugin optimizer that says nothing of its state."""

    name = "undeclared"
    description = "keeps its state to itself"

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        return lambda: None


def test_an_optimizer_declaring_no_state_cannot_continue_a_run(registry: Registry) -> None:
    prepared = prepare(recipe(OPTIMIZERS["gd"], 0, 5), registry)
    result = train(
        prepared.network, prepared.data, prepared.loss, Undeclared(), prepared.recipe.config
    )
    assert result.state.optimizer is None
    first = run(registry, OPTIMIZERS["adam"], 0, 5)
    with pytest.raises(ValueError, match="declares no state"):
        train(
            prepared.network,
            prepared.data,
            prepared.loss,
            Undeclared(),
            replace(prepared.recipe.config, epochs=1),
            start=first.state,
        )
