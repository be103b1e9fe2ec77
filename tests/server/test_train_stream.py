"""The Train stream: progress before done, cancelling and deadlines save nothing, and the
limit on concurrent trainings."""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from conftest import poll, start_server
from server_test_support import (
    LONG_RUN,
    expect_error,
    store_snapshot,
    train_when_slot_free,
)

from gatelearn.client import Client, GateLearnError, Progress, TrainOptions, TrainOutcome
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

SHORT_RUN = TrainOptions(epochs=3000, stop_when_solved=False, progress_interval_ms=10)


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[RunningServer]:
    """A server that allows one training at a time."""
    running = start_server(tmp_path / "one-slot", limits=Limits(max_concurrent_trainings=1))
    yield running
    running.stop(0)


@pytest.fixture
def one_slot_client(one_slot: RunningServer) -> Iterator[Client]:
    with Client(f"127.0.0.1:{one_slot.port}") as client:
        yield client


@pytest.fixture
def one_slot_stub(one_slot: RunningServer) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(f"127.0.0.1:{one_slot.port}") as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def long_request(client: Client, name: str = "long") -> pb.TrainRequest:
    return client.train_request(name, "xor", options=TrainOptions(**LONG_RUN))


def test_progress_events_come_before_done_with_increasing_epochs(client: Client) -> None:
    started = time.monotonic()
    events = list(client.train_events(client.train_request("p", "xor", options=SHORT_RUN)))
    elapsed = time.monotonic() - started
    *progress, done = events
    assert isinstance(done, TrainOutcome)
    assert len(progress) >= 2, f"{len(progress)} progress events in {elapsed:.2f}s"
    assert all(isinstance(event, Progress) for event in progress)
    epochs = [event.epoch for event in progress]
    assert epochs == sorted(set(epochs)), epochs  # strictly increasing
    assert epochs[0] >= 0 and epochs[-1] <= 3000
    for event in progress:
        assert (event.epochs, event.population) == (3000, 1)
        assert event.solved_members == 0  # solving is not checked when stop_when_solved=False
        assert 0.0 <= event.accuracy <= 1.0 and event.loss >= 0.0
    # At most one progress event per progress_interval_ms (10 ms).
    assert len(progress) <= elapsed / 0.010 + 1
    assert (done.epochs, done.stop_reason, str(done.model)) == (3000, "epochs", "p:1")
    assert done.metrics.solved_epoch == -1
    assert [str(m.ref) for m in client.models()] == ["p:1"]


def test_population_progress_reports_the_population(client: Client) -> None:
    events = list(
        client.train_events(
            client.train_request(
                "pp",
                "xor",
                population=16,
                options=TrainOptions(epochs=1500, stop_when_solved=False, progress_interval_ms=10),
            )
        )
    )
    *progress, done = events
    assert progress and all(event.population == 16 for event in progress)
    assert isinstance(done, TrainOutcome) and done.population == 16
    assert 0 <= done.member < 16 and 0 <= done.solved_members <= 16


def test_closing_the_client_iterator_cancels_and_saves_nothing(one_slot_client: Client) -> None:
    client = one_slot_client
    events = client.train_events(long_request(client))
    first = next(events)
    assert isinstance(first, Progress)
    events.close()  # cancels the call
    # Once another training can start, the cancelled one has released its slot: its handler
    # is over, so nothing can be saved for it any more.
    outcome = train_when_slot_free(client, "after", options=TrainOptions(epochs=0))
    assert str(outcome.model) == "after:1"
    assert [str(m.ref) for m in client.models()] == ["after:1"]
    assert client.models("long") == []


