"""Length-prefixed frames between the server and its training workers, over plain pipes.

A frame is a 4-byte big-endian length, a 1-byte kind and the payload. Payloads are protobuf
messages, JSON, or `pack_arrays` blobs of plain numbers (`stores.arrays`): nothing crossing a
process boundary is ever pickled.
"""

from __future__ import annotations

import enum
import struct
import threading
from typing import IO

__all__ = [
    "Kind",
    "pack_job",
    "pack_record",
    "read_frame",
    "unpack_job",
    "unpack_record",
    "write_frame",
]

_HEADER = struct.Struct("!IB")
MAX_FRAME = 1 << 30


class Kind(enum.IntEnum):
    TRAIN = 1  # server -> worker: a TrainRequest and its start (see pack_job)
    CANCEL = 2  # server -> worker: stop the running training
    PROGRESS = 4  # worker -> server: a TrainProgress
    DONE = 5  # worker -> server: the model record (see pack_record)
    FAILED = 6  # worker -> server: a domain error as JSON (errors.to_json)


def write_frame(
    stream: IO[bytes], kind: Kind, payload: bytes = b"", lock: threading.Lock | None = None
) -> None:
    """Write one frame and flush it; `lock` serialises writers sharing the stream."""
    data = _HEADER.pack(len(payload), kind) + payload
    if lock is None:
        stream.write(data)
        stream.flush()
        return
    with lock:
        stream.write(data)
        stream.flush()


def _read_exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks, missing = [], size
    while missing:
        chunk = stream.read(missing)
        if not chunk:
            return None
        chunks.append(chunk)
        missing -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> tuple[Kind, bytes] | None:
    """The next frame, or None when the stream has ended (the other side is gone)."""
    header = _read_exactly(stream, _HEADER.size)
    if header is None:
        return None
    size, kind = _HEADER.unpack(header)
    if size > MAX_FRAME:
        raise ValueError(f"frame of {size} bytes is over the {MAX_FRAME} limit")
    payload = _read_exactly(stream, size)
    if payload is None:
        return None
    return Kind(kind), payload


def pack_record(meta_text: str, weights: bytes) -> bytes:
    """A model's metadata text (`ModelMeta.to_text`) and its `pack_arrays` weight bytes as one
    payload."""
    meta_bytes = meta_text.encode()
    return struct.pack("!I", len(meta_bytes)) + meta_bytes + weights


def pack_job(request: bytes, start: bytes) -> bytes:
    """A serialized TrainRequest and the `pack_arrays` bytes a warm start begins from (empty
    for a cold start) as one payload."""
    return struct.pack("!I", len(request)) + request + start


def unpack_job(payload: bytes) -> tuple[bytes, bytes]:
    (size,) = struct.unpack_from("!I", payload)
    return payload[4 : 4 + size], payload[4 + size :]


def unpack_record(payload: bytes) -> tuple[str, bytes]:
    (size,) = struct.unpack_from("!I", payload)
    return payload[4 : 4 + size].decode(), payload[4 + size :]
