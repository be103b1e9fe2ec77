"""How many rows one of `Client.predict_array`'s chunks holds: as many as the measurement below
found fastest, fewer when a chunk's request would not fit in a message, and fewer again when the
server (or gRPC, on either side) refuses a chunk as too large, from the figures the refusal
names. The client cannot know a model's outputs, nor the server's limits, before it asks.
"""

from __future__ import annotations

import math
import re
from typing import Any

import grpc

__all__ = ["DEFAULT_CHUNK_ROWS", "FITTED_KEPT", "MAX_REFITS", "chunk_rows_to_send", "rows_that_fit"]

# Measured on a 2-8-1 model, 10^6 rows, 2 busy cores (README, where it shows Client in Python):
# one stream of 65536-row chunks beat two streams of 16384-row ones, in one process with the
# server and against a process of its own; fewer messages cost less, and a second stream's
# threads gained nothing once the server's forward pass ran in blocks on one thread.
DEFAULT_CHUNK_ROWS = 65536

# Models whose fitted chunk rows a Client keeps, so a later call is not refused first again.
FITTED_KEPT = 256

# Refits after refusals, one for each limit a chunk can meet (max_predict_rows, max_activations,
# the answer's and the request's message size): each refit only ever shrinks the chunks.
MAX_REFITS = 4

# Room in a message for what is not rows: twice the 4 KiB the server's bound on an answer counts
# beside its arrays, for the model's name, shapes, dtype and field tags.
_HEAD_ROOM = 8192

# The refusals that say what fits. The server's checks (gatelearn.server.checks, edge.messages,
# models.answers) are INVALID_ARGUMENT; gRPC's own message limit, on either side, is
# RESOURCE_EXHAUSTED.
_TOO_MANY_VALUES = re.compile(
    r"x (\d+) units x population 1 = \d+ values per pass; at most (\d+) \(limit max_activations\)"
)
_TOO_MANY_ROWS = re.compile(r"1 to (\d+) rows \(limit max_predict_rows\)")
_ANSWER_TOO_LARGE = re.compile(
    r"answer would take up to (\d+) bytes; at most (\d+) \(limit max_message_bytes\)"
)
_MESSAGE_TOO_LARGE = re.compile(r"Received message larger than max \((\d+) vs\. (\d+)\)")


def chunk_rows_to_send(row_bytes: int, max_message_bytes: int) -> int:
    """DEFAULT_CHUNK_ROWS, or fewer when that many rows of `row_bytes` bytes each would make a
    request over `max_message_bytes` (the client's own limit; by default the server's; -1, as
    gRPC has it, for none). A limit under twice _HEAD_ROOM keeps half of it for the rows."""
    if max_message_bytes < 0:
        return DEFAULT_CHUNK_ROWS
    head_room = min(_HEAD_ROOM, max_message_bytes // 2)
    fit = (max_message_bytes - head_room) // max(row_bytes, 1)
    return max(1, min(DEFAULT_CHUNK_ROWS, fit))


def rows_that_fit(error: Any, sent: int) -> int | None:
    """The rows a chunk may hold when `error` (a GateLearnError) refused one of `sent` rows as
    too large; None for any other error, or when not even one row would fit."""
    code, details = getattr(error, "code", None), getattr(error, "details", "")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return _rows_within(_MESSAGE_TOO_LARGE.search(details), sent)
    if code != grpc.StatusCode.INVALID_ARGUMENT:
        return None
    if found := _TOO_MANY_VALUES.search(details):
        fits = int(found[2]) // int(found[1])
    elif found := _TOO_MANY_ROWS.search(details):
        fits = int(found[1])
    else:
        return _rows_within(_ANSWER_TOO_LARGE.search(details), sent)
    return fits if 0 < fits < sent else None


def _rows_within(sizes: re.Match[str] | None, sent: int) -> int | None:
    """The rows whose message fits the limit `sizes` names, given that `sent` rows took the
    size it names: each row is counted as that size over the rows (an overestimate, as the size
    holds the message's head too), and the head gets _HEAD_ROOM."""
    if sizes is None:
        return None
    size, limit = int(sizes[1]), int(sizes[2])
    fits = (limit - _HEAD_ROOM) // math.ceil(size / max(sent, 1))
    return fits if 0 < fits < sent else None
