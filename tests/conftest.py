"""Fixtures shared by every test folder: the registry, a real server on loopback, polling,
an importable model."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import fork_safety  # noqa: F401  (before gRPC loads)
import one_blas_thread  # noqa: F401  (before NumPy loads)
import pytest
from postgres_support import (  # noqa: F401  (fixtures)
    own_postgres_cluster,
    postgres_cluster,
    postgres_url,
)

from gatelearn.client import Client
from gatelearn.core import ProgressCallback, TrainResult, train
from gatelearn.plugins import Registry, load_registry
from gatelearn.plugins.recipe import Prepared
from gatelearn.server import ServerConfig, create_server
from gatelearn.server.app import RunningServer

T = TypeVar("T")

# A shell starts a background job with SIGINT ignored, and every process it starts inherits
# that: the CLI's Ctrl-C tests need it delivered, as it is from a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The built-in (and installed) components."""
    return load_registry()


def train_prepared(prepared: Prepared, on_progress: ProgressCallback | None = None) -> TrainResult:
    """Train a prepared recipe through the core's public `train`, as a training worker does."""
    return train(
        prepared.network,
        prepared.data,
        prepared.loss,
        prepared.optimizer,
        prepared.recipe.config,
        on_progress,
    )


def poll(
    predicate: Callable[[], T | None],
    timeout: float = 10.0,
    what: str = "condition",
    interval: float = 0.01,
) -> T:
    """Call `predicate` until it returns something truthy, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def linear_model(bias: float) -> dict[str, object]:
    """An importable one-layer XOR model; its output on (0, 0) is `bias`, telling versions apart."""
    return {
        "layers": [
            {
                "weights": {"shape": [2, 1], "values": [1, 1]},
                "bias": {"shape": [1], "values": [bias]},
                "activation": {"name": "linear"},
            }
        ],
        "task": {"name": "xor"},
        "low": 0,
        "high": 1,
    }


def wide_output_model(outputs: int) -> dict[str, object]:
    """An importable one-layer model of 2 inputs and `outputs` outputs."""
    return {
        "layers": [
            {
                "weights": {"shape": [2, outputs], "values": [0.5] * (2 * outputs)},
                "bias": {"shape": [outputs], "values": [0.0] * outputs},
                "activation": {"name": "sigmoid"},
            }
        ],
        "data": {
            "inputs": [{"values": [0, 0]}, {"values": [1, 1]}],
            "targets": [{"values": [0] * outputs}, {"values": [1] * outputs}],
        },
        "low": 0,
        "high": 1,
    }


def start_server(data_dir: Path, **settings: object) -> RunningServer:
    """A server on a free loopback port, storing into `data_dir`."""
    return create_server(ServerConfig(address="127.0.0.1:0", data_dir=data_dir, **settings))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RunningServer]:
    """A running server with an empty store of its own."""
    running = start_server(tmp_path / "data")
    yield running
    running.stop(0)


@pytest.fixture
def address(server: RunningServer) -> str:
    return f"127.0.0.1:{server.port}"


@pytest.fixture
def client(address: str) -> Iterator[Client]:
    """The real client, connected to `server`."""
    with Client(address) as connected:
        yield connected
