"""The plugin contract is the plain methods: override one, and every path runs the override.

Each kind's built-in is subclassed with one method overridden (tests/plugins/contract_plugin.py).
Training at P = 1 and P > 1, prediction at both sizes, and the real server's Train and Predict
(one row, which runs the small-batch pass, and many rows) must all give the same numbers, and
numbers unlike the built-in's, so the override really ran everywhere.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import start_server, train_prepared

from gatelearn.client import Client, TrainOptions
from gatelearn.core import Network, ParamError, TrainConfig, TrainResult
from gatelearn.plugins import Entry, Registry, load_registry
from gatelearn.plugins.builtin.losses import MeanSquaredError
from gatelearn.plugins.recipe import Choice, Prepared, Recipe, check, prepare
from gatelearn.server.app import RunningServer
from gatelearn.server.models.servable import best_member

PLUGIN = "contract_plugin"
HERE = Path(__file__).parent
EPOCHS = 150
POPULATION = 3
BASE = Recipe(
    task=Choice("xor"),
    hidden=(3,),
    activations=(Choice("tanh"), Choice("sigmoid")),
    loss=Choice("sse_half"),
    optimizer=Choice("gd", {"lr": 0.5}),
    initializer=Choice("uniform", {"low": -1.0, "high": 1.0}),
    config=TrainConfig(epochs=EPOCHS, stop_when_solved=False),
    seed=3,
)
# override -> (the recipe field it replaces, the built-in it overrides one method of)
OVERRIDES: dict[str, tuple[str, Any]] = {
    "activation.forward": ("activations", (Choice("tanh"), Choice("shifted_sigmoid"))),
    "activation.derivative": ("activations", (Choice("tanh"), Choice("steep_sigmoid"))),
    "loss.gradient": ("loss", Choice("sign_sse")),
    "optimizer.bind": ("optimizer", Choice("halved_gd", {"lr": 0.5})),
    "initializer.fill": ("initializer", Choice("shifted_uniform", {"low": -1.0, "high": 1.0})),
    "task.evaluate": ("task", Choice("not_xor")),
}
ROWS = np.random.default_rng(0).uniform(-0.5, 1.5, size=(100, 2))  # > the small-batch size


@pytest.fixture(scope="module")
def plugged() -> Registry:
    return load_registry((PLUGIN,))


def recipe_for(override: str, **changes: Any) -> Recipe:
    field, value = OVERRIDES[override]
    return replace(BASE, **{field: value}, **changes)


def trained(recipe: Recipe, registry: Registry) -> tuple[Prepared, TrainResult]:
    prepared = prepare(recipe, registry)
    return prepared, train_prepared(prepared)


def weights(network: Network) -> list[np.ndarray]:
    return [a for layer in network.layers for a in (layer.weights, layer.bias) if a is not None]


@pytest.mark.parametrize("override", OVERRIDES)
def test_an_override_runs_on_every_training_and_prediction_path(
    plugged: Registry, override: str
) -> None:
    alone, alone_result = trained(recipe_for(override), plugged)
    together, together_result = trained(recipe_for(override, population=POPULATION), plugged)
    # Member 0 of a population is the seed's network alone: same training, same predictions.
    for mine, its in zip(weights(together.network.member(0)), weights(alone.network), strict=True):
        np.testing.assert_allclose(mine, its, rtol=0, atol=1e-12)
    np.testing.assert_allclose(together_result.loss[0], alone_result.loss[0], rtol=1e-10)
    np.testing.assert_allclose(
        together.network.predict(ROWS)[..., 0],
        alone.network.predict(ROWS)[..., 0],
        rtol=0,
        atol=1e-12,
    )
    # ... and not the built-in's: the override ran.
    builtin, _ = trained(BASE, plugged)
    assert not np.allclose(
        alone.network.predict(ROWS), builtin.network.predict(ROWS), rtol=0, atol=1e-6
    )


@pytest.fixture(scope="module")
def plugged_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with the fixture plugin, in its training workers too (through PYTHONPATH)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, (str(HERE), os.environ.get("PYTHONPATH"))))
        )
        running = start_server(tmp_path_factory.mktemp("data"), plugins=(PLUGIN,))
        try:
            yield running
        finally:
            running.stop(0)


def spec(choice: Choice) -> tuple[str, dict[str, Any]]:
    return choice.name, dict(choice.params)


@pytest.mark.parametrize("population", [1, POPULATION])
@pytest.mark.parametrize("override", OVERRIDES)
def test_the_server_trains_and_predicts_with_an_override(
    plugged_server: RunningServer, plugged: Registry, override: str, population: int
) -> None:
    recipe = recipe_for(override, population=population)
    name = f"{override.replace('.', '-')}-{population}"
    with Client(f"127.0.0.1:{plugged_server.port}") as client:
        outcome = client.train(
            name,
            spec(recipe.task),
            hidden=recipe.hidden,
            activations=[spec(c) for c in recipe.activations],
            loss=spec(recipe.loss),
            optimizer=spec(recipe.optimizer),
            initializer=spec(recipe.initializer),
            seed=recipe.seed,
            population=population,
            options=TrainOptions(epochs=EPOCHS, stop_when_solved=False),
        )
        one = [client.predict(name, [row]).outputs[0] for row in ROWS[:3].tolist()]
        many = client.predict(name, ROWS.tolist()).outputs

    prepared, result = trained(recipe, plugged)
    assert outcome.member == best_member(result)
    expected = prepared.network.predict(ROWS)[..., outcome.member]
    np.testing.assert_allclose(one, expected[:3], rtol=0, atol=1e-12)
    np.testing.assert_allclose(many, expected, rtol=0, atol=1e-12)


class UnitMse(MeanSquaredError):
    name = "unit_mse"
    description = "mse declaring labels within [0, 1]"
    label_range = (0.0, 1.0)


def test_a_plugin_loss_declares_the_labels_it_accepts(registry: Registry) -> None:
    plugged = Registry([*registry.entries(), Entry("loss", "unit_mse", UnitMse, "test", "0")])
    sign_labels = Recipe(task=Choice("region", {"labels": "sign"}), loss=Choice("unit_mse"))
    with pytest.raises(ParamError) as raised:
        check(sign_labels, plugged)
    assert raised.value.param == "loss"
    assert "unit_mse needs labels within 0/1; this task's are -1/1" in raised.value.message
    check(replace(sign_labels, task=Choice("region")), plugged)  # 0/1 labels are accepted
