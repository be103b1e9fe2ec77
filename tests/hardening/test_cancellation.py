"""Stopping a training early: a client that cancels (closing `Client.train_events`, or
`call.cancel()` on a raw stub stream) and a client whose deadline passes.

Each must stop the training within `MAX_STOP_SECONDS`, free its worker slot so that the next
training is accepted at once (the server allows one training at a time here), and leave no model
version behind.

How the stop latency is measured: `t0` is taken on the client just before it cancels (for a
deadline: the moment the deadline passes, i.e. the time taken just before the call was made plus
its timeout, which slightly overstates the latency). From `t0` the test polls
`RunningServer.pool.busy` (the server runs in this process) every millisecond until it reads 0;
the latency is the time of that read minus `t0`, good to about a millisecond. Every path is
repeated `REPEATS` times; the figures are printed (run with `pytest -s`).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Iterator

import grpc
import pytest
from conftest import start_server

from gatelearn.client import Client, GateLearnError, Progress, TrainOptions
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer
from gatelearn.server.training.pool import WorkerPool
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

MAX_STOP_SECONDS = 0.5
REPEATS = 5
LONG_EPOCHS = 10**6  # far longer than any test waits: ~10 s or more on the 2-core machine
DEADLINE = 0.5
SLOTS = 1  # max_concurrent_trainings of the server under test

# Path -> measured latencies (seconds), printed as a table when the module ends.
LATENCIES: dict[str, list[float]] = {}


# ---------------------------------------------------------------- helpers
def wait_until_free(
    pool: WorkerPool, t0: float, timeout: float = 5.0, settle: bool = True
) -> float:
    """Poll `pool.busy` every millisecond until it is 0; return the seconds since `t0`.

    Then, with `settle`, wait (no longer timed) until the worker is back in the pool's idle
    list: `release` drops it from the busy set and appends it (or its replacement) to the idle
    list in two steps, and the pid checks below must not look in between."""
    limit = time.monotonic() + timeout
    while pool.busy:
        if time.monotonic() > limit:
            raise AssertionError(f"the worker slot was still busy {timeout}s after the stop")
        time.sleep(0.001)
    elapsed = time.monotonic() - t0
    while settle and idle_workers(pool) < SLOTS:
        if time.monotonic() > limit:
            raise AssertionError(f"no idle worker {timeout}s after the stop")
        time.sleep(0.001)
    return elapsed


def idle_workers(pool: WorkerPool) -> int:
    with pool._lock:  # white-box: the pool has no public count of idle workers
        return len(pool._idle)


def worker_pids(pool: WorkerPool) -> set[int]:
    """The pids of the pool's worker processes, idle and busy (white-box: reads the pool)."""
    with pool._lock:
        return {w.process.pid for w in [*pool._idle, *pool._busy]}


def long_request(client: Client, name: str, progress_interval_ms: int) -> pb.TrainRequest:
    return client.train_request(
        name,
        "xor",
        options=TrainOptions(
            epochs=LONG_EPOCHS, stop_when_solved=False, progress_interval_ms=progress_interval_ms
        ),
    )


def first_event(call: grpc.Call) -> pb.TrainEvent:
    """The first event of a raw Train stream: it must be progress (the run is under way)."""
    event = next(call)  # raises grpc.RpcError (e.g. RESOURCE_EXHAUSTED) if refused
    assert event.HasField("progress"), event
    return event


def assert_nothing_saved(client: Client, name: str) -> None:
    assert client.models(name) == [], f"a cancelled training saved {name}"
    assert name not in {summary.name for summary in client.models()}


def record(path: str, latencies: list[float]) -> None:
    LATENCIES.setdefault(path, []).extend(latencies)
    ms = [1000 * x for x in latencies]
    print(f"\n{path}: stop latencies (ms) {', '.join(f'{x:.1f}' for x in ms)}")


