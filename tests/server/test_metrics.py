"""Prometheus metrics and JSON-lines logs, read as an operator reads them: /metrics over HTTP
from a real server, and the stderr of `gatelearn serve --log-format json`."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server
from prometheus_client.parser import text_string_to_metric_families
from server_test_support import LONG_RUN, expect_error

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server.app import RunningServer
from gatelearn.server.observe.endpoint import SCRAPE_CONNECTIONS, SCRAPE_TIMEOUT
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

CLI = [sys.executable, "-m", "gatelearn.client.cli"]
SERVICE = "gatelearn.v1.GateLearn/"
XOR_ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(running: RunningServer) -> Samples:
    """Every sample the server's /metrics shows, keyed by (name, labels)."""
    assert running.metrics is not None
    url = f"http://127.0.0.1:{running.metrics.port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        text = response.read().decode()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def scrape_when(running: RunningServer, name: str, **labels: str) -> Samples:
    """Scrape until `name{labels}` is counted: a call's figures are recorded as it ends, which
    may be just after its client saw the status."""

    def counted() -> Samples | None:
        samples = scrape(running)
        return samples if value(samples, name, **labels) else None

    return poll(counted, what=f"{name}{labels} counted")


def rpc_counts(samples: Samples) -> dict[tuple[str, str], float]:
    """gatelearn_rpc_total as {(method, code): count}, without the health service's calls
    (the client watches it on its own, for its round robin)."""
    return {
        (dict(labels)["method"], dict(labels)["code"]): count
        for (name, labels), count in samples.items()
        if name == "gatelearn_rpc_total" and not dict(labels)["method"].startswith("grpc.health.")
    }


@pytest.fixture
def observed(tmp_path: Path) -> Iterator[RunningServer]:
    """A server with metrics on a free loopback port."""
    running = start_server(tmp_path / "data", metrics_address="127.0.0.1:0")
    yield running
    running.stop(0)


@pytest.fixture
def observed_client(observed: RunningServer) -> Iterator[Client]:
    with Client(f"127.0.0.1:{observed.port}") as connected:
        yield connected


def test_rpc_counts_by_method_and_code_are_exactly_the_calls_made(
    observed: RunningServer, observed_client: Client
) -> None:
    client = observed_client
    client.tasks()
    client.tasks()
    expect_error(grpc.StatusCode.INVALID_ARGUMENT, client.describe_task, "")
    expect_error(grpc.StatusCode.NOT_FOUND, client.predict, "missing", [[0, 1]])
    client.train("x", "xor")
    for _ in range(3):
        client.predict("x", XOR_ROWS)

    samples = scrape(observed)
    assert rpc_counts(samples) == {
        (f"{SERVICE}ListTasks", "OK"): 2,
        (f"{SERVICE}DescribeTask", "INVALID_ARGUMENT"): 1,
        (f"{SERVICE}Predict", "NOT_FOUND"): 1,
        (f"{SERVICE}Train", "OK"): 1,
        (f"{SERVICE}Predict", "OK"): 3,
    }
    assert value(samples, "gatelearn_rpc_seconds_count", method=f"{SERVICE}Predict") == 4
    assert (
        value(samples, "gatelearn_rpc_seconds_bucket", method=f"{SERVICE}Predict", le="+Inf") == 4
    )
    assert value(samples, "gatelearn_trainings_total", outcome="saved") == 1
    assert value(samples, "gatelearn_trainings_running") == 0
    assert value(samples, "gatelearn_store_seconds_count", operation="save_packed") == 1


def test_calls_the_token_refuses_and_those_it_lets_through_are_each_counted_as_answered(
    tmp_path: Path,
) -> None:
    """The observer wraps each method's handler once and keeps it, the token check's refusal
    being a handler of its own: calls alternating between the two must still each be
    counted under their own code, for unary and streaming methods alike."""
    running = start_server(tmp_path / "data", metrics_address="127.0.0.1:0", auth_token="s3")
    address = f"127.0.0.1:{running.port}"
    try:
        with Client(address, token="s3") as allowed, Client(address, token="no") as refused:
            allowed.train("x", "xor")
            for _ in range(3):
                allowed.predict("x", XOR_ROWS)
                expect_error(grpc.StatusCode.UNAUTHENTICATED, refused.predict, "x", XOR_ROWS)
                expect_error(grpc.StatusCode.UNAUTHENTICATED, refused.train, "y", "xor")
            expect_error(grpc.StatusCode.NOT_FOUND, allowed.predict, "missing", XOR_ROWS)
        last = {"method": f"{SERVICE}Predict", "code": "NOT_FOUND"}  # the last call made
        assert rpc_counts(scrape_when(running, "gatelearn_rpc_total", **last)) == {
            (f"{SERVICE}Train", "OK"): 1,
            (f"{SERVICE}Train", "UNAUTHENTICATED"): 3,
            (f"{SERVICE}Predict", "OK"): 3,
            (f"{SERVICE}Predict", "UNAUTHENTICATED"): 3,
            (f"{SERVICE}Predict", "NOT_FOUND"): 1,
        }
    finally:
        running.stop(0)


