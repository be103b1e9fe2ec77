"""A run's history as it is recorded: each recorded epoch's loss and right-row count per member.

A short run records every epoch, so recording is part of each epoch's cost: a record is written
in place into arrays made ahead (doubled when full), not kept as a tuple of fresh arrays, and
the counts become shares once, at the end. When the history holds `limit` records, every other
one is dropped and the interval doubles, so it stays evenly spaced.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["HistoryRecorder"]

Array = NDArray[np.floating[Any]]
CountRight = Callable[[NDArray[np.float64], bool], object]

FIRST_CAPACITY = 32  # records the arrays hold at first: a solved XOR run needs about 30


class HistoryRecorder:
    """Recorded epochs with each member's loss and count of rows right.

    `count_right(out, checked)` writes the current count of rows whose every output is right
    into `out`, reusing the solved check's distances when `checked`.
    """

    def __init__(
        self, population: int, interval: int, limit: int, rows: int, count_right: CountRight
    ) -> None:
        self.interval = interval  # epochs between records; doubled at each thinning
        self.limit = limit  # records kept before thinning; 0: never thinned
        self.rows = rows
        self.count_right = count_right
        capacity = min(limit, FIRST_CAPACITY) if limit else FIRST_CAPACITY
        self.epochs = np.empty(capacity, dtype=np.int64)
        self.loss = np.empty((capacity, population))
        self.right = np.empty((capacity, population))
        self.size = 0

    def record(self, epoch: int, loss: Array, final: bool, checked: bool = False) -> None:
        """Keep `epoch` with its loss and rows right if it is due or `final`; when the history
        is full, drop every other record first and record half as often from now on."""
        if self.limit and self.size >= self.limit:
            self.interval *= 2
            kept = self.epochs[: self.size] % self.interval == 0
            for array in (self.epochs, self.loss, self.right):
                kept_rows = array[: self.size][kept]
                array[: len(kept_rows)] = kept_rows
            self.size = int(kept.sum())
        if final or epoch % self.interval == 0:
            if self.size == len(self.epochs):
                self._grow()
            self._write(self.size, epoch, loss, checked)
            self.size += 1

    def replace_last(self, epoch: int, loss: Array) -> None:
        """Make the last record `epoch`'s, with `loss` and the rows right now."""
        self._write(self.size - 1, epoch, loss, False)

    @property
    def last_epoch(self) -> int:
        return int(self.epochs[self.size - 1])

    def arrays(self) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
        """The recorded epochs, losses (records, P) and accuracies (records, P)."""
        size = self.size
        return self.epochs[:size].copy(), self.loss[:size].copy(), self.right[:size] / self.rows

    def _write(self, index: int, epoch: int, loss: Array, checked: bool) -> None:
        self.epochs[index] = epoch
        self.loss[index] = loss
        self.count_right(self.right[index], checked)

    def _grow(self) -> None:
        capacity = 2 * len(self.epochs)
        if self.limit:
            capacity = min(capacity, self.limit)
        self.epochs, self.loss, self.right = (
            _grown(array, capacity) for array in (self.epochs, self.loss, self.right)
        )


def _grown(array: NDArray[Any], capacity: int) -> NDArray[Any]:
    """`array` with room for `capacity` rows, its rows first."""
    grown = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    grown[: len(array)] = array
    return grown
