"""The weight codec: named arrays of plain numbers as bytes and back, never through pickle.

A blob is `MAGIC`, a 4-byte big-endian header length, a JSON header listing each array as
[name, dtype, shape], then the arrays' bytes in that order (C order, little-endian). It replaced
`.npz` (numpy.savez), whose zip members made packing a trained model's 13 small arrays cost about
0.3 ms; blobs written before it are `.npz` archives and are still read, with
`allow_pickle=False`. Reading checks the header against the blob before taking any array from
it, so bytes that are not a blob raise ValueError and allocate nothing beyond their own size.
"""

from __future__ import annotations

import io
import json
import math
import struct
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DTYPES", "MAGIC", "decode_arrays", "encode_arrays"]

MAGIC = b"GLA1"
DTYPES = frozenset({"<f8", "<f4", "<i8", "<u8"})  # the only element types written or read
_LENGTH = struct.Struct("!I")
_NPZ = b"PK\x03\x04"  # a zip archive's first bytes: a blob written before this format


def encode_arrays(arrays: dict[str, NDArray[Any]]) -> bytes:
    """`arrays` as one blob, in the order given; ValueError for an element type not in DTYPES."""
    plain = {
        name: np.asarray(array, dtype=array.dtype.newbyteorder("<"), order="C")
        for name, array in arrays.items()
    }
    header = [[name, array.dtype.str, list(array.shape)] for name, array in plain.items()]
    for name, dtype, _ in header:
        if dtype not in DTYPES:
            raise ValueError(f"array {name!r} has element type {dtype}; only {sorted(DTYPES)}")
    header_bytes = json.dumps(header).encode()
    return b"".join(
        [MAGIC, _LENGTH.pack(len(header_bytes)), header_bytes]
        + [array.tobytes() for array in plain.values()]
    )


def decode_arrays(blob: bytes) -> dict[str, NDArray[Any]]:
    """The arrays of an `encode_arrays` blob (or of an older `.npz` one), by name; ValueError
    when the bytes are neither."""
    if blob[:4] == _NPZ:
        with np.load(io.BytesIO(blob), allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    if blob[:4] != MAGIC or len(blob) < 8:
        raise ValueError("the bytes are not a weight blob")
    (length,) = _LENGTH.unpack_from(blob, 4)
    offset = 8 + length
    if offset > len(blob):
        raise ValueError(f"the header says {length} bytes; the blob has {len(blob) - 8}")
    arrays: dict[str, NDArray[Any]] = {}
    try:
        header = json.loads(blob[8:offset])
    except RecursionError:  # a flat list of entries never nests deep; json raises this
        raise ValueError("the header nests too deeply") from None
    for name, dtype, shape in _entries(header):
        count = math.prod(shape)
        size = count * np.dtype(dtype).itemsize
        if offset + size > len(blob) or name in arrays:
            raise ValueError(f"array {name!r} is repeated or runs past the blob's end")
        values = np.frombuffer(blob, dtype, count, offset)
        arrays[name] = values.reshape(shape).astype(np.dtype(dtype).newbyteorder("="))
        offset += size
    if offset != len(blob):
        raise ValueError(f"{len(blob) - offset} bytes follow the last array")
    return arrays


def _entries(header: Any) -> list[tuple[str, str, tuple[int, ...]]]:
    """The header's [name, dtype, shape] entries, each checked to be one."""
    if not isinstance(header, list):
        raise ValueError("the header is not a list of arrays")
    entries = []
    for entry in header:
        if not (
            isinstance(entry, list)
            and len(entry) == 3
            and isinstance(entry[0], str)
            and isinstance(entry[1], str)
            and entry[1] in DTYPES
            and isinstance(entry[2], list)
            and all(type(units) is int and units >= 0 for units in entry[2])
        ):
            raise ValueError(f"header entry {entry!r} is not [name, dtype, shape]")
        entries.append((entry[0], entry[1], tuple(entry[2])))
    return entries
