"""A plugin that breaks the host's assumptions (tests/plugins/unruly_plugin.py): it writes to
stdout, raises what cannot be printed, or fails while a request is checked. Each failure is
FAILED_PRECONDITION naming the plugin and the component, and the training worker goes on
serving the next training (one slot, so the next training runs on the same worker)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
import unruly_plugin
from conftest import linear_model, start_server

from gatelearn.client import Client, GateLearnError
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer

PLUGIN = "unruly_plugin"
HERE = Path(__file__).parent
XOR_ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server with the fixture plugin, in its training workers too (through PYTHONPATH), and
    one training slot, so that every training runs on the same worker unless it was replaced."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, (str(HERE), os.environ.get("PYTHONPATH"))))
        )
        patch.syspath_prepend(str(HERE))
        running = start_server(
            tmp_path_factory.mktemp("data"),
            plugins=(PLUGIN,),
            limits=Limits(max_concurrent_trainings=1),
        )
        try:
            yield running
        finally:
            running.stop(0)


@pytest.fixture(scope="module")
def client(running: RunningServer) -> Iterator[Client]:
    with Client(f"127.0.0.1:{running.port}") as connected:
        yield connected


def refusal(call: object, *args: object, **kwargs: object) -> str:
    """The details of the FAILED_PRECONDITION that `call(*args, **kwargs)` ends with."""
    with pytest.raises(GateLearnError) as raised:
        call(*args, **kwargs)  # type: ignore[operator]
    assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION, raised.value
    return raised.value.details


def trains_on_the_same_worker(client: Client, running: RunningServer, name: str) -> None:
    """An ordinary training after the fault saves a solved model, on a worker not replaced."""
    restarts = running.pool.restarts
    assert client.train(name, "xor").metrics.solved
    assert running.pool.restarts == restarts


def test_writing_to_stdout_does_not_corrupt_the_frames(
    client: Client, running: RunningServer
) -> None:
    # The import-time print and the forward pass's bytes on descriptor 1 both reach the
    # worker's stdout; before, they were read as frames (UNKNOWN: JSONDecodeError), and the
    # worker's later frames were read out of step.
    restarts = running.pool.restarts
    outcome = client.train("writer", "xor", activations=["fd_writer", "sigmoid"])
    assert outcome.metrics.solved
    assert running.pool.restarts == restarts
    trains_on_the_same_worker(client, running, "after-writer")


def test_an_exception_whose_message_raises_is_named(client: Client, running: RunningServer) -> None:
    # Before, the worker died (exit code 1, no plugin named), and in the server the call
    # ended UNKNOWN.
    restarts = running.pool.restarts
    details = refusal(client.train, "unreadable", "xor", activations=["unreadable", "sigmoid"])
    assert "plugin 'unruly_plugin' (activation 'unreadable') raised UnprintableError" in details
    assert running.pool.restarts == restarts
    model = linear_model(0.5)
    model["layers"][0]["activation"] = {"name": "unreadable"}  # type: ignore[index]
    details = refusal(client.import_model, "unreadable", model)
    assert "plugin 'unruly_plugin' (activation 'unreadable') raised UnprintableError" in details
    trains_on_the_same_worker(client, running, "after-unreadable")


def test_a_task_failing_while_the_request_is_checked_is_named(
    client: Client, running: RunningServer
) -> None:
    # Before, the worker died (exit code 1) and the status named no plugin.
    restarts = running.pool.restarts
    details = refusal(client.train, "broken", "broken_gate")
    assert "plugin 'unruly_plugin' (task 'broken_gate') raised ValueError" in details
    assert "broken_gate cannot evaluate on purpose" in details
    assert running.pool.restarts == restarts
    assert client.models("broken") == []
    trains_on_the_same_worker(client, running, "after-broken")


def test_a_step_closure_raising_is_named(client: Client, running: RunningServer) -> None:
    # The step has no `self`: before, the status named only its file and line.
    details = refusal(client.train, "stepper", "xor", optimizer="failing_step")
    assert "plugin 'unruly_plugin' (optimizer 'failing_step') raised ValueError" in details
    assert "failing_step cannot step on purpose" in details
    trains_on_the_same_worker(client, running, "after-stepper")


def test_a_loss_value_of_the_wrong_shape_is_named(client: Client, running: RunningServer) -> None:
    # Before, NumPy's error in the trainer was reported by the trainer's file and line
    # ('The truth value of an array with more than one element is ambiguous').
    details = refusal(client.train, "misshapen", "xor", loss="misshapen")
    assert "plugin 'unruly_plugin' (loss 'misshapen') raised ValueError" in details
    assert "shape (3, 7)" in details and "expected shape (1,)" in details
    trains_on_the_same_worker(client, running, "after-misshapen")


def test_a_task_answering_an_undeclared_label_is_named(
    client: Client, running: RunningServer
) -> None:
    # Before, it trained and saved a model whose bce loss was negative (-17.7 after 50 epochs).
    details = refusal(client.train, "three", "three_gate", epochs=50)
    assert "plugin 'unruly_plugin' (task 'three_gate') raised ValueError" in details
    assert "a target other than its labels 0/1 (row 1: 3)" in details
    assert client.models("three") == []
    trains_on_the_same_worker(client, running, "after-three")


def test_a_predict_stuck_in_a_plugin_holds_up_no_other_call(
    client: Client, running: RunningServer
) -> None:
    # Before, Predict ran on the event loop (SQLite store): while the plugin waited, every
    # other call waited too, and a listing with a deadline ended DEADLINE_EXCEEDED.
    model = linear_model(0.5)
    model["layers"][0]["activation"] = {"name": "held"}  # type: ignore[index]
    client.import_model("held", model)
    unruly_plugin.ARMED.set()
    stuck = threading.Thread(target=client.predict, args=("held", XOR_ROWS))
    try:
        stuck.start()
        assert unruly_plugin.ENTERED.wait(10)
        with Client(f"127.0.0.1:{running.port}", timeout=5, retries=0) as other:
            assert [m.name for m in other.models("held")] == ["held"]
    finally:
        unruly_plugin.ARMED.clear()
        unruly_plugin.RELEASE.set()
        stuck.join(10)
