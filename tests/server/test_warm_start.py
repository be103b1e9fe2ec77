"""Warm starts through a real server (TrainRequest.start_from): N epochs, then M more from the
stored version, export the weights of one N + M epoch run bit for bit, for every built-in
optimizer, full batch and with seeded minibatches; the state goes with exports; the network
must stay the same; a version without state starts fresh and says so."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import start_server
from server_test_support import expect_error, store_snapshot

from gatelearn.client import Client, GateLearnError, TrainOptions, TrainOutcome
from gatelearn.client.cli import main
from gatelearn.server.edge.training_states import MAX_STEPS

OPTIMIZERS: dict[str, tuple[str, dict[str, Any]]] = {
    "gd": ("gd", {"lr": 0.5}),
    "momentum": ("momentum", {"lr": 0.1}),
    "nesterov": ("momentum", {"lr": 0.1, "nesterov": True}),
    "adam": ("adam", {"lr": 0.05}),
    "rmsprop": ("rmsprop", {"lr": 0.01}),
    "adagrad": ("adagrad", {"lr": 0.1}),
}
FIRST, MORE = 60, 40
TASK = ("parity", {"n": 3})  # 8 rows: batches of 3 are two full ones and a short one


def options(epochs: int, batch_size: int) -> TrainOptions:
    return TrainOptions(epochs=epochs, batch_size=batch_size, stop_when_solved=False)


def train(
    client: Client, name: str, optimizer: str, epochs: int, batch_size: int, **settings: Any
) -> TrainOutcome:
    return client.train(
        name,
        TASK,
        hidden=[5],
        optimizer=OPTIMIZERS[optimizer],
        seed=7,
        options=options(epochs, batch_size),
        **settings,
    )


def layers(client: Client, name: str, version: int = 0) -> list[dict[str, Any]]:
    """The exported layers (weights and biases as the floats the server holds)."""
    return client.export_model(name, version=version)["layers"]


@pytest.mark.parametrize("batch_size", [0, 3], ids=["full_batch", "minibatch"])
@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_n_then_m_epochs_from_the_stored_version_equal_one_run(
    client: Client, optimizer: str, batch_size: int
) -> None:
    whole = train(client, "whole", optimizer, FIRST + MORE, batch_size)
    train(client, "first", optimizer, FIRST, batch_size)
    # Only the epoch count is given: everything else is the stored version's recipe.
    more = client.train("more", start_from="first:1", options=TrainOptions(epochs=MORE))
    assert (more.epochs, more.parent, more.fresh_optimizer_state) == (MORE, "first:1", False)
    assert layers(client, "more") == layers(client, "whole")
    assert more.metrics == whole.metrics
    # The stored state is the one run's state too.
    assert client.export_model("more").get("trainingState") == client.export_model("whole").get(
        "trainingState"
    )


def test_the_parent_is_shown_by_get_model_and_show(
    client: Client, address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train(client, "base", "adam", FIRST, 0)
    client.train("next", start_from="base", options=TrainOptions(epochs=5))
    assert client.model("next").parent == "base:1"
    assert client.model("base").parent == ""
    assert main(["--address", address, "show", "next"]) == 0
    assert "parent       base:1" in capsys.readouterr().out


def test_the_cli_continues_a_version_and_overrides_the_learning_rate(
    client: Client, address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train(client, "cli", "momentum", FIRST, 0)
    assert (
        main(
            [
                "--address",
                address,
                "train",
                "--from",
                "cli:1",
                "--name",
                "cli",
                "--epochs",
                "10",
                "--lr",
                "0.05",
                "--quiet",
            ]
        )
        == 0
    )
    assert "saved cli:2" in capsys.readouterr().out
    request = client.model("cli", version=2).request
    assert request is not None
    assert request["optimizer"] == {"name": "momentum", "params": {"lr": 0.05}}
    assert request["startFrom"] == "cli:1"


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        ({"hidden": [3]}, "hidden.units"),
        ({"task": ("parity", {"n": 4})}, "task"),
        ({"activations": ["relu", "sigmoid"]}, "activations"),
        ({"dtype": "float32"}, "dtype"),
        ({"population": 4}, "population"),
        ({"seed": 99}, "seed"),
        ({"optimizer": "gd"}, "optimizer.name"),
        ({"start_from": "base:x"}, "start_from"),
    ],
)
def test_another_network_is_refused_naming_the_field(
    client: Client, settings: dict[str, Any], field: str
) -> None:
    train(client, "base", "adam", 5, 0)
    before = store_snapshot(client)
    arguments: dict[str, Any] = {"start_from": "base:1", **settings}
    task = arguments.pop("task", None)
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.train, "child", task, **arguments
    )
    assert details.startswith(f"{field}:"), details
    assert store_snapshot(client) == before


def test_a_missing_start_from_version_is_not_found(client: Client) -> None:
    expect_error(grpc.StatusCode.NOT_FOUND, client.train, "child", start_from="nothing:2")


def test_the_state_survives_export_and_import(client: Client) -> None:
    whole = train(client, "whole", "adam", FIRST + MORE, 3)
    train(client, "first", "adam", FIRST, 3)
    exported = client.export_model("first")
    assert {slot["name"] for slot in exported["trainingState"]["slots"]} == {"m", "v"}
    client.import_model("copy", exported)
    # An import keeps no request: the loop settings are given again.
    more = client.train("more", start_from="copy", options=options(MORE, 3))
    assert not more.fresh_optimizer_state
    assert layers(client, "more") == layers(client, "whole")
    assert more.metrics == whole.metrics


def test_an_import_without_state_starts_fresh_and_says_so(
    client: Client, address: str, capsys: pytest.CaptureFixture[str]
) -> None:
    train(client, "first", "adam", FIRST, 0)
    exported = client.export_model("first")
    del exported["trainingState"]  # as an export from before optimizer state was kept
    client.import_model("old", exported)
    more = client.train("more", start_from="old", options=options(MORE, 0))
    assert (more.parent, more.fresh_optimizer_state) == ("old:1", True)
    assert (
        main(
            [
                "--address",
                address,
                "train",
                "--from",
                "old",
                "--name",
                "more",
                "--epochs",
                "5",
                "--quiet",
            ]
        )
        == 0
    )
    assert "started with fresh state" in capsys.readouterr().out


def test_imported_state_of_the_wrong_shape_is_refused(client: Client) -> None:
    train(client, "first", "adam", 5, 0)
    exported = client.export_model("first")
    exported["trainingState"]["slots"][0]["weights"][0]["shape"] = [1, 10]
    details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.import_model, "bad", exported)
    assert details.startswith("model.training_state.slots[0].weights[0]")


@pytest.mark.parametrize(
    ("key", "index", "value"),
    [
        ("steps", None, 2**64 - 1),
        ("shuffleGenerator", 4, 2**64 - 1),
        ("shuffleGenerator", 5, 2**32),
    ],
)
def test_imported_state_numbers_that_cannot_be_kept_or_restored_are_refused(
    client: Client, key: str, index: int | None, value: int
) -> None:
    # The step count was stored as a signed 64-bit integer (UNKNOWN, OverflowError), and the
    # generator's flag and spare value were stored, failing every warm start from them.
    train(client, "first", "adam", 5, 3)
    exported = client.export_model("first")
    state = exported["trainingState"]
    before = store_snapshot(client)
    if index is None:
        state[key] = str(value)
    else:
        state[key][index] = str(value)
    details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.import_model, "bad", exported)
    field = "steps" if key == "steps" else "shuffle_generator"
    assert details.startswith(f"model.training_state.{field}: ")
    assert store_snapshot(client) == before


# The state each built-in rule keeps >= 0 (sums and means of squares, step sizes).
NONNEGATIVE_SLOTS = {
    "adam": "v",
    "rmsprop": "mean_square",
    "adagrad": "sum_square",
    "rprop": "step_size",
}


def exported_state(client: Client, optimizer: str, slot: str) -> tuple[dict[str, Any], int]:
    """An export of a short run of `optimizer`, and the index of its state `slot`."""
    client.train("first", TASK, hidden=[5], optimizer=optimizer, seed=7, options=options(5, 0))
    exported = client.export_model("first")
    names = [given["name"] for given in exported["trainingState"]["slots"]]
    return exported, names.index(slot)


@pytest.mark.parametrize(("optimizer", "slot"), sorted(NONNEGATIVE_SLOTS.items()))
def test_imported_state_holding_what_its_rule_never_does_is_refused(
    client: Client, optimizer: str, slot: str
) -> None:
    """A negative second moment (or mean square, or step size) was imported, and the warm
    start from it diverged at its first epoch."""
    exported, index = exported_state(client, optimizer, slot)
    exported["trainingState"]["slots"][index]["biases"][0]["values"][1] = -0.5
    before = store_snapshot(client)
    details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.import_model, "bad", exported)
    assert details == (
        f"model.training_state.slots[{index}].biases[0].values: must be >= 0 "
        f"({optimizer}'s {slot!r} never is negative), got -0.5"
    )
    assert store_snapshot(client) == before


@pytest.mark.parametrize(
    ("optimizer", "slot"), [("adam", "m"), ("momentum", "velocity"), ("adam", "v")]
)
def test_imported_state_that_is_not_finite_is_refused(
    client: Client, optimizer: str, slot: str
) -> None:
    exported, index = exported_state(client, optimizer, slot)
    exported["trainingState"]["slots"][index]["weights"][0]["values"][0] = "Infinity"  # JSON's
    before = store_snapshot(client)
    details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.import_model, "bad", exported)
    assert details == (
        f"model.training_state.slots[{index}].weights[0].values: "
        "must be finite (no NaN or infinity)"
    )
    assert store_snapshot(client) == before


def test_imported_state_at_zero_is_taken_and_warm_starts(client: Client) -> None:
    exported, index = exported_state(client, "adam", "v")
    exported["trainingState"]["slots"][index]["biases"][0]["values"][1] = 0.0
    client.import_model("zero", exported)
    more = client.train("more", start_from="zero", options=options(MORE, 0))
    assert not more.fresh_optimizer_state and more.metrics.loss < 1


def test_imported_state_at_the_step_limit_warm_starts(client: Client) -> None:
    train(client, "first", "adam", 5, 3)
    exported = client.export_model("first")
    exported["trainingState"]["steps"] = str(MAX_STEPS)
    client.import_model("late", exported)
    more = client.train("more", start_from="late", options=options(MORE, 3))
    assert not more.fresh_optimizer_state


def test_an_optimizer_declaring_no_state_cannot_warm_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = str(Path(__file__).parent)
    monkeypatch.syspath_prepend(here)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([here, os.environ.get("PYTHONPATH", "")]))
    running = start_server(tmp_path / "data", plugins=("stateless_optimizer_plugin",))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("own", TASK, optimizer="stateless_gd", options=options(5, 0))
            details = expect_error(
                grpc.StatusCode.FAILED_PRECONDITION, client.train, "own", start_from="own"
            )
            assert "optimizer 'stateless_gd' declares no state" in details
    finally:
        running.stop(0)


def test_a_warm_start_may_name_its_parent_by_alias(client: Client) -> None:
    client.train("aliased", "xor", options=TrainOptions(epochs=50, stop_when_solved=False))
    client.train("aliased", "xor", options=TrainOptions(epochs=60, stop_when_solved=False))
    client.set_alias("aliased", "base", 1)
    continued = client.train(
        "aliased",
        "xor",
        start_from="aliased@base",
        options=TrainOptions(epochs=10, stop_when_solved=False),
    )
    assert client.model("aliased", version=continued.model.version).parent == "aliased:1"
    with pytest.raises(GateLearnError) as missing:
        client.train("aliased", "xor", start_from="aliased@nope")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