def test_cache_hits_misses_and_bytes_follow_predicts_and_deletes(
    observed: RunningServer, observed_client: Client
) -> None:
    client = observed_client
    client.train("x", "xor")
    before = scrape(observed)
    assert value(before, "gatelearn_model_cache_models") == 0
    client.predict("x", XOR_ROWS)  # loaded from the store
    client.predict("x", XOR_ROWS)  # then served from memory
    client.predict("x", XOR_ROWS, version=1)
    loaded = scrape(observed)
    assert value(loaded, "gatelearn_model_cache_misses_total") == 1
    assert value(loaded, "gatelearn_model_cache_hits_total") == 2
    assert value(loaded, "gatelearn_model_cache_models") == 1
    assert value(loaded, "gatelearn_model_cache_bytes") > 0
    assert value(loaded, "gatelearn_store_seconds_count", operation="load") == 1

    client.delete("x")
    # The cache drops what the store's change log says changed, on its next use.
    with pytest.raises(GateLearnError):
        client.predict("x", XOR_ROWS)
    emptied = scrape(observed)
    assert value(emptied, "gatelearn_model_cache_models") == 0
    assert value(emptied, "gatelearn_model_cache_bytes") == 0


def busy_worker_pid(running: RunningServer) -> int | None:
    """The pid of the worker running a training (white-box: the pool exposes no pids)."""
    with running.pool._lock:
        return next((worker.process.pid for worker in running.pool._busy), None)


def test_training_outcomes_and_worker_restarts_are_counted(
    observed: RunningServer, observed_client: Client
) -> None:
    long_run = TrainOptions(**LONG_RUN)
    # Cancelled by the client after its first progress event.
    events = observed_client.train_events(
        observed_client.train_request("long", "xor", options=long_run)
    )
    next(events)
    assert value(scrape(observed), "gatelearn_trainings_running") == 1
    events.close()
    scrape_when(observed, "gatelearn_trainings_total", outcome="cancelled")
    # A call ends, and is counted, once its thread has stopped the job and handed the worker
    # back: the next busy worker is the next training's.
    assert observed.pool.busy == 0

    # Its worker killed mid-run: the training fails and the worker is replaced.
    events = observed_client.train_events(
        observed_client.train_request("killed", "xor", options=long_run)
    )
    next(events)
    os.kill(poll(lambda: busy_worker_pid(observed), what="a busy worker"), signal.SIGKILL)
    with pytest.raises(GateLearnError) as failure:
        list(events)
    assert failure.value.code == grpc.StatusCode.FAILED_PRECONDITION

    samples = scrape_when(observed, "gatelearn_trainings_total", outcome="failed")
    assert value(samples, "gatelearn_worker_restarts_total") == 1
    assert value(samples, "gatelearn_trainings_total", outcome="cancelled") == 1
    assert value(samples, "gatelearn_trainings_total", outcome="saved") == 0
    assert value(samples, "gatelearn_trainings_running") == 0
    assert rpc_counts(samples) == {
        (f"{SERVICE}Train", "CANCELLED"): 1,
        (f"{SERVICE}Train", "FAILED_PRECONDITION"): 1,
    }


def test_a_training_saved_counts_as_saved_when_its_client_cancels_after_the_answer(
    observed: RunningServer,
) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{observed.port}") as channel:
        call = gatelearn_pb2_grpc.GateLearnStub(channel).Train(
            pb.TrainRequest(model_name="x", task=pb.ComponentRef(name="xor")), timeout=30
        )
        for event in call:
            if event.HasField("done"):
                call.cancel()  # as a client that stops reading once it has the version
                break
    samples = scrape_when(observed, "gatelearn_trainings_total", outcome="saved")
    assert value(samples, "gatelearn_trainings_total", outcome="cancelled") == 0
    assert sum(rpc_counts(samples).values()) == 1


def test_two_servers_keep_their_own_counts_and_stop_their_endpoints(tmp_path: Path) -> None:
    first = start_server(tmp_path / "a", metrics_address="127.0.0.1:0")
    second = start_server(tmp_path / "b", metrics_address="127.0.0.1:0")
    try:
        with Client(f"127.0.0.1:{first.port}") as client:
            client.tasks()
        assert rpc_counts(scrape(first)) == {(f"{SERVICE}ListTasks", "OK"): 1}
        assert rpc_counts(scrape(second)) == {}
    finally:
        second.stop(0)
    first.stop(0)
    with pytest.raises(urllib.error.URLError):
        scrape(first)


