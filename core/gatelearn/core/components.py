"""The five kinds of component and the call shape each one has.

A component is a class with a `name`, a one-line `description` and declared `params`. It is
built with keyword arguments, which are checked against the declaration and become attributes.
Arrays carry the population axis P last: activations, losses and optimizers work elementwise
or per member, so the same code trains one network or a thousand.

The hot-loop methods (`Activation.forward`/`derivative`, `Loss.gradient`, the optimizer's step)
write into an `out` buffer the caller allocated once, so an epoch need not allocate. These plain
methods are the whole contract: every path (training at any population size, prediction) runs
exactly them, so overriding one changes every path.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from gatelearn.core.params import Param, resolve
from gatelearn.core.state import OptimizerState

__all__ = [
    "Activation",
    "Component",
    "Dataset",
    "Gate",
    "Initializer",
    "Loss",
    "Optimizer",
    "Step",
    "Task",
]

Array = NDArray[np.floating[Any]]
Step = Callable[[], None]


class Component(ABC):
    """Something a plugin provides: named, described, and built from declared parameters."""

    name: ClassVar[str]
    description: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()

    def __init__(self, **values: Any) -> None:
        self.values = resolve(self.params, values)
        for key, value in self.values.items():
            setattr(self, key, value)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.values.items() if not isinstance(v, list))
        return f"{type(self).__name__}({args})"


# ---------------------------------------------------------------- activations
class Activation(Component):
    """An elementwise function f and its derivative f'.

    `midpoint_z` is the pre-activation at which a unit reads as switching from off to on
    (reading a network back calls a unit on when z > midpoint_z): 0 for every built-in, where
    sigmoid crosses 0.5, tanh and sign cross 0, and relu becomes active.
    """

    midpoint_z: ClassVar[float] = 0.0

    @abstractmethod
    def forward(self, z: Array, out: Array) -> None:
        """Write f(z) into `out`."""

    @abstractmethod
    def derivative(self, z: Array, a: Array, out: Array) -> None:
        """Write f'(z) into `out`; `a` holds f(z), which many derivatives are cheaper from."""


# ---------------------------------------------------------------- losses
class Loss(Component):
    """A loss over a batch of outputs, reduced to one number per population member.

    `pred` has shape (rows, outputs, P); `target` has shape (rows, outputs, 1) and broadcasts.
    A loss defined only for some label values declares them in `label_range` (low, high): a
    request pairing it with a task whose labels fall outside is refused before training.
    """

    label_range: ClassVar[tuple[float, float] | None] = None

    def labels_refused(self, low: float, high: float) -> str | None:
        """Why this loss cannot train on labels `low`/`high` ("NAME needs labels within
        0/1"), or None when `label_range` admits them."""
        if self.label_range is None:
            return None
        least, most = self.label_range
        if least <= low < high <= most:
            return None
        return f"{self.name} needs labels within {least:g}/{most:g}"

    @abstractmethod
    def value(self, pred: Array, target: Array) -> Array:
        """Return the loss of each member, shape (P,)."""

    def checked_value(self, pred: Array, target: Array) -> Array:
        """`value`, refused (ValueError, raised here so that the error names this loss's
        plugin) unless it is one real number per member: the trainer compares and stores it."""
        members = pred.shape[-1]
        value = np.asarray(self.value(pred, target))
        if value.shape != (members,) or value.dtype.kind not in "fiu":
            raise ValueError(
                f"value returned an array of shape {value.shape} and dtype {value.dtype}, "
                f"expected shape ({members},): one real number per population member"
            )
        return value

    @abstractmethod
    def gradient(self, pred: Array, target: Array, out: Array) -> None:
        """Write dL/dpred into `out` (same shape as `pred`)."""


# ---------------------------------------------------------------- optimizers
class Optimizer(Component):
    """An update rule over parameter arrays and their gradients, in the same order.

    Set `elementwise` when each number's update depends only on its own gradient and state (as
    for every built-in): the trainer then binds the rule once, to all parameters as one flat
    array, instead of to each layer's weights and biases. Subclasses inherit the flag: one that
    adds per-array logic (clipping per layer, say) must set it back to False.
    """

    elementwise: ClassVar[bool] = False
    # The state arrays `bind` keeps for each parameter array (Adam: "m", "v"); () for none.
    # None means undeclared: such an optimizer's runs cannot be continued by a warm start.
    state_names: ClassVar[tuple[str, ...] | None] = None
    # Those of them that never hold a negative number (sums and means of squares, step sizes):
    # a state to continue that holds one could not have come from this rule.
    nonnegative_state: ClassVar[tuple[str, ...]] = ()
    resume: OptimizerState | None = None  # set before `bind` to continue a stored run
    state: OptimizerState | None = None  # this run's state, once `start_state` made it

    @abstractmethod
    def bind(self, params: Sequence[Array], grads: Sequence[Array]) -> Step:
        """Create this run's state and return a function applying one update in place.

        The returned step reads `grads` (which it may overwrite) and changes `params`. An
        optimizer declaring `state_names` takes its state from `start_state(params)`.
        """

    def start_state(self, params: Sequence[Array]) -> OptimizerState:
        """This run's state for `params`: a copy of `resume` when continuing a run, zeros
        otherwise. It stays readable as `self.state`, which is how the trainer stores it."""
        names = self.state_names or ()
        if self.resume is None:
            self.state = OptimizerState(
                {name: [np.zeros_like(p) for p in params] for name in names}
            )
            return self.state
        shapes = [p.shape for p in params]
        if sorted(self.resume.arrays) != sorted(names) or any(
            [a.shape for a in arrays] != shapes for arrays in self.resume.arrays.values()
        ):
            raise ValueError(
                f"optimizer {self.name!r}: the state to resume does not fit this "
                f"run (names {sorted(self.resume.arrays)}, expected {list(names)})"
            )
        self.state = OptimizerState(
            {
                name: [
                    np.array(a, dtype=p.dtype)
                    for a, p in zip(self.resume.arrays[name], params, strict=True)
                ]
                for name in names
            },
            self.resume.steps,
        )
        return self.state


