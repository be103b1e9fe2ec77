"""The weight codec: arrays of plain numbers as bytes and back, exactly, and old `.npz` blobs."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pytest
from store_test_support import weight_blob

from gatelearn.server.stores.arrays import MAGIC, decode_arrays, encode_arrays


def test_arrays_come_back_with_their_names_order_types_shapes_and_bits() -> None:
    arrays: dict[str, np.ndarray[Any, Any]] = {
        "w0": np.array([[-0.0, np.inf], [np.nan, 5e-324]]),
        "w1": np.arange(6.0).reshape(2, 3).T,  # not C-ordered
        "opt_steps": np.array(12),
        "shuffle/generator": np.array([2**64 - 1, 0], dtype=np.uint64),
        "big-endian": np.arange(3.0, dtype=">f8"),
        "single": np.ones(2, dtype=np.float32),
        "empty": np.zeros((0, 4)),
    }
    blob = encode_arrays(arrays)
    assert blob.startswith(MAGIC)
    decoded = decode_arrays(blob)
    assert list(decoded) == list(arrays)
    for name, array in arrays.items():
        got = decoded[name]
        assert got.shape == array.shape and got.dtype == array.dtype.newbyteorder("=")
        assert got.tobytes() == np.ascontiguousarray(array, dtype=got.dtype).tobytes()
        assert got.flags.writeable  # as numpy.load's arrays were


def test_an_npz_blob_written_before_the_format_reads_back() -> None:
    buffer = io.BytesIO()
    np.savez(buffer, w0=np.eye(2), opt_steps=np.array(3))
    decoded = decode_arrays(buffer.getvalue())
    assert decoded["w0"].tolist() == [[1.0, 0.0], [0.0, 1.0]] and int(decoded["opt_steps"]) == 3


def test_an_array_of_objects_is_never_written() -> None:
    with pytest.raises(ValueError, match="array 'w0' has element type |O"):
        encode_arrays({"w0": np.array([object()])})


@pytest.mark.parametrize(
    ("blob", "message"),
    [
        (b"", "not a weight blob"),
        (MAGIC + b"\x00\x00", "not a weight blob"),
        (MAGIC + b"\x00\x00\x00\x09[]", "the header says 9 bytes"),
        (weight_blob(b"{}"), "the header is not a list"),
        (weight_blob(b"[" * 100_000 + b"]" * 100_000), "the header nests too deeply"),
        (weight_blob(b'[["w", "<f8"]]'), "is not \\[name, dtype, shape\\]"),
        (weight_blob(b'[["w", "|O", [1]]]', bytes(8)), "is not \\[name, dtype, shape\\]"),
        (weight_blob(b'[["w", "<f8", [2]]]', bytes(8)), "runs past the blob's end"),
        (weight_blob(b'[["w", "<f8", [1]], ["w", "<f8", [1]]]', bytes(16)), "is repeated"),
        (weight_blob(b'[["w", "<f8", [1]]]', bytes(9)), "1 bytes follow the last array"),
    ],
)
def test_bytes_that_are_not_a_blob_are_refused(blob: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_arrays(blob)
