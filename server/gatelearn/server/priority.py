"""Serving before training: a `gatelearn serve` process answers at a real-time priority.

Training workers run under SCHED_IDLE, yet on Linux's EEVDF scheduler a waking ordinary thread
can still wait a whole tick (4 ms at HZ=250) behind an idle-policy task that was picked first:
measured here, a bare grpcio echo's p99 went from 0.4 ms to 2.6-4 ms with two SCHED_IDLE
spinners, and to 0.47 ms with the echo server under SCHED_FIFO. The real-time class is the one
that always preempts at once, so the server's threads take its lowest priority where the system
allows it (root, CAP_SYS_NICE or RLIMIT_RTPRIO), and hand long computations back to the ordinary
class so they never starve other processes. New threads inherit the policy; processes the server
starts (training workers) are started from an ordinary thread, so they begin ordinary.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar, cast

__all__ = [
    "LARGE_REQUEST_BYTES",
    "REALTIME_CALLS",
    "REALTIME_PRIORITY",
    "as_bulk",
    "ordinary_priority",
    "serve_in_real_time",
]

REALTIME_PRIORITY = 1  # the lowest real-time priority: above every ordinary thread, no more
# The calls answered in real time, on the event loop itself (decoding.py): quick reads, and
# health checks (load balancers wait on them).
# Every other call is bulk work, answered as an ordinary thread: a Train or Search (refused at
# capacity or running for minutes, it is no latency anyone waits on), a write, an import.
# Measured: 16 clients retrying Trains at once against a real-time server on PostgreSQL got 52-55
# trainings/s, against 86-91/s with the server ordinary (its refusals ran ahead of the database).
REALTIME_CALLS = frozenset({"Predict", "GetModel", "Check"})
# A request this large is bulk work even so (decoding it alone takes a while): a Predict of a
# few rows is far smaller.
LARGE_REQUEST_BYTES = 64 * 1024

log = logging.getLogger("gatelearn.server")
T = TypeVar("T")


def serve_in_real_time() -> bool:
    """Put every thread of this process, and so every thread they start, under SCHED_FIFO at
    REALTIME_PRIORITY; False (and nothing changed) where the system refuses it or lacks it."""
    moved: list[int] = []
    try:
        realtime, param = os.SCHED_FIFO, os.sched_param(REALTIME_PRIORITY)
        for thread in (int(tid) for tid in os.listdir("/proc/self/task")):
            try:
                os.sched_setscheduler(thread, realtime, param)
            except ProcessLookupError:  # the thread ended since the listing
                continue
            moved.append(thread)
    except (AttributeError, OSError) as error:  # not Linux, or not permitted
        _back_to_ordinary(moved)
        log.info("serving at ordinary priority: a real-time policy is not available (%s)", error)
        return False
    return True


def _back_to_ordinary(threads: list[int]) -> None:
    """Undo a partly applied `serve_in_real_time` (a thread may end meanwhile)."""
    for thread in threads:
        with contextlib.suppress(OSError):
            os.sched_setscheduler(thread, os.SCHED_OTHER, os.sched_param(0))


@contextlib.contextmanager
def ordinary_priority() -> Iterator[None]:
    """Run the block in the ordinary class when the calling thread is real-time: a long
    computation must take turns with other processes, not hold a core until it is done, and a
    process started inside begins ordinary."""
    try:
        policy = os.sched_getscheduler(0)
    except (AttributeError, OSError):
        policy = -1
    if policy != getattr(os, "SCHED_FIFO", -1):
        yield
        return
    os.sched_setscheduler(0, os.SCHED_OTHER, os.sched_param(0))
    try:
        yield
    finally:
        with contextlib.suppress(OSError):  # permission withdrawn meanwhile: stay ordinary
            os.sched_setscheduler(0, policy, os.sched_param(REALTIME_PRIORITY))


def as_bulk(work: Callable[[], T], streams: bool) -> T:
    """`work()` in the ordinary class; when it `streams` (returns an iterator of responses),
    its iteration too, which is where a streaming handler does its work."""
    if streams:
        return cast(T, _iterated_as_bulk(cast(Callable[[], Iterator[Any]], work)))
    with ordinary_priority():
        return work()


def _iterated_as_bulk(work: Callable[[], Iterator[Any]]) -> Iterator[Any]:
    with ordinary_priority():
        yield from work()
