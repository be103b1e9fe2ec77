"""Softsign: a squashing function like tanh, but with polynomial rather than exponential tails.

Its output lies in (-1, 1) and approaches the bounds as 1/|z|, so units saturate more slowly
than with tanh and keep a usable gradient for larger inputs.
"""

from __future__ import annotations

import numpy as np

from gatelearn.core import Activation
from gatelearn.core.components import Array


class Softsign(Activation):
    """f(z) = z / (1 + |z|); f'(z) = 1 / (1 + |z|)^2.

    Both are computed in `out` without temporaries. f'(z) also equals (1 - |f(z)|)^2, but
    that loses precision where f(z) is close to +-1, so the derivative is taken from z.
    """

    name = "softsign"
    description = "z / (1 + |z|), outputs in (-1, 1) with slower saturation than tanh"

    def forward(self, z: Array, out: Array) -> None:
        np.abs(z, out=out)
        out += 1.0
        np.divide(z, out, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.abs(z, out=out)
        out += 1.0
        np.square(out, out=out)
        np.reciprocal(out, out=out)
