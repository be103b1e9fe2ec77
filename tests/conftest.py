"""Fixtures shared by every test folder: the registry, and a real server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from gatelearn.client import Client
from gatelearn.plugins import Registry, load_registry
from gatelearn.server import ServerConfig, create_server
from gatelearn.server.app import RunningServer


@pytest.fixture(scope="session")
def registry() -> Registry:
    """The built-in (and installed) components."""
    return load_registry()


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
