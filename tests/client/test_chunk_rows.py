"""How many rows `Client.predict_array` puts in one message, for any message limit a client
may be given (client/_chunk_rows.py)."""

from __future__ import annotations

from gatelearn.client._chunk_rows import DEFAULT_CHUNK_ROWS, chunk_rows_to_send

ROW_BYTES = 16  # two float64 inputs


def test_no_limit_sends_the_default_chunks() -> None:
    """-1 is gRPC's "no limit": it made chunks of one row (a million messages for 10^6 rows)."""
    assert chunk_rows_to_send(ROW_BYTES, -1) == DEFAULT_CHUNK_ROWS


def test_a_small_limit_still_fills_half_of_each_message() -> None:
    """Under twice the room kept for the rest of a message, there was no room left for rows."""
    assert chunk_rows_to_send(ROW_BYTES, 8192) == 8192 // 2 // ROW_BYTES


def test_the_default_limit_takes_the_default_chunks_and_a_huge_row_one_a_message() -> None:
    assert chunk_rows_to_send(ROW_BYTES, 16 * 2**20) == DEFAULT_CHUNK_ROWS
    assert chunk_rows_to_send(10**6, 100) == 1