def test_grpc_call_cancel_stops_the_run_and_saves_nothing(
    one_slot_client: Client, one_slot_stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    call = one_slot_stub.Train(long_request(one_slot_client))
    first = next(call)
    assert first.HasField("progress")
    call.cancel()
    with pytest.raises(grpc.RpcError) as raised:
        for _ in call:
            pass
    assert raised.value.code() == grpc.StatusCode.CANCELLED
    # Nothing appears while the slot frees, and afterwards the slot is usable again.
    deadline = time.monotonic() + 0.5
    while time.monotonic() < deadline:
        assert one_slot_client.models() == []
        time.sleep(0.02)
    train_when_slot_free(one_slot_client, "after", options=TrainOptions(epochs=0))
    assert [m.name for m in one_slot_client.models()] == ["after"]


def test_on_progress_returning_true_cancels(one_slot_client: Client) -> None:
    seen: list[Progress] = []

    def stop_at_second(progress: Progress) -> bool:
        seen.append(progress)
        return len(seen) >= 2

    with pytest.raises(GateLearnError) as raised:
        one_slot_client.train(
            "stopped", "xor", on_progress=stop_at_second, options=TrainOptions(**LONG_RUN)
        )
    assert raised.value.code == grpc.StatusCode.CANCELLED
    assert len(seen) == 2
    train_when_slot_free(one_slot_client, "after", options=TrainOptions(epochs=0))
    assert one_slot_client.models("stopped") == []


def test_deadline_stops_the_run_and_saves_nothing(
    one_slot_client: Client, one_slot_stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    with pytest.raises(grpc.RpcError) as raised:
        for _ in one_slot_stub.Train(long_request(one_slot_client), timeout=0.5):
            pass
    assert raised.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    train_when_slot_free(one_slot_client, "after", options=TrainOptions(epochs=0))
    assert [m.name for m in one_slot_client.models()] == ["after"]


def test_training_limit_is_resource_exhausted(
    one_slot_client: Client, one_slot: RunningServer
) -> None:
    client = one_slot_client
    client.train("existing", "xor", options=TrainOptions(epochs=0))
    started = threading.Event()
    stop = threading.Event()
    errors: list[grpc.StatusCode] = []

    def run_long() -> None:
        with Client(f"127.0.0.1:{one_slot.port}") as own:
            give_up = time.monotonic() + 10
            while not started.is_set() and time.monotonic() < give_up:
                events = own.train_events(long_request(own))
                try:
                    for _ in events:
                        started.set()
                        if stop.is_set():
                            return
                except GateLearnError as error:
                    # The slot of the training before may not be free yet: try again.
                    if error.code != grpc.StatusCode.RESOURCE_EXHAUSTED or started.is_set():
                        errors.append(error.code)
                        return
                    time.sleep(0.01)
                finally:
                    events.close()  # cancels the training if it still runs

    thread = threading.Thread(target=run_long)
    thread.start()
    try:
        assert started.wait(10), f"the long training sent no progress event ({errors})"
        before = store_snapshot(client)
        details = expect_error(
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            client.train,
            "second",
            "xor",
            options=TrainOptions(epochs=0),
        )
        assert "max_concurrent_trainings" in details
        # Refused before anything ran: nothing stored, and serving still works.
        assert store_snapshot(client) == before
        assert client.predict("existing", [[0, 1]]).model.version == 1
    finally:
        stop.set()
        thread.join(10)
    assert not thread.is_alive() and not errors, errors
    train_when_slot_free(client, "second", options=TrainOptions(epochs=0))
    assert [m.name for m in client.models()] == ["existing", "second"]


def test_two_slots_allow_two_trainings(client: Client, server: RunningServer) -> None:
    """The default limit (2): a training runs while another one is running."""
    with Client(f"127.0.0.1:{server.port}") as other:
        events = other.train_events(long_request(other))
        assert isinstance(next(events), Progress)
        try:
            outcome = train_when_slot_free(client, "quick", options=TrainOptions(epochs=0))
            assert str(outcome.model) == "quick:1"
        finally:
            events.close()
    assert [m.name for m in client.models()] == ["quick"]


def test_a_run_no_longer_holds_its_slot_once_done_is_received(
    one_slot: RunningServer,
    one_slot_client: Client,
    one_slot_stub: gatelearn_pb2_grpc.GateLearnStub,
) -> None:
    request = one_slot_client.train_request("b2b", "xor", options=TrainOptions(epochs=0))
    one_slot_client.train("warm-up", "xor", options=TrainOptions(epochs=0))
    still_busy = refused = attempts = 0
    deadline = time.monotonic() + 2.0
    while time.monotonic() < deadline and not (still_busy or refused) and attempts < 150:
        poll(lambda: one_slot.pool.busy == 0, timeout=5, what="the pool to be idle")
        call = one_slot_stub.Train(request)
        try:
            event = next(call)  # done: the run has ended and its model is saved
            assert event.HasField("done")
            # The run is over, so it must not count against max_concurrent_trainings any
            # more: the server's own count, and a new Train sent at once, both say so.
            still_busy += one_slot.pool.busy
            try:
                next(one_slot_stub.Train(request))
            except grpc.RpcError as error:
                assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED, error
                refused += 1
        finally:
            call.cancel()
        attempts += 1
    assert (still_busy, refused) == (0, 0), (
        f"after {attempts} trainings: the pool still counted a finished run {still_busy} "
        f"times, a Train sent right after done was refused {refused} times"
    )


# A cold start's request is checked by its worker alone when the call gets that far, and by the
# server where a full pool or store would otherwise answer first: what is wrong with a request
# must be what the answer says either way, and a refused request must leave the worker ready
# for the next one.
def refused_for_too_many_epochs(client: Client, **settings: Any) -> None:
    """A Train over the default max_epochs is refused as such (INVALID_ARGUMENT)."""
    details = expect_error(
        grpc.StatusCode.INVALID_ARGUMENT, client.train, "wrong", "xor", epochs=10**9, **settings
    )
    assert "options.epochs" in details and "max_epochs" in details


def test_a_wrong_request_is_refused_for_what_is_wrong_with_no_slot_free(
    one_slot_client: Client,
) -> None:
    events = one_slot_client.train_events(long_request(one_slot_client))
    try:
        assert isinstance(next(events), Progress)  # the one slot is taken
        refused_for_too_many_epochs(one_slot_client)
    finally:
        events.close()


def test_a_wrong_request_with_a_free_worker_leaves_the_worker_ready(
    one_slot: RunningServer, one_slot_client: Client
) -> None:
    one_slot_client.train("before", "xor")
    before = store_snapshot(one_slot_client)
    for seed in range(3):
        refused_for_too_many_epochs(one_slot_client, seed=seed)
    assert store_snapshot(one_slot_client) == before
    poll(lambda: one_slot.pool.busy == 0, timeout=5, what="the worker to be handed back")
    assert one_slot.pool.restarts == 0  # stopped cleanly, not killed and replaced
    assert str(one_slot_client.train("after", "xor").model) == "after:1"


# Each way the worker's check refuses: a server limit, a component's parameter, the task's own
# parameter, an unknown component, an unknown task.
WRONG_ON_THE_WORKER = [
    (dict(epochs=10**9), grpc.StatusCode.INVALID_ARGUMENT, "options.epochs: at most 1000000"),
    (dict(lr=-1.0), grpc.StatusCode.INVALID_ARGUMENT, "optimizer.lr: must be >= 0.0, got -1.0"),
    (dict(task=("parity", {"n": 99})), grpc.StatusCode.INVALID_ARGUMENT, "task.n: must be <= 16"),
    (dict(activations=["nope"]), grpc.StatusCode.INVALID_ARGUMENT, "activations[0]: unknown"),
    (dict(task="no-such-task"), grpc.StatusCode.NOT_FOUND, "task: unknown task 'no-such-task'"),
]


@pytest.mark.parametrize(("settings", "code", "says"), WRONG_ON_THE_WORKER)
def test_a_request_its_worker_refuses_is_answered_with_what_is_wrong_and_nothing_else(
    one_slot: RunningServer,
    one_slot_client: Client,
    settings: dict[str, Any],
    code: grpc.StatusCode,
    says: str,
) -> None:
    task = settings.get("task", "xor")
    settings = {name: value for name, value in settings.items() if name != "task"}
    one_slot_client.train("before", "xor")
    before = store_snapshot(one_slot_client)
    details = expect_error(code, one_slot_client.train, "wrong", task, **settings)
    assert details.startswith(says), details
    assert store_snapshot(one_slot_client) == before
    poll(lambda: one_slot.pool.busy == 0, timeout=5, what="the worker to be handed back")
    assert one_slot.pool.restarts == 0
    assert str(one_slot_client.train("after", "xor").model) == "after:1"


def test_a_wrong_request_on_a_full_store_is_refused_for_what_is_wrong(tmp_path: Path) -> None:
    running = start_server(tmp_path / "full", limits=Limits(max_models=1))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            client.train("only", "xor")
            refused_for_too_many_epochs(client)
            expect_error(grpc.StatusCode.RESOURCE_EXHAUSTED, client.train, "more", "xor")
    finally:
        running.stop(0)


def test_a_server_stopped_as_a_cancelled_training_winds_down_logs_no_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The call of a cancelled training ends once its thread has stopped the job; a server
    stopped meanwhile ends that wait too, rather than leave it pending on a closed loop (whose
    destruction asyncio and grpc log as errors)."""
    running = start_server(tmp_path / "data")
    with Client(f"127.0.0.1:{running.port}") as client:
        events = client.train_events(
            client.train_request("long", "xor", options=TrainOptions(**LONG_RUN))
        )
        next(events)
        events.close()  # cancelled: the server's thread now stops the job
        running.stop(0)
    gc.collect()  # a task destroyed while pending is reported when it is collected
    errors = [record.getMessage() for record in caplog.records if record.levelno >= logging.ERROR]
    assert not errors
