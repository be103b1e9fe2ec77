"""Stored model versions as every backend and the training worker hand them around.

A record is a network's matrices plus JSON-able metadata; its weights travel and rest as `.npz`
bytes of plain float arrays, read back with `allow_pickle=False` so nothing is ever unpickled.
`decode_record` turns a stored row back into a record, the same way for every backend.
"""

from __future__ import annotations

import io
import json
import time
import zipfile
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.server.stores.errors import CorruptModelError

__all__ = ["ModelRecord", "decode_record", "pack_arrays",
           "stored_summary", "summary_meta", "unpack_arrays"]

# What ListModels shows, kept apart from `meta` so listing never reads histories or tables.
_SUMMARY_KEYS = ("sizes", "metrics")


@dataclass
class ModelRecord:
    """One stored model version: its arrays and everything known about it.

    `meta` is plain JSON data: sizes, activations, bias, dtype, task, label values, metrics,
    history. `request` is the serialized request that trained it (None for imports).
    """

    name: str
    meta: dict[str, Any]
    weights: list[NDArray[np.float64]]
    biases: list[NDArray[np.float64]] | None
    request: bytes | None = None
    version: int = 0
    created_at: float = field(default_factory=time.time)


def summary_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """The part of a model's metadata a listing shows: sizes, metrics and the task's name."""
    summary = {key: meta[key] for key in _SUMMARY_KEYS if key in meta}
    if meta.get("task"):
        summary["task"] = {"name": meta["task"]["name"]}
    return summary


def stored_summary(meta_text: str) -> str | None:
    """The summary of a stored row's metadata text, for a store gaining its summary column;
    None when the text is damaged (the row stays as it is: loading it says so)."""
    try:
        return json.dumps(summary_meta(json.loads(meta_text)))
    except (ValueError, KeyError, TypeError):
        return None


def pack_arrays(weights: list[NDArray[Any]], biases: list[NDArray[Any]] | None) -> bytes:
    """A model's matrices as `.npz` bytes: w0, w1, ... and b0, b1, ... when it has biases."""
    arrays = {f"w{index}": np.asarray(w, dtype=np.float64) for index, w in enumerate(weights)}
    for index, b in enumerate(biases or []):
        arrays[f"b{index}"] = np.asarray(b, dtype=np.float64)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(
    blob: bytes, layers: int, bias: bool
) -> tuple[list[NDArray[Any]], list[NDArray[Any]] | None]:
    """`pack_arrays` bytes back as weight (and bias) arrays; object arrays are refused."""
    with np.load(io.BytesIO(blob), allow_pickle=False) as arrays:
        weights = [arrays[f"w{index}"] for index in range(layers)]
        biases = [arrays[f"b{index}"] for index in range(layers)] if bias else None
    return weights, biases


def decode_record(
    name: str,
    version: int,
    created_at: float,
    meta_text: str,
    request: bytes | None,
    blob: bytes,
) -> ModelRecord:
    """A stored row as a record; CorruptModelError when it is not plain arrays and JSON."""
    try:
        meta = json.loads(meta_text)
        weights, biases = unpack_arrays(blob, len(meta["sizes"]) - 1, meta["bias"])
    except (ValueError, KeyError, TypeError, OSError, zipfile.BadZipFile) as error:
        # Not written by a store (object arrays are refused, never unpickled).
        raise CorruptModelError(name, version, error) from None
    return ModelRecord(name, meta, weights, biases, request, version, created_at)
