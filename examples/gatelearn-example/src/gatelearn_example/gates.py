"""The 2:1 multiplexer: a select bit chooses which of two data bits reaches the output.

As a truth table it is not linearly separable (like xor), so it needs a hidden layer.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import Gate


class Mux(Gate):
    """mux(s, a, b) = a if s = 0 else b, i.e. (not s and a) or (s and b).

    Inputs in order: select, a, b; rows enumerate them with select as the most significant
    bit, so the first four rows copy a and the last four copy b.
    """

    name = "mux"
    description = "2:1 multiplexer on (select, a, b): a when select is 0, else b"
    arity = 3

    def evaluate(self, bits: NDArray[np.int64]) -> NDArray[Any]:
        select, a, b = bits[:, 0], bits[:, 1], bits[:, 2]
        return np.where(select == 0, a, b)
