"""The server's side of the training workers: a fixed pool of processes, one job each at a time.

The pool size is the number of trainings that may run at once. A worker that dies, or does
not stop when told to, is killed and replaced, so one bad training costs one process and
nothing else.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict

from gatelearn.server.limits import Limits
from gatelearn.server.priority import ordinary_priority
from gatelearn.server.training.frames import Kind, read_frame, write_frame
from gatelearn.server.training.idle_group import IdleGroup

__all__ = ["Worker", "WorkerPool"]

log = logging.getLogger("gatelearn.server")

Frame = tuple[Kind, bytes] | None  # None: the worker's output ended (it exited)

EXIT_WAIT = 1.0  # seconds a worker whose output ended gets to exit before it is killed
KILL_WAIT = 0.5  # seconds to wait for killed workers to end (see Worker.kill)
CRASHED = "a plugin may have crashed it"

# One BLAS thread per worker: the pool size already decides how many cores training takes.
WORKER_ENV = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}


def _progress(frame: Frame) -> bool:
    return frame is not None and frame[0] == Kind.PROGRESS


class Frames(queue.Queue[Frame]):
    """A worker's frames in order, except that a progress frame replaces one still waiting at
    the back: a relay that falls behind takes the latest progress, not a growing backlog."""

    def _put(self, item: Frame) -> None:
        if self.queue and _progress(item) and _progress(self.queue[-1]):
            self.queue[-1] = item
        else:
            self.queue.append(item)


class Worker:
    """One worker process, with its output frames arriving on a queue."""

    def __init__(self, argv: list[str], idle_group: IdleGroup | None = None) -> None:
        # A process group of its own: Ctrl-C in the server's terminal reaches the server
        # only, which gives running trainings their grace period and then stops the workers.
        # Started from an ordinary thread: a real-time policy would be inherited (priority.py).
        with ordinary_priority():
            self.process = subprocess.Popen(
                argv,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                env={**os.environ, **WORKER_ENV},
                process_group=0,
            )
        self.idle_group = idle_group
        self.hurried = False  # lifted out of its idle policy and group by a cancel
        self.to_idle_group()  # at once: its imports already yield to serving
        self.frames = Frames()
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True, name=f"worker-{self.process.pid}").start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            while (frame := read_frame(self.process.stdout)) is not None:
                self.frames.put(frame)
        finally:
            self.frames.put(None)

    def send(self, kind: Kind, payload: bytes = b"") -> bool:
        """Send a frame; False when the worker is gone."""
        assert self.process.stdin is not None
        try:
            write_frame(self.process.stdin, kind, payload, self._write_lock)
        except (BrokenPipeError, ValueError, OSError):
            return False
        return True

    def to_idle_group(self) -> None:
        """Move the worker into the pool's idle cgroup, if the pool has one."""
        self.hurried = False
        if self.idle_group is not None:
            self.idle_group.admit(self.process.pid)

    def hurry(self) -> None:
        """Lift the worker out of SCHED_IDLE and its idle cgroup, so that a cancel is read and
        acted on at once even while other work keeps every core busy (an idle thread then gets
        almost no CPU). The worker takes SCHED_IDLE again for its next job, and the pool moves
        it back. Where the system does not allow it (leaving SCHED_IDLE needs CAP_SYS_NICE),
        the worker keeps its policy."""
        self.hurried = True
        if self.idle_group is not None:
            self.idle_group.release(self.process.pid)
        try:
            for thread in os.listdir(f"/proc/{self.process.pid}/task"):
                os.sched_setscheduler(int(thread), os.SCHED_OTHER, os.sched_param(0))
        except (AttributeError, OSError):  # not Linux, not permitted, or already gone
            pass

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def how_it_ended(self) -> str:
        """Why a worker whose output ended is gone, for the error its job reports: the signal
        that killed it (SIGKILL is most often the kernel out of memory) or its exit code."""
        try:
            code = self.process.wait(EXIT_WAIT)
        except subprocess.TimeoutExpired:
            self.kill()
            return "closed its output without exiting, and was killed"
        if code >= 0:
            return f"exited with code {code} ({CRASHED})"
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = str(-code)
        crashed = "possibly out of memory" if -code == signal.SIGKILL else CRASHED
        return f"was killed by signal {name} ({crashed})"

    def signal_kill(self) -> None:
        """SIGKILL the worker, lifted out of SCHED_IDLE first: dying takes CPU too, which a
        SCHED_IDLE process on a saturated machine may wait seconds for. A worker already
        reaped is left alone: its pid may be another process's by now."""
        if self.process.returncode is not None:
            return
        self.hurry()
        self.process.kill()

    def kill(self, wait: float = KILL_WAIT) -> None:
        """SIGKILL the worker and reap it if it dies within `wait` seconds: where its policy
        cannot be lifted it may take longer, and nobody should wait for that (subprocess reaps
        it later; its pipes close as it dies)."""
        self.signal_kill()
        try:
            self.process.wait(wait)
        except subprocess.TimeoutExpired:
            log.warning("training worker %d killed but not yet ended", self.process.pid)
            return
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


class WorkerPool:
    """`size` worker processes; `acquire` never waits, so a full pool is answered at once."""

    def __init__(self, size: int, plugins: tuple[str, ...], limits: Limits) -> None:
        self._argv = [
            sys.executable,
            "-m",
            "gatelearn.server.training.worker",
            "--limits",
            json.dumps(asdict(limits)),
        ]
        for module in plugins:
            self._argv += ["--plugin", module]
        self._lock = threading.Lock()
        self._idle_group = IdleGroup.create()
        self._idle = [self._start() for _ in range(size)]
        self._busy: set[Worker] = set()
        self._closed = False
        self.restarts = 0  # workers killed and replaced, for the metrics

    def acquire(self) -> Worker | None:
        """An idle worker, or None when every worker is busy."""
        with self._lock:
            if self._closed or not self._idle:
                return None
            worker = self._idle.pop()
            self._busy.add(worker)
            return worker

    def release(self, worker: Worker, reusable: bool) -> None:
        """Hand a worker back; one that is not reusable is killed and replaced."""
        returned = worker
        if not (reusable and worker.alive) and not self._closed:
            log.warning("replacing training worker %d", worker.process.pid)
            worker.kill()
            returned = self._start()
        elif worker.hurried:
            worker.to_idle_group()
        with self._lock:  # one step: the slot never reads free while no worker is idle
            self._busy.discard(worker)
            self.restarts += returned is not worker
            if not self._closed and returned.alive:
                self._idle.append(returned)
                return
        returned.kill()

    def _start(self) -> Worker:
        return Worker(self._argv, self._idle_group)

    @property
    def busy(self) -> int:
        with self._lock:
            return len(self._busy)

    def close(self) -> None:
        """Kill every worker, idle or busy."""
        with self._lock:
            self._closed = True
            workers = [*self._idle, *self._busy]
            self._idle.clear()
        for worker in workers:  # all signalled first, so that they die side by side
            worker.signal_kill()
        deadline = time.monotonic() + KILL_WAIT
        for worker in workers:
            worker.kill(max(0.0, deadline - time.monotonic()))
        if self._idle_group is not None:
            self._idle_group.remove()
