"""More client connections, and more open request streams, than the server has threads: other
calls are still answered.

A client balancing by health (a load balancer, another gRPC client with client-side health
checking) keeps a health Watch stream open on its connection. Served as a blocking generator,
each Watch held one of the server's threads for the connection's life, and with more connected
processes than threads calls waited for a thread until their deadline. Clients in one process
share a connection, so this takes processes.
A PredictStream holds a thread for as long as its client keeps it open: idle streams beyond
max_open_streams are refused, so they cannot take every thread either.
"""

from __future__ import annotations

import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc

from gatelearn.client import Client, TrainOptions
from gatelearn.server import Limits
from gatelearn.server.edge.nesting import MAX_LISTED
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

THREADS = 2  # the server's threads answering calls
STRESS_SECONDS = 4.0
OWN_CONNECTION = [("grpc.use_local_subchannel_pool", 1)]
PROCESSES = 5  # client processes connected at once, each with its own connection

# Opens a health Watch and reads its first answer, predicts once on the same connection, says
# so, waits for the word, predicts again.
CLIENT = """
import sys
import grpc
from gatelearn.client import Client
from grpc_health.v1 import health_pb2, health_pb2_grpc

channel = grpc.insecure_channel(sys.argv[1])
request = health_pb2.HealthCheckRequest(service="gatelearn.v1.GateLearn")
watch = health_pb2_grpc.HealthStub(channel).Watch(request)
next(watch)
client = Client(sys.argv[1], timeout=5)
print(client.predict("m", [[0, 1], [1, 1]]).labels, flush=True)
sys.stdin.readline()
print(client.predict("m", [[0, 1], [1, 1]]).labels, flush=True)
"""


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "calls-observed"])
def test_connections_beyond_the_server_threads_are_all_answered(
    tmp_path: Path, observed: bool
) -> None:
    running = start_server(
        tmp_path / "data",
        workers=THREADS,
        limits=Limits(max_open_streams=1, max_concurrent_trainings=1),
        log_calls=observed,
    )
    address = f"127.0.0.1:{running.port}"
    try:
        with Client(address) as client:
            assert client.train("m", "and").metrics.solved
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, address],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        try:
            # Every process answered once and keeps its connection (and its Watch) open ...
            first = [process.stdout.readline() for process in processes]  # type: ignore[union-attr]
            # ... then all call again at once.
            outputs = [process.communicate("go\n", timeout=30) for process in processes]
        finally:
            for process in processes:
                process.kill()
        assert first == ["[[0.0], [1.0]]\n"] * PROCESSES, [err for _, err in outputs]
        assert [out for out, _ in outputs] == ["[[0.0], [1.0]]\n"] * PROCESSES, [
            err for _, err in outputs
        ]
    finally:
        running.stop(0)


def test_idle_request_streams_beyond_the_limit_are_refused_and_calls_still_answered(
    tmp_path: Path,
) -> None:
    """Streams that send one request and then nothing: the first max_open_streams hold their
    threads, the next is refused RESOURCE_EXHAUSTED naming the limit, a Predict from another
    client is answered meanwhile, and a slot is free again once a stream ends."""
    limit = 3
    running = start_server(tmp_path / "data", limits=Limits(max_open_streams=limit))
    address = f"127.0.0.1:{running.port}"
    channel = grpc.insecure_channel(address)
    stub = gatelearn_pb2_grpc.GateLearnStub(channel)
    waits: list[queue.Queue[None]] = []

    def one_request_then_idle() -> Iterator[pb.PredictRequest]:
        waits.append(wait := queue.Queue[None]())
        yield pb.PredictRequest(model="m", rows=[pb.Row(values=[0, 1])])
        wait.get()  # the stream stays open, sending nothing, until the test ends it

    try:
        with Client(address, timeout=10) as client:
            client.train("m", "and")
            streams = [stub.PredictStream(one_request_then_idle()) for _ in range(limit)]
            for stream in streams:
                assert list(next(stream).labels[0].values) == [0.0]  # each has its thread
            refused = stub.PredictStream(one_request_then_idle())
            with pytest.raises(grpc.RpcError) as error:
                next(refused)
            assert error.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            assert f"{limit} request streams" in error.value.details()
            assert "max_open_streams" in error.value.details()
            assert client.predict("m", [[1, 1]]).labels == [[1.0]]
            streams[0].cancel()
            assert poll(lambda: one_answer(stub), what="the cancelled stream's slot") == [1.0]
    finally:
        for wait in waits:
            wait.put(None)
        channel.close()
        running.stop(0)


def one_answer(stub: gatelearn_pb2_grpc.GateLearnStub) -> list[float] | None:
    """A one-request PredictStream's labels; None while it is refused for want of a slot."""
    request = pb.PredictRequest(model="m", rows=[pb.Row(values=[1, 1])])
    try:
        answer = next(stub.PredictStream(iter([request])))
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise
        return None
    return [label for row in answer.labels for label in row.values]


def test_open_streams_must_leave_threads_for_calls(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"max_open_streams \(4\) must be below .* \(4\)"):
        start_server(tmp_path / "data", workers=4, limits=Limits(max_open_streams=4))


