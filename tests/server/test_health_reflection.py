"""The standard health service and server reflection, so generic tools work without the proto."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import start_server
from google.protobuf import descriptor_pb2
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2

from gatelearn.server.edge.health import MAX_SERVICE_NAME

SERVICE = "gatelearn.v1.GateLearn"
HEALTH = "grpc.health.v1.Health"


@pytest.fixture
def channel(address: str) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(address) as opened:
        yield opened


@pytest.mark.parametrize("service", ["", SERVICE])
def test_health_is_serving(channel: grpc.Channel, service: str) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    response = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
    assert response.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(channel: grpc.Channel) -> None:
    stub = health_pb2_grpc.HealthStub(channel)
    with pytest.raises(grpc.RpcError) as raised:
        stub.Check(health_pb2.HealthCheckRequest(service="no.such.Service"), timeout=5)
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_watch_of_a_service_name_over_the_limit_is_refused(channel: grpc.Channel) -> None:
    # An open Watch kept its name: 50 naming 10 MB services held 480 MB, and need no token.
    stub = health_pb2_grpc.HealthStub(channel)
    refused = stub.Watch(health_pb2.HealthCheckRequest(service="s" * (MAX_SERVICE_NAME + 1)))
    with pytest.raises(grpc.RpcError) as raised:
        next(refused)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (
        raised.value.details()
        == f"service: at most {MAX_SERVICE_NAME} characters, got {MAX_SERVICE_NAME + 1}"
    )
    watching = stub.Watch(health_pb2.HealthCheckRequest(service="s" * MAX_SERVICE_NAME))
    assert next(watching).status == health_pb2.HealthCheckResponse.SERVICE_UNKNOWN
    watching.cancel()


def test_health_turns_not_serving_when_stop_begins(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data")
    stopper = None
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service=SERVICE), timeout=10
        )
        try:
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            stopper = threading.Thread(target=running.stop, args=(5,))
            stopper.start()
            assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        finally:
            watch.cancel()
            if stopper is None:
                running.stop(0)
            else:
                stopper.join(10)
    assert stopper is not None and not stopper.is_alive()


def test_health_sends_nothing_more_once_stop_began(tmp_path: Path) -> None:
    """After the graceful shutdown's NOT_SERVING, a status set later (the store answering
    again, say) reaches no watcher: statuses stay NOT_SERVING until the stream ends."""
    running = start_server(tmp_path / "data")
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
            watch = health_pb2_grpc.HealthStub(channel).Watch(
                health_pb2.HealthCheckRequest(service=SERVICE), timeout=10
            )
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            running.health.enter_graceful_shutdown()  # stop's first step
            assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
            running.health.set(SERVICE, health_pb2.HealthCheckResponse.SERVING)
            running.stop(0)
            later = []
            with pytest.raises(grpc.RpcError):
                later.extend(message.status for message in watch)
            assert later == []
    finally:
        running.stop(0)


REFLECTION = {
    "v1alpha": "grpc.reflection.v1alpha.ServerReflection",
    "v1": "grpc.reflection.v1.ServerReflection",
}


def _reflect(
    channel: grpc.Channel, version: str, **request: object
) -> reflection_pb2.ServerReflectionResponse:
    """Ask reflection `version` one question. v1's messages are v1alpha's under a new package
    name (same fields and numbers), so v1alpha's classes speak v1 on the wire too."""
    info = channel.stream_stream(
        f"/{REFLECTION[version]}/ServerReflectionInfo",
        request_serializer=reflection_pb2.ServerReflectionRequest.SerializeToString,
        response_deserializer=reflection_pb2.ServerReflectionResponse.FromString,
    )
    (response,) = list(info(iter([reflection_pb2.ServerReflectionRequest(**request)]), timeout=5))
    return response


def _files(
    response: reflection_pb2.ServerReflectionResponse,
) -> list[descriptor_pb2.FileDescriptorProto]:
    return [
        descriptor_pb2.FileDescriptorProto.FromString(raw)
        for raw in response.file_descriptor_response.file_descriptor_proto
    ]


@pytest.mark.parametrize("version", sorted(REFLECTION))
def test_reflection_lists_the_services(channel: grpc.Channel, version: str) -> None:
    response = _reflect(channel, version, list_services="")
    names = {service.name for service in response.list_services_response.service}
    assert {SERVICE, HEALTH, *REFLECTION.values()} <= names


@pytest.mark.parametrize("version", sorted(REFLECTION))
def test_reflection_describes_gatelearn(channel: grpc.Channel, version: str) -> None:
    response = _reflect(channel, version, file_containing_symbol=SERVICE)
    gatelearn = next(f for f in _files(response) if f.package == "gatelearn.v1")
    (service,) = [s for s in gatelearn.service if s.name == "GateLearn"]
    assert {m.name for m in service.method} == {
        "ListPlugins",
        "ListTasks",
        "DescribeTask",
        "Train",
        "Predict",
        "PredictStream",
        "Evaluate",
        "ListModels",
        "GetModel",
        "DeleteModel",
        "ExportModel",
        "ImportModel",
        "Explain",
        "SetAlias",
        "DeleteAlias",
        "Search",
    }
    train = next(m for m in service.method if m.name == "Train")
    assert train.server_streaming and not train.client_streaming


@pytest.mark.parametrize("version", sorted(REFLECTION))
def test_reflection_describes_both_reflection_services(channel: grpc.Channel, version: str) -> None:
    """`grpcurl describe` describes every listed service, so each must be found."""
    for name in REFLECTION.values():
        (file,) = _files(_reflect(channel, version, file_containing_symbol=name))
        assert f"{file.package}.{file.service[0].name}" == name
        (method,) = file.service[0].method
        assert method.input_type == f".{file.package}.ServerReflectionRequest"


@pytest.mark.parametrize(
    ("method", "message"),
    [
        ("/grpc.health.v1.Health/Check", "grpc.health.v1.HealthCheckRequest"),
        ("/grpc.health.v1.Health/Watch", "grpc.health.v1.HealthCheckRequest"),
        *(
            (f"/{name}/ServerReflectionInfo", f"{name.rpartition('.')[0]}.ServerReflectionRequest")
            for name in REFLECTION.values()
        ),
    ],
)
def test_undecodable_bytes_are_invalid_argument_naming_their_message(
    channel: grpc.Channel, method: str, message: str
) -> None:
    """grpcio's own handlers answered INTERNAL "Exception deserializing request!". The error
    names the method's own message type: v1 reflection's named v1alpha's."""
    if method.endswith("Info"):
        call = channel.stream_stream(method, request_serializer=None, response_deserializer=None)(
            iter([b"\xff\xff\xff"]), timeout=5
        )
    else:
        call = channel.unary_stream(method, request_serializer=None, response_deserializer=None)(
            b"\xff\xff\xff", timeout=5
        )
    with pytest.raises(grpc.RpcError) as raised:
        list(call)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
    assert (raised.value.details() or "").endswith(f": could not be decoded as {message}")
