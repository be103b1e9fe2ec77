"""Serving before training: `gatelearn serve` answers at the lowest real-time priority where the
system allows it, its training workers run under SCHED_IDLE, and a long computation takes turns
with other processes in the ordinary class.

Why real time: with both cores kept busy by SCHED_IDLE work, a bare grpcio echo's p99 went from
0.4 ms to 2.6-4 ms (a waking thread waited a scheduler tick behind the idle task), and back to
0.47 ms with the echo server under SCHED_FIFO (bench/run.py measures gatelearn's own figure).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from pathlib import Path

import grpc
import pytest
from conftest import poll
from test_shutdown import children, end, long_predict, serve

from gatelearn.client import Client
from gatelearn.server.priority import REALTIME_PRIORITY, ordinary_priority
from gatelearn.v1 import gatelearn_pb2_grpc

pytestmark = pytest.mark.skipif(not hasattr(os, "SCHED_FIFO"), reason="scheduling policies")


def scheduling(pid: int) -> dict[int, tuple[int, int]]:
    """Every thread of process `pid` (0: this thread): its policy and real-time priority."""
    threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")] if pid else [0]
    return {t: (os.sched_getscheduler(t), os.sched_getparam(t).sched_priority) for t in threads}


REALTIME, ORDINARY, IDLE = (
    (os.SCHED_FIFO, REALTIME_PRIORITY),
    (os.SCHED_OTHER, 0),
    (os.SCHED_IDLE, 0),
)


def realtime_permitted() -> bool:
    """Whether this machine lets a process take SCHED_FIFO (asked of a throwaway child)."""
    probe = (
        f"import os; os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param({REALTIME_PRIORITY}))"
    )
    return subprocess.run([sys.executable, "-c", probe], capture_output=True).returncode == 0


@pytest.mark.parametrize("flags", [(), ("--no-realtime",)], ids=["default", "no-realtime"])
def test_serve_answers_in_real_time_and_trains_when_idle(tmp_path: Path, flags: tuple[str]) -> None:
    """Every thread of the server (gRPC's own included, started after the switch) is real-time
    where permitted, at the lowest priority; its workers, started from an ordinary thread, are
    SCHED_IDLE. With --no-realtime, or where refused, the server stays ordinary and serves."""
    process, target, _ = serve(tmp_path / "data", tmp_path / "serve.log", *flags)
    try:
        with Client(target) as client:
            client.train("m", "xor")
            assert client.predict("m", [[0, 1]]).labels == [[1.0]]
        server = scheduling(process.pid)
        # A worker lowers itself once its interpreter is up: the last one may still be starting.
        poll(lambda: workers_idle(process.pid), what="both workers under SCHED_IDLE")
    finally:
        process.terminate()
        process.wait(timeout=20)
        end(process)
    expected = REALTIME if not flags and realtime_permitted() else ORDINARY
    assert set(server.values()) == {expected}, server


def workers_idle(server: int) -> bool:
    workers = [scheduling(pid) for pid in children(server)]
    return len(workers) == 2 and all(set(threads.values()) == {IDLE} for threads in workers)


def test_a_long_forward_pass_runs_in_the_ordinary_class(tmp_path: Path) -> None:
    """A Predict far past LONG_PASS activations computes in a thread that has left the real-time
    class, so a server answering it never holds a core away from other processes."""
    if not realtime_permitted():
        pytest.skip("this machine refuses SCHED_FIFO: the server has no real-time thread")
    process, target, _ = serve(tmp_path / "data", tmp_path / "serve.log")
    try:
        with grpc.insecure_channel(target) as channel:
            stub = gatelearn_pb2_grpc.GateLearnStub(channel)
            request = long_predict(stub)
            assert set(scheduling(process.pid).values()) == {REALTIME}
            call = stub.Predict.future(request, timeout=600)
            poll(
                lambda: ORDINARY in scheduling(process.pid).values(),
                what="the Predict's thread in the ordinary class",
            )
            call.cancel()
    finally:
        end(process)


def test_ordinary_priority_lowers_a_real_time_thread_for_the_block_only() -> None:
    """Inside the block a real-time thread is ordinary, after it real-time again at the same
    priority; an ordinary thread is left as it is."""
    seen: dict[str, tuple[int, int]] = {}

    def policy() -> tuple[int, int]:
        return scheduling(0)[0]

    def run() -> None:
        # Where refused, the block must leave the ordinary thread alone.
        with contextlib.suppress(PermissionError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        seen["before"] = policy()
        with ordinary_priority():
            seen["inside"] = policy()
        seen["after"] = policy()

    thread = threading.Thread(target=run)  # a thread of its own: pytest's stays ordinary
    thread.start()
    thread.join(timeout=10)
    if realtime_permitted():
        assert seen == {"before": REALTIME, "inside": ORDINARY, "after": REALTIME}
    else:
        assert seen == {"before": ORDINARY, "inside": ORDINARY, "after": ORDINARY}
    assert policy() == ORDINARY
