"""Requests found by a review to be answered wrongly: each field is used or refused, by name."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from server_test_support import expect_error

from gatelearn.client import Client, TrainOptions
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
