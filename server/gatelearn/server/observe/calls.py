"""Watching every call from the outside: its final status code, its duration, its request id.

A grpc.aio server interceptor wraps each method's behaviour, so it sees how the call ended: a
normal return (OK, or the code set with `set_code`), `context.abort` (which raises, the code
already set), any other exception (UNKNOWN), or the call cancelled, by its client or by the
server stopping (CANCELLED). While the behaviour runs, the call's `x-request-id` metadata is in
`logs.request_id` and the call's record in `current_call`: context variables of the call's
task, which the threads doing its synchronous work see too (bridges.py).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from contextvars import ContextVar
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import grpc

from gatelearn.server.observe.logs import MAX_REQUEST_ID, request_id
from gatelearn.server.observe.metrics import ServerMetrics

__all__ = ["RpcObserver", "current_call"]

log = logging.getLogger("gatelearn.server.rpc")

REQUEST_ID_KEY = "x-request-id"
UNKNOWN_METHOD = "unknown"  # the label of calls to methods the server lacks: names are input

# The handler attribute holding each call shape's behaviour, and grpc's factory for it.
_SHAPES = (
    ("unary_unary", grpc.unary_unary_rpc_method_handler),
    ("unary_stream", grpc.unary_stream_rpc_method_handler),
    ("stream_unary", grpc.stream_unary_rpc_method_handler),
    ("stream_stream", grpc.stream_stream_rpc_method_handler),
)


@dataclass
class Call:
    """What is known about the call being answered on this thread."""

    method: str
    request_id: str
    started: float
    training: bool = False  # a training worker was taken for it
    saved: bool = False  # a model version was stored for it


current_call: ContextVar[Call | None] = ContextVar("gatelearn_call", default=None)


def _request_id(metadata: Sequence[tuple[str, str | bytes]] | None) -> str:
    """The call's first string `x-request-id`, cut to MAX_REQUEST_ID characters."""
    for key, value in metadata or ():
        if key == REQUEST_ID_KEY and isinstance(value, str):
            return value[:MAX_REQUEST_ID]
    return ""


class _Observing:
    """Make one call known while its behaviour runs, and record how it ended. A class rather
    than a generator-based context manager: it wraps every call, and this form costs less."""

    def __init__(
        self, observer: RpcObserver, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> None:
        self._observer = observer
        self._context = context
        self._call = Call(method, _request_id(context.invocation_metadata()), time.perf_counter())

    def __enter__(self) -> None:
        # Context variables of the call's own task: nothing to undo when it ends.
        current_call.set(self._call)
        request_id.set(self._call.request_id)

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if kind is None:
            code = self._context.code() or grpc.StatusCode.OK
        elif issubclass(kind, (asyncio.CancelledError, GeneratorExit)):  # the call went away
            code = grpc.StatusCode.CANCELLED
        else:  # context.abort set the code before raising
            code = self._context.code() or grpc.StatusCode.UNKNOWN
        self._observer.ended(self._call, code)


class RpcObserver(grpc.aio.ServerInterceptor):
    """Record each call's status and duration in `metrics` (when given), and make its request
    id known to the log lines written while it runs.

    Each method's handler is wrapped once and kept, so that each call costs a lookup here;
    the call's own work (its request id, its clock) runs in its behaviour."""

    def __init__(self, metrics: ServerMetrics | None) -> None:
        self._metrics = metrics
        # By method and handler (a method's own, or the token check's refusal): a few per method.
        self._wrapped: dict[tuple[str, grpc.RpcMethodHandler], grpc.RpcMethodHandler] = {}

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None:  # grpc answers UNIMPLEMENTED
            if self._metrics is not None:
                self._metrics.rpc_ended(UNKNOWN_METHOD, grpc.StatusCode.UNIMPLEMENTED, 0.0)
            return None
        key = (details.method, handler)
        wrapped = self._wrapped.get(key)
        if wrapped is None:
            wrapped = self._wrapped[key] = self._wrap(handler, details.method.lstrip("/"))
        return wrapped

    def _wrap(self, handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
        """`handler` with its behaviour observed as calls to `method`."""
        for attribute, factory in _SHAPES:
            behaviour = getattr(handler, attribute)
            if behaviour is None:
                continue
            wrap = self._streaming if inspect.isasyncgenfunction(behaviour) else self._unary
            return factory(
                wrap(behaviour, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler

    def ended(self, call: Call, code: grpc.StatusCode) -> None:
        """Record how `call` ended."""
        seconds = time.perf_counter() - call.started
        log.debug("%s %s %.1f ms", call.method, code.name, seconds * 1e3)
        if self._metrics is not None:
            self._metrics.rpc_ended(call.method, code, seconds)
            if call.training:
                self._metrics.training_ended(grpc.StatusCode.OK if call.saved else code)

    def _unary(self, behaviour: Callable[..., Any], method: str) -> Callable[..., Any]:
        """A behaviour that is a coroutine: a unary answer (or the token check's refusal)."""

        async def observed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            with _Observing(self, method, context):
                return await behaviour(request, context)

        return observed

    def _streaming(self, behaviour: Callable[..., Any], method: str) -> Callable[..., Any]:
        """A behaviour that is an async generator: a stream of answers."""

        async def observed(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            with _Observing(self, method, context):
                async with aclosing(behaviour(request, context)) as answers:
                    async for answer in answers:
                        yield answer

        return observed
