"""How requests fail: the status code each problem gets, the field its message names, and
that a refused request changes nothing. No client input may produce INTERNAL or UNKNOWN."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import start_server
from server_test_support import expect_error, store_snapshot

from gatelearn.client import Client, TrainOptions
from gatelearn.server import Limits
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

INVALID = grpc.StatusCode.INVALID_ARGUMENT
NOT_FOUND = grpc.StatusCode.NOT_FOUND
EXHAUSTED = grpc.StatusCode.RESOURCE_EXHAUSTED
NO_EPOCHS = TrainOptions(epochs=0)
Stub = gatelearn_pb2_grpc.GateLearnStub
Case = Callable[[Client, Stub], Any]


@pytest.fixture
def stub(address: str) -> Iterator[Stub]:
    with grpc.insecure_channel(address) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def _seed_store(client: Client) -> None:
    """Model 'm' (xor, 2-8-1) at versions 1 and 2."""
    client.train("m", "xor", options=NO_EPOCHS)
    client.train("m", "xor", seed=1, options=NO_EPOCHS)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Stub]]:
    """One server for the many refused requests of this module (each checks that it changed
    nothing), storing model 'm' at versions 1 and 2."""
    running = start_server(tmp_path_factory.mktemp("shared") / "data")
    address = f"127.0.0.1:{running.port}"
    with Client(address) as client, grpc.insecure_channel(address) as channel:
        _seed_store(client)
        yield client, gatelearn_pb2_grpc.GateLearnStub(channel)
    running.stop(0)


@pytest.fixture
def seeded(client: Client) -> Client:
    """A server of the test's own, storing model 'm' at versions 1 and 2."""
    _seed_store(client)
    return client


def _layer(
    shape: list[int],
    values: list[float],
    activation: str = "sigmoid",
    bias: list[float] | None = None,
) -> pb.ExportedLayer:
    layer = pb.ExportedLayer(
        weights=pb.Tensor(shape=shape, values=values), activation=pb.ComponentRef(name=activation)
    )
    if bias is not None:
        layer.bias.CopyFrom(pb.Tensor(shape=[len(bias)], values=bias))
    return layer


def _import(
    stub: Stub, *layers: pb.ExportedLayer, name: str = "imp", task: str = "xor", **fields: Any
) -> pb.ModelRef:
    model = pb.ExportedModel(layers=layers, **fields)
    if "table" not in fields:
        model.task.name = task
    return stub.ImportModel(pb.ImportModelRequest(name=name, model=model))


def _ref(name: str, **params: Any) -> pb.ComponentRef:
    ref = pb.ComponentRef(name=name)
    ref.params.update(params)
    return ref


def _train_raw(stub: Stub, **fields: Any) -> Any:
    fields.setdefault("model_name", "raw")
    if "table" not in fields:
        fields.setdefault("task", pb.ComponentRef(name="xor"))
    return stub.Train(pb.TrainRequest(**fields))


def _weights(*tensors: tuple[list[int], list[float]]) -> pb.ExplicitWeights:
    return pb.ExplicitWeights(weights=[pb.Tensor(shape=s, values=v) for s, v in tensors])


# ---------------------------------------------------------------- INVALID_ARGUMENT

