"""Every setting a training used, defaults filled in: one source for the defaults, reported by
GetModel and ListPlugins, carried by exports and kept by imports, through the real client."""

from __future__ import annotations

import copy
from typing import Any

import grpc
import pytest

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.core import AUTO_RECORDS

ADAM = {"lr": 0.05, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def weights(client: Client, name: str) -> list[Any]:
    return client.export_model(name)["layers"]


def test_naming_a_default_never_changes_the_model(client: Client) -> None:
    client.train("plain", "xor")
    for name, settings in {
        "named": {"optimizer": "adam"},
        "lr": {"optimizer": ("adam", {"lr": ADAM["lr"]})},
        "beta1": {"optimizer": ("", {"beta1": ADAM["beta1"]})},  # the default's own params
        "spelled": {
            "optimizer": ("adam", ADAM),
            "loss": "bce",
            "initializer": "xavier",
            "hidden": [8],
            "activations": ["tanh", "sigmoid"],
            "bias": True,
        },
    }.items():
        client.train(name, "xor", **settings)
        assert weights(client, name) == weights(client, "plain"), name
        assert client.model(name).recipe == client.model("plain").recipe, name


def test_the_default_recipe_is_listed_and_is_what_a_bare_training_uses(client: Client) -> None:
    defaults = client.default_recipe()
    assert defaults["optimizer"] == {"name": "adam", "params": ADAM}
    adam = next(c for c in client.plugins("optimizer") if c.name == "adam")
    assert {p.name: p.default for p in adam.params} == ADAM  # one source
    client.train("bare", "xor")
    recipe = client.model("bare").recipe
    assert recipe is not None and recipe.pop("task") == {"name": "xor", "params": {}}
    assert "hidden" not in defaults and recipe.pop("hidden") == [8]  # the task decides it
    assert recipe == defaults


def test_describe_task_shows_the_recipe_a_bare_training_of_that_task_uses(client: Client) -> None:
    described = client.describe_task("full_adder", seed=3)
    assert described.default_recipe is not None and described.default_recipe["hidden"] == [12]
    client.train("bare-adder", "full_adder", seed=3)
    assert client.model("bare-adder").recipe == described.default_recipe
    # Sign labels are refused by the default loss: no recipe a bare training could use.
    assert client.describe_task("region", {"labels": "sign"}).default_recipe is None


def test_get_model_reports_every_setting_including_those_never_sent(client: Client) -> None:
    client.train(
        "parity",
        ("parity", {"n": 3}),
        hidden=[4, 3],
        seed=5,
        activations=["elu", ("leaky_relu", {"alpha": 0.2}), "sigmoid"],
        options=TrainOptions(epochs=30, record_every=7),
    )
    detail = client.model("parity")
    recipe = detail.recipe
    assert recipe is not None
    assert recipe["task"] == {"name": "parity", "params": {"n": 3}}
    assert recipe["hidden"] == [4, 3] and recipe["bias"] is True
    assert recipe["activations"] == [
        {"name": "elu", "params": {"alpha": 1.0}},
        {"name": "leaky_relu", "params": {"alpha": 0.2}},
        {"name": "sigmoid", "params": {}},
    ]
    assert recipe["loss"] == {"name": "bce", "params": {"eps": 1e-12}}
    assert recipe["optimizer"] == {"name": "adam", "params": ADAM}
    assert recipe["initializer"] == {"name": "xavier", "params": {"gain": 1.0}}
    assert recipe["options"] == {
        "epochs": 30,
        "batch_size": 0,
        "shuffle": True,
        "weight_decay": 0.0,
        "stop_when_solved": True,
        "margin": 0.25,
        "patience": 0,
        "min_delta": 0.0,
        "record_every": 7,
        "validation_share": 0.0,
    }
    assert (recipe["seed"], recipe["population"], recipe["dtype"]) == (5, 1, "float64")
    assert detail.loss == recipe["loss"]
    assert detail.request is not None and "optimizer" not in detail.request  # never sent


def test_a_large_task_gets_the_rules_optimizer_and_initializer_and_naming_them_changes_nothing(
    client: Client,
) -> None:
    described = client.describe_task("parity", {"n": 12})
    recipe = described.default_recipe
    assert recipe is not None
    assert recipe["initializer"] == {"name": "xavier", "params": {"gain": 2.0}}
    assert recipe["optimizer"]["name"] == "rprop"
    short = TrainOptions(epochs=3)
    client.train("bare", ("parity", {"n": 12}), options=short)
    client.train(
        "named",
        ("parity", {"n": 12}),
        initializer=("xavier", {"gain": 2.0}),
        optimizer="rprop",
        options=short,
    )
    assert weights(client, "named") == weights(client, "bare")
    bare = client.model("bare").recipe
    assert bare is not None and bare["initializer"] == recipe["initializer"]
    assert bare == client.model("named").recipe


def test_a_default_training_keeps_a_useful_history(client: Client) -> None:
    outcome = client.train("short", "xor")
    history = client.model("short").history
    assert 10 < len(history.epochs) <= AUTO_RECORDS
    assert history.epochs == list(range(outcome.epochs + 1))  # every epoch of a short run
    long = client.train("long", "xor", options=TrainOptions(epochs=3001, stop_when_solved=False))
    epochs = client.model("long").history.epochs
    assert AUTO_RECORDS // 2 <= len(epochs) <= AUTO_RECORDS
    assert epochs[0] == 0 and epochs[-1] == long.epochs == 3001


def test_get_model_keeps_each_members_epochs_to_solve(client: Client) -> None:
    outcome = client.train("seeds", "xor", population=6, options=TrainOptions(epochs=300))
    detail = client.model("seeds")
    assert detail.member_solved_epochs == outcome.member_solved_epochs
    assert len(detail.member_solved_epochs) == 6
    assert client.model("seeds").recipe["population"] == 6  # type: ignore[index]
    client.import_model("copied", client.export_model("seeds"))
    assert client.model("copied").member_solved_epochs == []  # trained elsewhere: unknown


def test_export_then_import_keeps_loss_recipe_and_history(client: Client) -> None:
    client.train("source", "xor", loss="mse", options=TrainOptions(epochs=40))
    exported = client.export_model("source")
    assert exported["loss"]["name"] == exported["recipe"]["loss"]["name"] == "mse"
    client.import_model("copy", exported)
    source, copied = client.model("source"), client.model("copy")
    assert copied.recipe == source.recipe and copied.recipe is not None
    assert copied.history == source.history and len(copied.history.epochs) > 10
    assert copied.loss == {"name": "mse", "params": {}}
    # Scored with its own loss: the trained model's final loss, measured again.
    assert copied.summary.metrics.loss == pytest.approx(source.summary.metrics.loss, rel=1e-9)
    assert client.export_model("copy")["recipe"] == exported["recipe"]


def test_an_import_is_scored_with_the_loss_its_export_names(client: Client) -> None:
    client.train("bce-model", "xor", options=TrainOptions(epochs=40))
    exported = client.export_model("bce-model")
    client.import_model("as-bce", exported)
    without = {k: v for k, v in exported.items() if k not in ("loss", "recipe", "history")}
    client.import_model("as-old", without)  # an export from before these fields
    trained = client.model("bce-model").summary.metrics.loss
    assert client.model("as-bce").summary.metrics.loss == pytest.approx(trained, rel=1e-9)
    old = client.model("as-old")
    assert old.summary.metrics.loss != pytest.approx(trained, rel=1e-3)  # mse, as before
    assert (old.loss, old.recipe, old.history.epochs) == (None, None, [])
    assert "loss" not in client.export_model("as-old")


@pytest.mark.parametrize(
    "change, field",
    [
        (lambda e: e.update(loss={"name": "nope"}), "model.loss.name"),
        (lambda e: e["loss"].update(params={"eps": -1}), "model.loss.params.eps"),
        (lambda e: e["history"]["loss"].pop(), "model.history"),
        (
            lambda e: e["history"].update(epochs=list(reversed(e["history"]["epochs"]))),
            "model.history.epochs",
        ),
    ],
)
def test_a_bad_loss_or_history_in_an_export_is_refused_naming_it(
    client: Client, change: Any, field: str
) -> None:
    client.train("m", "xor", options=TrainOptions(epochs=5))
    exported = copy.deepcopy(client.export_model("m"))
    change(exported)
    with pytest.raises(GateLearnError) as caught:
        client.import_model("bad", exported)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details.startswith(field)
    assert [m.name for m in client.models()] == ["m"]


def test_a_loss_whose_labels_do_not_fit_the_model_is_refused(client: Client) -> None:
    client.train(
        "signs", ("region", {"labels": "sign"}), loss="mse", options=TrainOptions(epochs=3)
    )
    exported = client.export_model("signs")
    exported["loss"] = {"name": "bce"}
    with pytest.raises(GateLearnError) as caught:
        client.import_model("bad", exported)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert caught.value.details.startswith("model.loss: bce needs labels within 0/1")


def test_describe_task_shows_the_hidden_sizes_a_task_declares(client: Client) -> None:
    """spiral declares two layers of 16 (the width rule's 8 reach 0.99 for no seed); circle,
    the same size of task without the hint, keeps the rule's width."""
    spiral = client.describe_task("spiral").default_recipe
    assert spiral is not None and spiral["hidden"] == [16, 16]
    assert len(spiral["activations"]) == 3
    circle = client.describe_task("circle").default_recipe
    assert circle is not None and circle["hidden"] == [8]
    for name, hidden, used in (("bare-spiral", None, [16, 16]), ("narrow-spiral", [4], [4])):
        client.train(name, "spiral", hidden=hidden, options=TrainOptions(epochs=3))
        recipe = client.model(name).recipe
        assert recipe is not None and recipe["hidden"] == used  # an explicit setting wins
