"""The change log's generation read shared by concurrent calls (models/generations.py).

Each caller notes the writes acknowledged before it calls; the generation it gets must count
them all, however the reads were shared.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from gatelearn.server.models.generations import SharedGeneration

READ_SECONDS = 0.002  # how long one read takes: a database round trip, so callers overlap


class FakeLog:
    """A change log whose generation grows with each write; a read answers the generation at
    its start, some time later, as a database snapshot does."""

    def __init__(self) -> None:
        self.generation = 0
        self.reads = 0
        self._lock = threading.Lock()

    def write(self) -> int:
        with self._lock:
            self.generation += 1
            return self.generation

    def read(self) -> int:
        with self._lock:
            self.reads += 1
            seen = self.generation
        time.sleep(READ_SECONDS)
        return seen


def test_every_caller_sees_each_write_acknowledged_before_it_called_and_reads_are_shared() -> None:
    log = FakeLog()
    shared = SharedGeneration(log.read)
    calls_per_thread, threads = 40, 8

    def caller() -> list[tuple[int, int]]:
        seen = []
        for _ in range(calls_per_thread):
            acknowledged = log.write()
            seen.append((acknowledged, shared.current()))
        return seen

    with ThreadPoolExecutor(threads) as pool:
        results = [
            pair
            for future in [pool.submit(caller) for _ in range(threads)]
            for pair in future.result()
        ]
    assert all(got >= acknowledged for acknowledged, got in results)
    assert log.reads < calls_per_thread * threads  # waiting callers took a read made for all


def test_a_failed_read_answers_no_one_and_the_next_caller_reads_again() -> None:
    answers = iter([ConnectionError("store away"), 7])

    def read() -> int:
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    shared = SharedGeneration(read)
    with pytest.raises(ConnectionError):
        shared.current()
    assert shared.current() == 7
