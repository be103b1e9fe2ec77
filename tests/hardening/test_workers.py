"""How a training worker runs, how its end is reported and how it ends when its server dies.

A worker runs under SCHED_IDLE (Linux), below everything the server does.

A worker killed while training (by the kernel when memory runs out, or by any signal) fails
its Train call with FAILED_PRECONDITION naming the signal. A worker whose server is killed
(SIGKILL, so nothing is shut down in order) exits at once and says nothing: the workers share
the server's stderr, so it must hold no traceback and no "Fatal Python error". The second part
runs `gatelearn serve` as a subprocess (the helpers of test_shutdown).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path

import grpc
import pytest
from conftest import poll, start_server
from test_shutdown import GRACE, children, end, serve, still_running

from gatelearn.client import Client, GateLearnError, Progress, TrainOptions
from gatelearn.server import Limits
from gatelearn.server.app import SHUTDOWN_BACKSTOP, STOP_WAIT, RunningServer
from gatelearn.server.training.frames import Kind, pack_job, read_frame, write_frame
from gatelearn.server.training.idle_group import IdleGroup, own_cpu_cgroup
from gatelearn.server.training.pool import Frames
from gatelearn.v1 import gatelearn_pb2 as pb

LONG = TrainOptions(epochs=10**6, stop_when_solved=False, progress_interval_ms=1)
KILL_ROUNDS = 3  # the worker's write and its read of the closed pipe race: several tries
NOT_QUIET = ("Traceback", "Fatal Python error")
BAD_PLUGINS = Path(__file__).resolve().parent / "plugins_bad"  # the `hang` activation


@pytest.fixture
def one_slot(tmp_path: Path) -> Iterator[RunningServer]:
    running = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=1))
    yield running
    running.stop(0)


@pytest.mark.parametrize(
    ("signum", "said"),
    [
        (signal.SIGKILL, "was killed by signal SIGKILL (possibly out of memory)"),
        (signal.SIGSEGV, "was killed by signal SIGSEGV (a plugin may have crashed it)"),
    ],
    ids=["SIGKILL", "SIGSEGV"],
)
def test_a_killed_worker_is_reported_with_its_signal(
    one_slot: RunningServer, signum: signal.Signals, said: str
) -> None:
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


def _policies(pid: int) -> dict[int, int]:
    """The scheduling policy of every thread of process `pid`."""
    threads = [int(tid) for tid in os.listdir(f"/proc/{pid}/task")]
    return {tid: os.sched_getscheduler(tid) for tid in threads}


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_a_training_worker_runs_under_sched_idle(one_slot: RunningServer) -> None:
    """Every thread of the worker that trains runs only on CPU time serving does not want;
    the server's own threads keep the normal policy. A cancel lifts the worker out of it (so
    it stops at once on cores other work keeps busy), and its next job is idle again."""
    with Client(f"127.0.0.1:{one_slot.port}") as client:
        events = client.train_events(client.train_request("idle", "xor", options=LONG))
        assert isinstance(next(events), Progress)
        (busy,) = one_slot.pool._busy  # white-box: the pool exposes no pids
        training = _policies(busy.process.pid)
        events.close()
        poll(lambda: not one_slot.pool.busy, what="the cancelled job's end")
        stopping = _policies(busy.process.pid)
        events = client.train_events(client.train_request("again", "xor", options=LONG))
        assert isinstance(next(events), Progress)
        again = os.sched_getscheduler(busy.process.pid)  # the thread that trains
        events.close()
    assert len(training) >= 2  # the training and the thread reading the server's commands
    assert set(training.values()) == {os.SCHED_IDLE}, training
    assert set(stopping.values()) == {os.SCHED_OTHER}, stopping
    assert again == os.SCHED_IDLE
    assert os.sched_getscheduler(0) == os.SCHED_OTHER


def _idle_group(running: RunningServer) -> IdleGroup:
    group = running.pool._idle_group  # white-box: the pool exposes no cgroup
    if group is None:
        pytest.skip("this machine lets the server make no cgroup (root or a delegated one)")
    return group


def _members(group: IdleGroup) -> set[int]:
    return {int(pid) for pid in (group.path / "cgroup.procs").read_text().split()}


def test_training_workers_run_in_an_idle_cgroup_removed_at_stop(tmp_path: Path) -> None:
    """Where the server may make a cgroup, its workers run in one of their own inside the
    server's, idle as a group (cpu.idle 1), from their start and again after a cancel lifted
    them out; stopping the server removes it."""
    running = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=1))
    group = _idle_group(running)
    (worker,) = running.pool._idle
    assert (group.path / "cpu.idle").read_text().strip() == "1"
    assert group.parent == own_cpu_cgroup()
    assert _members(group) == {worker.process.pid}
    with Client(f"127.0.0.1:{running.port}") as client:
        for name in ("cancelled", "next"):
            events = client.train_events(client.train_request(name, "xor", options=LONG))
            assert isinstance(next(events), Progress)
            assert _members(group) == {worker.process.pid}
            events.close()
            poll(lambda: not running.pool.busy, what="the cancelled job's end")
    assert _members(group) == {worker.process.pid}  # the same worker, back in the group
    running.stop(0)
    assert not group.path.exists()


def test_a_killed_servers_idle_cgroup_is_removed_by_the_next(tmp_path: Path) -> None:
    """A server killed before it could remove its workers' group leaves it behind, empty once
    its workers are gone: the next server removes it."""
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    running = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=1))
    group = _idle_group(running)
    running.stop(0)
    left = group.parent / f"gatelearn-workers-{ended.stdout.strip()}-1"
    left.mkdir()
    running = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=1))
    try:
        assert not left.exists()
    finally:
        running.stop(0)


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="SCHED_IDLE is Linux's")
def test_stopping_on_a_saturated_machine_does_not_wait_for_idle_workers_to_die(
    tmp_path: Path,
) -> None:
    """A SIGKILLed SCHED_IDLE worker needs CPU time to die, which a machine kept busy at normal
    priority (here by spinning processes, in the full suite by its Predicts) hardly gives it:
    the stop waited for each worker in turn, 12 s for two of them (the shutdown bound is the
    grace period + 2 s). The workers are now killed side by side, and reaped if they end
    within 0.5 s."""
    running = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=2))
    workers = list(running.pool._idle)  # white-box: the pool exposes no pids
    poll(
        lambda: all(os.sched_getscheduler(w.process.pid) == os.SCHED_IDLE for w in workers),
        what="the workers under SCHED_IDLE",
    )
    spinning = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(2 * (os.cpu_count() or 1))
    ]
    try:
        started = time.monotonic()
        running.stop(0)
        stopped_after = time.monotonic() - started
    finally:
        for process in spinning:
            process.kill()
            process.wait()
    assert stopped_after < SHUTDOWN_BACKSTOP + STOP_WAIT + 1, f"stop took {stopped_after:.1f} s"
    assert poll(lambda: all(w.process.poll() is not None for w in workers), what="workers gone")


def test_waiting_progress_frames_coalesce_into_the_latest() -> None:
    """The relay gets the newest progress and every other frame, in order, however far it
    fell behind: the queue between a worker and its relay holds at most one progress frame
    in a row."""
    frames = Frames()
    sent = [(Kind.PROGRESS, b"1"), (Kind.PROGRESS, b"2"), (Kind.PROGRESS, b"3"), (Kind.DONE, b"")]
    for frame in [*sent, (Kind.PROGRESS, b"late"), None]:
        frames.put(frame)
    got = [frames.get_nowait() for _ in range(frames.qsize())]
    assert got == [(Kind.PROGRESS, b"3"), (Kind.DONE, b""), (Kind.PROGRESS, b"late"), None]


def _none_left(workers: dict[int, str]) -> bool:
    return not [pid for pid, start in workers.items() if still_running(pid, start)]


def test_workers_exit_quietly_when_their_server_is_killed(tmp_path: Path) -> None:
    for round_ in range(KILL_ROUNDS):
        log = tmp_path / f"serve{round_}.log"
        process, target, _ = serve(tmp_path / f"data{round_}", log)
        try:
            workers = children(process.pid)
            with Client(target) as client:
                events = client.train_events(client.train_request("long", "xor", options=LONG))
                for _ in range(2):  # progress is being written, as fast as the worker can
                    assert isinstance(next(events), Progress)
                process.kill()
                process.wait()

                poll(partial(_none_left, workers), timeout=10, what="the workers to exit")
        finally:
            end(process)
        text = log.read_text()
        assert not [marker for marker in NOT_QUIET if marker in text], text


def _worker(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A worker process on its own, its frames on pipes, as a server starts it."""
    return subprocess.Popen(
        [sys.executable, "-m", "gatelearn.server.training.worker", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _train(worker: subprocess.Popen[bytes], request: pb.TrainRequest) -> None:
    assert worker.stdin is not None
    write_frame(worker.stdin, Kind.TRAIN, pack_job(request.SerializeToString(), b""))


def test_a_worker_whose_output_breaks_exits_quietly(tmp_path: Path) -> None:
    """The race above made certain: the worker's stdout is closed while its stdin stays open,
    so its next progress frame meets a broken pipe before it can see the server is gone."""
    worker = _worker()
    assert worker.stdin is not None and worker.stdout is not None
    try:
        request = pb.TrainRequest(
            model_name="long",
            task=pb.ComponentRef(name="xor"),
            options=pb.TrainOptions(epochs=10**6, stop_when_solved=False, progress_interval_ms=1),
        )
        _train(worker, request)
        frame = read_frame(worker.stdout)
        assert frame is not None and frame[0] == Kind.PROGRESS
        worker.stdout.close()
        code = worker.wait(timeout=10)
        stderr = worker.stderr.read().decode() if worker.stderr else ""
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdin.close()
    assert code == 0, stderr
    assert stderr == ""


def test_a_worker_stuck_in_a_plugin_exits_when_its_server_is_gone() -> None:
    """The worker's main thread trains and reads its commands; a plugin that never returns
    keeps it from reading, yet the worker ends as soon as the server's end of its input
    closes."""
    path = os.environ.get("PYTHONPATH")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(BAD_PLUGINS), *([path] if path else [])]),
    }
    worker = _worker("--plugin", "bad_plugins", env=env)
    try:
        request = pb.TrainRequest(
            model_name="stuck",
            task=pb.ComponentRef(name="xor"),
            activations=[pb.ComponentRef(name="hang"), pb.ComponentRef(name="sigmoid")],
        )
        _train(worker, request)
        assert worker.stdin is not None
        worker.stdin.close()
        code = worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert code == 0