INVALID_CASES: dict[str, tuple[Case, str]] = {
    # Components that are not installed.
    "unknown activation": (
        lambda c, s: c.train("x", "xor", activations=["foo", "sigmoid"]),
        "activations[0]",
    ),
    "unknown output activation": (
        lambda c, s: c.train("x", "xor", activations=["tanh", "foo"]),
        "activations[1]",
    ),
    "unknown loss": (lambda c, s: c.train("x", "xor", loss="foo"), "loss"),
    "unknown optimizer": (lambda c, s: c.train("x", "xor", optimizer="foo"), "optimizer"),
    "unknown initializer": (lambda c, s: c.train("x", "xor", initializer="foo"), "initializer"),
    "unknown kind": (lambda c, s: c.plugins("widget"), "kind"),
    # Network shape.
    "zero hidden units": (lambda c, s: c.train("x", "xor", hidden=[0]), "hidden.units[0]"),
    "zero units in 2nd layer": (lambda c, s: c.train("x", "xor", hidden=[4, 0]), "hidden.units[1]"),
    "activation count": (
        lambda c, s: c.train("x", "xor", activations=["sigmoid"] * 3),
        "activations",
    ),
    "no task": (lambda c, s: list(s.Train(pb.TrainRequest(model_name="x"))), "task"),
    "unknown dtype": (lambda c, s: _train_raw(s, dtype=7), "dtype"),
    # Non-finite and out-of-range options.
    "margin nan": (
        lambda c, s: c.train("x", "xor", options=TrainOptions(margin=float("nan"))),
        "margin",
    ),
    "margin inf": (
        lambda c, s: c.train("x", "xor", options=TrainOptions(margin=float("inf"))),
        "margin",
    ),
    "margin negative": (
        lambda c, s: c.train("x", "xor", options=TrainOptions(margin=-0.1)),
        "margin",
    ),
    "loss_target nan": (
        lambda c, s: c.train("x", "xor", options=TrainOptions(loss_target=float("nan"))),
        "loss_target",
    ),
    "weight_decay inf": (
        lambda c, s: c.train("x", "xor", options=TrainOptions(weight_decay=float("inf"))),
        "weight_decay",
    ),
    "min_delta negative": (
        lambda c, s: c.train("x", "xor", options=TrainOptions(min_delta=-1.0)),
        "min_delta",
    ),
    # Out-of-range and mistyped params.
    "lr too large": (
        lambda c, s: c.train("x", "xor", optimizer=("adam", {"lr": 5000})),
        "optimizer.lr",
    ),
    "lr negative": (lambda c, s: c.train("x", "xor", optimizer=("gd", {"lr": -1})), "optimizer.lr"),
    "unknown param": (lambda c, s: c.train("x", "xor", optimizer=("adam", {"speed": 1})), "speed"),
    "int param not whole": (lambda c, s: c.train("x", ("parity", {"n": 2.5})), "n"),
    "int param out of range": (lambda c, s: c.train("x", ("parity", {"n": 17})), "n"),
    "str param not a choice": (
        lambda c, s: c.describe_task("region", {"labels": "maybe"}),
        "labels",
    ),
    "param wrong type": (lambda c, s: c.describe_task("parity", {"n": "four"}), "n"),
    # Params without a name tune the default component: its own checks apply.
    "params without a name": (lambda c, s: _train_raw(s, loss=_ref("", speed=1)), "loss.speed"),
    "bce on sign labels": (lambda c, s: c.train("x", ("region", {"labels": "sign"})), "loss"),
    "region high below low": (
        lambda c, s: c.describe_task("region", {"low": 1, "high": 0}),
        "high",
    ),
    "describe without a name": (lambda c, s: s.DescribeTask(pb.DescribeTaskRequest()), "task.name"),
    # Malformed truth tables.
    "table contradictory rows": (
        lambda c, s: c.train("x", table=([[0, 1], [0, 1]], [[0], [1]])),
        "outputs",
    ),
    "table non 0/1 input": (lambda c, s: c.train("x", table=([[0, 2]], [[1]])), "inputs"),
    "table non 0/1 output": (lambda c, s: c.train("x", table=([[0, 1]], [[0.5]])), "outputs"),
    "table ragged": (lambda c, s: c.train("x", table=([[0, 1], [1]], [[0], [1]])), "inputs"),
    "table nan": (lambda c, s: c.train("x", table=([[0, float("nan")]], [[1]])), "inputs"),
    "table inf output": (lambda c, s: c.train("x", table=([[0, 1]], [[float("inf")]])), "outputs"),
    "table row count": (lambda c, s: c.train("x", table=([[0, 1], [1, 1]], [[1]])), "outputs"),
    "table empty": (lambda c, s: _train_raw(s, table=pb.TruthTable()), "inputs"),
    "table too wide": (lambda c, s: c.train("x", table=([[0] * 17], [[1]])), "inputs"),
    # Malformed explicit weights.
    "weights wrong shape": (
        lambda c, s: c.train(
            "x",
            "xor",
            hidden=[2],
            weights=[[[1, 2, 3], [4, 5, 6]], [[1], [1]]],
            biases=[[0, 0], [0]],
            options=NO_EPOCHS,
        ),
        "weights[0]",
    ),
    "weights values count": (
        lambda c, s: _train_raw(
            s, hidden=pb.Layers(units=[2]), weights=_weights(([2, 2], [1, 2, 3]), ([2, 1], [1, 1]))
        ),
        "weights.weights[0].values",
    ),
    "weights not a matrix": (
        lambda c, s: _train_raw(
            s, hidden=pb.Layers(units=[2]), weights=_weights(([4], [1, 2, 3, 4]), ([2, 1], [1, 1]))
        ),
        "weights.weights[0].shape",
    ),
    "weights nan": (
        lambda c, s: _train_raw(
            s,
            hidden=pb.Layers(),
            activations=[pb.ComponentRef(name="sigmoid")],
            weights=_weights(([2, 1], [1, float("nan")])),
        ),
        "weights.weights[0].values",
    ),
    "weights missing a layer": (
        lambda c, s: c.train(
            "x", "xor", hidden=[2], weights=[[[1, 2], [3, 4]]], biases=[[0, 0]], options=NO_EPOCHS
        ),
        "weights",
    ),
    "biases missing": (
        lambda c, s: c.train(
            "x", "xor", hidden=[], activations=["sigmoid"], weights=[[[1], [1]]], options=NO_EPOCHS
        ),
        "biases",
    ),
    "weights with another initializer": (
        lambda c, s: c.train(
            "x",
            "xor",
            hidden=[],
            activations=["sigmoid"],
            initializer="xavier",
            weights=[[[1], [1]]],
            biases=[[0]],
        ),
        "weights",
    ),
    # Model names.
    "name empty": (lambda c, s: c.train("", "xor"), "model_name"),
    "name with slash": (lambda c, s: c.train("a/b", "xor"), "model_name"),
    "name with control char": (lambda c, s: c.train("a\x01b", "xor"), "model_name"),
    "name with newline": (lambda c, s: c.train("ab\n", "xor"), "model_name"),
    "name with space": (lambda c, s: c.train("a b", "xor"), "model_name"),
    "name starting with dot": (lambda c, s: c.train(".hidden", "xor"), "model_name"),
    "name of 200 chars": (lambda c, s: c.train("a" * 200, "xor"), "model_name"),
    "import name with slash": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1]), name="../x"),
        "name",
    ),
    # Rows sent to a stored model ('m' takes 2 inputs).
    "predict row too short": (lambda c, s: c.predict("m", [[0, 1], [1]]), "rows[1]"),
    "predict row too long": (lambda c, s: c.predict("m", [[0, 1, 1]]), "rows[0]"),
    "predict no rows": (lambda c, s: c.predict("m", []), "rows"),
    "predict nan": (lambda c, s: c.predict("m", [[0, 0], [0, float("nan")]]), "rows[1]"),
    "predict inf": (lambda c, s: c.predict("m", [[float("-inf"), 0]]), "rows[0]"),
    "predict without a model": (lambda c, s: c.predict("", [[0, 1]]), "model"),
    "evaluate wrong input width": (
        lambda c, s: c.evaluate("m", table=([[0]], [[1]])),
        "table.inputs[0]",
    ),
    "evaluate wrong output width": (
        lambda c, s: c.evaluate("m", table=([[0, 1]], [[1, 0]])),
        "table.outputs[0]",
    ),
    "evaluate row count": (
        lambda c, s: c.evaluate("m", table=([[0, 1], [1, 1]], [[1]])),
        "table.outputs",
    ),
    "evaluate nan": (
        lambda c, s: c.evaluate("m", table=([[0, float("nan")]], [[1]])),
        "table.inputs[0]",
    ),
    "get without a name": (lambda c, s: c.model(""), "name"),
    "delete without a name": (lambda c, s: c.delete(""), "name"),
    "export without a name": (lambda c, s: c.export_model(""), "name"),
    # Malformed imports.
    "import no layers": (lambda c, s: _import(s), "model.layers"),
    "import values count": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1, 1])),
        "model.layers[0].weights.values",
    ),
    "import nan weight": (
        lambda c, s: _import(s, _layer([2, 1], [1, float("nan")])),
        "model.layers[0].weights.values",
    ),
    "import inf bias": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1], bias=[float("inf")])),
        "model.layers[0].bias",
    ),
    "import fan-in mismatch": (
        lambda c, s: _import(s, _layer([2, 3], [1] * 6), _layer([2, 1], [1, 1])),
        "model.layers[1].weights",
    ),
    "import bias length": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1], bias=[0, 0])),
        "model.layers[0].bias",
    ),
    "import bias on some layers": (
        lambda c, s: _import(s, _layer([2, 2], [1] * 4, bias=[0, 0]), _layer([2, 1], [1, 1])),
        "model.layers",
    ),
    "import no activation": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1], activation="")),
        "model.layers[0].activation.name",
    ),
    "import bad activation param": (
        lambda c, s: _import(
            s,
            pb.ExportedLayer(
                weights=pb.Tensor(shape=[2, 1], values=[1, 1]),
                activation=_ref("leaky_relu", alpha=5),
            ),
        ),
        "alpha",
    ),
    "import format version": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1]), format_version=2),
        "model.format_version",
    ),
    "import dtype": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1]), dtype="float16"),
        "model.dtype",
    ),
    "import high below low": (
        lambda c, s: _import(s, _layer([2, 1], [1, 1]), low=1, high=-1),
        "model.high",
    ),
    "import without task": (
        lambda c, s: s.ImportModel(
            pb.ImportModelRequest(
                name="imp", model=pb.ExportedModel(layers=[_layer([2, 1], [1, 1])])
            )
        ),
        "model.task",
    ),
    "import shape not the task's": (
        lambda c, s: _import(s, _layer([3, 1], [1, 1, 1])),
        "model.layers",
    ),
    "import bad task params": (
        lambda c, s: s.ImportModel(
            pb.ImportModelRequest(
                name="imp",
                model=pb.ExportedModel(
                    layers=[_layer([2, 1], [1, 1])], task=_ref("region", labels="maybe")
                ),
            )
        ),
        "labels",
    ),
    "import contradictory table": (
        lambda c, s: _import(
            s,
            _layer([1, 1], [1]),
            table=pb.TruthTable(
                inputs=[pb.Row(values=[0]), pb.Row(values=[0])],
                outputs=[pb.Row(values=[0]), pb.Row(values=[1])],
            ),
        ),
        "outputs",
    ),
    "import huge shape": (
        lambda c, s: _import(s, _layer([2**31, 2**31], [1, 1])),
        "model.layers[0].weights",
    ),
    "describe task over max_task_rows": (
        lambda c, s: c.describe_task("region", {"points": 1_000_000}),
        "max_task_rows",
    ),
}


