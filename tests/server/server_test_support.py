"""Helpers shared by the server tests: calling RPCs and checking how they fail.

Not a test module; the test files in this folder import it by name (pytest puts this folder on
sys.path because it is not a package).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import grpc
from conftest import poll

from gatelearn.client import Client, GateLearnError
from gatelearn.v1 import gatelearn_pb2 as pb

T = TypeVar("T")

# No client input may produce these (see the error section of gatelearn.proto).
FORBIDDEN_CODES = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)


def call_error(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[grpc.StatusCode, str]:
    """Call `fn`, which must fail, and return its status code and details.

    Works for client methods (GateLearnError) and raw stub calls (grpc.RpcError); a raw
    server-streaming call is drained so that its status is seen.
    """
    try:
        result = fn(*args, **kwargs)
        if isinstance(result, grpc.Call):  # a server stream: its status comes at the end
            for _ in result:
                pass
    except GateLearnError as error:
        return error.code, error.details
    except grpc.RpcError as error:
        return error.code(), error.details() or ""
    raise AssertionError(f"expected the call to fail, it returned {result!r}")


def expect_error(code: grpc.StatusCode, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> str:
    """Assert that `fn(*args, **kwargs)` fails with `code` (never INTERNAL/UNKNOWN); return
    the details."""
    got, details = call_error(fn, *args, **kwargs)
    assert got not in FORBIDDEN_CODES, f"{got.name} for client input: {details}"
    assert got == code, f"expected {code.name}, got {got.name}: {details}"
    return details


def store_snapshot(client: Client) -> list[tuple[str, int, float, float]]:
    """Every stored version (name, version, loss, accuracy), for 'nothing changed' checks."""
    versions = []
    for latest in client.models():
        for summary in client.models(latest.name):
            versions.append(
                (summary.name, summary.version, summary.metrics.loss, summary.metrics.accuracy)
            )
    return versions


def train_when_slot_free(
    client: Client, name: str, task: str = "xor", timeout: float = 10.0, **settings: Any
) -> Any:
    """Train, retrying while the server answers RESOURCE_EXHAUSTED (a slot still held by a run
    that is being cancelled); fail if no slot frees within `timeout`."""

    def attempt() -> Any:
        try:
            return client.train(name, task, **settings)
        except GateLearnError as error:
            if error.code == grpc.StatusCode.RESOURCE_EXHAUSTED:
                return None
            raise

    return poll(attempt, timeout=timeout, what="a free training slot")


def rows_of(messages: Iterable[pb.Row]) -> list[list[float]]:
    return [list(row.values) for row in messages]


LONG_RUN = {"epochs": 1_000_000, "stop_when_solved": False, "progress_interval_ms": 10}
