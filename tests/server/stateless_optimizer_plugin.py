"""Test fixture plugin: an optimizer that declares no state (`state_names` left None), as a
plugin written before optimizers declared theirs: it trains, but cannot be warm-started."""

from __future__ import annotations

from collections.abc import Sequence

from gatelearn.core import Optimizer, Step
from gatelearn.core.components import Array
from gatelearn.plugins import hookimpl


class StatelessGd(Optimizer):
    name = "stateless_gd"
    description = "p <- p - 0.1 g, saying nothing of its state"

    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        def step() -> None:
            for p, g in zip(params, grads, strict=True):
                p -= 0.1 * g

        return step


@hookimpl
def gatelearn_optimizers() -> list[type[Optimizer]]:
    return [StatelessGd]
