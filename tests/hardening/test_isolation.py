"""Isolation: trainings run in worker processes, so neither busy nor misbehaving ones may touch
serving or each other.

(a) While two long trainings keep both worker slots (and the machine's two cores) busy, Predict
on a stored model keeps answering quickly; p50/p99 idle and busy are printed (`pytest -s`).

(b) Fixture plugins (`plugins_bad/bad_plugins.py`) whose activation raises, outputs NaN, or
never returns. Each fails only its own training, with a status that says what happened; a
training running beside it carries on; the hanging one's worker is killed and replaced; and the
server keeps serving afterwards.
"""

from __future__ import annotations

import importlib
import os
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import grpc
import pytest
from conftest import poll, start_server
from grpc_health.v1 import health_pb2, health_pb2_grpc
from proc_support import cpu_seconds

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.plugins import BLOCK_ENV, LOAD_ENV
from gatelearn.server import Limits
from gatelearn.server.app import SERVICE_NAME, RunningServer
from gatelearn.server.edge.sync_context import MAX_DETAILS
from gatelearn.server.training.pool import WorkerPool
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

PLUGIN_DIR = Path(__file__).resolve().parent / "plugins_bad"
PLUGIN = "bad_plugins"
# What the `trip_*` activations raise (one each; see bad_plugins.ODD_EXCEPTIONS)
ODD_EXCEPTIONS = ("KeyboardInterrupt", "SystemExit", "MemoryError", "RecursionError")
SLOTS = 2
LONG = TrainOptions(epochs=10**6, stop_when_solved=False, progress_interval_ms=50)
XOR_ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]
XOR_LABELS = [[0.0], [1.0], [1.0], [0.0]]
FORBIDDEN = (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN)
PREDICTS = 200


# ---------------------------------------------------------------- helpers
def pids(pool: WorkerPool) -> tuple[set[int], set[int]]:
    """(idle, busy) worker pids (white-box: the pool exposes no pids)."""
    with pool._lock:
        return {w.process.pid for w in pool._idle}, {w.process.pid for w in pool._busy}


def settled(pool: WorkerPool) -> set[int]:
    """Wait until every worker is idle; return their pids."""

    def all_idle() -> set[int] | None:
        idle = pids(pool)[0]
        return idle if len(idle) == SLOTS else None

    return poll(all_idle, 10, "every worker slot idle")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


class Background:
    """A Train stream drained by a thread of its own, its events timestamped."""

    def __init__(self, stub: gatelearn_pb2_grpc.GateLearnStub, request: pb.TrainRequest) -> None:
        self.call = stub.Train(request, timeout=120)
        self.events: list[tuple[float, pb.TrainEvent]] = []
        self.error: grpc.RpcError | None = None
        self.thread = threading.Thread(target=self._drain, daemon=True)
        self.thread.start()

    def _drain(self) -> None:
        try:
            for event in self.call:
                self.events.append((time.monotonic(), event))
        except grpc.RpcError as error:
            self.error = error

    def progress_after(self, moment: float) -> bool:
        if self.error is not None:
            raise AssertionError(f"the background training failed: {self.error}")
        return any(at > moment and event.HasField("progress") for at, event in self.events)

    def last_epoch(self) -> int:
        return max(event.progress.epoch for _, event in self.events if event.HasField("progress"))

    def wait_running(self, since: float = 0.0, timeout: float = 10.0) -> None:
        poll(lambda: self.progress_after(since), timeout, "a progress event")

    def stop(self) -> None:
        self.call.cancel()
        self.thread.join(5)


