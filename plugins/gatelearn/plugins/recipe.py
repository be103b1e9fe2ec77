"""A training recipe: components named as data, turned into core objects through the registry.

`Recipe` is what a request describes (task, layers, activations, loss, optimizer, initializer,
loop settings, seed); its defaults are the ones that make gates train reliably, and the hidden
sizes, the optimizer, the initializer and the epoch budget, when left out, are chosen from the
task (`default_hidden`, `default_optimizer`, `default_initializer`, `default_epochs`). Its
components are named without parameters, so their own declared defaults are the recipe's:
naming a default explicitly never changes a run. `check` checks the whole recipe and builds
its components, so a bad value is reported by its field name (`optimizer.lr`, `hidden[1]`)
before anything runs; `prepare` also builds the task's rows and draws the initial weights, the
costly parts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gatelearn.core import (
    DEFAULT_EPOCHS,
    Activation,
    Component,
    Dataset,
    Initializer,
    Loss,
    Network,
    Optimizer,
    ParamError,
    Task,
    TrainConfig,
    initialize,
)
from gatelearn.plugins.registry import Registry, UnknownComponentError

__all__ = [
    "Checked",
    "Choice",
    "DTYPES",
    "EPOCHS_RULE",
    "INITIALIZER_RULE",
    "OPTIMIZER_RULE",
    "Prepared",
    "Recipe",
    "WIDTH_RULE",
    "check",
    "default_epochs",
    "default_hidden",
    "default_initializer",
    "default_optimizer",
    "default_width",
    "first_beyond_float32",
    "prepare",
]

DTYPES = {"float64": np.float64, "float32": np.float32}
FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class Choice:
    """A component by name, with the parameters to build it with."""

    name: str
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Recipe:
    """Everything that determines a trained model. Same recipe, same model."""

    task: Choice = Choice("xor")
    hidden: tuple[int, ...] | None = None  # None = `default_hidden` of the task
    activations: tuple[Choice, ...] = ()  # one per layer after the inputs; () = the defaults
    hidden_activation: str = "tanh"  # the default for hidden layers
    output_activation: str = "sigmoid"  # the default for the output layer
    bias: bool = True
    loss: Choice = Choice("bce")
    optimizer: Choice = Choice("")  # "" = `default_optimizer` of the task, params on top
    initializer: Choice = Choice("")  # "" = `default_initializer` of the task, params on top
    config: TrainConfig = TrainConfig()
    seed: int = 0
    population: int = 1
    dtype: str = "float64"

    def layer_activations(self) -> tuple[Choice, ...]:
        """The activation of every layer, defaults filled in; a single activation with hidden
        layers is every hidden layer's (the output keeps its default), as in Keras."""
        hidden = self.hidden or ()
        if len(self.activations) == 1 and hidden:
            return (*self.activations * len(hidden), Choice(self.output_activation))
        if self.activations:
            return self.activations
        return (*(Choice(self.hidden_activation) for _ in hidden), Choice(self.output_activation))


# The rule for a recipe that leaves `hidden` or the optimizer out, in words (ListPlugins'
# default recipe says it).
WIDTH_RULE = (
    "the hidden sizes the task declares (its plugin's default_hidden), else one hidden layer "
    "of max(8, 4 x task inputs) units"
)
RPROP_ROWS = 256  # tasks of at least this many rows train with rprop by default
OPTIMIZER_RULE = f"adam, or rprop for tasks of at least {RPROP_ROWS} rows"
EPOCHS_RULE = f"max({DEFAULT_EPOCHS}, 2 x task rows) epochs"
WIDE_INIT_ROWS = 2048  # tasks of at least this many rows (parity-11) start from wider weights
WIDE_INIT_GAIN = 2.0
INITIALIZER_RULE = (
    f"xavier, with gain {WIDE_INIT_GAIN:g} for tasks of at least {WIDE_INIT_ROWS} rows"
)


def default_width(arity: int) -> int:
    """The hidden width for a task of `arity` inputs: 8 keeps the 2-input gates as fast as
    ever; 4 per input lets parity-n (the hardest built-in) solve reliably up to n = 8."""
    return max(8, 4 * arity)


def default_hidden(task: Task, arity: int) -> tuple[int, ...]:
    """The hidden sizes for `task` of `arity` inputs: those its plugin declares, else one layer
    of `default_width`."""
    return (default_width(arity),) if task.default_hidden is None else task.default_hidden


def default_epochs(rows: int) -> int:
    """The epoch budget for a task of `rows` rows: parity-n's epochs to solve grow about 1.5x
    an input, so from parity-12 (4096 rows) on a fixed budget would cut its slower seeds off."""
    return max(DEFAULT_EPOCHS, 2 * rows)


