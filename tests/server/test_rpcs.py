"""Every GateLearn RPC on its normal path, through the real client against a real server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import grpc
import numpy as np
import pytest
from conftest import start_server
from google.protobuf import json_format
from server_test_support import expect_error, rows_of

from gatelearn.client import Client, GateLearnError, TrainOptions, TrainOutcome
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

XOR_INPUTS = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_TARGETS = [[0], [1], [1], [0]]
KINDS_IN_DOC_ORDER = ["activation", "loss", "optimizer", "initializer", "task"]


@pytest.fixture(scope="module")
def shared_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server for this module: its tests use model names of their own, and the two that
    look at the whole store get a fresh server (`fresh`)."""
    running = start_server(tmp_path_factory.mktemp("rpcs") / "data")
    yield f"127.0.0.1:{running.port}"
    running.stop(0)


@pytest.fixture(scope="module")
def client(shared_address: str) -> Iterator[Client]:
    with Client(shared_address) as connected:
        yield connected


@pytest.fixture(scope="module")
def stub(shared_address: str) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(shared_address) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Client]:
    """A client of a server with an empty store of its own."""
    running = start_server(tmp_path / "data")
    with Client(f"127.0.0.1:{running.port}") as connected:
        yield connected
    running.stop(0)


def exported_layers(client: Client, name: str, version: int = 0) -> list[dict]:
    return client.export_model(name, version=version)["layers"]


# ---------------------------------------------------------------- plugins and tasks


def test_list_plugins_lists_every_kind_grouped_and_sorted(client: Client) -> None:
    components = client.plugins()
    kinds = [c.kind for c in components]
    # Grouped by kind, in the order the contract lists the kinds, names sorted within a kind.
    grouped = [k for i, k in enumerate(kinds) if i == 0 or kinds[i - 1] != k]
    assert grouped == KINDS_IN_DOC_ORDER
    for kind in KINDS_IN_DOC_ORDER:
        names = [c.name for c in components if c.kind == kind]
        assert names == sorted(names) and len(names) == len(set(names))
    names = {(c.kind, c.name) for c in components}
    for expected in [
        ("activation", "sigmoid"),
        ("activation", "tanh"),
        ("activation", "sign"),
        ("loss", "bce"),
        ("loss", "mse"),
        ("optimizer", "adam"),
        ("initializer", "xavier"),
        ("initializer", "explicit"),
        ("task", "xor"),
        ("task", "parity"),
        ("task", "region"),
        ("task", "table"),
    ]:
        assert expected in names
    for component in components:
        assert component.plugin and component.version and component.description


@pytest.mark.parametrize("kind", KINDS_IN_DOC_ORDER)
def test_list_plugins_filters_by_kind(client: Client, kind: str) -> None:
    everything = client.plugins()
    only = client.plugins(kind)
    assert only and all(c.kind == kind for c in only)
    assert only == [c for c in everything if c.kind == kind]


def test_list_plugins_reports_params_with_defaults_and_ranges(client: Client) -> None:
    adam = next(c for c in client.plugins("optimizer") if c.name == "adam")
    assert adam.plugin == "gatelearn.plugins.builtin.optimizers"
    params = {p.name: p for p in adam.params}
    assert list(params)[0] == "lr"
    lr = params["lr"]
    assert (lr.type, lr.minimum, lr.maximum) == ("float", 0.0, 1000.0)
    assert isinstance(lr.default, float) and lr.minimum <= lr.default <= lr.maximum
    for param in adam.params:
        assert param.description

    parity = next(c for c in client.plugins("task") if c.name == "parity")
    (n,) = parity.params
    assert (n.name, n.type, n.default, n.minimum, n.maximum) == ("n", "int", 3, 1, 16)

    region = next(c for c in client.tasks() if c.name == "region")
    region_params = {p.name: p for p in region.params}
    assert region_params["labels"].choices == ("binary", "sign")
    assert region_params["labels"].default == "binary"
    assert region_params["planes"].type == "data"
    assert region_params["planes"].default == [[1.0, 0.0, -1.0], [0.0, -1.0, 1.0]]
    assert region_params["planes"].minimum is None and region_params["planes"].maximum is None

    sigmoid = next(c for c in client.plugins("activation") if c.name == "sigmoid")
    assert sigmoid.params == ()


