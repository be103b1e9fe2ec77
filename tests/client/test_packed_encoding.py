"""predict_array's streams send each chunk encoded by hand (its rows copied once, straight from
the array): the bytes must parse to exactly the request a message would have carried."""

from __future__ import annotations

import numpy as np
import pytest

from gatelearn.client._packed import chunk_request, chunk_request_bytes
from gatelearn.v1 import gatelearn_pb2 as pb


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("rows", [1, 3, 65536])
@pytest.mark.parametrize(
    "model", [("xor", 0), ("", 0), ("a" * 300, 7), ("m@prod", 2**31 - 1)], ids=str
)
def test_a_hand_encoded_chunk_parses_to_the_request_a_message_makes(
    dtype: str, rows: int, model: tuple[str, int]
) -> None:
    """Long names and large versions and sizes take varints of several bytes; a slice of a wider
    array's rows is contiguous, as predict_array's chunks are."""
    array = np.random.default_rng(rows).random((2 * rows, 3)).astype(dtype)
    chunk = array[rows:]
    parsed = pb.PredictRequest.FromString(chunk_request_bytes(chunk, dtype, *model))
    assert parsed == chunk_request(chunk, dtype, *model)
    assert np.array_equal(
        np.frombuffer(parsed.packed.data, dtype=dtype).reshape(chunk.shape), chunk
    )