@pytest.fixture(scope="module", autouse=True)
def latency_table() -> Iterator[None]:
    yield
    if not LATENCIES:
        return
    print("\n\ncancellation: cancel (or deadline) -> worker slot free (pool.busy == 0)")
    print(f"{'path':<34} {'n':>3} {'min ms':>8} {'median ms':>10} {'max ms':>8}")
    for path, values in LATENCIES.items():
        ms = [1000 * x for x in values]
        print(
            f"{path:<34} {len(ms):>3} {min(ms):>8.1f} {statistics.median(ms):>10.1f} "
            f"{max(ms):>8.1f}"
        )


@pytest.fixture(scope="module")
def one_slot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One training at a time, and room for 10^6-epoch runs."""
    running = start_server(
        tmp_path_factory.mktemp("cancel") / "data",
        limits=Limits(max_epochs=10**7, max_concurrent_trainings=SLOTS),
    )
    yield running
    running.stop(0)


@pytest.fixture
def client(one_slot: RunningServer) -> Iterator[Client]:
    """A client of `one_slot`, once its worker is ready: a fresh worker process (at start-up,
    or replacing a killed one) takes most of a second to import, and a run cancelled before
    its worker even started cannot stop in CANCEL_GRACE, so it would be killed."""
    with Client(f"127.0.0.1:{one_slot.port}") as connected:
        _train_when_accepted(connected, "ready", check_version=False)
        yield connected


@pytest.fixture
def stub(one_slot: RunningServer) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(f"127.0.0.1:{one_slot.port}") as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def finish_checks(one_slot: RunningServer, client: Client, name: str) -> None:
    """After the repetitions: nothing saved, and the slot trains to completion again."""
    assert one_slot.pool.busy == 0
    assert_nothing_saved(client, name)
    outcome = client.train(f"{name}-after", "xor")  # at once: no RESOURCE_EXHAUSTED
    assert outcome.metrics.solved and outcome.model.version == 1


# ---------------------------------------------------------------- the three ways to stop
# Progress every 200 ms, and the cancel SETTLE seconds after the first event: the server is
# then waiting for the next frame when the cancel arrives, so it takes the cancel path meant for
# it (tell the worker, which stops and is reused). A cancel that lands while the server is still
# sending an event takes another path (the worker is killed): see the streaming tests below.
SETTLE = 0.05


def test_closing_train_events_stops_the_run_frees_the_slot_saves_nothing(
    one_slot: RunningServer, client: Client
) -> None:
    name = "closed-iterator"
    pids = worker_pids(one_slot.pool)
    latencies = []
    for _ in range(REPEATS):
        # Started as soon as the previous run's slot reads free: a refusal would raise here.
        events = client.train_events(long_request(client, name, 200))
        assert isinstance(next(events), Progress)
        assert one_slot.pool.busy == 1
        time.sleep(SETTLE)
        t0 = time.monotonic()
        events.close()  # the client's documented way to cancel
        latencies.append(wait_until_free(one_slot.pool, t0))
    record("close train_events iterator", latencies)
    assert max(latencies) < MAX_STOP_SECONDS, latencies
    assert worker_pids(one_slot.pool) == pids  # stopped cleanly: the same worker took each run
    finish_checks(one_slot, client, name)


def test_call_cancel_stops_the_run_frees_the_slot_saves_nothing(
    one_slot: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    name = "call-cancel"
    pids = worker_pids(one_slot.pool)
    latencies = []
    for _ in range(REPEATS):
        call = stub.Train(long_request(client, name, 200), timeout=60)
        first_event(call)
        time.sleep(SETTLE)
        t0 = time.monotonic()
        call.cancel()
        latencies.append(wait_until_free(one_slot.pool, t0))
        assert call.code() == grpc.StatusCode.CANCELLED
    record("raw stub call.cancel()", latencies)
    assert max(latencies) < MAX_STOP_SECONDS, latencies
    assert worker_pids(one_slot.pool) == pids
    finish_checks(one_slot, client, name)


def test_passed_deadline_stops_the_run_frees_the_slot_saves_nothing(
    one_slot: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    name = "deadline"
    # No progress event before the deadline: the stream is silent until it fails.
    request = long_request(client, name, 60_000)
    pids = worker_pids(one_slot.pool)
    latencies = []
    for _ in range(REPEATS):
        started = time.monotonic()
        call = stub.Train(request, timeout=DEADLINE)
        with pytest.raises(grpc.RpcError) as raised:
            next(call)
        assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, raised.value
        # The client gives up at the deadline; the server must notice it on its own.
        latencies.append(wait_until_free(one_slot.pool, started + DEADLINE))
    record(f"deadline (timeout={DEADLINE}s)", latencies)
    assert max(latencies) < MAX_STOP_SECONDS, latencies
    assert worker_pids(one_slot.pool) == pids
    finish_checks(one_slot, client, name)


# ---------------------------------------------------------------- cancelling mid-stream
# With a progress event every 10 ms the server is usually handing an event to gRPC when the
# cancel arrives; gRPC then drops the response generator instead of calling it again.
def test_cancel_while_progress_streams_stops_the_run_and_saves_nothing(
    one_slot: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    name = "streaming-cancel"
    latencies = []
    for _ in range(3):
        call = _start_when_accepted(stub, long_request(client, name, 10))
        for _ in range(3):  # let a few events flow
            next(call)
        t0 = time.monotonic()
        call.cancel()
        latencies.append(wait_until_free(one_slot.pool, t0))
    record("call.cancel() while events stream", latencies)
    assert max(latencies) < MAX_STOP_SECONDS, latencies
    assert_nothing_saved(client, name)
    _train_when_accepted(client, f"{name}-after")


def test_cancel_while_progress_streams_keeps_the_worker(
    one_slot: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    request = long_request(client, "streaming-keep", 10)
    for _ in range(3):
        pids = worker_pids(one_slot.pool)
        call = _start_when_accepted(stub, request)
        for _ in range(3):
            next(call)
        call.cancel()
        wait_until_free(one_slot.pool, time.monotonic())
        assert worker_pids(one_slot.pool) == pids, "the cancelled run's worker was replaced"


def test_train_is_accepted_as_soon_as_the_slot_reads_free(
    one_slot: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    request = long_request(client, "right-after", 10)
    refused = 0
    for _ in range(3):
        call = _start_when_accepted(stub, request)
        for _ in range(3):
            next(call)
        call.cancel()
        wait_until_free(one_slot.pool, time.monotonic(), settle=False)
        follow = stub.Train(request, timeout=60)  # at once, as a client retrying would
        try:
            first_event(follow)
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
            refused += 1
        follow.cancel()
        wait_until_free(one_slot.pool, time.monotonic())
    assert refused == 0, f"{refused} of 3 trainings refused right after pool.busy read 0"


def _start_when_accepted(
    stub: gatelearn_pb2_grpc.GateLearnStub, request: pb.TrainRequest, timeout: float = 5.0
) -> grpc.Call:
    """Start a Train stream, retrying briefly while a previous run is still stopping; return
    the call once its first event has arrived."""
    limit = time.monotonic() + timeout
    while True:
        call = stub.Train(request, timeout=60)
        try:
            first_event(call)
            return call
        except grpc.RpcError as error:
            if error.code() != grpc.StatusCode.RESOURCE_EXHAUSTED or time.monotonic() > limit:
                raise
        time.sleep(0.01)


def _train_when_accepted(
    client: Client, name: str, timeout: float = 5.0, check_version: bool = True
) -> None:
    limit = time.monotonic() + timeout
    while True:
        try:
            outcome = client.train(name, "xor")
            assert outcome.metrics.solved
            assert outcome.model.version == 1 or not check_version
            return
        except GateLearnError as error:
            if error.code != grpc.StatusCode.RESOURCE_EXHAUSTED or time.monotonic() > limit:
                raise
        time.sleep(0.01)