def test_list_plugins_param_without_default_is_null(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    response = stub.ListPlugins(pb.ListPluginsRequest(kind="task"))
    table = next(c for c in response.components if c.name == "table")
    for spec in table.params:
        assert spec.type == "data"
        assert spec.default_value.WhichOneof("kind") in (None, "null_value")
        assert not spec.HasField("minimum") and not spec.HasField("maximum")


def test_list_tasks_sorted_and_equal_to_task_plugins(client: Client) -> None:
    tasks = client.tasks()
    assert [t.name for t in tasks] == sorted(t.name for t in tasks)
    assert all(t.kind == "task" for t in tasks)
    assert tasks == client.plugins("task")
    assert {"and", "or", "xor", "xnor", "parity", "half_adder", "region", "table"} <= {
        t.name for t in tasks
    }


def test_describe_task_xor(client: Client) -> None:
    xor = client.describe_task("xor")
    assert (xor.name, xor.inputs, xor.outputs, xor.total_rows) == ("xor", 2, 1, 4)
    assert (xor.low, xor.high, xor.threshold) == (0.0, 1.0, 0.5)
    assert xor.rows_inputs == XOR_INPUTS
    assert xor.rows_targets == XOR_TARGETS


def test_describe_task_parity_4_has_16_rows(client: Client) -> None:
    parity = client.describe_task("parity", {"n": 4})
    assert (parity.inputs, parity.outputs, parity.total_rows) == (4, 1, 16)
    assert len(parity.rows_inputs) == 16  # the default preview is 16 rows
    expected_inputs = [[(i >> bit) & 1 for bit in (3, 2, 1, 0)] for i in range(16)]
    assert parity.rows_inputs == expected_inputs
    assert parity.rows_targets == [[sum(row) % 2] for row in expected_inputs]
    few = client.describe_task("parity", {"n": 4}, preview_rows=3)
    assert few.total_rows == 16 and few.rows_inputs == expected_inputs[:3]


def test_describe_task_half_adder_has_two_outputs(client: Client) -> None:
    adder = client.describe_task("half_adder")
    assert (adder.inputs, adder.outputs, adder.total_rows) == (2, 2, 4)
    assert adder.rows_targets == [[0, 0], [1, 0], [1, 0], [0, 1]]


def test_describe_task_region_preview_reproducible_by_seed(client: Client) -> None:
    first = client.describe_task("region", {"points": 50}, seed=3, preview_rows=50)
    again = client.describe_task("region", {"points": 50}, seed=3, preview_rows=50)
    other = client.describe_task("region", {"points": 50}, seed=4, preview_rows=50)
    assert first == again
    assert first.rows_inputs != other.rows_inputs
    assert (first.inputs, first.outputs, first.total_rows) == (2, 1, 50)
    assert len(first.rows_inputs) == 50
    for (x1, x2), (label,) in zip(first.rows_inputs, first.rows_targets, strict=True):
        assert 0.0 <= x1 <= 2.0 and 0.0 <= x2 <= 2.0
        assert label == (1.0 if x1 > 1 and x2 < 1 else 0.0)
    preview = client.describe_task("region", {"points": 50}, seed=3, preview_rows=5)
    assert preview.total_rows == 50 and preview.rows_inputs == first.rows_inputs[:5]
    signed = client.describe_task(
        "region", {"points": 50, "labels": "sign"}, seed=3, preview_rows=50
    )
    assert (signed.low, signed.high, signed.threshold) == (-1.0, 1.0, 0.0)
    assert signed.rows_inputs == first.rows_inputs
    assert [[2 * t - 1 for t in row] for row in first.rows_targets] == signed.rows_targets


# ---------------------------------------------------------------- training


def test_train_default_xor_solves_and_versions_count_up(client: Client) -> None:
    first = client.train("gate", "xor")
    assert isinstance(first, TrainOutcome)
    assert str(first.model) == "gate:1"
    assert first.stop_reason == "solved"
    assert first.metrics.solved and first.metrics.accuracy == 1.0
    assert first.metrics.min_margin > 0
    assert first.metrics.solved_epoch == first.epochs > 0
    assert (first.member, first.solved_members, first.population) == (0, 1, 1)
    second = client.train("gate", "xor")
    assert str(second.model) == "gate:2"
    # Same request, same model: training is deterministic.
    assert second.metrics == first.metrics
    assert exported_layers(client, "gate", 1) == exported_layers(client, "gate", 2)


def test_train_population_reports_member_and_solved_members(client: Client) -> None:
    outcome = client.train("pop", "xor", population=16, seed=5)
    assert outcome.population == 16
    assert 0 <= outcome.member < 16
    assert 1 <= outcome.solved_members <= 16
    assert outcome.metrics.solved
    detail = client.model("pop")
    assert detail.member_seed == 5 + outcome.member


def test_member_seed_reproduces_the_kept_member_alone(client: Client) -> None:
    options = TrainOptions(epochs=40, stop_when_solved=False)
    outcome = client.train("pop2", "xor", population=6, seed=20, options=options)
    member_seed = client.model("pop2").member_seed
    assert member_seed == 20 + outcome.member
    alone = client.train("alone2", "xor", seed=member_seed, options=options)
    assert alone.population == 1 and alone.member == 0
    assert alone.metrics.loss == pytest.approx(outcome.metrics.loss, rel=1e-9)
    for mine, kept in zip(
        exported_layers(client, "alone2"), exported_layers(client, "pop2"), strict=True
    ):
        assert mine["weights"]["values"] == pytest.approx(kept["weights"]["values"], rel=1e-9)
        assert mine["bias"]["values"] == pytest.approx(kept["bias"]["values"], rel=1e-9, abs=1e-12)


def test_train_inline_table(client: Client) -> None:
    # 3-input majority, given as data.
    inputs = [[(i >> 2) & 1, (i >> 1) & 1, i & 1] for i in range(8)]
    outputs = [[1 if sum(row) >= 2 else 0] for row in inputs]
    outcome = client.train("maj", table=(inputs, outputs))
    assert outcome.metrics.solved and str(outcome.model) == "maj:1"
    (summary,) = client.models("maj")
    assert summary.task == "table" and summary.sizes == [3, 12, 1]  # max(8, 4 x 3 inputs)
    evaluation = client.evaluate("maj")
    assert [row.inputs for row in evaluation.rows] == inputs
    assert [row.targets for row in evaluation.rows] == outputs
    assert evaluation.accuracy == 1.0


def test_train_with_explicit_weights(client: Client) -> None:
    weights = [[[0.5, -0.25], [0.125, 1.0]], [[2.0], [-3.0]]]
    biases = [[0.1, -0.2], [0.3]]
    outcome = client.train(
        "hand", "xor", hidden=[2], weights=weights, biases=biases, options=TrainOptions(epochs=0)
    )
    assert outcome.epochs == 0 and outcome.stop_reason == "epochs"
    layers = exported_layers(client, "hand")
    assert [layer["weights"]["shape"] for layer in layers] == [[2, 2], [2, 1]]
    assert [layer["weights"]["values"] for layer in layers] == [
        [0.5, -0.25, 0.125, 1.0],
        [2.0, -3.0],
    ]
    assert [layer["bias"]["values"] for layer in layers] == biases
    # And it trains from there.
    trained = client.train(
        "hand",
        "xor",
        hidden=[2],
        weights=weights,
        biases=biases,
        optimizer=("adam", {"lr": 0.1}),
        options=TrainOptions(epochs=50),
    )
    assert trained.epochs > 0
    assert exported_layers(client, "hand", trained.model.version) != layers


def test_train_with_explicit_initializer_params(client: Client) -> None:
    weights = [[[0.5, -0.25], [0.125, 1.0]], [[2.0], [-3.0]]]
    biases = [[0.1, -0.2], [0.3]]
    client.train(
        "hand-params",
        "xor",
        hidden=[2],
        initializer=("explicit", {"weights": weights, "biases": biases}),
        options=TrainOptions(epochs=0),
    )
    layers = exported_layers(client, "hand-params")
    assert [layer["weights"]["values"] for layer in layers] == [
        [0.5, -0.25, 0.125, 1.0],
        [2.0, -3.0],
    ]
    assert [layer["bias"]["values"] for layer in layers] == biases


def test_train_float32(client: Client) -> None:
    outcome = client.train("f32", "xor", dtype="float32")
    assert outcome.metrics.solved
    detail = client.model("f32")
    assert detail.dtype == "float32"
    assert client.export_model("f32")["dtype"] == "float32"
    labels = client.predict("f32", XOR_INPUTS).labels
    assert labels == XOR_TARGETS
    assert client.model("f32").request["dtype"] == "FLOAT32"
    assert client.model("f32").recipe["dtype"] == "float32"
    # Stored as float64 arrays that hold the float32 weights exactly.
    values = [v for layer in exported_layers(client, "f32") for v in layer["weights"]["values"]]
    assert values == [float(np.float32(v)) for v in values]
    assert len(set(values)) > 1


def float32_import(weight: float, bias: float) -> dict[str, object]:
    """An importable one-layer float32 XOR model of these values."""
    layer = {
        "weights": {"shape": [2, 1], "values": [weight, weight]},
        "bias": {"shape": [1], "values": [bias]},
        "activation": {"name": "linear"},
    }
    return {"layers": [layer], "task": {"name": "xor"}, "dtype": "float32"}


def test_a_float32_import_keeps_the_float32_values_it_computes_with(client: Client) -> None:
    # 0.1 and 1e-320 are not float32 numbers: the model computes with float32(0.1) and 0, and
    # its export says so (it said 0.1 and 1e-320, which it never computed with).
    client.import_model("f32-import", float32_import(0.1, 1e-320))
    layer = exported_layers(client, "f32-import")[0]
    assert layer["weights"]["values"] == [float(np.float32(0.1))] * 2
    assert layer["bias"]["values"] == [0.0]
    assert client.predict("f32-import", [[1, 1]]).outputs == [[2 * float(np.float32(0.1))]]


@pytest.mark.parametrize(
    ("weight", "bias", "field"),
    [(3.5e38, 0.0, "weights"), (1.0, -1e39, "bias")],
    ids=["weight", "bias"],
)
def test_a_float32_import_beyond_float32s_range_is_refused_naming_the_value(
    client: Client, weight: float, bias: float, field: str
) -> None:
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        client.import_model,
        "f32-huge",
        float32_import(weight, bias),
    )
    assert f"model.layers[0].{field}.values" in details and "3.4028235e+38" in details
    assert "f32-huge" not in {model.name for model in client.models()}


