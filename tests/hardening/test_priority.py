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
import queue
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import pytest
from conftest import poll
from test_shutdown import children, end, long_predict, serve

from gatelearn.client import Client, Progress, TrainOptions
from gatelearn.server.priority import REALTIME_PRIORITY, as_bulk, ordinary_priority
from gatelearn.v1 import gatelearn_pb2 as pb
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


def in_real_time_thread(run: Callable[[], None]) -> None:
    """`run` in a thread of its own (pytest's stays ordinary), real-time where permitted."""

    def target() -> None:
        # Where refused, what `run` checks must leave the ordinary thread alone.
        with contextlib.suppress(PermissionError):
            os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY))
        run()

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(timeout=10)
    assert policy() == ORDINARY


def policy() -> tuple[int, int]:
    """The calling thread's policy and real-time priority."""
    return scheduling(0)[0]


def test_ordinary_priority_lowers_a_real_time_thread_for_the_block_only() -> None:
    """Inside the block a real-time thread is ordinary, after it real-time again at the same
    priority; an ordinary thread is left as it is."""
    seen: dict[str, tuple[int, int]] = {}

    def run() -> None:
        seen["before"] = policy()
        with ordinary_priority():
            seen["inside"] = policy()
        seen["after"] = policy()

    in_real_time_thread(run)
    own = REALTIME if realtime_permitted() else ORDINARY
    assert seen == {"before": own, "inside": ORDINARY, "after": own}


def test_bulk_work_runs_ordinary_a_streaming_answer_while_it_is_iterated() -> None:
    """as_bulk: a call's work, or a streaming call's iteration (where a stream handler works),
    runs in the ordinary class; the thread is real-time again after."""
    seen: dict[str, tuple[int, int]] = {}

    def responses() -> Iterator[int]:
        seen["streaming"] = policy()
        yield 1

    def run() -> None:
        seen["returned"] = as_bulk(policy, streams=False)
        stream = as_bulk(responses, streams=True)
        seen["before iterating"] = policy()
        assert list(stream) == [1]
        seen["after"] = policy()

    in_real_time_thread(run)
    own = REALTIME if realtime_permitted() else ORDINARY
    assert seen == {
        "returned": ORDINARY,
        "before iterating": own,
        "streaming": ORDINARY,
        "after": own,
    }


def test_a_running_training_is_relayed_by_an_ordinary_thread(tmp_path: Path) -> None:
    """Only quick reads are answered in real time: a Train call's handler (refused at capacity
    or relaying for minutes) runs in the ordinary class, as every call outside REALTIME_CALLS,
    and the server's threads are all real-time again once it has ended."""
    if not realtime_permitted():
        pytest.skip("this machine refuses SCHED_FIFO: the server has no real-time thread")
    process, target, _ = serve(tmp_path / "data", tmp_path / "serve.log")
    try:
        with Client(target) as client:
            long = client.train_request(
                "long", "xor", options=TrainOptions(epochs=10**7, stop_when_solved=False)
            )
            events = client.train_events(long)
            assert isinstance(next(events), Progress)
            poll(
                lambda: ORDINARY in scheduling(process.pid).values(),
                what="the training's handler in the ordinary class",
            )
            events.close()  # cancels it
            poll(
                lambda: set(scheduling(process.pid).values()) == {REALTIME},
                what="every server thread real-time again",
            )
    finally:
        end(process)


def test_an_open_predict_stream_is_answered_by_an_ordinary_thread(tmp_path: Path) -> None:
    """A stream of requests is bulk work: its handler leaves the real-time class while the
    stream lasts, however small its chunks."""
    if not realtime_permitted():
        pytest.skip("this machine refuses SCHED_FIFO: the server has no real-time thread")
    process, target, _ = serve(tmp_path / "data", tmp_path / "serve.log")
    more: queue.Queue[pb.PredictRequest | None] = queue.Queue()
    try:
        with Client(target) as client:
            client.train("m", "xor")
            assert set(scheduling(process.pid).values()) == {REALTIME}
            stub = gatelearn_pb2_grpc.GateLearnStub(client._channel)  # noqa: SLF001
            answers = stub.PredictStream(iter(more.get, None), timeout=60)
            more.put(pb.PredictRequest(model="m", rows=[pb.Row(values=[0, 1])]))
            assert next(answers).labels[0].values == [1.0]
            poll(
                lambda: ORDINARY in scheduling(process.pid).values(),
                what="the stream's handler in the ordinary class",
            )
            more.put(None)
            assert list(answers) == []
    finally:
        more.put(None)
        end(process)
