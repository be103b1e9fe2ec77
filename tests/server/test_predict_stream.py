"""PredictStream reads and answers the next chunks while it sends the one before (edge/ahead.py):
answers stay in order, the first bad chunk ends the stream after the answers before it, and a
stream its client cancels, or one open when the server stops, ends its threads."""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import grpc
import numpy as np
import pytest
from conftest import poll, start_server
from server_test_support import FORBIDDEN_CODES

from gatelearn.client import Client
from gatelearn.server.app import SHUTDOWN_BACKSTOP, STOP_WAIT, RunningServer
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

AHEAD_MODULE = str(Path("edge", "ahead.py"))
ROWS = np.random.default_rng(0).random((64, 2))


def packed(rows: np.ndarray) -> pb.PackedRows:
    return pb.PackedRows(data=rows.tobytes(), shape=list(rows.shape), dtype="float64")


def chunk(index: int, model: str = "") -> pb.PredictRequest:
    """Chunk `index` of a stream: ROWS shifted by `index`, so every answer is told apart."""
    return pb.PredictRequest(
        model=model or ("gate" if index == 0 else ""), packed=packed(ROWS + index)
    )


def stream_threads() -> list[int]:
    """Threads running a stream's work: its reader, or a server thread taking its answers."""
    running = []
    for thread_id, frame in sys._current_frames().items():
        stack = traceback.extract_stack(frame)
        if any(entry.filename.endswith(AHEAD_MODULE) for entry in stack):
            running.append(thread_id)
    return running


@pytest.fixture
def trained(client: Client) -> Client:
    client.train("gate", "xor")
    return client


@pytest.fixture
def stub(address: str) -> Iterator[gatelearn_pb2_grpc.GateLearnStub]:
    with grpc.insecure_channel(address) as channel:
        yield gatelearn_pb2_grpc.GateLearnStub(channel)


def test_answers_come_in_the_order_of_their_chunks(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    answers = list(stub.PredictStream(iter([chunk(index) for index in range(12)]), timeout=30))
    for index, answer in enumerate(answers):
        expected, _ = trained.predict_array("gate", ROWS + index)
        got = np.frombuffer(answer.packed_outputs.data, dtype="<f8").reshape(expected.shape)
        np.testing.assert_array_equal(got, expected)
    assert len(answers) == 12


def test_the_first_bad_chunk_ends_the_stream_after_the_answers_before_it(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    trained.train("other", "and")
    nan = ROWS.copy()
    nan[3, 1] = np.nan
    requests = [
        chunk(0),
        chunk(1),
        pb.PredictRequest(packed=packed(nan)),
        chunk(3, model="other"),  # also bad, but never reached
        chunk(4),
    ]
    call = stub.PredictStream(iter(requests), timeout=30)
    answers = []
    with pytest.raises(grpc.RpcError) as failed:
        for answer in call:
            answers.append(answer)
    assert len(answers) == 2
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.value.details().startswith("requests[2].packed.data: row 3"), failed.value
    poll(lambda: not stream_threads(), what="the stream's threads to end")


def first_then_wait(release: threading.Event) -> Iterator[pb.PredictRequest]:
    """A stream's first chunk, then nothing until `release`: the server's reader waits."""
    yield chunk(0)
    release.wait(30)


def test_a_stream_cancelled_by_its_client_ends_its_threads(
    trained: Client, stub: gatelearn_pb2_grpc.GateLearnStub
) -> None:
    release = threading.Event()
    try:
        call = stub.PredictStream(first_then_wait(release), timeout=30)
        next(call)
        assert stream_threads()
        call.cancel()
        poll(lambda: not stream_threads(), what="the stream's threads to end")
    finally:
        release.set()


def test_a_stream_left_open_does_not_hold_up_shutdown(tmp_path: Path) -> None:
    server: RunningServer = start_server(tmp_path / "data")
    release = threading.Event()
    channel = grpc.insecure_channel(f"127.0.0.1:{server.port}")
    try:
        with Client(f"127.0.0.1:{server.port}") as client:
            client.train("gate", "xor")
        call = gatelearn_pb2_grpc.GateLearnStub(channel).PredictStream(
            first_then_wait(release), timeout=30
        )
        next(call)
        grace = 0.5
        started = time.monotonic()
        server.stop(grace)
        stopped_after = time.monotonic() - started
        with pytest.raises(grpc.RpcError) as ended:
            next(call)
        assert ended.value.code() not in FORBIDDEN_CODES, ended.value
        assert stopped_after < grace + SHUTDOWN_BACKSTOP + STOP_WAIT + 2  # responsiveness bound
        poll(lambda: not stream_threads(), what="the stream's threads to end")
    finally:
        release.set()
        channel.close()
