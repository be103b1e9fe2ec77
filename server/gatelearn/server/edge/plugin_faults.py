"""A plugin's component failing inside a call: answered FAILED_PRECONDITION naming the plugin.

Predict, Evaluate, ImportModel, Explain and DescribeTask run components' code in the server's
own threads. What it raises (RuntimeError, MemoryError, even KeyboardInterrupt or SystemExit)
is turned into the call's status in the thread that ran it: raised on the event loop, a
KeyboardInterrupt or SystemExit would stop the loop and with it every call, and any other error
would be answered UNKNOWN.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TypeVar

import grpc

from gatelearn.plugins import Registry
from gatelearn.server.culprits import culprit, failure
from gatelearn.server.edge.sync_context import Aborted

__all__ = ["plugin_faults", "plugin_faults_of"]

T = TypeVar("T")


class plugin_faults:  # lower case: it reads as a function, `with plugin_faults(registry):`
    """Raise Aborted (FAILED_PRECONDITION, naming the plugin) for an error a component's code
    raised, and for anything raised that is not an Exception; let the server's own errors
    through as they are."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None or isinstance(error, Aborted | GeneratorExit):  # a stream closed
            return
        if isinstance(error, Exception) and culprit(error, self._registry) is None:
            return  # the server's own error: the status table answers it
        # A component's error, or anything not an Exception (SystemExit, KeyboardInterrupt:
        # raised on the event loop, it would stop it) whoever raised it.
        raise Aborted(
            grpc.StatusCode.FAILED_PRECONDITION, failure(error, self._registry, "the call")
        ) from None


def plugin_faults_of(answers: Callable[[], Iterator[T]], registry: Registry) -> Iterator[T]:
    """The items of the stream of answers `answers()` makes, under `plugin_faults`."""
    with plugin_faults(registry):
        yield from answers()