def test_a_cancel_arriving_after_its_job_ended_leaves_the_next_job_alone() -> None:
    """The server cancels a job the worker has just finished (their frames cross): the late
    CANCEL is read while the worker is idle, and the next job trains to its end."""
    worker = _worker()
    assert worker.stdin is not None and worker.stdout is not None
    quick = pb.TrainRequest(
        model_name="quick", task=pb.ComponentRef(name="xor"), options=pb.TrainOptions(epochs=5)
    )
    # Long enough to look for a cancel several times (every CANCEL_POLL seconds).
    longer = pb.TrainRequest(
        model_name="longer",
        task=pb.ComponentRef(name="xor"),
        options=pb.TrainOptions(epochs=20000, stop_when_solved=False, progress_interval_ms=10**6),
    )
    try:
        _train(worker, quick)
        first = read_frame(worker.stdout)
        write_frame(worker.stdin, Kind.CANCEL)
        _train(worker, longer)
        second = read_frame(worker.stdout)
    finally:
        worker.kill()
        worker.wait()
        worker.stdin.close()
    assert first is not None and first[0] == Kind.DONE
    assert second is not None and second[0] == Kind.DONE, second


def test_ctrl_c_leaves_the_workers_to_the_server(tmp_path: Path) -> None:
    """Ctrl-C in a terminal sends SIGINT to the server's process group: the running training
    still gets the grace period, then ends CANCELLED, and nobody prints a traceback."""
    log = tmp_path / "serve.log"
    process, target, _ = serve(tmp_path / "data", log)
    try:
        with Client(target) as client:
            events = client.train_events(client.train_request("long", "xor", options=LONG))
            assert isinstance(next(events), Progress)
            os.killpg(process.pid, signal.SIGINT)  # what the terminal does on Ctrl-C
            with pytest.raises(GateLearnError) as failure:
                list(events)
        assert failure.value.code == grpc.StatusCode.CANCELLED, failure.value.details
        assert process.wait(timeout=GRACE + 10) == 0
    finally:
        end(process)
    text = log.read_text()
    assert not [marker for marker in NOT_QUIET if marker in text], text