def test_running_trainings_must_leave_threads_for_calls(tmp_path: Path) -> None:
    """Each holds a thread, and its worker process was started at once: with 1000 slots the
    server was still starting workers when a Train ended DEADLINE_EXCEEDED 30 s later."""
    with pytest.raises(
        ValueError, match=r"max_concurrent_trainings \(16\) must be below .* \(16\)"
    ):
        start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=16))
    start_server(tmp_path / "ok", limits=Limits(max_concurrent_trainings=15)).stop(0)


def test_more_layers_than_a_request_may_list_activations_for_is_refused_at_start_up(
    tmp_path: Path,
) -> None:
    """A request lists an activation per layer, and more than max_listed_components are
    refused on its bytes: a max_layers over it would refuse valid requests naming a limit that
    cannot be set."""
    with pytest.raises(ValueError, match=rf"max_layers \({MAX_LISTED + 1}\) must be at most"):
        start_server(tmp_path / "data", limits=Limits(max_layers=MAX_LISTED + 1))
    start_server(tmp_path / "ok", limits=Limits(max_layers=MAX_LISTED)).stop(0)


def test_health_watches_opening_and_closing_while_statuses_change_never_stall_the_server(
    tmp_path: Path,
) -> None:
    """Connections come and go (each opens a health Watch and closes it on leaving) while a
    watched status keeps changing: the server answers throughout. grpc's own non-blocking
    Watch held its lock while a send waited for gRPC's poll thread, and that thread took the
    lock to close another Watch: the server stopped answering anything."""
    running = start_server(tmp_path / "data")
    address = f"127.0.0.1:{running.port}"
    with Client(address) as client:
        client.train("m", "and")
    stop = threading.Event()
    failures: list[BaseException] = []

    def come_and_go() -> None:
        request = health_pb2.HealthCheckRequest(service="probe")
        while not stop.is_set():
            # A channel of its own: a connection of its own, as another process would have.
            with grpc.insecure_channel(address, options=OWN_CONNECTION) as channel:
                watch = health_pb2_grpc.HealthStub(channel).Watch(request, timeout=5)
                try:
                    next(watch)
                except grpc.RpcError as error:  # noqa: PERF203 - a failure is the finding
                    failures.append(error)
                watch.cancel()

    def flip() -> None:
        statuses = (
            health_pb2.HealthCheckResponse.SERVING,
            health_pb2.HealthCheckResponse.NOT_SERVING,
        )
        while not stop.is_set():
            for status in statuses:
                running.health.set("probe", status)

    # Daemons, and a bounded stop: a stalled server must fail the test, not hang it.
    threads = [threading.Thread(target=come_and_go, daemon=True) for _ in range(6)]
    threads.append(threading.Thread(target=flip, daemon=True))
    for thread in threads:
        thread.start()
    try:
        with Client(address, timeout=5) as client:
            deadline = time.monotonic() + STRESS_SECONDS
            while time.monotonic() < deadline:
                assert client.predict("m", [[1, 1]]).labels == [[1.0]]
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        # Every Watch that ended left the server's registry, however its end raced its start.
        poll(lambda: not running.health._watchers, what="the closed Watches forgotten")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
        stopping = threading.Thread(target=running.stop, args=(0,), daemon=True)
        stopping.start()
        stopping.join(timeout=10)
    assert not any(thread.is_alive() for thread in [*threads, stopping])
    assert not failures, failures[:3]


def test_calls_beyond_a_connections_limit_wait_for_one_to_end(tmp_path: Path) -> None:
    """One connection opening more health Watches than max_connection_calls: the extra one
    waits (in the client, as HTTP/2 has it) until another ends, so a connection cannot make the
    server hold more calls' memory than the limit; other connections are answered meanwhile."""
    limit = 3
    running = start_server(tmp_path / "data", limits=Limits(max_connection_calls=limit))
    address = f"127.0.0.1:{running.port}"
    request = health_pb2.HealthCheckRequest(service="")
    try:
        with grpc.insecure_channel(address, options=OWN_CONNECTION) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            watches = [stub.Watch(request) for _ in range(limit)]
            for watch in watches:
                assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
            waiting = stub.Watch(request, timeout=10)
            answered: queue.Queue[int] = queue.Queue()
            threading.Thread(target=lambda: answered.put(next(waiting).status), daemon=True).start()
            with pytest.raises(queue.Empty):
                answered.get(timeout=1.0)  # the connection's calls are all taken
            with Client(address, timeout=5) as client:  # a connection of its own
                assert client.tasks()
            watches[0].cancel()
            assert answered.get(timeout=5) == health_pb2.HealthCheckResponse.SERVING
            for watch in watches[1:]:
                watch.cancel()
            waiting.cancel()
    finally:
        running.stop(0)