def test_float32_state_or_initial_weights_beyond_float32s_range_are_refused(
    client: Client,
) -> None:
    """An imported Adam state of 1e39 was kept, and a warm start from it stored and exported
    Infinity (an export no import takes); initial weights of 1e39 'diverged before any update'."""
    client.train("f32-adam", "xor", dtype="float32", optimizer="adam", epochs=50)
    model = client.export_model("f32-adam")
    first = model["trainingState"]["slots"][0]["weights"][0]
    first["values"] = [1e39] * len(first["values"])
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.import_model, "f32-state", model
    )
    assert details.startswith("model.training_state.slots[0].weights[0].values: "), details
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT,
        client.train,
        "f32-explicit",
        "xor",
        dtype="float32",
        hidden=[],
        initializer="explicit",
        weights=[[[1e39], [1.0]]],
        biases=[[0.0]],
    )
    assert details.startswith("weights.weights[0].values: "), details
    assert "3.4028235e+38" in details
    stored = {summary.name for summary in client.models()}
    assert not stored & {"f32-state", "f32-explicit"}


def test_float32_training_rows_beyond_float32s_range_are_refused_naming_the_row(
    client: Client,
) -> None:
    """A float32 Train on rows of 1e39 answered 'training diverged at epoch 1' (the rows had
    become infinities), which named neither the row nor the way out; float64 trains them."""
    rows = {"inputs": [[0, 0], [0, 1e39], [1, 0], [1, 1]], "targets": [[0], [1], [1], [0]]}
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.train, "f32-rows", ("data", rows), dtype="float32"
    )
    assert details.startswith("task.inputs: row 1: 1e+39 is beyond float32's range"), details
    assert "f32-rows" not in {summary.name for summary in client.models()}
    assert client.train("f64-rows", ("data", rows)).metrics.solved