# ---------------------------------------------------------------- the server
@pytest.fixture(scope="module")
def bad_plugins() -> Iterator[ModuleType]:
    """The fixture plugin module, importable by this process and by every worker process the
    server starts (now or as a replacement later): its directory is on sys.path and on
    PYTHONPATH, which the workers inherit, for the whole module."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(LOAD_ENV, raising=False)
        patch.delenv(BLOCK_ENV, raising=False)
        patch.syspath_prepend(str(PLUGIN_DIR))
        path = os.environ.get("PYTHONPATH")
        patch.setenv("PYTHONPATH", os.pathsep.join([str(PLUGIN_DIR), *([path] if path else [])]))
        yield importlib.import_module(PLUGIN)
        sys.modules.pop(PLUGIN, None)


@pytest.fixture(scope="module")
def running(
    bad_plugins: ModuleType, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    server = start_server(
        tmp_path_factory.mktemp("isolation") / "data",
        plugins=(PLUGIN,),
        limits=Limits(max_epochs=10**7, max_concurrent_trainings=SLOTS),
    )
    yield server
    server.stop(0)


@pytest.fixture(scope="module")
def client(running: RunningServer) -> Iterator[Client]:
    with Client(f"127.0.0.1:{running.port}") as connected:
        outcome = connected.train("served", "xor")
        assert outcome.metrics.solved
        yield connected


@pytest.fixture(scope="module")
def stub(running: RunningServer) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


@pytest.fixture(scope="module")
def health(running: RunningServer) -> Iterator[health_pb2_grpc.HealthStub]:
    with grpc.insecure_channel(f"127.0.0.1:{running.port}") as channel:
        yield health_pb2_grpc.HealthStub(channel)


def assert_still_serving(client: Client, health: health_pb2_grpc.HealthStub, name: str) -> None:
    for service in ("", SERVICE_NAME):
        status = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5).status
        assert status == health_pb2.HealthCheckResponse.SERVING, service
    outcome = client.train(name, "xor")
    assert outcome.metrics.solved
    assert client.predict(name, XOR_ROWS).labels == XOR_LABELS


# ---------------------------------------------------------------- (a) serving beside training
def timed_predicts(client: Client, count: int) -> list[float]:
    latencies = []
    for _ in range(count):
        started = time.monotonic()
        prediction = client.predict("served", XOR_ROWS)
        latencies.append(time.monotonic() - started)
        assert prediction.labels == XOR_LABELS
    return latencies


def test_predict_keeps_answering_while_both_slots_train(
    running: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    settled(running.pool)
    timed_predicts(client, 20)  # warm the channel and the code paths
    idle = timed_predicts(client, PREDICTS)

    runs = [
        Background(stub, client.train_request(f"long-{i}", "xor", options=LONG))
        for i in range(SLOTS)
    ]
    try:
        for run in runs:
            run.wait_running()
        _, workers = pids(running.pool)
        assert len(workers) == SLOTS
        cpu_before = {pid: cpu_seconds(pid) for pid in workers}
        epochs_before = [run.last_epoch() for run in runs]
        started = time.monotonic()
        busy = timed_predicts(client, PREDICTS)
        wall = time.monotonic() - started
        cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in workers}
        for run in runs:  # an event reported after the last Predict answered
            run.wait_running(since=time.monotonic(), timeout=5)
        epochs_after = [run.last_epoch() for run in runs]
        # Both trainings were still running when the last Predict answered.
        assert running.pool.busy == SLOTS
        for run in runs:
            assert run.error is None and not any(e.HasField("done") for _, e in run.events)
    finally:
        for run in runs:
            run.stop()
    settled(running.pool)
    assert client.models("long-0") == [] and client.models("long-1") == []

    print(f"\n\nPredict latency, {PREDICTS} sequential calls (ms):")
    print(f"{'':<28} {'p50':>7} {'p99':>7} {'max':>7}")
    for label, values in (("idle", idle), (f"{SLOTS} trainings running", busy)):
        print(
            f"{label:<28} {1000 * statistics.median(values):>7.2f} "
            f"{1000 * percentile(values, 0.99):>7.2f} {1000 * max(values):>7.2f}"
        )
    print(
        f"training workers' CPU use during the busy calls ({wall:.2f} s; /proc, 10 ms "
        f"ticks): " + ", ".join(f"{seconds / wall:.0%} of a core" for seconds in cpu.values())
    )
    print(f"training epochs over the busy calls: {epochs_before} -> {epochs_after}")
    assert percentile(busy, 0.99) < 0.5, busy
    assert max(busy) < 2.0, busy
    # The trainings really were computing meanwhile, not stalled behind serving.
    assert all(after > before for before, after in zip(epochs_before, epochs_after, strict=True))


# ---------------------------------------------------------------- (b) misbehaving plugins
@pytest.fixture
def bystander(
    running: RunningServer, client: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> Iterator[tuple[Background, int]]:
    """A long normal training in one slot, with the pid of the worker running it."""
    settled(running.pool)
    run = Background(stub, client.train_request("bystander", "xor", options=LONG))
    try:
        run.wait_running()
        (pid,) = pids(running.pool)[1]
        yield run, pid
    finally:
        run.stop()
    settled(running.pool)
    assert client.models("bystander") == []


def check_bystander_unharmed(running: RunningServer, run: Background, pid: int) -> None:
    """The other training kept its worker and goes on reporting progress."""
    run.wait_running(since=time.monotonic(), timeout=5)
    assert pid in pids(running.pool)[1]


def assert_training_fails(
    client: Client, name: str, parts: tuple[str, ...], **settings: Any
) -> None:
    """Training `name` on XOR with `settings` ends FAILED_PRECONDITION, its details naming
    every one of `parts`, and saves nothing."""
    with pytest.raises(GateLearnError) as raised:
        client.train(name, "xor", **settings)
    code, details = raised.value.code, raised.value.details
    assert code not in FORBIDDEN, details
    assert code == grpc.StatusCode.FAILED_PRECONDITION, details
    for part in parts:
        assert part in details, f"{part!r} missing from: {details}"
    assert client.models(name) == []


def test_raising_activation_fails_only_its_training(
    running: RunningServer,
    client: Client,
    health: health_pb2_grpc.HealthStub,
    bad_plugins: ModuleType,
    bystander: tuple[Background, int],
) -> None:
    run, bystander_pid = bystander
    (worker,) = pids(running.pool)[0]
    assert_training_fails(
        client,
        "boom",
        (
            f"plugin {PLUGIN!r}",
            "activation 'boom'",
            "RuntimeError",
            bad_plugins.BOOM_MESSAGE,
            "nothing was saved",
        ),
        activations=["boom", "sigmoid"],
    )
    check_bystander_unharmed(running, run, bystander_pid)
    # The worker caught the exception and reported it: it is reused, not replaced.
    assert worker in pids(running.pool)[0]
    assert_still_serving(client, health, "after-boom")


def test_raising_initializer_fails_its_training_naming_it(
    running: RunningServer,
    client: Client,
    health: health_pb2_grpc.HealthStub,
    bad_plugins: ModuleType,
) -> None:
    """Weights are drawn in the worker, so a plugin raising there is a training failure."""
    workers = settled(running.pool)
    assert_training_fails(
        client,
        "boom-init",
        (
            f"plugin {PLUGIN!r}",
            "initializer 'boom_init'",
            "RuntimeError",
            bad_plugins.BOOM_INIT_MESSAGE,
            "nothing was saved",
        ),
        initializer="boom_init",
    )
    assert settled(running.pool) == workers  # reported, not crashed: no worker replaced
    assert_still_serving(client, health, "after-boom-init")


def test_nan_activation_is_reported_as_divergence(
    running: RunningServer,
    client: Client,
    health: health_pb2_grpc.HealthStub,
    bystander: tuple[Background, int],
) -> None:
    run, bystander_pid = bystander
    (worker,) = pids(running.pool)[0]
    assert_training_fails(
        client,
        "nan",
        (
            "diverged",
            "NaN",
            "'nan_out'",
            "'sigmoid'",
            "loss 'bce'",
            "optimizer 'adam'",
            "nothing was saved",
        ),
        activations=["nan_out", "sigmoid"],
    )
    check_bystander_unharmed(running, run, bystander_pid)
    assert worker in pids(running.pool)[0]
    assert_still_serving(client, health, "after-nan")


def test_hanging_activation_hits_the_deadline_and_its_worker_is_replaced(
    running: RunningServer,
    client: Client,
    stub: gatelearn_pb2_grpc.GateLearnStub,
    health: health_pb2_grpc.HealthStub,
    bystander: tuple[Background, int],
) -> None:
    run, bystander_pid = bystander
    (worker,) = pids(running.pool)[0]
    request = client.train_request("hang", "xor", activations=["hang", "sigmoid"])
    call = stub.Train(request, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(grpc.RpcError) as raised:
        next(call)
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED, raised.value
    assert time.monotonic() - started < 1.5

    # The worker cannot stop itself: it is killed (within CANCEL_POLL + CANCEL_GRACE of the
    # deadline) and a new process takes its slot.
    def replaced() -> set[int] | None:
        idle, busy = pids(running.pool)
        return idle if len(idle) == 1 and worker not in idle | busy else None

    (replacement,) = poll(replaced, 3, "the hung worker's replacement")
    with pytest.raises(ProcessLookupError):
        os.kill(worker, 0)  # killed and reaped
    assert client.models("hang") == []
    check_bystander_unharmed(running, run, bystander_pid)
    # The only idle worker is the replacement, so this training runs on it.
    outcome = client.train("on-replacement", "xor")
    assert outcome.metrics.solved
    assert pids(running.pool)[0] == {replacement}
    assert_still_serving(client, health, "after-hang")


# ---------------------------------------------------------------- (c) any exception, anywhere
def tripwire(raised: str) -> str:
    return f"trip_{raised.lower()}"


@pytest.mark.parametrize("raised", ODD_EXCEPTIONS)
def test_any_exception_from_a_component_fails_only_its_training_naming_the_plugin(
    running: RunningServer,
    client: Client,
    health: health_pb2_grpc.HealthStub,
    raised: str,
) -> None:
    """KeyboardInterrupt and SystemExit used to end the worker: the training failed naming
    a signal or an exit code, never the plugin, and its worker was replaced."""
    workers = settled(running.pool)
    activation = tripwire(raised)
    assert_training_fails(
        client,
        f"odd-{activation}",
        (f"plugin {PLUGIN!r}", f"activation {activation!r}", raised, "nothing was saved"),
        activations=[activation, "sigmoid"],
    )
    assert settled(running.pool) == workers  # reported, not crashed: no worker replaced
    assert_still_serving(client, health, f"after-{activation}")


@pytest.mark.parametrize("raised", ODD_EXCEPTIONS)
def test_any_exception_from_a_component_in_the_server_is_answered_naming_the_plugin(
    client: Client,
    stub: gatelearn_pb2_grpc.GateLearnStub,
    health: health_pb2_grpc.HealthStub,
    bad_plugins: ModuleType,
    raised: str,
) -> None:
    """A Predict runs the model's components in the server. What they raised was answered
    UNKNOWN, or (KeyboardInterrupt, SystemExit) stopped the event loop: no call was answered
    again while the process lived on."""
    activation = tripwire(raised)
    for refused in tripped_predicts(client, stub, bad_plugins, activation):
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.details()
        for part in (f"plugin {PLUGIN!r}", f"activation {activation!r}", raised):
            assert part in refused.details(), refused.details()
    assert client.predict(f"stored-{activation}", [[0, 1]]).labels == [[0.0]]  # under the trip
    assert_still_serving(client, health, f"after-stored-{activation}")


def test_a_component_raising_where_it_cannot_be_named_or_at_length_still_gets_a_status(
    client: Client,
    stub: gatelearn_pb2_grpc.GateLearnStub,
    health: health_pb2_grpc.HealthStub,
    bad_plugins: ModuleType,
) -> None:
    """A staticmethod's SystemExit (no `self` to name its component by) passed through and
    stopped the event loop; a 20,000-character message reached the client as
    RESOURCE_EXHAUSTED (over its metadata limit). Both are FAILED_PRECONDITION now."""
    for refused in tripped_predicts(client, stub, bad_plugins, "trip_static"):
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.details()
        assert "raised SystemExit: trip_static tripped on purpose" in refused.details()
    for refused in tripped_predicts(client, stub, bad_plugins, "trip_long"):
        assert refused.code() == grpc.StatusCode.FAILED_PRECONDITION, refused.details()
        assert f"plugin {PLUGIN!r} (activation 'trip_long') raised ValueError" in refused.details()
        assert len(refused.details()) <= MAX_DETAILS
    assert_still_serving(client, health, "after-static-and-long")


def tripped_predicts(
    client: Client,
    stub: gatelearn_pb2_grpc.GateLearnStub,
    bad_plugins: ModuleType,
    activation: str,
) -> list[grpc.RpcError]:
    """The errors of a Predict and a PredictStream of a row past TRIP, to a model stored as
    `stored-ACTIVATION` whose hidden layer is `activation`."""
    name = f"stored-{activation}"
    layers = [
        {
            "weights": {"shape": [2, 2], "values": [1, 0, 0, 1]},
            "activation": {"name": activation},
        },
        {"weights": {"shape": [2, 1], "values": [1, -1]}, "activation": {"name": "sigmoid"}},
    ]
    client.import_model(name, {"layers": layers, "task": {"name": "xor"}, "low": 0, "high": 1})
    tripping = pb.PredictRequest(model=name, rows=[pb.Row(values=[2 * bad_plugins.TRIP, 0])])
    with pytest.raises(grpc.RpcError) as unary:
        stub.Predict(tripping, timeout=10)
    with pytest.raises(grpc.RpcError) as streamed:
        list(stub.PredictStream(iter([tripping]), timeout=10))
    return [unary.value, streamed.value]