@pytest.mark.parametrize("case", list(INVALID_CASES), ids=list(INVALID_CASES))
def test_invalid_argument_names_the_field(shared: tuple[Client, Stub], case: str) -> None:
    client, stub = shared
    call, field = INVALID_CASES[case]
    before = store_snapshot(client)
    details = expect_error(INVALID, call, client, stub)
    assert field in details, f"{details!r} does not name {field!r}"
    assert store_snapshot(client) == before


# The contract: "The message starts with the path of the offending field".
FIELD_PATH_CASES = [
    pytest.param(
        lambda c, s: c.train("x", "xor", hidden=[3, 0]), "hidden.units[1]:", id="hidden units"
    ),
    pytest.param(
        lambda c, s: c.train("x", "xor", optimizer=("adam", {"lr": 5000})),
        "optimizer.lr:",
        id="optimizer param (the contract's own example)",
    ),
    pytest.param(
        lambda c, s: c.train("x", "xor", activations=["tanh", "foo"]),
        "activations[1]:",
        id="unknown activation (the contract's own example)",
    ),
    pytest.param(lambda c, s: c.train("a/b", "xor"), "model_name:", id="model name"),
    pytest.param(lambda c, s: c.predict("m", [[0, float("nan")]]), "rows[0]:", id="rows"),
    pytest.param(
        lambda c, s: _train_raw(
            s, hidden=pb.Layers(units=[2]), weights=_weights(([2, 2], [1, 2, 3]), ([2, 1], [1, 1]))
        ),
        "weights.weights[0].values:",
        id="explicit weights value count",
    ),
    pytest.param(
        lambda c, s: _import(s, _layer([2, 3], [1] * 6), _layer([2, 1], [1, 1])),
        "model.layers[1].weights:",
        id="import fan-in",
    ),
    pytest.param(
        lambda c, s: c.train("x", "xor", options=TrainOptions(margin=float("nan"))),
        "options.margin:",
        id="options.margin",
    ),
    pytest.param(
        lambda c, s: c.train("x", table=([[0, 1], [0, 1]], [[0], [1]])),
        "table.outputs",
        id="inline table",
    ),
    pytest.param(
        lambda c, s: c.train(
            "x",
            "xor",
            hidden=[2],
            weights=[[[1, 2, 3], [4, 5, 6]], [[1], [1]]],
            biases=[[0, 0], [0]],
            options=NO_EPOCHS,
        ),
        "weights.weights[0]",
        id="explicit weights shape",
    ),
    pytest.param(
        lambda c, s: _import(
            s,
            pb.ExportedLayer(
                weights=pb.Tensor(shape=[2, 1], values=[1, 1]),
                activation=_ref("leaky_relu", alpha=5),
            ),
        ),
        "model.layers[0].activation",
        id="import activation param",
    ),
]