def test_a_request_id_sent_again_for_another_model_is_refused(client: Client) -> None:
    """A Train or ImportModel of model b with the id a saved under answered a's version, as if
    b were saved; it is refused naming the id, and the retry of a itself still answers."""
    first = client.train("a", "xor", request_id="run-1")
    exported = client.export_model("a")
    for call in (
        partial(client.train, "b", "xor", request_id="run-1"),
        partial(client.import_model, "b", exported, request_id="run-1"),
    ):
        details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, call)
        assert details.startswith("request_id: 'run-1' already saved a:1; a retry names "), details
    assert "b" not in {summary.name for summary in client.models()}
    assert client.train("a", "xor", request_id="run-1").model == first.model
    assert client.import_model("a", exported, request_id="run-1") == first.model


def test_an_unknown_dtype_is_refused_before_sending(client: Client) -> None:
    with pytest.raises(ValueError, match="dtype must be one of float64, float32"):
        client.train("f16", "xor", dtype="float16")
    assert "f16" not in {model.name for model in client.models()}


def test_train_options_shape_the_run(client: Client) -> None:
    outcome = client.train(
        "capped", "xor", options=TrainOptions(epochs=7, stop_when_solved=False, record_every=3)
    )
    assert (outcome.epochs, outcome.stop_reason) == (7, "epochs")
    assert outcome.metrics.solved_epoch == -1  # not checked when stop_when_solved is false
    assert client.model("capped").history.epochs == [0, 3, 6, 7]
    none = client.train("untrained", "xor", options=TrainOptions(epochs=0))
    assert (none.epochs, none.stop_reason) == (0, "epochs")
    target = client.train(
        "target", "xor", options=TrainOptions(stop_when_solved=False, loss_target=0.05)
    )
    assert target.stop_reason == "loss_target" and target.metrics.loss <= 0.05