# ---------------------------------------------------------------- initializers
class Initializer(Component):
    """Fills one network's weights (and biases) from a seeded generator."""

    @abstractmethod
    def fill(
        self, rng: np.random.Generator, layer: int, weights: Array, bias: Array | None
    ) -> None:
        """Fill `weights` (fan_in, fan_out) and `bias` (fan_out,) of layer `layer` in place."""

    def check(self, sizes: Sequence[int], bias: bool) -> None:
        """Raise `ParamError` if this initializer cannot fill a network of these layer sizes
        (inputs first), with or without biases. Random initializers fit any network."""


# ---------------------------------------------------------------- tasks
@dataclass(frozen=True)
class Dataset:
    """Rows of inputs with their target outputs; labels take the values `low` and `high`."""

    inputs: NDArray[np.float64]
    targets: NDArray[np.float64]
    low: float = 0.0
    high: float = 1.0

    @property
    def threshold(self) -> float:
        """The output value separating the two labels."""
        return (self.low + self.high) / 2

    @property
    def n_inputs(self) -> int:
        return int(self.inputs.shape[1])

    @property
    def n_outputs(self) -> int:
        return int(self.targets.shape[1])


class Task(Component):
    """A learning problem: produces the rows to train and evaluate on.

    `row_count` and `preview` let a server check a task's size against its limits before any
    row exists; their defaults build every row, so a task that can be large overrides both.
    `default_hidden`, when set, is the hidden sizes a recipe that leaves them out trains with,
    for a task the width rule (which sees only inputs and rows) under-serves.
    """

    default_hidden: ClassVar[tuple[int, ...] | None] = None

    @abstractmethod
    def dataset(self, rng: np.random.Generator) -> Dataset:
        """Return the task's rows; sampled tasks draw from `rng`, tables ignore it."""

    def checked_dataset(self, rng: np.random.Generator) -> Dataset:
        """`dataset`, refused (ValueError, raised here so that the error names this task's
        plugin) unless its rows are finite numbers, as many targets as inputs, each target
        one of its two labels: a loss's label check and the accuracy rely on that."""
        data = self.dataset(rng)
        inputs, targets = np.asarray(data.inputs), np.asarray(data.targets)
        if inputs.ndim != 2 or targets.ndim != 2 or len(inputs) != len(targets):
            raise ValueError(
                f"dataset returned inputs of shape {inputs.shape} and targets of shape "
                f"{targets.shape}, expected (rows, inputs) and (rows, outputs)"
            )
        for part, values in (("inputs", inputs), ("targets", targets)):
            if values.dtype.kind not in "fiub" or not np.isfinite(values).all():
                raise ValueError(f"dataset returned {part} that are not all finite numbers")
        if (off := ~np.isin(targets, (data.low, data.high))).any():
            row, column = np.argwhere(off)[0]
            raise ValueError(
                f"dataset returned a target other than its labels {data.low:g}/{data.high:g} "
                f"(row {row}: {targets[row, column]:g})"
            )
        return data

    def row_count(self) -> int:
        """How many rows `dataset` returns, worked out from the parameters alone."""
        return len(self.dataset(np.random.default_rng(0)).inputs)

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        """The first `rows` rows of `dataset(rng)`, building only those."""
        data = self.dataset(rng)
        return Dataset(data.inputs[:rows], data.targets[:rows], data.low, data.high)


class Gate(Task):
    """A function on bits whose whole truth table is the dataset.

    Subclasses set `arity` (a class attribute, or in `__init__` from a parameter) and implement
    `evaluate` on a (rows, arity) array of 0/1 ints. Rows are enumerated with the first input as
    the most significant bit: 00, 01, 10, 11 for two inputs.
    """

    arity: int

    @abstractmethod
    def evaluate(self, bits: NDArray[np.int64]) -> NDArray[Any]:
        """Return the outputs for each row of `bits`: shape (rows,) or (rows, outputs), 0/1."""

    def dataset(self, rng: np.random.Generator) -> Dataset:
        return self.preview(rng, self.row_count())

    def row_count(self) -> int:
        return 2**self.arity

    def preview(self, rng: np.random.Generator, rows: int) -> Dataset:
        numbers = np.arange(min(rows, self.row_count()))[:, None]
        shifts = np.arange(self.arity - 1, -1, -1)
        bits = (numbers >> shifts) & 1
        outputs = np.asarray(self.evaluate(bits), dtype=np.float64)
        targets = outputs.reshape(len(bits), -1)
        return Dataset(bits.astype(np.float64), targets)