@pytest.mark.parametrize(("call", "prefix"), FIELD_PATH_CASES)
def test_invalid_argument_message_starts_with_the_field_path(
    shared: tuple[Client, Stub], call: Case, prefix: str
) -> None:
    details = expect_error(INVALID, call, *shared)
    assert details.startswith(prefix), details


# ---------------------------------------------------------------- over the limits


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Client, Stub]]:
    running = start_server(
        tmp_path_factory.mktemp("limited") / "data",
        limits=Limits(
            max_epochs=100,
            max_population=4,
            max_units=16,
            max_predict_rows=10,
            max_layers=3,
            max_task_rows=64,
            max_arity=3,
            max_name_length=20,
            # test_at_a_limit_is_accepted's largest runs: 2-16-16-1 x 4 networks have 1348
            # weights and biases; region's 64 rows x 9 units (2-8-1) make 576 values per pass.
            max_parameters=1348,
            max_activations=576,
        ),
    )
    address = f"127.0.0.1:{running.port}"
    with Client(address) as client, grpc.insecure_channel(address) as channel:
        client.train("m", "xor", hidden=[2], options=NO_EPOCHS)
        yield client, gatelearn_pb2_grpc.GateLearnStub(channel)
    running.stop(0)


LIMIT_CASES: dict[str, tuple[Case, str]] = {
    "epochs": (lambda c, s: c.train("x", "xor", options=TrainOptions(epochs=101)), "max_epochs"),
    # The task's default budget (5000 for xor) is held to the same limit.
    "default epochs": (lambda c, s: c.train("x", "xor", hidden=[2]), "max_epochs"),
    "population": (
        lambda c, s: c.train("x", "xor", population=5, options=NO_EPOCHS),
        "max_population",
    ),
    "hidden units": (lambda c, s: c.train("x", "xor", hidden=[17], options=NO_EPOCHS), "max_units"),
    "hidden layers": (
        lambda c, s: c.train("x", "xor", hidden=[2, 2, 2], options=NO_EPOCHS),
        "max_layers",
    ),
    "predict rows": (lambda c, s: c.predict("m", [[0, 1]] * 11), "max_predict_rows"),
    "evaluate rows": (
        lambda c, s: c.evaluate("m", table=([[0, 1]] * 11, [[1]] * 11)),
        "max_predict_rows",
    ),
    "task rows": (
        lambda c, s: c.train("x", ("region", {"points": 65}), options=NO_EPOCHS),
        "max_task_rows",
    ),
    "describe task rows": (lambda c, s: c.describe_task("region", {"points": 65}), "max_task_rows"),
    "arity": (lambda c, s: c.train("x", ("parity", {"n": 4}), options=NO_EPOCHS), "max_arity"),
    "parameters": (
        lambda c, s: c.train(
            "x", ("parity", {"n": 3}), hidden=[16, 16], population=4, options=NO_EPOCHS
        ),
        "max_parameters",
    ),
    "activations": (
        lambda c, s: c.train(
            "x", ("region", {"points": 64}), loss="mse", population=2, options=NO_EPOCHS
        ),
        "max_activations",
    ),
    "name length": (lambda c, s: c.train("a" * 21, "xor", options=NO_EPOCHS), "max_name_length"),
    "import layers": (
        lambda c, s: _import(s, *[_layer([2, 2], [1] * 4)] * 3, _layer([2, 1], [1, 1])),
        "max_layers",
    ),
    "import units": (
        lambda c, s: _import(s, _layer([2, 17], [1] * 34), _layer([17, 1], [1] * 17)),
        "max_units",
    ),
}