# ---------------------------------------------------------------- using models


def test_predict_latest_and_specific_version(client: Client) -> None:
    client.train("p", "xor", seed=1)
    client.train("p", "xor", seed=2)
    v1 = client.predict("p", XOR_INPUTS, version=1)
    latest = client.predict("p", XOR_INPUTS)
    v2 = client.predict("p", XOR_INPUTS, version=2)
    assert str(v1.model) == "p:1"
    assert str(latest.model) == "p:2"
    assert latest == v2
    assert v1.outputs != v2.outputs
    for prediction in (v1, v2):
        assert prediction.threshold == 0.5
        assert prediction.labels == XOR_TARGETS
        assert prediction.labels == [
            [1.0 if out > 0.5 else 0.0 for out in row] for row in prediction.outputs
        ]


def test_predict_labels_are_thresholded_outputs_on_any_point(client: Client) -> None:
    client.train("q", "xor")
    points = [[0.5, 0.5], [0.9, 0.1], [-3.0, 7.0], [0.0, 0.0], [1e6, -1e6]]
    prediction = client.predict("q", points)
    assert len(prediction.outputs) == len(points)
    for output, label in zip(prediction.outputs, prediction.labels, strict=True):
        assert len(output) == 1 and 0.0 <= output[0] <= 1.0
        assert label == [1.0 if output[0] > prediction.threshold else 0.0]


