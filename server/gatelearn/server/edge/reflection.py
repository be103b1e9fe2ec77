"""Server reflection in both versions that tools ask for: grpc.reflection.v1 and v1alpha.

grpcio-reflection serves only v1alpha. v1 is the same protocol under a new package name (same
messages, same field numbers), so one servicer answers both, speaking v1alpha's message classes.
v1's file, v1alpha's renamed, goes into the default descriptor pool, so that reflection can
describe v1 as well, and v1's errors name v1's message types.
"""

from __future__ import annotations

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from grpc_reflection.v1alpha import reflection, reflection_pb2

from gatelearn.server.edge.behaviours import Calls
from gatelearn.server.edge.decoding import add_decoding_servicer

__all__ = ["V1_SERVICE_NAME", "add_reflection"]

V1_FILE = "grpc/reflection/v1/reflection.proto"
V1_PACKAGE = "grpc.reflection.v1"
V1_SERVICE_NAME = f"{V1_PACKAGE}.ServerReflection"
_V1ALPHA = reflection_pb2.DESCRIPTOR


def _v1_service() -> ServiceDescriptor:
    """v1's ServerReflection, its reflection.proto added to the default pool unless something
    already did."""
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(V1_FILE)
    except KeyError:
        _add_v1_file(pool)
    return pool.FindServiceByName(V1_SERVICE_NAME)


def _add_v1_file(pool: descriptor_pool.DescriptorPool) -> None:
    """Add v1's reflection.proto, v1alpha's renamed, to `pool`."""
    proto = descriptor_pb2.FileDescriptorProto()
    _V1ALPHA.CopyToProto(proto)
    proto.name, proto.package = V1_FILE, V1_PACKAGE
    proto.options.Clear()  # v1alpha's say deprecated and name v1alpha's language packages
    old, new = f".{_V1ALPHA.package}.", f".{V1_PACKAGE}."
    for field in (field for message in proto.message_type for field in message.field):
        if field.type_name:
            field.type_name = field.type_name.replace(old, new)
    for method in proto.service[0].method:
        method.input_type = method.input_type.replace(old, new)
        method.output_type = method.output_type.replace(old, new)
    pool.AddSerializedFile(proto.SerializeToString())


def add_reflection(server: grpc.aio.Server, service_names: tuple[str, ...], calls: Calls) -> None:
    """Serve reflection, v1 and v1alpha, listing `service_names` and both reflection services
    (run as `calls` says)."""
    v1 = _v1_service()
    servicer = reflection.ReflectionServicer(
        (*service_names, reflection.SERVICE_NAME, v1.full_name)
    )
    service = _V1ALPHA.services_by_name["ServerReflection"]
    add_decoding_servicer(servicer, server, service, calls)
    add_decoding_servicer(servicer, server, service, calls, served_as=v1)
