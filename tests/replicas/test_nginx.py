"""Replicas behind nginx (deploy/nginx.conf): unary calls, the Train stream and PredictStream
pass through it, spread over both replicas, a replica going away moves calls to the other, and
a request that stops arriving is ended, freeing the replica's thread."""

from __future__ import annotations

import queue
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from conftest import poll, start_server
from nginx_support import Nginx, nginx_in_front

from gatelearn.client import Client, Progress, TrainOptions
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

XOR_ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]


@pytest.fixture
def replicas(tmp_path: Path, postgres_url: str) -> Iterator[list[RunningServer]]:
    """Two servers on one PostgreSQL database."""
    running = [start_server(tmp_path / f"unused{i}", store=postgres_url) for i in range(2)]
    yield running
    for server in running:
        server.stop(0)


@pytest.fixture
def nginx(tmp_path: Path, replicas: list[RunningServer]) -> Iterator[Nginx]:
    with nginx_in_front(
        tmp_path / "nginx", [f"127.0.0.1:{server.port}" for server in replicas]
    ) as running:
        yield running


def test_calls_through_nginx_reach_both_replicas(
    nginx: Nginx, replicas: list[RunningServer]
) -> None:
    with Client(nginx.address) as client:
        events = list(
            client.train_events(
                client.train_request(
                    "xor",
                    "xor",
                    options=TrainOptions(
                        epochs=20000, stop_when_solved=False, progress_interval_ms=1
                    ),
                )
            )
        )
        assert any(isinstance(event, Progress) for event in events[:-1])  # streamed through
        trained = client.model("xor").summary.version
        for _ in range(10):  # unary calls, spread over the replicas
            assert client.predict("xor", XOR_ROWS).labels == [[0], [1], [1], [0]]
        rows = np.tile(np.array(XOR_ROWS, dtype=np.float64), (5000, 1))
        outputs, labels = client.predict_array("xor", rows, chunk_rows=4096)  # PredictStream
        assert labels.shape == (20000, 1)
        np.testing.assert_array_equal(labels[:4, 0], [0, 1, 1, 0])
    assert trained == 1
    answered = nginx.upstreams()
    assert {f"127.0.0.1:{server.port}" for server in replicas} <= set(answered), answered


def test_a_replica_going_away_moves_calls_to_the_other(
    nginx: Nginx, replicas: list[RunningServer]
) -> None:
    with Client(nginx.address) as client:
        client.train("xor", "xor", options=TrainOptions(epochs=3000))
        replicas[0].stop(0)
        for _ in range(10):  # none fails: a refused connection goes to the next replica
            assert client.predict("xor", XOR_ROWS).labels == [[0], [1], [1], [0]]
        assert [m.name for m in client.models()] == ["xor"]
    assert nginx.upstreams()[-1].endswith(f":{replicas[1].port}")


def test_a_request_that_stops_arriving_is_ended_and_frees_the_replica_thread(
    tmp_path: Path,
) -> None:
    """A PredictStream that sends one message and then nothing, through nginx with a 1 s
    client_body_timeout: nginx ends it within a few seconds, and the replica (one open stream
    allowed) takes a new stream."""
    replicas = [
        start_server(tmp_path / f"data{i}", limits=Limits(max_open_streams=1)) for i in range(2)
    ]
    addresses = [f"127.0.0.1:{server.port}" for server in replicas]
    for address in addresses:
        with Client(address) as client:
            client.train("m", "and")
    idle: queue.Queue[None] = queue.Queue()

    def one_request_then_idle() -> Iterator[pb.PredictRequest]:
        yield pb.PredictRequest(model="m", rows=[pb.Row(values=[1, 1])])
        idle.get()

    try:
        with (
            nginx_in_front(tmp_path / "nginx", addresses, body_timeout="1s") as front,
            grpc.insecure_channel(front.address) as channel,
        ):
            stream = gatelearn_pb2_grpc.GateLearnStub(channel).PredictStream(
                one_request_then_idle()
            )
            assert list(next(stream).labels[0].values) == [1.0]
            started = time.monotonic()
            with pytest.raises(grpc.RpcError):
                next(stream)  # no second answer: nginx ends the stream
            assert time.monotonic() - started < 5
        answered = front.upstreams()[-1]
        replica = next(a for a in addresses if a.endswith(answered.rsplit(":", 1)[1]))
        with grpc.insecure_channel(replica) as channel:
            stub = gatelearn_pb2_grpc.GateLearnStub(channel)
            request = pb.PredictRequest(model="m", rows=[pb.Row(values=[1, 1])])
            assert poll(lambda: _answered(stub, request), what="the replica's stream slot")
    finally:
        idle.put(None)
        for server in replicas:
            server.stop(0)


def _answered(stub: gatelearn_pb2_grpc.GateLearnStub, request: pb.PredictRequest) -> bool:
    """Whether a one-message PredictStream is answered (False while refused for a slot)."""
    try:
        next(stub.PredictStream(iter([request])))
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise
        return False
    return True


# Eight threads, each its own Client, calling Predict through the address for SECONDS.
HAMMER = """
import sys, threading, time
from gatelearn.client import Client
address, seconds = sys.argv[1], float(sys.argv[2])
end, counts = time.monotonic() + seconds, [0] * 8
def work(index):
    with Client(address, timeout=10) as client:
        while time.monotonic() < end:
            client.predict("m", [[0, 1]])
            counts[index] += 1
threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(sum(counts))
"""
HAMMER_SECONDS = 20.0


def test_clients_survive_nginx_closing_their_connections_under_load(
    tmp_path: Path, replicas: list[RunningServer]
) -> None:
    """nginx closes a client connection after keepalive_requests calls (1000 by default; 10
    here, to come sooner). With client-side health checking, grpcio 1.85 then crashed the
    client process with a segmentation fault, 2-6 s into each of three runs of this test; the
    process must instead go on answering every call."""
    with Client(f"127.0.0.1:{replicas[0].port}") as client:
        client.train("m", "xor", options=TrainOptions(epochs=300))
    addresses = [f"127.0.0.1:{server.port}" for server in replicas]
    with nginx_in_front(tmp_path / "nginx", addresses, calls_per_connection=10) as running:
        done = subprocess.run(
            [sys.executable, "-c", HAMMER, running.address, str(HAMMER_SECONDS)],
            capture_output=True,
            text=True,
            timeout=HAMMER_SECONDS + 60,
        )
        calls = len(running.upstreams())
    assert done.returncode == 0, (
        f"the client process ended {done.returncode}: {done.stderr[-2000:]}"
    )
    assert int(done.stdout) >= 1000 and calls >= int(done.stdout)  # so nginx closed many
