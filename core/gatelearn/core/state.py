"""Where a run left off, so that another run can continue it bit for bit.

Two things besides the weights carry a run forward: the optimizer's state (Adam's moments and
step count, momentum's velocity) and, with minibatches, the row order and the generator that
shuffles it. Both are plain arrays, so they can be stored without pickling. Optimizer state
is kept in one layout whatever the binding: for each declared name, one array per parameter
array (every layer's weights, then every layer's bias), shaped like it, population axis last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["OptimizerState", "RunState", "ShuffleState"]

Array = NDArray[np.floating[Any]]
_WORD = (1 << 64) - 1


@dataclass
class OptimizerState:
    """An optimizer's state between updates: per declared name, one array per parameter
    array, and the number of updates applied (kept by rules that use it, as Adam's is)."""

    arrays: dict[str, list[Array]]
    steps: int = 0

    def member(self, index: int) -> OptimizerState:
        """The state of population member `index` alone (P = 1)."""
        return OptimizerState(
            {
                name: [a[..., index : index + 1].copy() for a in arrays]
                for name, arrays in self.arrays.items()
            },
            self.steps,
        )


@dataclass
class ShuffleState:
    """The minibatch row order after the last epoch and its generator's state (PCG64's state
    and increment as 64-bit words, high first, then `has_uint32` and `uinteger`)."""

    order: NDArray[np.int64]
    generator: NDArray[np.uint64]

    @classmethod
    def of(cls, order: NDArray[np.intp], rng: np.random.Generator) -> ShuffleState:
        state = rng.bit_generator.state
        if state["bit_generator"] != "PCG64":
            raise ValueError(f"cannot keep a {state['bit_generator']} generator's state")
        words = [
            state["state"]["state"] >> 64,
            state["state"]["state"] & _WORD,
            state["state"]["inc"] >> 64,
            state["state"]["inc"] & _WORD,
            state["has_uint32"],
            state["uinteger"],
        ]
        return cls(order.astype(np.int64), np.array(words, dtype=np.uint64))

    def generator_state(self) -> dict[str, Any]:
        """The state `numpy.random.PCG64` takes back."""
        high, low, inc_high, inc_low, has_uint32, uinteger = (int(w) for w in self.generator)
        return {
            "bit_generator": "PCG64",
            "state": {"state": high << 64 | low, "inc": inc_high << 64 | inc_low},
            "has_uint32": has_uint32,
            "uinteger": uinteger,
        }


@dataclass
class RunState:
    """What a run hands on: its optimizer's state (None when the optimizer declares none) and
    its minibatch order (None for full-batch runs)."""

    optimizer: OptimizerState | None = None
    shuffle: ShuffleState | None = None

    def member(self, index: int) -> RunState:
        """The state population member `index` continues from (the order is shared)."""
        optimizer = None if self.optimizer is None else self.optimizer.member(index)
        return RunState(optimizer, self.shuffle)