def default_optimizer(rows: int) -> str:
    """The optimizer for a task of `rows` rows: adam solves small tasks soonest; from 256 rows
    (parity-8) rprop needs about half its epochs (bench/defaults.py, README)."""
    return "rprop" if rows >= RPROP_ROWS else "adam"


def default_initializer(rows: int) -> Choice:
    """The initializer for a task of `rows` rows. Parity-n's only gradient towards it goes
    through a product of n first-layer weights, and xavier's range shrinks as the rule widens
    the layer: with gain 1, 14% of parity-11's seeds and half of parity-12's never left chance.
    Twice the range solves them (bench/defaults.py, README)."""
    return Choice("xavier", {"gain": WIDE_INIT_GAIN} if rows >= WIDE_INIT_ROWS else {})


@dataclass
class Prepared:
    """A recipe's components, built and checked, ready to train."""

    recipe: Recipe
    network: Network
    data: Dataset
    loss: Loss
    optimizer: Optimizer


def _build(registry: Registry, kind: str, choice: Choice, field_name: str) -> Any:
    """Build a component, reporting any problem under `field_name`."""
    try:
        component: Component = registry.build(kind, choice.name, choice.params)
    except UnknownComponentError as error:
        raise ParamError(field_name, str(error)) from None
    except ParamError as error:
        raise ParamError(f"{field_name}.{error.param}", error.message) from None
    return component


def _check_config(config: TrainConfig) -> None:
    for name in ("epochs", "batch_size", "patience", "record_every"):
        if (count := getattr(config, name)) is not None and count < 0:
            raise ParamError(name, f"must be >= 0, got {count}")
    for name in ("weight_decay", "margin", "min_delta", "progress_interval"):
        value = getattr(config, name)
        if not (np.isfinite(value) and value >= 0):
            raise ParamError(name, f"must be a finite number >= 0, got {value}")
    if config.margin > 0.5:  # the threshold is mid-span: a label is 0.5 of the span past it
        raise ParamError(
            "margin",
            f"must be at most 0.5 (half the label span, which no label "
            f"reaches past the threshold), got {config.margin}",
        )
    if config.loss_target is not None and not np.isfinite(config.loss_target):
        raise ParamError("loss_target", "must be finite")
    if not 0 <= config.validation_share <= 0.5:  # NaN fails this too
        raise ParamError("validation_share", f"must be 0 to 0.5, got {config.validation_share}")


# The loop settings a recipe reports: those that change the model a run makes.
_OPTIONS = (
    "epochs",
    "batch_size",
    "shuffle",
    "weight_decay",
    "stop_when_solved",
    "margin",
    "loss_target",
    "patience",
    "min_delta",
    "record_every",
)


def _ref(component: Component) -> dict[str, Any]:
    """A built component as a reference: its name and every parameter's value."""
    return {"name": component.name, "params": dict(component.values)}


@dataclass(frozen=True)
class Checked:
    """A recipe checked through, with its components built: all but the rows and the weights.

    `rows` and `sample` (the task's first row) say how large the data will be, so a caller
    can check that against its limits before `prepared` builds it.
    """

    recipe: Recipe
    task: Task
    rows: int
    sample: Dataset
    loss: Loss
    optimizer: Optimizer
    initializer: Initializer
    activations: list[Activation]

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden widths, resolved: `check` always fills them in."""
        assert self.recipe.hidden is not None
        return self.recipe.hidden

    @property
    def epoch_limit(self) -> int:
        """The epoch budget, resolved: `check` always fills it in."""
        return self.recipe.config.epoch_limit

    @property
    def sizes(self) -> list[int]:
        """Units per layer, inputs first."""
        return [self.sample.n_inputs, *self.hidden, self.sample.n_outputs]

    def settings(self) -> dict[str, Any]:
        """Every setting of the run, each component with all its parameters (defaults filled
        in), as plain JSON shaped like the proto's `Recipe` message."""
        recipe, config = self.recipe, self.recipe.config
        options = {name: getattr(config, name) for name in _OPTIONS}
        if config.loss_target is None:
            del options["loss_target"]
        return json.loads(
            json.dumps(
                {
                    "task": _ref(self.task),
                    "hidden": list(self.hidden),
                    "activations": [_ref(activation) for activation in self.activations],
                    "bias": recipe.bias,
                    "loss": _ref(self.loss),
                    "optimizer": _ref(self.optimizer),
                    "initializer": _ref(self.initializer),
                    "options": options,
                    "seed": recipe.seed,
                    "population": recipe.population,
                    "dtype": recipe.dtype,
                }
            )
        )

    def prepared(self) -> Prepared:
        """Build the task's rows and draw the initial weights of every population member."""
        recipe = self.recipe
        data = self.task.checked_dataset(np.random.default_rng(recipe.seed))
        if recipe.dtype == "float32":
            _check_float32_range(data)
        network = initialize(
            self.sizes,
            self.activations,
            self.initializer,
            bias=recipe.bias,
            seed=recipe.seed,
            population=recipe.population,
            dtype=DTYPES[recipe.dtype],
        )
        return Prepared(recipe, network, data, self.loss, self.optimizer)


