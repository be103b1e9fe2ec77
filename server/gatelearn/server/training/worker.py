"""A training worker: a process of its own, so training never competes with serving for a GIL.

The server starts it as `python -m gatelearn.server.training.worker` and talks frames (`frames`)
over its stdin and stdout: TRAIN and CANCEL in, PROGRESS and one DONE or FAILED per job out. When
stdin closes or stdout breaks, the server is gone and the worker exits at once, quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import select
import signal
import sys
import threading
import traceback
from typing import BinaryIO

from gatelearn.plugins import Registry, build_registry, create_manager
from gatelearn.server.errors import FailedPrecondition
from gatelearn.server.limits import Limits
from gatelearn.server.training.frames import Kind, read_frame, write_frame
from gatelearn.server.training.jobs import failed_frame, run_job
from gatelearn.v1 import gatelearn_pb2 as pb

WORKER_NICENESS = 10  # added to the worker's niceness where SCHED_IDLE is not to be had


def idle_policy() -> bool:
    """Put the calling thread under Linux's SCHED_IDLE; False where that is not to be had (not
    Linux, or a sandbox refusing the policy)."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        return False
    return True


def yield_to_serving() -> None:
    """Run this process only on CPU time nothing else wants, so Predict is never kept waiting:
    SCHED_IDLE where permitted, else a higher niceness."""
    if not idle_policy():
        os.nice(WORKER_NICENESS)


class Commands:
    """The server's frames, read on the main thread, which trains: when idle it waits for the
    next TRAIN itself (no hand-off between threads), and during a job `cancelled` looks for a
    CANCEL among the frames already waiting. The server sends a job only to an idle worker, so
    nothing but a CANCEL arrives during one. Exits when the server is gone."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream  # unbuffered: `cancelled` asks the pipe itself what is waiting
        self._cancelled = False

    def _read(self) -> tuple[Kind, bytes]:
        frame = read_frame(self._stream)
        if frame is None:
            os._exit(0)
        return frame

    def next_job(self) -> bytes:
        """The next TRAIN payload; a CANCEL read meanwhile came too late for a job that ended."""
        while (frame := self._read())[0] != Kind.TRAIN:
            pass
        self._cancelled = False
        return frame[1]

    def cancelled(self) -> bool:
        """Whether the server cancelled the running job (a frame is written whole, at once)."""
        while not self._cancelled and select.select([self._stream], [], [], 0)[0]:
            self._cancelled = self._read()[0] == Kind.CANCEL
        return self._cancelled


def _exit_when_server_gone(stream: BinaryIO) -> None:
    """Exit as soon as the server's end of `stream` closes, even in the middle of a job: waits
    for the hang-up alone, so the main thread stays the only reader."""
    hang_up = select.poll()
    hang_up.register(stream, 0)  # no events asked for: only POLLHUP, POLLERR, POLLNVAL come
    hang_up.poll()
    os._exit(0)


def _frames_out() -> BinaryIO:
    """The pipe to the server, on a descriptor of its own, with descriptor 1 (and sys.stdout)
    turned to stderr: whatever a plugin writes to stdout, a print at import, a C library or a
    child process writing to descriptor 1, must not reach the pipe and corrupt the frames."""
    sys.stdout.flush()
    frames_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")  # not inherited by children
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return frames_out


def _unloadable(error: Exception) -> tuple[Kind, bytes]:
    """The FAILED frame for every job of a worker that could not load the server's plugins (a
    module the server imported through its own sys.path, say): it names the plugin, where a
    worker dying at start-up told each Train only its exit code, and was replaced each time."""
    return failed_frame(
        FailedPrecondition(
            f"the training worker cannot load the plugins: {error}; a worker is a process of "
            f"its own, which must be able to import every plugin the server loads (PYTHONPATH, "
            f"installed packages); nothing was saved"
        )
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--limits", default="{}", help="the server's Limits as JSON")
    parser.add_argument("--plugin", action="append", default=[], help="extra plugin module")
    args = parser.parse_args(argv)
    # Serving comes first: with every core training, Predict must still get the CPU at once.
    # Before any thread starts, so that every thread of the worker inherits it.
    yield_to_serving()
    # Ctrl-C in a terminal reaches the whole process group; the server, not the key, decides
    # when a training stops (after its grace period).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limits = Limits(**json.loads(args.limits))
    frames_out = _frames_out()
    try:
        registry: Registry | None = build_registry(create_manager(args.plugin))
    except Exception as error:  # answered to every job below, not a worker dying per Train
        traceback.print_exc()
        registry, unloadable = None, _unloadable(error)

    def send(kind: Kind, body: bytes) -> None:
        try:
            write_frame(frames_out, kind, body)
        except (OSError, ValueError):  # a broken pipe: nobody is left to report to
            os._exit(0)

    def send_progress(message: pb.TrainProgress) -> None:
        send(Kind.PROGRESS, message.SerializeToString())

    with open(sys.stdin.fileno(), "rb", buffering=0, closefd=False) as commands_in:
        threading.Thread(target=_exit_when_server_gone, args=(commands_in,), daemon=True).start()
        commands = Commands(commands_in)
        while True:
            payload = commands.next_job()
            idle_policy()  # the server lifts it to stop a job quickly (Worker.hurry)
            if registry is None:
                send(*unloadable)
                continue
            send(*run_job(payload, registry, limits, commands.cancelled, send_progress))


if __name__ == "__main__":
    main()