@pytest.mark.parametrize("case", list(LIMIT_CASES), ids=list(LIMIT_CASES))
def test_over_a_limit_is_invalid_argument_naming_it(
    limited: tuple[Client, Stub], case: str
) -> None:
    client, stub = limited
    call, limit = LIMIT_CASES[case]
    before = store_snapshot(client)
    details = expect_error(INVALID, call, client, stub)
    assert limit in details, details
    assert store_snapshot(client) == before


def test_at_a_limit_is_accepted(limited: tuple[Client, Stub]) -> None:
    client, _ = limited
    client.train("edge", "xor", hidden=[16, 16], population=4, options=TrainOptions(epochs=100))
    assert len(client.predict("m", [[0, 1]] * 10).outputs) == 10
    client.train("edge", ("region", {"points": 64}), loss="mse", options=NO_EPOCHS)
    client.train("a" * 20, ("parity", {"n": 3}), options=NO_EPOCHS)


# ---------------------------------------------------------------- NOT_FOUND

NOT_FOUND_CASES: dict[str, Case] = {
    "predict unknown model": lambda c, s: c.predict("nope", [[0, 1]]),
    "predict unknown version": lambda c, s: c.predict("m", [[0, 1]], version=3),
    "predict huge version": lambda c, s: c.predict("m", [[0, 1]], version=2**32 - 1),
    "evaluate unknown model": lambda c, s: c.evaluate("nope"),
    "evaluate unknown version": lambda c, s: c.evaluate("m", version=9),
    "get unknown model": lambda c, s: c.model("nope"),
    "get unknown version": lambda c, s: c.model("m", version=3),
    "export unknown model": lambda c, s: c.export_model("nope"),
    "export unknown version": lambda c, s: c.export_model("m", version=3),
    "delete unknown model": lambda c, s: c.delete("nope"),
    "delete unknown version": lambda c, s: c.delete("m", version=3),
    "train unknown task": lambda c, s: c.train("x", "no_such_task"),
    "describe unknown task": lambda c, s: c.describe_task("no_such_task"),
    "import unknown task": lambda c, s: _import(s, _layer([2, 1], [1, 1]), task="no_such_task"),
}


