"""Registering a servicer so that request bytes are decoded in our code, not grpcio's.

grpcio answers INTERNAL and logs a traceback when a request deserializer raises. Here every
method of the service is registered with raw-bytes requests, built from the service descriptor,
and each request is parsed before the servicer sees it: bytes that do not decode are answered
INVALID_ARGUMENT naming the message type, with one rate-limited log line; Struct values nested
too deeply for the parser are refused first, naming the field (see nesting.py). A servicer may
answer with bytes it encoded itself, sent as they are. Only quick reads are answered in real
time; every other call, a large request and a stream of requests run in the ordinary
scheduling class (see priority.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from gatelearn.server.edge.nesting import MAX_STRUCT_DEPTH, too_deep
from gatelearn.server.edge.open_streams import OpenStreams
from gatelearn.server.priority import LARGE_REQUEST_BYTES, REALTIME_CALLS, as_bulk

__all__ = ["add_decoding_servicer"]

log = logging.getLogger("gatelearn.server")

LOG_EVERY = 10.0  # seconds between two log lines about undecodable requests

_HANDLERS = {  # (client streaming, server streaming) -> grpc's handler factory
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
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
    method: MethodDescriptor, rate_limited: _RateLimitedLog
) -> Callable[[bytes, str, grpc.ServicerContext], Any]:
    """A function parsing one request message of `method`, or ending the call when it cannot."""
    message_class: type[Message] = GetMessageClass(method.input_type)
    type_name = method.input_type.full_name

    def decode(data: bytes, field: str, context: grpc.ServicerContext) -> Message:
        if (path := too_deep(data, method.input_type)) is not None:
            where = path if field == "request" else f"{field}.{path}"
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{where}: Struct and list values nest at most {MAX_STRUCT_DEPTH} "
                f"levels deep (limit max_struct_depth)",
            )
        try:
            return message_class.FromString(data)
        except DecodeError:
            rate_limited.undecodable(method.name)
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"{field}: could not be decoded as {type_name}"
            )
            raise  # not reached: abort raises

    return decode


def _behaviour(
    method: MethodDescriptor,
    implementation: Callable[..., Any],
    rate_limited: _RateLimitedLog,
    open_streams: OpenStreams,
) -> Callable[..., Any]:
    """`implementation` taking raw bytes: one request, or a stream of them (holding one of
    `open_streams` while it lasts)."""
    decode = _decoder(method, rate_limited)
    streams = method.server_streaming
    quick = method.name in REALTIME_CALLS
    if getattr(implementation, "experimental_non_blocking", False):
        return _non_blocking(implementation, decode)
    if not method.client_streaming:

        def unary(data: bytes, context: grpc.ServicerContext) -> Any:
            def call() -> Any:
                return implementation(decode(data, "request", context), context)

            return call() if quick and len(data) <= LARGE_REQUEST_BYTES else as_bulk(call, streams)

        return unary

    def answer(data: Iterator[bytes], context: grpc.ServicerContext) -> Any:
        messages = (
            decode(chunk, f"requests[{index}]", context) for index, chunk in enumerate(data)
        )
        return as_bulk(lambda: implementation(messages, context), streams)  # however small each

    def streamed(data: Iterator[bytes], context: grpc.ServicerContext) -> Any:
        with open_streams.held(context):
            return answer(data, context)

    def streamed_answers(data: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[Any]:
        with open_streams.held(context):
            yield from answer(data, context)

    return streamed_answers if streams else streamed


def _non_blocking(
    implementation: Callable[..., Any], decode: Callable[[bytes, str, grpc.ServicerContext], Any]
) -> Callable[..., Any]:
    """A stream that answers through grpc's callback and returns at once (the health Watch
    every client connection keeps open), kept so: wrapped as a generator, each open Watch
    would hold one of the server's threads, and a few more connections than threads would
    leave none to answer calls."""

    def watched(
        data: bytes,
        context: grpc.ServicerContext,
        send_response_callback: Callable[[Any], None] | None = None,
    ) -> Any:
        return implementation(decode(data, "request", context), context, send_response_callback)

    watched.experimental_non_blocking = True  # type: ignore[attr-defined]
    watched.experimental_thread_pool = getattr(  # type: ignore[attr-defined]
        implementation, "experimental_thread_pool", None
    )
    return watched


def _serializer(method: MethodDescriptor) -> Callable[[Message | bytes], bytes]:
    """Encodes `method`'s answers; an answer the servicer encoded itself (bytes, as Predict's
    rows are) goes out as it is."""
    serialize = GetMessageClass(method.output_type).SerializeToString

    def serialized(response: Message | bytes) -> bytes:
        return response if isinstance(response, bytes) else serialize(response)

    return serialized


def add_decoding_servicer(
    servicer: Any,
    server: grpc.Server,
    service: ServiceDescriptor,
    open_streams: OpenStreams,
    full_name: str | None = None,
) -> None:
    """Serve every method of `service` from the like-named method of `servicer`, its request
    streams counted in `open_streams`; under `full_name` instead of the service's own name when
    given (same messages, new package)."""
    name = full_name or service.full_name
    rate_limited = _RateLimitedLog()
    handlers = {}
    for method in service.methods:
        make = _HANDLERS[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = make(
            _behaviour(method, getattr(servicer, method.name), rate_limited, open_streams),
            request_deserializer=None,
            response_serializer=_serializer(method),
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)
