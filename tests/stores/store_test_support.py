"""Helpers shared by the store tests: records to save, and callables run at the same moment.

Not a test module; the test files in this folder import it by name (pytest puts this folder on
sys.path because it is not a package).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from itertools import pairwise
from typing import TypeVar

import numpy as np

from gatelearn.server.stores import ComponentMeta, Metrics, ModelMeta, ModelRecord, TaskMeta
from gatelearn.server.stores.arrays import MAGIC

T = TypeVar("T")


def record(name: str, sizes: tuple[int, ...] = (2, 3, 1), seed: int = 0) -> ModelRecord:
    """A model version with random weights (fixed by `seed`) and the metadata a load reads."""
    rng = np.random.default_rng(seed)
    weights = [rng.standard_normal((fan_in, fan_out)) for fan_in, fan_out in pairwise(sizes)]
    biases = [rng.standard_normal(fan_out) for fan_out in sizes[1:]]
    meta = ModelMeta(
        sizes=sizes,
        activations=tuple(ComponentMeta("sigmoid") for _ in sizes[1:]),
        bias=True,
        dtype="float64",
        low=0.0,
        high=1.0,
        task=TaskMeta("xor"),
        metrics=Metrics(loss=0.1 + seed),
    )
    return ModelRecord(name, meta, weights, biases, request=b"\x00train\xff")


def weight_blob(header: bytes, data: bytes = b"") -> bytes:
    """Bytes in the weight codec's format (`stores.arrays`) with this header text and data,
    damaged or not."""
    return MAGIC + len(header).to_bytes(4, "big") + header + data


def run_together(workers: list[Callable[[], T]]) -> list[T]:
    """Run each callable in its own thread, all released at once; their results in order."""
    start = threading.Barrier(len(workers))
    slots: dict[int, T | Exception] = {}

    def run(index: int) -> None:
        start.wait()
        try:
            slots[index] = workers[index]()
        except Exception as error:  # re-raised below, in the test's thread
            slots[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a worker hung"
    results: list[T] = []
    for index in range(len(workers)):
        result = slots[index]
        if isinstance(result, Exception):
            raise result
        results.append(result)
    return results
