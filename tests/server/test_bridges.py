"""The bridges between grpc.aio's event loop and the pool threads running synchronous code
(edge/bridges.py): a thread always ends when its call does, and memory stays bounded.

These drive the bridges on an event loop of their own, with real threads: the server's
cancellation paths reach them the same way (the call's task cancelled, its SyncContext ended).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from gatelearn.server.edge.bridges import thread_answers, thread_requests
from gatelearn.server.edge.sync_context import SyncContext

ENDS_WITHIN = 5.0  # seconds: a generous bound for a thread to notice its call ended


def test_a_stream_its_taker_closes_ends_its_thread_and_runs_ahead_by_one() -> None:
    made: list[int] = []
    fourth_made, ended = threading.Event(), threading.Event()

    def endless() -> Iterator[int]:
        try:
            for number in itertools.count():
                made.append(number)
                if number == 3:
                    fourth_made.set()
                yield number
        finally:
            ended.set()

    async def take_two() -> list[int]:
        stream = thread_answers(pool, endless, stopped.set)
        taken = [await anext(stream), await anext(stream)]
        # The third waits to be taken, so the thread waits for room to hand over the fourth.
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, fourth_made.wait, ENDS_WITHIN)
        await stream.aclose()  # the call ended: its task was cancelled
        # The stream ends once its thread has closed the generator, not before.
        assert stopped.is_set() and ended.is_set()
        return taken

    pool = ThreadPoolExecutor(1)
    stopped = threading.Event()
    try:
        assert asyncio.run(take_two()) == [0, 1]
        assert made == [0, 1, 2, 3]  # one waiting, one refused: bounded, not endless
    finally:
        pool.shutdown(wait=False)


def test_an_error_comes_after_the_answers_before_it() -> None:
    def failing() -> Iterator[int]:
        yield 1
        raise ValueError("row 3 is wrong")

    async def take_all() -> list[int]:
        return [answer async for answer in thread_answers(pool, failing, lambda: None)]

    pool = ThreadPoolExecutor(1)
    try:
        with pytest.raises(ValueError, match="row 3 is wrong"):
            asyncio.run(take_all())
    finally:
        pool.shutdown()


def test_a_thread_waiting_for_a_request_stops_when_the_call_ends() -> None:
    context = SyncContext()
    read: list[bytes] = []
    first_read, done = threading.Event(), threading.Event()

    async def one_request_then_nothing() -> AsyncIterator[bytes]:
        yield b"first"
        await asyncio.Event().wait()  # the client sends nothing more
        yield b"never"

    async def call() -> None:
        loop = asyncio.get_running_loop()
        requests = thread_requests(one_request_then_nothing(), loop, context)

        def reader() -> None:
            for request in requests:
                read.append(request)
                first_read.set()
            done.set()

        threading.Thread(target=reader, daemon=True).start()
        assert await loop.run_in_executor(None, first_read.wait, ENDS_WITHIN)
        context.end()  # the call ended: the client went away
        ended = await loop.run_in_executor(None, done.wait, ENDS_WITHIN)
        assert ended, "the thread still waits for a request of an ended call"

    asyncio.run(call())
    assert read == [b"first"]