def test_an_output_exactly_on_the_threshold_is_labelled_low_by_rows_and_packed_alike(
    client: Client,
) -> None:
    """Labels are `high` only strictly above the threshold, whichever path answers: rows are
    labelled in Python, packed rows with NumPy."""
    flat = {  # sigmoid(0) = 0.5, the threshold of 0/1 labels, whatever the inputs
        "layers": [
            {
                "weights": {"shape": [2, 1], "values": [0, 0]},
                "bias": {"shape": [1], "values": [0]},
                "activation": {"name": "sigmoid"},
            }
        ],
        "task": {"name": "xor"},
        "low": 0,
        "high": 1,
    }
    client.import_model("flat", flat)
    rows = [[0.0, 0.0], [1.0, 1.0], [5.0, -3.0]]
    prediction = client.predict("flat", rows)
    assert prediction.threshold == 0.5
    assert prediction.outputs == [[0.5]] * 3
    assert prediction.labels == [[0.0]] * 3
    outputs, labels = client.predict_array("flat", np.array(rows))
    assert outputs.tolist() == prediction.outputs
    assert labels.tolist() == prediction.labels


def test_evaluate_own_task(client: Client) -> None:
    outcome = client.train("e", "xor")
    evaluation = client.evaluate("e")
    assert str(evaluation.model) == "e:1"
    assert evaluation.accuracy == 1.0
    assert evaluation.min_margin == pytest.approx(outcome.metrics.min_margin, abs=1e-12)
    assert [row.inputs for row in evaluation.rows] == XOR_INPUTS
    assert [row.targets for row in evaluation.rows] == XOR_TARGETS
    assert all(row.correct for row in evaluation.rows)
    assert [row.outputs for row in evaluation.rows] == client.predict("e", XOR_INPUTS).outputs


def test_evaluate_given_table(client: Client) -> None:
    client.train("e-table", "xor")
    and_targets = [[0], [0], [0], [1]]
    evaluation = client.evaluate("e-table", table=(XOR_INPUTS, and_targets))
    assert [row.correct for row in evaluation.rows] == [True, False, False, False]
    assert evaluation.accuracy == 0.25
    assert evaluation.min_margin < 0
    assert [row.targets for row in evaluation.rows] == and_targets
    subset = client.evaluate("e-table", table=([[1, 1], [0, 1]], [[0], [1]]), version=1)
    assert subset.accuracy == 1.0 and len(subset.rows) == 2


def test_evaluate_region_model_on_its_own_sampled_rows(client: Client) -> None:
    params = {"points": 40}
    client.train("reg", ("region", params), seed=9, options=TrainOptions(epochs=5))
    evaluation = client.evaluate("reg")
    described = client.describe_task("region", params, seed=9, preview_rows=40)
    assert [row.inputs for row in evaluation.rows] == described.rows_inputs
    assert [row.targets for row in evaluation.rows] == described.rows_targets


# ---------------------------------------------------------------- the store


def test_list_models_latest_per_name_and_all_versions(fresh: Client) -> None:
    assert fresh.models() == []
    fresh.train("b", "and")
    fresh.train("a", "xor")
    a2 = fresh.train("a", "xor", seed=1)
    latest = fresh.models()
    assert [str(m.ref) for m in latest] == ["a:2", "b:1"]
    a_latest = latest[0]
    assert a_latest.task == "xor" and a_latest.sizes == [2, 8, 1]
    assert a_latest.metrics == a2.metrics
    now = datetime.now(UTC)
    assert now - timedelta(minutes=5) < a_latest.created_at <= now + timedelta(seconds=5)
    versions = fresh.models("a")
    assert [str(m.ref) for m in versions] == ["a:1", "a:2"]
    assert versions[0].created_at <= versions[1].created_at
    assert fresh.models("nothing-here") == []


