"""A training worker: a process of its own, so training never competes with serving for a GIL.

The server starts it as `python -m gatelearn.server.training.worker` and talks frames (`frames`)
over its stdin and stdout: TRAIN and CANCEL in, PROGRESS and one DONE or FAILED per job out. When
stdin closes or stdout breaks, the server is gone and the worker exits at once, quietly.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
from typing import BinaryIO

from gatelearn.plugins import build_registry, create_manager
from gatelearn.server.limits import Limits
from gatelearn.server.training.frames import Kind, read_frame, write_frame
from gatelearn.server.training.jobs import run_job
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


def _read_commands(stream: BinaryIO, jobs: queue.Queue[bytes], cancel: threading.Event) -> None:
    """Queue TRAIN payloads and raise the cancel flag on CANCEL; exit when the server is gone."""
    while (frame := read_frame(stream)) is not None:
        kind, payload = frame
        if kind == Kind.TRAIN:
            cancel.clear()
            jobs.put(payload)
        elif kind == Kind.CANCEL:
            cancel.set()
    os._exit(0)


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
    registry = build_registry(create_manager(args.plugin))

    frames_out = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print from a plugin must not corrupt the frames
    write_lock = threading.Lock()
    jobs: queue.Queue[bytes] = queue.Queue()
    cancel = threading.Event()
    threading.Thread(
        target=_read_commands, args=(sys.stdin.buffer, jobs, cancel), daemon=True
    ).start()

    def send(kind: Kind, body: bytes) -> None:
        try:
            write_frame(frames_out, kind, body, write_lock)
        except (OSError, ValueError):  # a broken pipe: nobody is left to report to
            os._exit(0)

    def send_progress(message: pb.TrainProgress) -> None:
        send(Kind.PROGRESS, message.SerializeToString())

    while True:
        payload = jobs.get()
        idle_policy()  # the server lifts it to stop a job quickly (Worker.hurry)
        send(*run_job(payload, registry, limits, cancel, send_progress))


if __name__ == "__main__":
    main()
