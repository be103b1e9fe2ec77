"""How each call runs on grpc.aio's server: on the event loop, or in a pool thread.

The servicers are synchronous. Only quick reads (see priority.py) are answered on the event loop
itself, in real time; every other call, a large request and every stream runs its synchronous
code in a pool thread, in the ordinary scheduling class (bridges.py). The synchronous code sees
the call through a SyncContext; its Aborted becomes the call's status here, on the loop.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator
from concurrent.futures import Executor
from contextlib import AbstractContextManager, aclosing, nullcontext
from typing import Any, NoReturn

import grpc
from google.protobuf.descriptor import MethodDescriptor

from gatelearn.plugins import Registry
from gatelearn.server.edge.bridges import in_thread, thread_answers, thread_requests
from gatelearn.server.edge.open_streams import OpenStreams
from gatelearn.server.edge.plugin_faults import plugin_faults, plugin_faults_of
from gatelearn.server.edge.sync_context import Aborted, SyncContext
from gatelearn.server.priority import LARGE_REQUEST_BYTES, REALTIME_CALLS, as_bulk

__all__ = ["Calls", "behaviour"]


async def _refuse(aborted: Aborted, context: grpc.aio.ServicerContext[Any, Any]) -> NoReturn:
    """End the call as the synchronous code asked."""
    await context.abort(aborted.code, aborted.details)
    raise aborted  # not reached: abort raises


class Calls:
    """How one server runs its calls: the pool for synchronous work, the open-streams bound,
    whether quick calls are answered on the event loop itself (False when they may wait on
    a remote store: they then run in a pool thread, in real time), and the registry whose
    plugins a failing component is blamed on."""

    def __init__(
        self, pool: Executor, open_streams: OpenStreams, quick_on_loop: bool, registry: Registry
    ) -> None:
        self.pool = pool
        self.open_streams = open_streams
        self.quick_on_loop = quick_on_loop
        self.registry = registry


def behaviour(
    method: MethodDescriptor,
    implementation: Callable[..., Any],
    decode: Callable[[bytes, str], Any],
    calls: Calls,
) -> Callable[..., Any]:
    """`implementation` as a grpc.aio behaviour taking raw bytes, which `decode` parses (or
    raises Aborted): one request, or a stream of them (holding one of the open streams while it
    lasts)."""
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
            with plugin_faults(calls.registry):
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
            return as_bulk(
                lambda: plugin_faults_of(
                    lambda: implementation(requested(), call_context), calls.registry
                ),
                True,
            )

        try:
            with held:
                async with aclosing(
                    thread_answers(calls.pool, answered, call_context.end)
                ) as stream:
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