@pytest.mark.parametrize("case", list(NOT_FOUND_CASES), ids=list(NOT_FOUND_CASES))
def test_not_found(shared: tuple[Client, Stub], case: str) -> None:
    client, stub = shared
    before = store_snapshot(client)
    details = expect_error(NOT_FOUND, NOT_FOUND_CASES[case], client, stub)
    assert details
    assert store_snapshot(client) == before


def test_deleted_version_is_not_found(seeded: Client) -> None:
    seeded.delete("m", version=1)
    expect_error(NOT_FOUND, seeded.predict, "m", [[0, 1]], version=1)
    expect_error(NOT_FOUND, seeded.delete, "m", version=1)
    assert seeded.predict("m", [[0, 1]]).model.version == 2
    seeded.delete("m")
    expect_error(NOT_FOUND, seeded.model, "m")
    expect_error(NOT_FOUND, seeded.delete, "m")


# ---------------------------------------------------------------- RESOURCE_EXHAUSTED


def test_store_full_is_resource_exhausted(tmp_path: Path) -> None:
    running = start_server(tmp_path / "full", limits=Limits(max_models=2))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("a", "xor", options=NO_EPOCHS)
            client.train("b", "xor", options=NO_EPOCHS)
            exported = client.export_model("a")
            before = store_snapshot(client)
            details = expect_error(EXHAUSTED, client.train, "c", "xor", options=NO_EPOCHS)
            assert "max_models" in details
            expect_error(EXHAUSTED, client.train, "a", "xor", options=NO_EPOCHS)
            expect_error(EXHAUSTED, client.import_model, "c", exported)
            assert store_snapshot(client) == before
            # Reading still works, and deleting makes room again.
            assert client.predict("a", [[0, 1]]).model.version == 1
            client.delete("b")
            assert client.train("c", "xor", options=NO_EPOCHS).model.version == 1
    finally:
        running.stop(0)


