"""Error messages that point at the right place, against a real server on loopback.

A PredictStream message that is wrong is named by its index in the stream (`requests[2].`), as
a model mismatch always was; a Train request that gives the initial weights twice is refused
naming both fields rather than silently using one.
"""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import numpy as np
import pytest
from conftest import start_server

from gatelearn.client import Client
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

XOR_ROWS = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server holding the trained model `gate` (xor)."""
    server = start_server(
        tmp_path_factory.mktemp("messages") / "data", limits=Limits(max_concurrent_trainings=1)
    )
    with Client(f"127.0.0.1:{server.port}") as client:
        client.train("gate", "xor")
    yield server
    server.stop(0)


@pytest.fixture
def stub(running: RunningServer) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def failure(responses: Iterator[pb.PredictResponse]) -> tuple[grpc.StatusCode, str]:
    """The status a stream call ends with; the test fails if it ends OK."""
    with pytest.raises(grpc.RpcError) as raised:
        list(responses)
    return raised.value.code(), raised.value.details() or ""


def packed(values: list[list[float]]) -> pb.PackedRows:
    array = np.asarray(values, dtype="<f8")
    return pb.PackedRows(data=array.tobytes(), shape=list(array.shape), dtype="float64")


# ---------------------------------------------------------------- stream messages by index


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        (pb.PredictRequest(rows=[pb.Row(values=[float("nan"), 0.0])]), "requests[2].rows[0]"),
        (
            pb.PredictRequest(rows=[pb.Row(values=[0.0, 1.0]), pb.Row(values=[1.0])]),
            "requests[2].rows[1]",
        ),
        (
            pb.PredictRequest(packed=packed([[0.0, 1.0], [float("inf"), 0.0]])),
            "requests[2].packed.data",
        ),
        (
            pb.PredictRequest(rows=[pb.Row(values=[0.0, 1.0])], packed=packed(XOR_ROWS)),
            "requests[2].rows",
        ),
    ],
    ids=["nan-row", "short-row", "infinite-packed", "rows-and-packed"],
)
def test_a_bad_stream_message_is_named_by_its_index(
    stub: gatelearn_pb2_grpc.GateLearnStub, bad: pb.PredictRequest, field: str
) -> None:
    good = pb.PredictRequest(model="gate", rows=[pb.Row(values=row) for row in XOR_ROWS])
    code, details = failure(
        stub.PredictStream(
            iter([good, pb.PredictRequest(packed=packed(XOR_ROWS)), bad]), timeout=10
        )
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith(f"{field}:"), details


def test_a_stream_without_a_model_names_its_first_message(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    code, details = failure(
        stub.PredictStream(iter([pb.PredictRequest(rows=[pb.Row(values=[0.0, 1.0])])]), timeout=10)
    )
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith("requests[0].model: required"), details


def test_unary_predict_names_the_row_without_an_index(
    stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        stub.Predict(
            pb.PredictRequest(
                model="gate", rows=[pb.Row(values=[0.0, 1.0]), pb.Row(values=[float("nan"), 1.0])]
            ),
            timeout=10,
        )
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (raised.value.details() or "").startswith("rows[1]:"), raised.value.details()


# ---------------------------------------------------------------- initial weights given twice


def tensor(shape: list[int], values: list[float]) -> pb.Tensor:
    return pb.Tensor(shape=shape, values=values)


XOR_WEIGHTS = pb.ExplicitWeights(  # a 2-2-1 network
    weights=[tensor([2, 2], [1.0, -1.0, 1.0, -1.0]), tensor([2, 1], [1.0, 1.0])],
    biases=[tensor([2], [-0.5, 1.5]), tensor([1], [-1.5])],
)


@pytest.mark.parametrize(
    ("params", "named"),
    [
        ({"weights": [[[1.0, -1.0], [1.0, -1.0]], [[1.0], [1.0]]]}, "initializer.params.weights"),
        ({"biases": [[-0.5, 1.5], [-1.5]]}, "initializer.params.biases"),
    ],
    ids=["weights", "biases"],
)
def test_weights_given_twice_are_refused_naming_both_fields(
    running: RunningServer,
    stub: gatelearn_pb2_grpc.GateLearnStub,
    params: dict[str, object],
    named: str,
) -> None:
    name = f"twice-{named.rsplit('.', 1)[1]}"
    request = pb.TrainRequest(
        model_name=name,
        task=pb.ComponentRef(name="xor"),
        hidden=pb.Layers(units=[2]),
        weights=XOR_WEIGHTS,
        initializer=pb.ComponentRef(name="explicit"),
    )
    request.initializer.params.update(params)
    code, details = failure(stub.Train(request, timeout=30))
    assert code == grpc.StatusCode.INVALID_ARGUMENT, details
    assert details.startswith("weights:") and named in details, details
    # either one alone is a fine request
    del request.initializer.params.fields[next(iter(params))]
    assert list(stub.Train(request, timeout=30))[-1].done.model.name == name
    with Client(f"127.0.0.1:{running.port}") as client:
        assert [m.version for m in client.models(name)] == [1]  # the refused one saved none