def test_connections_beyond_the_limit_are_refused_and_the_others_answered(tmp_path: Path) -> None:
    limit = 3
    running = start_server(tmp_path / "data", limits=Limits(max_connections=limit))
    address = f"127.0.0.1:{running.port}"
    request = health_pb2.HealthCheckRequest(service="")
    channels = [grpc.insecure_channel(address, options=OWN_CONNECTION) for _ in range(limit + 1)]
    try:
        for channel in channels[:limit]:  # one after another: which connects first is not ours
            watch = health_pb2_grpc.HealthStub(channel).Watch(request, timeout=5)
            assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        with pytest.raises(grpc.RpcError) as refused:
            next(health_pb2_grpc.HealthStub(channels[limit]).Watch(request, timeout=5))
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        # The connections held answer other calls meanwhile.
        check = health_pb2_grpc.HealthStub(channels[0]).Check(request, timeout=5)
        assert check.status == health_pb2.HealthCheckResponse.SERVING
    finally:
        for channel in channels:
            channel.close()
        running.stop(0)


@pytest.mark.parametrize("name", ["max_message_bytes", "max_connection_calls", "max_connections"])
def test_a_limit_grpc_cannot_take_is_refused_at_start_up(tmp_path: Path, name: str) -> None:
    """These limits are gRPC's own options, C ints whose largest value gRPC reads as no limit
    (and, as max_connections, aborted the process): it is named, not a crash."""
    for value in (2**31 - 1, 10**12):
        with pytest.raises(ValueError, match=rf"limit {name} \({value}\) must be below gRPC's"):
            start_server(tmp_path / "data", limits=Limits(**{name: value}))
    start_server(tmp_path / "ok", limits=Limits(**{name: 2**31 - 2})).stop(0)


STALLED_SECONDS = 30.0  # the deadline of calls whose request never arrives


def test_unary_calls_whose_request_never_arrives_hold_no_thread(tmp_path: Path) -> None:
    """Calls that start and never send their request wait on the event loop, not in a thread:
    more of them than the server has threads, and another client's calls, quick (Predict) and
    run in a thread (ListModels, Train), are still answered. (The synchronous server read the
    request on the thread that would answer it: 20 such calls left none.)"""
    running = start_server(
        tmp_path / "data",
        workers=THREADS,
        limits=Limits(max_open_streams=1, max_concurrent_trainings=1),
    )
    address = f"127.0.0.1:{running.port}"
    release = threading.Event()

    def never_sent() -> Iterator[bytes]:
        release.wait()  # the call's headers are out; its request never comes
        yield from ()

    channel = grpc.insecure_channel(address)
    stalled = [
        channel.stream_stream(
            f"/gatelearn.v1.GateLearn/{method}", request_serializer=None, response_deserializer=None
        )(never_sent(), timeout=STALLED_SECONDS)
        for method in ("Predict", "ListModels", "GetModel") * (THREADS * 2)
    ]
    try:
        with Client(address, timeout=5, retries=0) as client:
            started = time.monotonic()
            client.train("m", "and")
            assert client.predict("m", [[1, 1]]).labels == [[1.0]]
            assert [model.name for model in client.models()] == ["m"]
            # A generous bound: the synchronous server answered only once the stalled calls'
            # deadline had passed (29 s here).
            assert time.monotonic() - started < STALLED_SECONDS / 3
    finally:
        for call in stalled:
            call.cancel()
        release.set()
        channel.close()
        running.stop(0)


def test_cancelled_streams_leave_no_thread_behind(tmp_path: Path) -> None:
    """Streams cancelled while their thread waits (a PredictStream for its next request, a
    Train relaying progress), more of them than the server has threads: each thread ends, so
    calls run in threads are answered afterwards."""
    running = start_server(
        tmp_path / "data",
        workers=THREADS,
        limits=Limits(max_open_streams=1, max_epochs=10**7, max_concurrent_trainings=1),
    )
    address = f"127.0.0.1:{running.port}"
    channel = grpc.insecure_channel(address)
    stub = gatelearn_pb2_grpc.GateLearnStub(channel)
    release = threading.Event()

    def one_request_then_idle() -> Iterator[pb.PredictRequest]:
        yield pb.PredictRequest(model="m", rows=[pb.Row(values=[0, 1])])
        release.wait()

    try:
        with Client(address, timeout=5, retries=0) as client:
            options = TrainOptions(epochs=10**7, stop_when_solved=False, progress_interval_ms=10)
            long_training = client.train_request("long", "xor", options=options)
            client.train("m", "and")
            for _ in range(THREADS * 2):
                stream = poll(
                    lambda: one_open_stream(stub, one_request_then_idle()),
                    what="a free stream slot",
                )
                stream.cancel()
                train = stub.Train(long_training)
                assert next(train).HasField("progress")
                train.cancel()
                poll(lambda: running.pool.busy == 0, what="the training stopped")
            assert [model.name for model in client.models()] == ["m"]
            assert client.train("n", "or").model.name == "n"
    finally:
        release.set()
        channel.close()
        running.stop(0)


def one_open_stream(
    stub: gatelearn_pb2_grpc.GateLearnStub, requests: Iterator[pb.PredictRequest]
) -> grpc.Call | None:
    """A PredictStream that has answered its first request; None while it is refused for want
    of a slot (the stream before it still ending)."""
    stream = stub.PredictStream(requests)
    try:
        next(stream)
    except grpc.RpcError as error:
        if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise
        return None
    return stream
