"""Registering a servicer so that request bytes are decoded in our code, not grpcio's.

grpcio answers INTERNAL and logs a traceback when a request deserializer raises. Here every
method of the service is registered with raw-bytes requests, built from the service descriptor,
and each request is parsed before the servicer sees it: bytes that do not decode are answered
INVALID_ARGUMENT naming the message type, with one rate-limited log line; Struct values nested
too deeply for the parser, or objects with too many keys, are refused first, naming the field
(see nesting.py). A servicer may answer with bytes it encoded itself, sent as they are. How
each call then runs, on the event loop or in a pool thread, is behaviours.py's.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from gatelearn.server.edge.behaviours import Calls, behaviour
from gatelearn.server.edge.nesting import overgrown
from gatelearn.server.edge.sync_context import Aborted

__all__ = ["add_decoding_servicer"]

log = logging.getLogger("gatelearn.server")

LOG_EVERY = 10.0  # seconds between two log lines about undecodable requests

# (client streaming, server streaming) -> grpc's handler factory; no service of ours has a
# stream of requests with one answer.
_HANDLERS = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


class _RateLimitedLog:
    """At most one warning every LOG_EVERY seconds, counting the requests it stood for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._unlogged = 0

    def undecodable(self, method: str) -> None:
        with self._lock:
            self._unlogged += 1
            now = time.monotonic()
            if now < self._next_at:
                return
            count, self._unlogged, self._next_at = self._unlogged, 0, now + LOG_EVERY
        log.warning(
            "%d undecodable request(s) refused with INVALID_ARGUMENT (last: %s)", count, method
        )


def _decoder(
    method: MethodDescriptor, type_name: str, rate_limited: _RateLimitedLog
) -> Callable[[bytes, str], Any]:
    """A function parsing one request message of `method`, or raising Aborted naming its type
    as `type_name` when it cannot."""
    message_class: type[Message] = GetMessageClass(method.input_type)

    def decode(data: bytes, field: str) -> Message:
        if (found := overgrown(data, method.input_type)) is not None:
            where = found.field if field == "request" else f"{field}.{found.field}"
            raise Aborted(grpc.StatusCode.INVALID_ARGUMENT, f"{where}: {found.reason}")
        try:
            return message_class.FromString(data)
        except DecodeError:
            rate_limited.undecodable(method.name)
            raise Aborted(
                grpc.StatusCode.INVALID_ARGUMENT, f"{field}: could not be decoded as {type_name}"
            ) from None

    return decode


def _serializer(method: MethodDescriptor) -> Callable[[Message | bytes], bytes]:
    """Encodes `method`'s answers; an answer the servicer encoded itself (bytes, as Predict's
    rows are) goes out as it is."""
    serialize = GetMessageClass(method.output_type).SerializeToString

    def serialized(response: Message | bytes) -> bytes:
        return response if isinstance(response, bytes) else serialize(response)

    return serialized


def add_decoding_servicer(
    servicer: Any,
    server: grpc.aio.Server,
    service: ServiceDescriptor,
    calls: Calls,
    served_as: ServiceDescriptor | None = None,
) -> None:
    """Serve every method of `service` from the like-named method of `servicer`, run as
    `calls` says; as `served_as` instead when given, a copy of `service` under another
    package (same methods and fields), whose names the route and the errors then give."""
    served = served_as or service
    rate_limited = _RateLimitedLog()
    handlers = {}
    for method, named in zip(service.methods, served.methods, strict=True):
        make = _HANDLERS[(method.client_streaming, method.server_streaming)]
        decode = _decoder(method, named.input_type.full_name, rate_limited)
        handlers[method.name] = make(
            behaviour(method, getattr(servicer, method.name), decode, calls),
            request_deserializer=None,
            response_serializer=_serializer(method),
        )
    name = served.full_name
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)
