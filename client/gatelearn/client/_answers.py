"""The arrays `Client.predict_array` returns, filled in chunk by chunk as answers arrive.

Each chunk's outputs and labels are written straight into their rows of the call's two arrays
and the answer is dropped, instead of every answer being kept (and each one's bytes copied out)
to be joined at the end: that held about twice the returned arrays' size at its peak. Imported
only where NumPy is, as the rest of the client does not need it.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["Answers"]


class Answers:
    """The outputs and labels of `rows` rows, as arrays of `dtype`. Several streams may add
    answers at once, each to its own rows; the arrays are made by whichever answer comes
    first, as only answers tell how many outputs a row has."""

    def __init__(self, rows: int, dtype: np.dtype[Any]) -> None:
        self._rows = rows
        self._dtype = dtype
        self._made = threading.Lock()
        self._arrays: tuple[NDArray[Any], NDArray[Any]] | None = None

    def add(self, start: int, response: pb.PredictResponse) -> None:
        """Put the answer to the chunk whose first row is row `start` in its rows: labels from
        bits, or packed whole from a server that predates `label_bits`."""
        outputs = self._unpacked(response.packed_outputs)
        all_outputs, all_labels = self._arrays_of_width(outputs.shape[1])
        rows = slice(start, start + len(outputs))
        all_outputs[rows] = outputs
        if response.HasField("label_bits"):
            self._labels_from_bits(response.label_bits, all_labels[rows])
        else:
            all_labels[rows] = self._unpacked(response.packed_labels)

    def arrays(self) -> tuple[NDArray[Any], NDArray[Any]]:
        """The outputs and the labels, once every chunk's answer has been added."""
        if self._arrays is None:
            raise ValueError("no answer was added")
        return self._arrays

    def _arrays_of_width(self, width: int) -> tuple[NDArray[Any], NDArray[Any]]:
        with self._made:
            if self._arrays is None:
                shape = (self._rows, width)
                self._arrays = (np.empty(shape, self._dtype), np.empty(shape, self._dtype))
            return self._arrays

    def _unpacked(self, packed: pb.PackedRows) -> NDArray[Any]:
        return np.frombuffer(packed.data, dtype=self._dtype).reshape(packed.shape)

    def _labels_from_bits(self, bits: pb.LabelBits, into: NDArray[Any]) -> None:
        """`into` (whole rows, so contiguous) set to `high` where a bit is set, else `low`."""
        above = np.unpackbits(np.frombuffer(bits.bits, dtype=np.uint8), count=into.size)
        with np.errstate(over="ignore"):  # rounded as packed labels are: past float32 is inf
            values = np.array([bits.low, bits.high]).astype(self._dtype)
        values.take(above, out=into.reshape(-1))  # twice as fast as values[above] here