def test_get_model_detail(client: Client) -> None:
    request = client.train_request(
        "g", "xor", seed=3, population=4, optimizer=("adam", {"lr": 0.05})
    )
    events = list(client.train_events(request))
    outcome = events[-1]
    assert isinstance(outcome, TrainOutcome)
    detail = client.model("g")
    assert str(detail.summary.ref) == "g:1"
    assert detail.summary.metrics == outcome.metrics
    assert detail.activations == ["tanh", "sigmoid"]
    assert detail.bias is True and detail.dtype == "float64"
    assert detail.member_seed == 3 + outcome.member
    history = detail.history
    assert history.epochs and history.epochs[0] == 0 and history.epochs[-1] == outcome.epochs
    assert history.epochs == sorted(set(history.epochs))
    assert len(history.loss) == len(history.accuracy) == len(history.epochs)
    assert history.loss[-1] == pytest.approx(outcome.metrics.loss)
    assert history.accuracy[-1] == outcome.metrics.accuracy
    # The request round-trips as received, defaults not filled in.
    assert detail.request == json_format.MessageToDict(request)
    assert client.model("g", version=1) == detail


def test_stored_request_retrains_the_same_weights(
    client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    client.train("again", "xor", seed=11, hidden=[3], optimizer=("momentum", {"lr": 0.5}))
    stored = stub.GetModel(pb.GetModelRequest(name="again")).request
    assert stored.request_id  # the client's, kept: sent again as it is, it is a retry ...
    assert list(stub.Train(stored))[-1].done.model.version == 1
    stored.ClearField("request_id")  # ... and without it, a new training
    events = list(stub.Train(stored))
    assert events[-1].done.model.version == 2
    assert exported_layers(client, "again", 1) == exported_layers(client, "again", 2)


def test_delete_model_versions_are_never_reused(fresh: Client) -> None:
    for seed in range(2):
        fresh.train("d", "xor", seed=seed, options=TrainOptions(epochs=0))
    assert fresh.delete("d", version=2) == [2]
    assert [m.version for m in fresh.models("d")] == [1]
    assert [str(m.ref) for m in fresh.models()] == ["d:1"]
    third = fresh.train("d", "xor", options=TrainOptions(epochs=0))
    assert third.model.version == 3
    assert [m.version for m in fresh.models("d")] == [1, 3]
    assert fresh.delete("d") == [1, 3]
    assert fresh.models("d") == [] and fresh.models() == []
    fourth = fresh.train("d", "xor", options=TrainOptions(epochs=0))
    assert fourth.model.version == 4


def test_export_import_round_trip_predicts_identically(client: Client) -> None:
    client.train("orig", "xor", seed=4)
    exported = client.export_model("orig")
    assert exported["formatVersion"] == 1
    assert (exported["name"], exported["version"]) == ("orig", 1)
    assert exported["task"]["name"] == "xor"
    assert [layer["activation"]["name"] for layer in exported["layers"]] == ["tanh", "sigmoid"]
    ref = client.import_model("copy", exported)
    assert str(ref) == "copy:1"
    points = XOR_INPUTS + [[0.3, 0.7], [2.5, -1.25], [0.123456789, 0.987654321]]
    assert client.predict("copy", points).outputs == client.predict("orig", points).outputs
    assert client.export_model("copy")["layers"] == exported["layers"]
    detail = client.model("copy")
    assert detail.request is None  # nothing trained it here; its history and recipe came along
    assert detail.history == client.model("orig").history
    assert detail.summary.task == "xor" and detail.summary.sizes == [2, 8, 1]
    metrics = detail.summary.metrics
    assert metrics.accuracy == 1.0 and metrics.solved and metrics.solved_epoch == -1
    copied, original = client.evaluate("copy"), client.evaluate("orig")
    assert (copied.accuracy, copied.min_margin, copied.rows) == (
        original.accuracy,
        original.min_margin,
        original.rows,
    )
    # Importing again makes a new version under the same name.
    assert str(client.import_model("copy", exported)) == "copy:2"


def test_export_import_round_trip_of_a_table_model(client: Client) -> None:
    inputs = [[0, 0, 0], [0, 1, 1], [1, 0, 1], [1, 1, 0]]
    outputs = [[0, 1], [1, 0], [1, 0], [0, 1]]
    client.train("tbl", table=(inputs, outputs), bias=False, hidden=[6])
    exported = client.export_model("tbl")
    assert "task" not in exported
    assert [row["values"] for row in exported["table"]["inputs"]] == inputs
    assert all("bias" not in layer for layer in exported["layers"])
    client.import_model("tbl-copy", exported)
    assert client.evaluate("tbl-copy").rows == client.evaluate("tbl").rows
    assert client.model("tbl-copy").bias is False


def test_export_import_with_raw_messages(
    client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    client.train("src", "xor", options=TrainOptions(epochs=0))
    exported = stub.ExportModel(pb.ExportModelRequest(name="src"))
    ref = stub.ImportModel(pb.ImportModelRequest(name="named", model=exported))
    assert (ref.name, ref.version) == ("named", 1)
    assert (
        rows_of(
            stub.Predict(pb.PredictRequest(model="named", rows=[pb.Row(values=[1, 0])])).outputs
        )
        == client.predict("src", [[1, 0]]).outputs
    )


def test_export_of_population_member_keeps_the_row_seed(client: Client) -> None:
    params = {"points": 40}
    outcome = None
    for seed in range(1, 20):  # find a run whose kept member is not member 0
        outcome = client.train(
            f"r{seed}",
            ("region", params),
            seed=seed,
            population=8,
            loss="mse",
            options=TrainOptions(epochs=0),
        )
        if outcome.member != 0:
            break
    assert outcome is not None and outcome.member != 0
    name = outcome.model.name
    exported = client.export_model(name)
    client.import_model("r-copy", exported)
    assert [row.inputs for row in client.evaluate("r-copy").rows] == [
        row.inputs for row in client.evaluate(name).rows
    ]
    assert int(exported.get("seed", 0)) == seed


def test_an_import_of_a_population_member_keeps_its_member_seed(client: Client) -> None:
    outcome = client.train("pop", "xor", seed=3, population=8, epochs=300)
    assert outcome.member != 0  # else the member's seed is the row seed and nothing is shown
    member_seed = client.model("pop").member_seed
    assert member_seed == 3 + outcome.member
    exported = client.export_model("pop")
    assert (int(exported["seed"]), int(exported["memberSeed"])) == (3, member_seed)
    client.import_model("pop-copy", exported)
    assert client.model("pop-copy").member_seed == member_seed
    del exported["memberSeed"]  # as exports made before the field: the row seed stands in
    client.import_model("pop-old", exported)
    assert client.model("pop-old").member_seed == 3


def test_evaluate_refuses_a_task_whose_plugin_changed_shape(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A model keeps its task by name; if the plugin behind that name now makes rows of another
    width, Evaluate says so instead of scoring the model on rows it cannot take."""
    # Both fixture modules by name, here and in the training workers the servers start.
    directories = [str(Path(__file__).parents[1] / "plugins"), str(Path(__file__).parent)]
    for directory in directories:
        monkeypatch.syspath_prepend(directory)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(directories))
    data = tmp_path / "data"
    model = pb.ExportedModel(
        layers=[
            pb.ExportedLayer(
                weights=pb.Tensor(shape=[1, 1], values=[4.0]),
                activation=pb.ComponentRef(name="sigmoid"),
                bias=pb.Tensor(shape=[1], values=[-2.0]),
            )
        ]
    )
    model.task.name = "buffer"
    before = start_server(data, plugins=("buffer_gate_plugin",))
    with Client(f"127.0.0.1:{before.port}") as client:
        client.import_model("copy", json_format.MessageToDict(model))
        assert client.evaluate("copy").accuracy == 1.0
    before.stop(0)
    after = start_server(data, plugins=("wide_buffer_plugin",))
    try:
        with Client(f"127.0.0.1:{after.port}") as client:
            with pytest.raises(GateLearnError) as raised:
                client.evaluate("copy")
            assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
            assert (
                "maps 1 inputs to 1 outputs, but its task now has 2 and 1" in raised.value.details
            )
            assert client.evaluate("copy", table=([[1]], [[1]])).accuracy == 1.0
    finally:
        after.stop(0)
