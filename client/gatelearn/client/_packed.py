"""`Client.predict_array`'s transport: rows packed into chunks, carried by several PredictStreams
at once, each a contiguous run of chunks, and the answers put back in row order.

Only stream 0 resolves the model reference: the other streams wait for its first answer and
name the version it reports, so one call is answered by one version even while new versions
are saved. A failure names the chunk by its index in the whole call (`requests[5].` for the
sixth chunk), as one stream would; the first failing chunk wins, and streams after it are
cancelled.
"""

from __future__ import annotations

import itertools
import re
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import grpc

from gatelearn.api.wire import field_tag, varint
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = [
    "DEFAULT_STREAMS",
    "ChunkFailure",
    "chunk_request",
    "chunk_request_bytes",
    "predict_chunks",
]

DEFAULT_STREAMS = 1  # streams at once: the server answers each on a thread of its own

OpenStream = Callable[[Iterator[bytes]], Any]  # a PredictStream call taking encoded requests
OnAnswer = Callable[[int, pb.PredictResponse], None]  # a chunk's first row and its answer
_WHERE = re.compile(r"^requests\[(\d+)\]\.")


class ChunkFailure(Exception):
    """A stream failed; `details` names the chunk by its index in the whole call."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code
        self.details = details

    @classmethod
    def of(cls, error: grpc.RpcError, first_chunk: int) -> ChunkFailure:
        """`error` of the stream whose first message was chunk `first_chunk`."""
        code = error.code() if isinstance(error, grpc.Call) else grpc.StatusCode.UNKNOWN
        details = (error.details() if isinstance(error, grpc.Call) else str(error)) or code.name
        renumbered = _WHERE.sub(lambda m: f"requests[{first_chunk + int(m[1])}].", details)
        return cls(code, renumbered)


def chunk_request(chunk: Any, dtype: str, model: str = "", version: int = 0) -> pb.PredictRequest:
    """One chunk of packed rows as a request (a stream's later messages leave out the model),
    asking for its labels as bits: they are all either value, so a whole float each is waste."""
    request = _request_head(chunk, dtype, model, version)
    request.packed.data = chunk.tobytes()
    return request


def _request_head(chunk: Any, dtype: str, model: str, version: int) -> pb.PredictRequest:
    """chunk_request without the rows' bytes."""
    packed = pb.PackedRows(shape=chunk.shape, dtype=dtype)
    return pb.PredictRequest(model=model, version=version, label_bits=True, packed=packed)


# Tags of the length-delimited fields PredictRequest.packed and PackedRows.data.
_PACKED_TAG = field_tag(pb.PredictRequest.DESCRIPTOR.fields_by_name["packed"].number)
_DATA_TAG = field_tag(pb.PackedRows.DESCRIPTOR.fields_by_name["data"].number)


def chunk_request_bytes(chunk: Any, dtype: str, model: str = "", version: int = 0) -> bytes:
    """chunk_request's wire encoding, with the rows copied once, straight from `chunk` (C
    contiguous): the request without them, then `packed` again holding only `data`, which a
    parser merges into the first (protobuf merges repeated occurrences of a message field).
    Through a message, each chunk's bytes were copied three times (tobytes, the field, the
    encoding)."""
    data = memoryview(chunk).cast("B")
    inner = _DATA_TAG + varint(len(data))
    head = _request_head(chunk, dtype, model, version).SerializeToString()
    return b"".join((head, _PACKED_TAG, varint(len(inner) + len(data)), inner, data))


def _runs(chunks: int, streams: int) -> list[range]:
    """`chunks` split into at most `streams` contiguous runs of nearly equal length."""
    count = min(chunks, streams)
    edges = [chunks * k // count for k in range(count + 1)]
    return [range(edges[k], edges[k + 1]) for k in range(count)]


class _Streams:
    """The streams of one call, so that a failure can cancel the streams after it."""

    def __init__(
        self,
        open_stream: OpenStream,
        chunks: list[Any],
        dtype: str,
        model: tuple[str, int],
        on_answer: OnAnswer,
    ) -> None:
        self._open = open_stream
        self._chunks = chunks
        self._starts = list(itertools.accumulate((len(chunk) for chunk in chunks[:-1]), initial=0))
        self._on_answer = on_answer
        self._dtype = dtype
        self._model = model
        self._resolved: Future[tuple[str, int]] = Future()  # stream 0's answering version
        self._lock = threading.Lock()
        self._calls: dict[int, Any] = {}
        self._stopped_after = sys.maxsize  # runs past this index are not worth finishing

    def _stop_after(self, run: int) -> None:
        with self._lock:
            self._stopped_after = min(self._stopped_after, run)
            later = [call for index, call in self._calls.items() if index > run]
        for call in later:
            call.cancel()

    def _requests(self, chunks: range, model: tuple[str, int]) -> Iterator[bytes]:
        for index in chunks:
            named = model if index == chunks.start else ("", 0)
            yield chunk_request_bytes(self._chunks[index], self._dtype, *named)

    def carry(self, run: int, chunks: range) -> None:
        """Stream run number `run` (its `chunks`), handing on each answer as it arrives."""
        try:
            model = self._model if run == 0 else self._resolved.result()
            with self._lock:
                if run > self._stopped_after:
                    return  # an earlier run failed: its error is the call's
                call = self._calls[run] = self._open(self._requests(chunks, model))
            for position, response in enumerate(call):
                index = chunks[position]
                if index == 0:
                    self._resolved.set_result((response.model.name, response.model.version))
                self._on_answer(self._starts[index], response)
        except grpc.RpcError as error:
            self._stop_after(run)
            raise ChunkFailure.of(error, chunks.start) from None
        finally:
            if run == 0 and not self._resolved.done():  # the others must not wait forever
                self._resolved.set_exception(ChunkFailure(grpc.StatusCode.CANCELLED, "stopped"))

    def all(self, streams: int) -> None:
        runs = _runs(len(self._chunks), streams)
        if len(runs) == 1:  # carried by this thread: starting one took milliseconds when busy
            try:
                return self.carry(0, runs[0])
            finally:
                self._stop_after(-1)
        with ThreadPoolExecutor(len(runs), thread_name_prefix="predict-stream") as pool:
            futures = [pool.submit(self.carry, run, chunks) for run, chunks in enumerate(runs)]
            try:
                for future in futures:
                    future.result()
            finally:
                self._stop_after(-1)  # the answer is known (or interrupted): stop what still runs


def predict_chunks(
    open_stream: OpenStream,
    chunks: list[Any],
    dtype: str,
    model: tuple[str, int],
    on_answer: OnAnswer,
    streams: int = DEFAULT_STREAMS,
) -> None:
    """Send packed `chunks` (arrays of `dtype`) of rows for `model` (name, version) over
    `streams` PredictStreams at once, calling `on_answer` with each chunk's first row and its
    answer as it arrives (from several threads with several streams). Raises ChunkFailure for
    the first chunk that fails."""
    _Streams(open_stream, chunks, dtype, model, on_answer).all(streams)
