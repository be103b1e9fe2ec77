"""The built-in rprop optimizer against a hand-written iRprop- oracle.

The oracle takes its gradients from finite differences of the loss, one member at a time, and
keeps its step sizes in plain Python floats. Rprop moves each weight by exactly ±its step size,
so as long as every gradient's sign is clear of round-off the two runs agree to rounding.
"""

from __future__ import annotations

import numpy as np

from gatelearn.core import Dataset, Loss, Network, TrainConfig, train
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare
from tests.core.test_gradients import member_losses, numeric_gradient

STEPS = 12
PARAMS = {"lr": 0.07, "eta_plus": 1.3, "eta_minus": 0.4, "step_min": 0.01, "step_max": 0.2}


def parameter_arrays(network: Network) -> list[np.ndarray]:
    return [a for layer in network.layers for a in (layer.weights, layer.bias) if a is not None]


def oracle_step(network: Network, data: Dataset, loss: Loss, state: list[list[float]]) -> None:
    """One iRprop- update of every parameter of every member, entry by entry."""

    def losses() -> np.ndarray:
        return member_losses(network, data, loss)

    grads = [numeric_gradient(array, losses) for array in parameter_arrays(network)]
    entries = zip(parameter_arrays(network), grads, state, strict=True)
    for array, grad, (previous, steps) in ((a, g, s) for a, g, s in entries):
        for i, g in enumerate(grad.ravel()):
            assert abs(g) > 1e-7, "a gradient too close to 0 for its sign to be sure"
            if g * previous[i] > 0:
                steps[i] = min(steps[i] * PARAMS["eta_plus"], PARAMS["step_max"])
            elif g * previous[i] < 0:
                steps[i] = max(steps[i] * PARAMS["eta_minus"], PARAMS["step_min"])
                g = 0.0
            previous[i] = g
            array.reshape(-1)[i] -= np.sign(g) * steps[i]


def test_rprop_matches_a_hand_written_oracle(registry: Registry) -> None:
    recipe = Recipe(
        task=Choice("parity", {"n": 3}),
        hidden=(3,),
        optimizer=Choice("rprop", PARAMS),
        population=2,
        seed=5,
        config=TrainConfig(epochs=STEPS, stop_when_solved=False),
    )
    engine = prepare(recipe, registry)
    oracle = prepare(recipe, registry)
    result = train(engine.network, engine.data, engine.loss, engine.optimizer, recipe.config)
    assert result.epochs == STEPS
    state = [
        ([0.0] * array.size, [PARAMS["lr"]] * array.size)
        for array in parameter_arrays(oracle.network)
    ]
    for _ in range(STEPS):
        oracle_step(oracle.network, oracle.data, oracle.loss, state)
    for ours, theirs in zip(
        parameter_arrays(engine.network), parameter_arrays(oracle.network), strict=True
    ):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
    # Some steps hit each bound and some signs flipped, so every branch was taken.
    every_step = [s for _, steps in state for s in steps]
    assert PARAMS["step_max"] in every_step
    assert any(s < PARAMS["lr"] for s in every_step)


def test_rprop_solves_parity4_from_most_seeds(registry: Registry) -> None:
    recipe = Recipe(task=Choice("parity", {"n": 4}), optimizer=Choice("rprop"), population=50)
    prepared = prepare(recipe, registry)
    result = train(prepared.network, prepared.data, prepared.loss, prepared.optimizer)
    assert result.solved.mean() >= 0.95
