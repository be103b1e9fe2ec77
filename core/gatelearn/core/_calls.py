"""Prepared calls: how the core turns a component's plain `out=` method into work bound once.

The plugin contract is the plain methods (`forward(z, out)` and the like). The core prepares
each as `partial(method, *arrays)`, so whatever a subclass overrides is what every path runs.
A built-in may write a method with `from_calls`, which attaches the NumPy calls the method
runs; the core then splices those calls in directly (a Python call fewer per use, and scratch
allocated once per run). They belong to that very function, so a subclass overriding the
method drops them with it: no path can run the old math.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

__all__ = ["Call", "calls_of", "from_calls", "run_calls"]

Call = Callable[[], Any]  # a prepared call: arrays bound once per run, called every epoch
CallMaker = Callable[..., list[Call]]

_ATTRIBUTE = "_gatelearn_calls"


def run_calls(calls: Sequence[Call]) -> None:
    """Run prepared calls in order: how an epoch, or a one-off pass, is executed."""
    for call in calls:
        call()


def from_calls(make: CallMaker) -> Callable[..., None]:
    """A plain method that runs the calls `make(self, *arrays)` returns, carrying `make` so
    that the core can splice those calls into a pass instead of calling the method."""

    def method(self: Any, *arrays: Any) -> None:
        run_calls(make(self, *arrays))

    method.__doc__ = make.__doc__
    setattr(method, _ATTRIBUTE, make)
    return method


def calls_of(method: Callable[..., None], *arrays: Any) -> list[Call]:
    """`method(*arrays)` (a bound plain method) as prepared calls."""
    make: CallMaker | None = getattr(method, _ATTRIBUTE, None)
    if make is None:
        return [partial(method, *arrays)]
    return make(method.__self__, *arrays)  # type: ignore[attr-defined]