def test_a_store_filled_during_a_training_refuses_its_save(tmp_path: Path) -> None:
    """The early check lets the training start; the save itself finds the store full."""
    running = start_server(tmp_path / "full", limits=Limits(max_models=2))
    long_run = TrainOptions(epochs=50_000, stop_when_solved=False, progress_interval_ms=1)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("a", "xor", options=NO_EPOCHS)
            exported = client.export_model("a")

            def fill_the_store(_: object) -> None:
                if len(client.models()) == 1:  # once, while this training still runs
                    client.import_model("b", exported)

            details = expect_error(
                EXHAUSTED, client.train, "c", "xor", options=long_run, on_progress=fill_the_store
            )
            assert details == (
                "the store holds 2 model versions (limit max_models); delete some first"
            )
            assert [(m.name, m.version) for m in client.models()] == [("a", 1), ("b", 1)]
    finally:
        running.stop(0)


@pytest.mark.parametrize(
    ("limits", "refused"),
    [
        (Limits(max_units=4), "hidden.units[0]: must be 1 to 4 (limit max_units), got 8"),
        (Limits(max_layers=1), "hidden.units: at most 0 hidden layers (limit max_layers = 1)"),
    ],
)
def test_a_tasks_default_layers_are_held_to_the_layer_limits(
    tmp_path: Path, limits: Limits, refused: str
) -> None:
    """A request without `hidden` trained xor's default 2-8-1 whatever the limits said."""
    running = start_server(tmp_path / "data", limits=limits)
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            details = expect_error(INVALID, client.train, "m", "xor", options=NO_EPOCHS)
            assert details.startswith(refused)
            assert details.endswith("(this task's default layers: set hidden)")
            client.train("m", "xor", hidden=[], options=NO_EPOCHS)
            assert client.model("m").summary.sizes == [2, 1]
    finally:
        running.stop(0)


def test_message_over_the_size_limit_is_resource_exhausted(tmp_path: Path) -> None:
    running = start_server(tmp_path / "small", limits=Limits(max_message_bytes=32 * 1024))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("m", "xor", options=NO_EPOCHS)
            expect_error(EXHAUSTED, client.predict, "m", [[0.5, 0.5]] * 5000)
            assert len(client.predict("m", [[0.5, 0.5]] * 100).outputs) == 100
    finally:
        running.stop(0)


# ---------------------------------------------------------------- bugs found once (regressions)


@pytest.mark.parametrize(
    "case",
    [
        "train lr=inf",
        "train lr=nan",
        "describe n=inf",
        "import task param nan",
        "activation param inf",
    ],
)
def test_non_finite_struct_param_is_invalid_argument(
    shared: tuple[Client, Stub], case: str
) -> None:
    seeded, stub = shared
    calls: dict[str, tuple[Case, str]] = {
        "train lr=inf": (
            lambda c, s: c.train("x", "xor", optimizer=("adam", {"lr": float("inf")})),
            "lr",
        ),
        "train lr=nan": (
            lambda c, s: c.train("x", "xor", optimizer=("adam", {"lr": float("nan")})),
            "lr",
        ),
        "describe n=inf": (lambda c, s: c.describe_task("parity", {"n": float("inf")}), "n"),
        "import task param nan": (
            lambda c, s: s.ImportModel(
                pb.ImportModelRequest(
                    name="imp",
                    model=pb.ExportedModel(
                        layers=[_layer([2, 1], [1, 1])], task=_ref("region", low=float("nan"))
                    ),
                )
            ),
            "low",
        ),
        "activation param inf": (
            lambda c, s: c.train(
                "x", "xor", activations=[("leaky_relu", {"alpha": float("inf")}), "sigmoid"]
            ),
            "alpha",
        ),
    }
    call, field = calls[case]
    before = store_snapshot(seeded)
    details = expect_error(INVALID, call, seeded, stub)
    assert field in details
    assert store_snapshot(seeded) == before


