"""How a training worker's end is reported.

A worker killed while training (by the kernel when memory runs out, or by any signal) fails
its Train call with FAILED_PRECONDITION naming the signal.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server

from gatelearn.client import Client, GateLearnError, Progress, TrainOptions
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer

LONG = TrainOptions(epochs=10**6, stop_when_solved=False, progress_interval_ms=1)


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=1))
    yield running
    running.stop(0)


@pytest.mark.parametrize(("signum", "said"), [
    (signal.SIGKILL, "was killed by signal SIGKILL (possibly out of memory)"),
    (signal.SIGSEGV, "was killed by signal SIGSEGV (a plugin may have crashed it)"),
], ids=["SIGKILL", "SIGSEGV"])
def test_a_killed_worker_is_reported_with_its_signal(
        one_slot: RunningServer, signum: signal.Signals, said: str) -> None:
    with Client(f"127.0.0.1:{one_slot.port}") as client:
        events = client.train_events(client.train_request("killed", "xor", options=LONG))
        assert isinstance(next(events), Progress)
        (busy,) = one_slot.pool._busy  # white-box: the pool exposes no pids
        os.kill(busy.process.pid, signum)
        with pytest.raises(GateLearnError) as failure:
            list(events)
        assert failure.value.code == grpc.StatusCode.FAILED_PRECONDITION
        assert said in failure.value.details, failure.value.details
        assert "nothing was saved" in failure.value.details
        # the slot has a new worker: the next training runs
        assert poll(lambda: client.train("after", "xor").metrics.solved, what="a new worker")
        assert [m.name for m in client.models()] == ["after"]
