"""Registering a servicer so that request bytes are decoded in our code, not grpcio's.

grpcio answers INTERNAL and logs a traceback when a request deserializer raises. Here every
method of the service is registered with raw-bytes requests, built from the service descriptor,
and each request is parsed before the servicer sees it: bytes that do not decode are answered
INVALID_ARGUMENT naming the message type, with one rate-limited log line; Struct values nested
too deeply for the parser are refused first, naming the field (see nesting.py). A servicer may
answer with bytes it encoded itself, sent as they are.

The server is grpc.aio's; the servicers are synchronous. Only quick reads (see priority.py) are
answered on the event loop itself, in real time; every other call, a large request and every
stream runs its synchronous code in a pool thread, in the ordinary scheduling class
(bridges.py), and sees the call through a SyncContext.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, aclosing, nullcontext
from typing import Any, NoReturn

import grpc
from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass

from gatelearn.server.edge.bridges import in_thread, thread_answers, thread_requests
from gatelearn.server.edge.nesting import MAX_STRUCT_DEPTH, too_deep
from gatelearn.server.edge.open_streams import OpenStreams
from gatelearn.server.edge.sync_context import Aborted, SyncContext
from gatelearn.server.priority import LARGE_REQUEST_BYTES, REALTIME_CALLS, as_bulk

__all__ = ["Calls", "add_decoding_servicer"]

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
    method: MethodDescriptor, rate_limited: _RateLimitedLog
) -> Callable[[bytes, str], Any]:
    """A function parsing one request message of `method`, or raising Aborted when it cannot."""
    message_class: type[Message] = GetMessageClass(method.input_type)
    type_name = method.input_type.full_name

    def decode(data: bytes, field: str) -> Message:
        if (path := too_deep(data, method.input_type)) is not None:
            where = path if field == "request" else f"{field}.{path}"
            raise Aborted(
                grpc.StatusCode.INVALID_ARGUMENT,
                f"{where}: Struct and list values nest at most {MAX_STRUCT_DEPTH} "
                f"levels deep (limit max_struct_depth)",
            )
        try:
            return message_class.FromString(data)
        except DecodeError:
            rate_limited.undecodable(method.name)
            raise Aborted(
                grpc.StatusCode.INVALID_ARGUMENT, f"{field}: could not be decoded as {type_name}"
            ) from None

    return decode


async def _refuse(aborted: Aborted, context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
    """End the call as the synchronous code asked."""
    await context.abort(aborted.code, aborted.details)
    raise aborted  # not reached: abort raises


class Calls:
    """How one server runs its calls: the pool for synchronous work, the open-streams bound,
    and whether quick calls are answered on the event loop itself (False when they may wait on
    a remote store: they then run in a pool thread, in real time)."""

    def __init__(self, pool: Executor, open_streams: OpenStreams, quick_on_loop: bool) -> None:
        self.pool = pool
        self.open_streams = open_streams
        self.quick_on_loop = quick_on_loop


def _behaviour(
    method: MethodDescriptor,
    implementation: Callable[..., Any],
    rate_limited: _RateLimitedLog,
    calls: Calls,
) -> Callable[..., Any]:
    """`implementation` as a grpc.aio behaviour taking raw bytes: one request, or a stream of
    them (holding one of the open streams while it lasts)."""
    decode = _decoder(method, rate_limited)
    if inspect.isasyncgenfunction(implementation):
        return _on_loop(implementation, decode)
    if method.server_streaming:
        return _stream(implementation, decode, calls, method.client_streaming)
    return _unary(implementation, decode, calls, method.name in REALTIME_CALLS)


def _unary(
    implementation: Callable[..., Any],
    decode: Callable[[bytes, str], Any],
    calls: Calls,
    quick: bool,
) -> Callable[..., Any]:
    """A unary call: a quick one answered in real time, on the loop (tens of microseconds), any
    other in a pool thread as bulk work."""

    async def unary(data: bytes, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        call_context = SyncContext()

        def call() -> Any:
            return implementation(decode(data, "request"), call_context)

        try:
            if quick and len(data) <= LARGE_REQUEST_BYTES:
                return call() if calls.quick_on_loop else await in_thread(calls.pool, call)
            return await in_thread(calls.pool, lambda: as_bulk(call, False))
        except Aborted as aborted:
            await _refuse(aborted, context)
        finally:
            call_context.end()

    return unary


def _stream(
    implementation: Callable[..., Any],
    decode: Callable[[bytes, str], Any],
    calls: Calls,
    requests_stream: bool,
) -> Callable[..., Any]:
    """A stream of answers made by the synchronous generator in a pool thread: to one request
    (Train, Search), or to a stream of requests that the thread reads as the loop receives them
    (PredictStream, reflection), holding one of the open streams."""

    async def streamed(
        given: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        call_context = SyncContext()
        held: AbstractContextManager[None] = nullcontext()
        if requests_stream:
            chunks = thread_requests(given, asyncio.get_running_loop(), call_context)
            held = calls.open_streams.held()

        def requested() -> Any:
            if requests_stream:
                return (decode(chunk, f"requests[{index}]") for index, chunk in enumerate(chunks))
            return decode(given, "request")

        def answered() -> Iterator[Any]:
            return as_bulk(lambda: implementation(requested(), call_context), True)

        try:
            with held:
                async with aclosing(thread_answers(calls.pool, answered)) as stream:
                    async for answer in stream:
                        yield answer
        except Aborted as aborted:
            await _refuse(aborted, context)
        finally:
            call_context.end()  # a training sees is_active() False and stops

    return streamed


def _on_loop(
    implementation: Callable[..., AsyncGenerator[Any, None]], decode: Callable[[bytes, str], Any]
) -> Callable[..., Any]:
    """A stream answered on the loop itself (the health Watch every client connection keeps
    open): it holds no thread while it waits."""

    async def watched(
        data: bytes, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        try:
            request = decode(data, "request")
        except Aborted as aborted:
            await _refuse(aborted, context)
        async with aclosing(implementation(request, context)) as stream:
            async for answer in stream:
                yield answer

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
    server: grpc.aio.Server,
    service: ServiceDescriptor,
    calls: Calls,
    full_name: str | None = None,
) -> None:
    """Serve every method of `service` from the like-named method of `servicer`, run as
    `calls` says; under `full_name` instead of the service's own name when given (same
    messages, new package)."""
    name = full_name or service.full_name
    rate_limited = _RateLimitedLog()
    handlers = {}
    for method in service.methods:
        make = _HANDLERS[(method.client_streaming, method.server_streaming)]
        handlers[method.name] = make(
            _behaviour(method, getattr(servicer, method.name), rate_limited, calls),
            request_deserializer=None,
            response_serializer=_serializer(method),
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(name, handlers),))
    server.add_registered_method_handlers(name, handlers)
