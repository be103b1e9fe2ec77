"""Struct parameters nested too deeply: INVALID_ARGUMENT naming the parameter and the limit.

The protobuf parser gives up on messages nested over 100 levels (about 32 Struct levels), and
the server once answered such a request INTERNAL. Now every Struct value may nest at most
max_struct_depth (20) levels, checked on the wire bytes before parsing, and the bundled client
refuses deeper ones before sending.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from gatelearn.client import Client, GateLearnError
from gatelearn.client._nesting import MAX_STRUCT_DEPTH as CLIENT_LIMIT
from gatelearn.server.edge.nesting import MAX_STRUCT_DEPTH
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

LIMIT_TEXT = f"nest at most {MAX_STRUCT_DEPTH} levels deep (limit max_struct_depth)"


def nested(levels: int) -> Any:
    """A parameter value nesting `levels` Structs, with the params Struct around it making
    levels + 1."""
    value: Any = 1.0
    for _ in range(levels):
        value = {"a": value}
    return value


def train(params_field: str, value: Any) -> pb.TrainRequest:
    """An xor TrainRequest with `value` under `params_field` (e.g. optimizer.params.lr)."""
    request = pb.TrainRequest(
        model_name="deep", task=pb.ComponentRef(name="xor"), options=pb.TrainOptions(epochs=1)
    )
    component, _, key = params_field.split(".")
    ref = getattr(request, component)
    ref.name = ref.name or {"optimizer": "adam", "task": "region"}[component]
    ref.params.update({key: value})
    return request


def describe(value: Any) -> pb.DescribeTaskRequest:
    request = pb.DescribeTaskRequest(task=pb.ComponentRef(name="region"))
    request.task.params.update({"planes": value})
    return request


def import_model(value: Any) -> pb.ImportModelRequest:
    request = pb.ImportModelRequest(name="deep")  # built in place: a copy would parse it
    layer = request.model.layers.add(weights=pb.Tensor(shape=[2, 1], values=[1, 1]))
    layer.activation.name = "leaky_relu"
    layer.activation.params.update({"alpha": value})
    request.model.task.name = "and"
    return request


def refused(method: Callable[..., Any], request: Message) -> str:
    """Call `method`, which must answer INVALID_ARGUMENT; return the details."""
    with pytest.raises(grpc.RpcError) as raised:
        answer = method(request, timeout=10)
        if not isinstance(answer, Message):  # a stream: its status comes at the end
            list(answer)
    code, details = raised.value.code(), raised.value.details() or ""
    assert code == grpc.StatusCode.INVALID_ARGUMENT, f"{code.name}: {details}"
    return details


@pytest.fixture
def stub(address: str) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(address) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


CASES: dict[str, tuple[str, Callable[[Any], Any], str]] = {
    "train-task": ("Train", lambda v: train("task.params.planes", v), "task.params.planes"),
    "train-optimizer": ("Train", lambda v: train("optimizer.params.lr", v), "optimizer.params.lr"),
    "describe-task": ("DescribeTask", describe, "task.params.planes"),
    "import-activation": ("ImportModel", import_model, "model.layers[0].activation.params.alpha"),
}


@pytest.mark.parametrize("levels", [48, MAX_STRUCT_DEPTH], ids=["past-the-parser", "limit+1"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_too_deep_params_are_invalid_argument_naming_them(
    stub: gatelearn_pb2_grpc.GateLearnStub, client: Client, case: str, levels: int
) -> None:
    """49 Struct levels the parser cannot read (INTERNAL before), and one level over the limit,
    which it could: both refused the same way, nothing stored."""
    rpc, build, field = CASES[case]
    details = refused(getattr(stub, rpc), build(nested(levels)))
    assert details == f"{field}: Struct and list values {LIMIT_TEXT}"
    assert client.models() == []


@pytest.mark.parametrize("case", sorted(CASES))
def test_params_at_the_depth_limit_get_past_decoding(
    stub: gatelearn_pb2_grpc.GateLearnStub, case: str
) -> None:
    """At the limit the request is read and checked as usual (these values are wrong for
    their parameters, so INVALID_ARGUMENT names the parameter's type instead)."""
    rpc, build, field = CASES[case]
    details = refused(getattr(stub, rpc), build(nested(MAX_STRUCT_DEPTH - 1)))
    assert "max_struct_depth" not in details and "decoded" not in details, details


def test_lists_count_as_levels(stub: gatelearn_pb2_grpc.GateLearnStub) -> None:
    value = [[nested(MAX_STRUCT_DEPTH - 2)]]  # params + 2 lists + limit-2 Structs = limit + 1
    details = refused(stub.DescribeTask, describe(value))
    assert details == f"task.params.planes: Struct and list values {LIMIT_TEXT}"


@pytest.mark.parametrize("call", ["train", "describe_task", "import_model"])
def test_client_refuses_too_deep_params_before_sending(call: str) -> None:
    """No server listens on the client's address: the refusal is the client's own."""
    deep = nested(48)
    with Client("127.0.0.1:1", timeout=5) as client, pytest.raises(GateLearnError) as raised:
        if call == "train":
            client.train("deep", "xor", optimizer=("adam", {"lr": deep}))
        elif call == "describe_task":
            client.describe_task("region", {"planes": deep})
        else:
            client.import_model(
                "deep",
                {
                    "layers": [
                        {
                            "weights": {"shape": [2, 1], "values": [1, 1]},
                            "activation": {"name": "leaky_relu", "params": {"alpha": deep}},
                        }
                    ],
                    "task": {"name": "and"},
                },
            )
    field = {
        "train": "optimizer.params.lr",
        "describe_task": "task.params.planes",
        "import_model": "model.layers[0].activation.params.alpha",
    }[call]
    assert raised.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert raised.value.details == f"{field}: Struct and list values {LIMIT_TEXT}"


def test_client_and_server_hold_the_same_limit() -> None:
    assert CLIENT_LIMIT == MAX_STRUCT_DEPTH