def first_beyond_float32(array: NDArray[np.floating[Any]]) -> tuple[int, float] | None:
    """The first row of a 2-D array of finite numbers holding one that float32 cannot (beyond
    ±FLOAT32_MAX), and that number; None when every one fits."""
    beyond = np.abs(array) > FLOAT32_MAX
    if not beyond.any():
        return None
    row = int(np.argmax(beyond.any(axis=1)))
    return row, float(array[row][beyond[row]][0])


def _check_float32_range(data: Dataset) -> None:
    """Refuse rows a float32 run would hold as infinities: its training could only diverge."""
    for part in ("inputs", "targets"):
        if (beyond := first_beyond_float32(getattr(data, part))) is not None:
            row, value = beyond
            raise ParamError(
                f"task.{part}",
                f"row {row}: {value:g} is beyond float32's range (±{FLOAT32_MAX:.8g}); "
                "train in float64, or scale the data",
            )


def check(recipe: Recipe, registry: Registry) -> Checked:
    """Check `recipe` and build its components, but none of its rows beyond the first; raise
    `ParamError` if bad."""
    if recipe.dtype not in DTYPES:
        raise ParamError("dtype", f"must be one of {', '.join(DTYPES)}, got {recipe.dtype!r}")
    if recipe.population < 1:
        raise ParamError("population", f"must be >= 1, got {recipe.population}")
    if recipe.seed < 0:
        raise ParamError("seed", f"must be >= 0, got {recipe.seed}")
    _check_config(recipe.config)
    task: Task = _build(registry, "task", recipe.task, "task")
    sample = task.preview(np.random.default_rng(recipe.seed), 1)
    rows = task.row_count()
    hidden = recipe.hidden if recipe.hidden is not None else default_hidden(task, sample.n_inputs)
    for index, units in enumerate(hidden):
        if units < 1:
            raise ParamError(f"hidden[{index}]", f"must be >= 1 unit, got {units}")
    optimizer_name = recipe.optimizer.name or default_optimizer(rows)
    initializer = recipe.initializer
    if not initializer.name:  # the rule's, with the request's params on top
        rule = default_initializer(rows)
        initializer = Choice(rule.name, {**rule.params, **initializer.params})
    epochs = recipe.config.epochs if recipe.config.epochs is not None else default_epochs(rows)
    # The resolved recipe, as the model records it.
    recipe = replace(
        recipe,
        hidden=hidden,
        optimizer=Choice(optimizer_name, recipe.optimizer.params),
        initializer=initializer,
        config=replace(recipe.config, epochs=epochs),
    )
    loss = _build(registry, "loss", recipe.loss, "loss")
    if refused := loss.labels_refused(sample.low, sample.high):
        raise ParamError(
            "loss",
            f"{refused}; this task's are {sample.low:g}/{sample.high:g} (use mse or sse_half)",
        )
    optimizer = _build(registry, "optimizer", recipe.optimizer, "optimizer")
    initializer = _build(registry, "initializer", recipe.initializer, "initializer")
    choices = recipe.layer_activations()
    # Built before the count is checked, so a misspelt name is the error reported.
    activations = [
        _build(registry, "activation", choice, f"activations[{index}]")
        for index, choice in enumerate(choices)
    ]
    layers = len(hidden) + 1
    if len(choices) != layers:
        raise ParamError(
            "activations",
            f"need one per layer ({layers}), or one for every hidden layer; got {len(choices)}",
        )
    checked = Checked(recipe, task, rows, sample, loss, optimizer, initializer, activations)
    if recipe.config.validation_share and checked.rows < 2:
        raise ParamError(
            "validation_share",
            f"needs a task of at least 2 rows to hold some out, this one has {checked.rows}",
        )
    try:
        initializer.check(checked.sizes, recipe.bias)
    except ParamError as error:
        raise ParamError(f"initializer.{error.param}", error.message) from None
    return checked


def prepare(recipe: Recipe, registry: Registry) -> Prepared:
    """Check `recipe`, build everything and draw the initial weights."""
    return check(recipe, registry).prepared()
