"""Test fixture plugin: three activations that misbehave, loaded by module name.

- `boom` raises RuntimeError from its forward pass;
- `nan_out` writes NaN for every output, so the loss becomes NaN;
- `hang` never returns from its forward pass (a sleep loop), so only a kill stops it;
- the initializer `boom_init` raises RuntimeError when asked to draw weights;
- `trip_keyboardinterrupt`, `trip_systemexit`, `trip_memoryerror` and `trip_recursionerror`
  are tanh until a pre-activation's size passes TRIP (a Predict can make them raise in the
  server; importing a model of small weights scores it safely), and raise that exception from
  every derivative (a training's backward pass, in a worker).

Each is harmless to register and to list; only training with one misbehaves. The directory
holding this module is put on sys.path (for the server) and on PYTHONPATH (for the training
workers, which are separate processes) by the tests that use it.
"""

from __future__ import annotations

import time

import numpy as np

from gatelearn.core import Activation, Initializer
from gatelearn.core.components import Array
from gatelearn.plugins import hookimpl

BOOM_MESSAGE = "boom activation exploded on purpose"
BOOM_INIT_MESSAGE = "boom_init initializer exploded on purpose"


class Boom(Activation):
    name = "boom"
    description = "raises RuntimeError in forward (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        raise RuntimeError(BOOM_MESSAGE)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        out.fill(1.0)


class NanOut(Activation):
    name = "nan_out"
    description = "outputs NaN everywhere (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        out.fill(np.nan)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        out.fill(np.nan)


class Hang(Activation):
    name = "hang"
    description = "never returns from forward (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        while True:
            time.sleep(0.05)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        out.fill(1.0)


TRIP = 1e6
ODD_EXCEPTIONS: tuple[type[BaseException], ...] = (
    KeyboardInterrupt,
    SystemExit,
    MemoryError,
    RecursionError,
)


class Tripwire(Activation):
    """tanh, raising `raised` for a pre-activation past TRIP and from every derivative."""

    raised: type[BaseException] = BaseException

    def forward(self, z: Array, out: Array) -> None:
        if np.abs(z).max() > TRIP:
            raise self.raised(f"{self.name} tripped on purpose")
        np.tanh(z, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        raise self.raised(f"{self.name} derivative raised on purpose")


def _tripwire(raised: type[BaseException]) -> type[Activation]:
    name = f"trip_{raised.__name__.lower()}"
    description = f"raises {raised.__name__} past TRIP and in training (test fixture)"
    return type(name, (Tripwire,), {"name": name, "description": description, "raised": raised})


class StaticTrip(Activation):
    """tanh whose forward is a staticmethod raising SystemExit past TRIP: no `self` in its
    frame tells which component it is."""

    name = "trip_static"
    description = "a staticmethod forward raising SystemExit past TRIP (test fixture)"

    @staticmethod
    def forward(z: Array, out: Array) -> None:  # type: ignore[override]
        if np.abs(z).max() > TRIP:
            raise SystemExit("trip_static tripped on purpose")
        np.tanh(z, out=out)

    def derivative(self, z: Array, a: Array, out: Array) -> None:
        np.subtract(1.0, a * a, out=out)


class LongTrip(Tripwire):
    """Raises ValueError with a 20,000-character message past TRIP."""

    name = "trip_long"
    description = "raises ValueError with a 20,000-character message past TRIP (test fixture)"

    def forward(self, z: Array, out: Array) -> None:
        if np.abs(z).max() > TRIP:
            raise ValueError("x" * 20_000)
        np.tanh(z, out=out)


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [Boom, NanOut, Hang, StaticTrip, LongTrip, *map(_tripwire, ODD_EXCEPTIONS)]


class BoomInit(Initializer):
    name = "boom_init"
    description = "raises RuntimeError when filling weights (test fixture)"

    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        raise RuntimeError(BOOM_INIT_MESSAGE)


@hookimpl
def gatelearn_initializers() -> list[type[Initializer]]:
    return [BoomInit]