@pytest.mark.parametrize("rpc", ["train", "describe"])
def test_nested_table_rows_are_invalid_argument(shared: tuple[Client, Stub], rpc: str) -> None:
    client, _ = shared
    params = {"inputs": [[[0]], [[1]]], "outputs": [[0], [1]]}
    if rpc == "train":
        details = expect_error(INVALID, client.train, "x", ("table", params), options=NO_EPOCHS)
    else:
        details = expect_error(INVALID, client.describe_task, "table", params)
    assert "inputs" in details


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
def test_import_whose_metrics_overflow_is_not_unknown(client: Client, stub: Stub) -> None:
    before = store_snapshot(client)
    got = None
    try:
        _import(stub, _layer([2, 1], [1e200, 1e200], activation="linear"))
    except grpc.RpcError as error:
        got = error.code()
    assert got in (None, INVALID), got
    if got is not None:
        assert store_snapshot(client) == before
    else:
        assert client.model("imp").summary.metrics.accuracy >= 0


def test_seed_plus_population_beyond_uint64(client: Client) -> None:
    request = {"seed": 2**64 - 1, "population": 8, "options": NO_EPOCHS}
    try:
        outcome = client.train("big-seed", "xor", **request)
    except Exception as error:  # refusing it up front is fine
        assert getattr(error, "code", None) == INVALID, error
        assert client.models() == []
        return
    # Accepted: then the stored model must be readable.
    assert outcome.member != 0, "pick a request whose kept member overflows"
    client.model("big-seed")
    client.export_model("big-seed")


def test_import_unknown_activation_is_invalid_argument(shared: tuple[Client, Stub]) -> None:
    client, stub = shared
    before = store_snapshot(client)
    details = expect_error(INVALID, _import, stub, _layer([2, 1], [1, 1], activation="foo"))
    assert details.startswith("model.layers[0].activation")
    assert store_snapshot(client) == before


def test_import_with_empty_name_uses_the_models_name(client: Client, stub: Stub) -> None:
    client.train("src", "xor", options=NO_EPOCHS)
    exported = stub.ExportModel(pb.ExportModelRequest(name="src"))
    ref = stub.ImportModel(pb.ImportModelRequest(name="", model=exported))
    assert (ref.name, ref.version) == ("src", 2)


@pytest.mark.parametrize("case", ["biases without bias", "extra layer"])
def test_explicit_weights_that_do_not_fit_are_refused(client: Client, case: str) -> None:
    if case == "biases without bias":
        settings = {"bias": False, "weights": [[[1.0], [1.0]]], "biases": [[0.0]]}
    else:
        settings = {"weights": [[[1.0], [1.0]], [[1.0]]], "biases": [[0.0], [0.0]]}
    details = expect_error(
        INVALID,
        client.train,
        "x",
        "xor",
        hidden=[],
        activations=["sigmoid"],
        options=NO_EPOCHS,
        **settings,
    )
    assert "weights" in details or "biases" in details
    assert client.models() == []


def test_train_with_empty_task_name_is_invalid_argument(shared: tuple[Client, Stub]) -> None:
    details = expect_error(INVALID, _train_raw, shared[1], task=pb.ComponentRef(name=""))
    assert details.startswith("task.name")


def test_describe_task_caps_preview_rows(shared: tuple[Client, Stub]) -> None:
    client, _ = shared
    described = client.describe_task("region", {"points": 2000}, preview_rows=5000)
    assert described.total_rows == 2000
    assert 0 < len(described.rows_inputs) <= 2000
