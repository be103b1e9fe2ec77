"""Built-in gates: functions on bits whose truth tables are the training data."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Gate, Param, ParamError
from gatelearn.plugins._markers import hookimpl

Bits = NDArray[np.int64]


class And(Gate):
    name = "and"
    description = "1 when both inputs are 1"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return bits[:, 0] & bits[:, 1]


class Or(Gate):
    name = "or"
    description = "1 when either input is 1"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return bits[:, 0] | bits[:, 1]


class Nand(Gate):
    name = "nand"
    description = "not and: 0 only when both inputs are 1"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return 1 - (bits[:, 0] & bits[:, 1])


class Nor(Gate):
    name = "nor"
    description = "not or: 1 only when both inputs are 0"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return 1 - (bits[:, 0] | bits[:, 1])


class Xor(Gate):
    name = "xor"
    description = "exclusive or: 1 when the inputs differ (articles 000, 001)"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return bits[:, 0] ^ bits[:, 1]


class Xnor(Gate):
    name = "xnor"
    description = "same value: 1 when the inputs are equal (article 002)"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return 1 - (bits[:, 0] ^ bits[:, 1])


class Implies(Gate):
    name = "implies"
    description = "material implication a -> b: 0 only for a = 1, b = 0"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return (1 - bits[:, 0]) | bits[:, 1]


class Not(Gate):
    name = "not"
    description = "negation of one input"
    arity = 1

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return 1 - bits[:, 0]


class _NInputs(Gate):
    """A gate whose number of inputs is its parameter `n`."""

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        self.arity = self.values["n"]


class Parity(_NInputs):
    name = "parity"
    description = "1 when an odd number of the n inputs are 1 (xor of all)"
    params = (Param("n", "int", 3, "number of inputs", minimum=1, maximum=16),)

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return bits.sum(axis=1) % 2


class Majority(_NInputs):
    name = "majority"
    description = "1 when more than half of the n inputs are 1 (n odd)"
    params = (Param("n", "int", 3, "number of inputs, odd", minimum=1, maximum=15),)

    def __init__(self, **values: Any) -> None:
        super().__init__(**values)
        if self.arity % 2 == 0:
            raise ParamError("n", f"must be odd, got {self.arity}")

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        return (2 * bits.sum(axis=1) > self.arity).astype(np.int64)


class HalfAdder(Gate):
    name = "half_adder"
    description = "adds two bits: outputs (sum, carry)"
    arity = 2

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        a, b = bits[:, 0], bits[:, 1]
        return np.stack([a ^ b, a & b], axis=1)


class FullAdder(Gate):
    name = "full_adder"
    description = "adds two bits and a carry-in: outputs (sum, carry)"
    arity = 3

    def evaluate(self, bits: Bits) -> NDArray[Any]:
        total = bits.sum(axis=1)
        return np.stack([total % 2, total // 2], axis=1)


@hookimpl
def gatelearn_tasks() -> list[type[Gate]]:
    return [And, Or, Nand, Nor, Xor, Xnor, Implies, Not, Parity, Majority, HalfAdder, FullAdder]