def _closed_by_the_server(connection: socket.socket) -> bool:
    """Whether the server has closed `connection` (its end reads as ended), without waiting."""
    try:
        return connection.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def test_idle_connections_to_the_endpoint_hold_few_threads_and_are_dropped(
    observed: RunningServer, capfd: pytest.CaptureFixture[str]
) -> None:
    assert observed.metrics is not None
    idle = [
        socket.create_connection(("127.0.0.1", observed.metrics.port))
        for _ in range(10 * SCRAPE_CONNECTIONS)
    ]
    try:
        # Beyond the bound, connections are closed unanswered; the rest hold a thread each.
        poll(
            lambda: sum(map(_closed_by_the_server, idle)) >= len(idle) - SCRAPE_CONNECTIONS,
            what="the connections beyond the bound closed",
        )
        # socketserver names each connection's thread after its target.
        serving = [t for t in threading.enumerate() if "process_request_thread" in t.name]
        assert len(serving) <= SCRAPE_CONNECTIONS
        # Those that never send a request are dropped after the time limit, and scrapes
        # are answered again.
        poll(
            lambda: all(map(_closed_by_the_server, idle)),
            timeout=SCRAPE_TIMEOUT + 10,
            what="the idle connections dropped",
        )
        assert value(scrape(observed), "gatelearn_trainings_running") == 0
    finally:
        for connection in idle:
            connection.close()
    assert capfd.readouterr().err == ""  # a dropped connection is not the server's to report


def test_a_connection_sending_slowly_is_dropped_all_the_same(observed: RunningServer) -> None:
    """The time limit is the connection's, not each read's: a byte sent every 0.2 s held a
    connection (and its thread) for as long as the bytes came."""
    assert observed.metrics is not None
    with socket.create_connection(("127.0.0.1", observed.metrics.port)) as dripping:
        started = time.monotonic()
        while not _closed_by_the_server(dripping):
            assert time.monotonic() - started < SCRAPE_TIMEOUT + 10, "still open"
            with contextlib.suppress(OSError):  # the server may close it between two checks
                dripping.send(b"G")
            time.sleep(0.2)


@pytest.mark.parametrize("address", ["127.0.0.1:http", "70000", "127.0.0.1:"])
def test_a_bad_metrics_address_stops_start_up(tmp_path: Path, address: str) -> None:
    with pytest.raises(ValueError, match="--metrics-address"):
        start_server(tmp_path / "data", metrics_address=address)


def test_serve_without_the_extra_names_it(tmp_path: Path) -> None:
    hidden = (
        "import sys; sys.modules['prometheus_client'] = None; "
        "from gatelearn.client.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            hidden,
            "serve",
            "--address",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path / "data"),
            "--metrics-address",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "gatelearn[metrics]" in result.stderr


def first_line(process: subprocess.Popen[str], timeout: float = 30.0) -> str:
    """The first line the process prints on stdout, or fail after `timeout` seconds."""
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output within {timeout} s"
    return process.stdout.readline()


def test_json_logs_are_one_object_a_line_with_the_request_id(tmp_path: Path) -> None:
    serving = subprocess.Popen(
        [
            *CLI,
            "serve",
            "--address",
            "127.0.0.1:0",
            "--data-dir",
            str(tmp_path / "data"),
            "--log-format",
            "json",
            "--log-level",
            "DEBUG",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = first_line(serving)
        assert banner.startswith("gatelearn serving on 127.0.0.1:"), banner
        port = banner.split(",")[0].rsplit(":", 1)[1]
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = gatelearn_pb2_grpc.GateLearnStub(channel)
            stub.ListTasks(
                pb.ListTasksRequest(), metadata=(("x-request-id", "req-42"),), timeout=10
            )
            with pytest.raises(grpc.RpcError):
                stub.Predict(
                    pb.PredictRequest(model="missing"),
                    metadata=(("x-request-id", "req-43"),),
                    timeout=10,
                )
        serving.send_signal(signal.SIGTERM)
        _, err = serving.communicate(timeout=15)
    finally:
        serving.kill()
        serving.wait()
    assert serving.returncode == 0, err
    lines = [json.loads(line) for line in err.splitlines()]
    assert lines and all({"timestamp", "level", "logger", "message"} <= set(line) for line in lines)
    calls = {line["request_id"]: line["message"] for line in lines if "request_id" in line}
    assert calls == {"req-42": calls["req-42"], "req-43": calls["req-43"]}
    assert calls["req-42"].startswith(f"{SERVICE}ListTasks OK ")
    assert calls["req-43"].startswith(f"{SERVICE}Predict NOT_FOUND ")
    assert any(line["message"] == "shutting down" and line["level"] == "INFO" for line in lines)
