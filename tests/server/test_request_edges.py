"""Requests found by a review to be answered wrongly: each field is used or refused, by name."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import start_server
from server_test_support import expect_error

from gatelearn.client import Client, TrainOptions
from gatelearn.server import Limits
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc


@pytest.fixture
def stub(address: str) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(address) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def _xor_export(stub: gatelearn_pb2_grpc.GateLearnStub, client: Client) -> pb.ExportedModel:
    client.train("x", "xor", options=TrainOptions(epochs=300))
    return stub.ExportModel(pb.ExportModelRequest(name="x"))


def test_an_export_whose_recipe_has_no_options_imports(
    client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    model = _xor_export(stub, client)
    model.recipe.ClearField("options")
    assert stub.ImportModel(pb.ImportModelRequest(name="y", model=model)).version == 1


def test_an_import_names_the_field_its_bad_name_came_from(
    client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    model = _xor_export(stub, client)
    model.name = "bad name!"
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, stub.ImportModel, pb.ImportModelRequest(model=model)
    )
    assert details.startswith("model.name:"), details


def test_a_stream_message_with_only_another_version_is_refused(
    client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    client.train("x", "xor", options=TrainOptions(epochs=300))
    rows = [pb.Row(values=[0, 1])]
    requests = iter(
        [pb.PredictRequest(model="x", rows=rows), pb.PredictRequest(version=99, rows=rows)]
    )
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, lambda: list(stub.PredictStream(requests))
    )
    assert details.startswith("requests[1].model:"), details


def test_a_search_refuses_a_start_from_it_would_ignore(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    request = pb.SearchRequest(
        base=pb.TrainRequest(model_name="s", start_from="ghost:7", task=pb.ComponentRef(name="and"))
    )
    details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, lambda: list(stub.Search(request)))
    assert details.startswith("base.start_from"), details


def _wide_xor(width: int) -> pb.ExportedModel:
    """A 2-WIDTH-1 linear XOR model: its task's 4 rows make a pass of 4 x (WIDTH + 1) values."""
    model = pb.ExportedModel(task=pb.ComponentRef(name="xor"))
    for fan_in, fan_out in ((2, width), (width, 1)):
        layer = model.layers.add(activation=pb.ComponentRef(name="linear"))
        layer.weights.shape.extend([fan_in, fan_out])
        layer.weights.values.extend([0.0] * (fan_in * fan_out))
    return model


@pytest.mark.parametrize("limit", [36, 35], ids=["at the limit", "one past it"])
def test_an_import_is_measured_only_within_max_activations(tmp_path: Path, limit: int) -> None:
    """An import is scored by one pass over its task on a request thread; a 16-1024-1024-1
    model on parity-16 (65536 rows x 2049 units) took 82 s there, a network no Train would
    take. 4 rows x 9 units = 36 values."""
    running = start_server(tmp_path / "data", limits=Limits(max_activations=limit))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = gatelearn_pb2_grpc.GateLearnStub(channel)
            request = pb.ImportModelRequest(name="wide", model=_wide_xor(8))
            if limit == 36:
                assert stub.ImportModel(request).version == 1
                return
            details = expect_error(grpc.StatusCode.INVALID_ARGUMENT, stub.ImportModel, request)
            assert details == (
                "model.layers: 4 task rows x 9 units x population 1 = 36 values per pass; "
                "at most 35 (limit max_activations)"
            )
            assert not stub.ListModels(pb.ListModelsRequest()).models
    finally:
        running.stop(0)


def test_predict_and_evaluate_are_held_to_max_activations(tmp_path: Path) -> None:
    """Serving a wide model is bounded like training it: a 100,000-row Predict of a
    16-1024-1024-1 model kept a request thread busy for minutes. With max_activations 72, a
    2-8-1 model (9 units) answers 8 rows and refuses 9, naming the field, in each serving call."""
    running = start_server(tmp_path / "data", limits=Limits(max_activations=72))
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            stub = gatelearn_pb2_grpc.GateLearnStub(channel)
            stub.ImportModel(pb.ImportModelRequest(name="m", model=_wide_xor(8)))
            eight = [pb.Row(values=[0, 1])] * 8
            assert len(stub.Predict(pb.PredictRequest(model="m", rows=eight)).outputs) == 8
            nine = [*eight, pb.Row(values=[1, 1])]
            refused = "9 rows x 9 units x population 1 = 81 values per pass; at most 72"
            details = expect_error(
                grpc.StatusCode.INVALID_ARGUMENT,
                stub.Predict,
                pb.PredictRequest(model="m", rows=nine),
            )
            assert details == f"rows: {refused} (limit max_activations)"
            stream = stub.PredictStream(
                iter([pb.PredictRequest(model="m", rows=eight), pb.PredictRequest(rows=nine)])
            )
            assert len(next(stream).outputs) == 8
            with pytest.raises(grpc.RpcError) as raised:
                next(stream)
            assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert raised.value.details() == f"requests[1].rows: {refused} (limit max_activations)"
            table = pb.TruthTable(inputs=nine, outputs=[pb.Row(values=[1])] * 9)
            details = expect_error(
                grpc.StatusCode.INVALID_ARGUMENT,
                stub.Evaluate,
                pb.EvaluateRequest(model="m", table=table),
            )
            assert details == f"table.inputs: {refused} (limit max_activations)"
    finally:
        running.stop(0)
