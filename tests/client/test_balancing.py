"""The client over several real replicas: round robin, skipping a replica that is down, and
retrying a call until a server that was not up yet answers.

The replicas are told apart without touching the server: replica A loads the fixture plugin
that adds the `buffer` task, replica B does not, so every ListTasks answer names its replica.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server

from gatelearn.client import Client, GateLearnError
from gatelearn.client._channel import target
from gatelearn.client.cli import main
from gatelearn.server import ServerConfig, create_server
from gatelearn.server.app import RunningServer

PLUGINS_DIR = Path(__file__).parents[1] / "plugins"
CALLS = 20


@pytest.fixture
def replicas(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[RunningServer, RunningServer]]:
    """Replica A (with the `buffer` task) and replica B, each with a data directory of its own."""
    monkeypatch.syspath_prepend(str(PLUGINS_DIR))
    monkeypatch.setenv("PYTHONPATH", str(PLUGINS_DIR))  # for A's training workers
    first = start_server(tmp_path / "a", plugins=("buffer_gate_plugin",))
    second = start_server(tmp_path / "b")
    yield first, second
    for running in (first, second):
        running.stop(0)


def both(replicas: tuple[RunningServer, RunningServer]) -> str:
    return ",".join(f"127.0.0.1:{running.port}" for running in replicas)


def replica_answering(client: Client) -> str:
    """'A' or 'B': which replica answered one ListTasks."""
    return "A" if "buffer" in {task.name for task in client.tasks()} else "B"


def test_calls_go_round_robin_and_skip_a_stopped_replica(
    replicas: tuple[RunningServer, RunningServer],
) -> None:
    with Client(both(replicas), timeout=10) as client:
        # Round robin connects to both in the background; wait until both have answered once.
        seen: set[str] = set()
        poll(
            lambda: seen.add(replica_answering(client)) or len(seen) == 2,
            what="both replicas to answer",
        )
        answers = [replica_answering(client) for _ in range(CALLS)]
        assert answers.count("A") >= CALLS // 4 and answers.count("B") >= CALLS // 4, answers

        replicas[1].stop(0)  # B goes away between two calls
        answers = [replica_answering(client) for _ in range(CALLS)]
        assert answers == ["A"] * CALLS
        assert len(client.plugins()) > 0


def test_an_address_nobody_listens_on_gets_no_calls(tmp_path: Path) -> None:
    running = start_server(tmp_path / "data")
    with socket.socket() as reserved:  # bound, never listening: connections are refused
        reserved.bind(("127.0.0.1", 0))
        address = f"127.0.0.1:{reserved.getsockname()[1]},127.0.0.1:{running.port}"
        try:
            with Client(address, timeout=10) as client:
                assert all("xor" in {t.name for t in client.tasks()} for _ in range(CALLS))
        finally:
            running.stop(0)


def start_later(
    port_holder: socket.socket, data_dir: Path, delay: float
) -> Callable[[], RunningServer]:
    """After `delay` s, free the port `port_holder` reserves and serve on it; returns a
    function that waits for that server (and re-raises if starting it failed)."""
    started: list[RunningServer | BaseException] = []

    def start() -> None:
        port = port_holder.getsockname()[1]
        port_holder.close()
        try:
            started.append(
                create_server(ServerConfig(address=f"127.0.0.1:{port}", data_dir=data_dir))
            )
        except BaseException as error:  # handed to the test thread
            started.append(error)

    timer = threading.Timer(delay, start)
    timer.start()

    def wait() -> RunningServer:
        timer.join(timeout=30)
        (outcome,) = started
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    return wait


@pytest.fixture
def reserved_port() -> Iterator[socket.socket]:
    """A loopback port held (bound, not listening) until the test frees it."""
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    yield holder
    holder.close()


def test_a_call_is_retried_until_a_server_that_was_down_answers(
    reserved_port: socket.socket, tmp_path: Path
) -> None:
    address = f"127.0.0.1:{reserved_port.getsockname()[1]}"
    server = start_later(reserved_port, tmp_path / "data", delay=0.3)
    try:
        # A first retry within 1 s, the next ones doubling (up to 15 s of waits in all): the
        # server, up after about 0.3 s, is found by a later attempt.
        with Client(address, timeout=30, retry_backoff=1.0) as client:
            assert "xor" in {task.name for task in client.tasks()}
    finally:
        server().stop(0)


def test_without_retries_a_call_to_a_server_that_is_down_fails_unavailable(
    reserved_port: socket.socket,
) -> None:
    address = f"127.0.0.1:{reserved_port.getsockname()[1]}"
    with Client(address, timeout=10, retries=0) as client, pytest.raises(GateLearnError) as failure:
        client.tasks()
    assert failure.value.code == grpc.StatusCode.UNAVAILABLE


@pytest.mark.parametrize("retries", [-1, 5])
def test_retries_beyond_what_grpc_makes_are_refused(retries: int) -> None:
    with pytest.raises(ValueError, match="retries: .* between 0 and 4"):
        Client("127.0.0.1:1", retries=retries)


def test_cli_takes_several_addresses(
    replicas: tuple[RunningServer, RunningServer], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--address", both(replicas), "tasks", "--json"]) == 0
    assert '"xor"' in capsys.readouterr().out


def test_cli_refuses_host_names_in_a_list(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GATELEARN_ADDRESS", "localhost:5001,localhost:5002")
    assert main(["tasks"]) == 2
    error = capsys.readouterr().err
    assert "'localhost:5001'" in error and "dns:///NAME:PORT" in error, error


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("127.0.0.1:5001", "127.0.0.1:5001"),
        ("example.com:5001", "example.com:5001"),
        ("dns:///example.com:5001", "dns:///example.com:5001"),
        ("ipv4:10.0.0.1:1,10.0.0.2:2", "ipv4:10.0.0.1:1,10.0.0.2:2"),
        ("10.0.0.1:1, 10.0.0.2:2", "ipv4:10.0.0.1:1,10.0.0.2:2"),
        ("[::1]:1,[fe80::2]:2", "ipv6:[::1]:1,[fe80::2]:2"),
    ],
)
def test_addresses_become_grpc_targets(address: str, expected: str) -> None:
    assert target(address) == expected


@pytest.mark.parametrize(
    ("address", "problem"),
    [
        ("a.example:1,b.example:2", "not IP:PORT"),
        ("10.0.0.1:1,", "not IP:PORT"),
        ("10.0.0.1:x,10.0.0.2:2", "PORT a number"),
        ("::1:1,::1:2", "in brackets"),
        ("10.0.0.1:1,[::1]:2", "mixes IPv4 and IPv6"),
    ],
)
def test_address_lists_gRPC_cannot_take_are_refused(address: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        Client(address)
