"""Predict answers written as protobuf wire bytes straight from their arrays.

Made as messages, a four-row answer's Rows were built one by one and then serialized: with its
labels and finiteness check, about 10 us of a unary Predict's 21 on one thread. Here each Row
field is a fixed head (its tags and lengths, the same for every row of a model) followed by
the row's doubles, so one NumPy structured array holds all of them: about 6 us with the same
checks. The bytes parse to the very PredictResponse the message-built answer was (fields may
come in another order, which parsers ignore).

A packed answer's outputs are copied once, into the answer's bytes: set on a message, a
65,536-row chunk's half megabyte was copied by `tobytes`, again by the field and again by
serializing (0.21 ms of the chunk's 1.4 ms on one thread, with two or three copies held at
once; 10^6 rows through `gatelearn serve` took as long either way, within the noise).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.api.wire import field_tag, varint
from gatelearn.server.models.servable import ServableModel
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["packed_answer", "rows_answer"]

_OUTPUTS = pb.PredictResponse.DESCRIPTOR.fields_by_name["outputs"].number
_LABELS = pb.PredictResponse.DESCRIPTOR.fields_by_name["labels"].number
_VALUES = pb.Row.DESCRIPTOR.fields_by_name["values"].number
_PACKED_OUTPUTS = pb.PredictResponse.DESCRIPTOR.fields_by_name["packed_outputs"].number
_PACKED_LABELS = pb.PredictResponse.DESCRIPTOR.fields_by_name["packed_labels"].number
_LABEL_BITS = pb.PredictResponse.DESCRIPTOR.fields_by_name["label_bits"].number
_DATA = pb.PackedRows.DESCRIPTOR.fields_by_name["data"].number
# Answer heads (model and threshold) kept: a server answers from few models, the key is small.
HEADS_KEPT = 1024


@functools.cache  # one entry per (field, width): widths are models' input and output counts
def _row_layout(field: int, width: int) -> tuple[np.dtype[np.void], NDArray[np.uint8]]:
    """How a Row of `width` doubles is written as field `field` of the answer: a head of
    tags and lengths (its values packed, as proto3 packs repeated doubles), then the values."""
    values = field_tag(_VALUES) + varint(8 * width)
    head = field_tag(field) + varint(len(values) + 8 * width) + values
    layout = np.dtype([("head", np.uint8, (len(head),)), ("values", "<f8", (width,))])
    return layout, np.frombuffer(head, dtype=np.uint8)


def _rows_field(field: int, array: NDArray[np.float64]) -> bytes:
    """Every row of the 2-D `array` as a Row of field `field`."""
    layout, head = _row_layout(field, array.shape[1])
    rows = np.empty(len(array), dtype=layout)
    rows["head"] = head
    rows["values"] = array
    return rows.tobytes()


@functools.lru_cache(maxsize=HEADS_KEPT)
def _answer_head(name: str, version: int, threshold: float) -> bytes:
    """The answer's fields other than its rows, the same for every call to one model."""
    model = pb.ModelRef(name=name, version=version)
    return pb.PredictResponse(model=model, threshold=threshold).SerializeToString()


def rows_answer(
    model: ServableModel, outputs: NDArray[np.float64], labels: NDArray[np.float64]
) -> bytes:
    """The encoded PredictResponse of `model` answering rows: its reference and threshold,
    then `outputs` and `labels` (each (rows, model outputs)) as Rows."""
    head = _answer_head(model.record.name, model.record.version, model.threshold)
    return b"".join((head, _rows_field(_OUTPUTS, outputs), _rows_field(_LABELS, labels)))


def _packed_field(field: int, array: NDArray[Any], dtype: str) -> list[bytes | memoryview]:
    """The 2-D C-contiguous `array` (already of `dtype`) as PackedRows field `field`: its
    shape and dtype, then its bytes, left uncopied for the caller's one join."""
    head = pb.PackedRows(shape=array.shape, dtype=dtype).SerializeToString()
    data = array.data.cast("B")
    inner = head + field_tag(_DATA) + varint(len(data))
    return [field_tag(field) + varint(len(inner) + len(data)) + inner, data]


def packed_answer(
    model: ServableModel,
    outputs: NDArray[Any],
    dtype: str,
    labels: NDArray[Any] | None,
    bits: pb.LabelBits | None,
) -> bytes:
    """The encoded PredictResponse of `model` answering packed rows: `outputs` (in `dtype`,
    C-contiguous), then the labels, packed (`labels`, in `dtype`) or as `bits`."""
    head = _answer_head(model.record.name, model.record.version, model.threshold)
    parts: list[bytes | memoryview] = [head, *_packed_field(_PACKED_OUTPUTS, outputs, dtype)]
    if labels is not None:
        parts += _packed_field(_PACKED_LABELS, labels, dtype)
    if bits is not None:
        encoded = bits.SerializeToString()
        parts += [field_tag(_LABEL_BITS), varint(len(encoded)), encoded]
    return b"".join(parts)
