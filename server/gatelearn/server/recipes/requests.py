"""Train requests checked completely: the name, the recipe a request describes, and whether the
model it would make is within the limits and could be read back in one message.

A training worker checks every request it runs, as it is the one that builds the recipe; the
server checks a warm start (which it merges) and a cold start it must refuse before another
error (a full pool or store), so that what is wrong with a request comes first.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from gatelearn.core import ParamError, TrainConfig
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import Checked, Choice, Recipe, check
from gatelearn.server.checks import check_activations, check_name, check_task_size, task_exists
from gatelearn.server.errors import InvalidRequest
from gatelearn.server.limits import Limits
from gatelearn.server.models.answers import (
    SLACK,
    check_fits,
    evaluate_bytes,
    history_bytes,
    layers_bytes,
    recipe_bytes,
)
from gatelearn.server.recipes.tasks import InlineRows, task_json
from gatelearn.server.recipes.values import check_param_names, choice, params_dict, tensor_array
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = [
    "MAX_REQUEST_ID",
    "check_request",
    "check_request_id",
    "check_training_size",
    "recipe_from_request",
]

_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]*")
MAX_REQUEST_ID = 128  # characters in a request id
_DEFAULTS = Recipe()


def check_request_id(request_id: str) -> str:
    """An optional request id (empty: none): a retry's key, so short and plain."""
    if len(request_id) > MAX_REQUEST_ID:
        raise InvalidRequest(
            "request_id", f"at most {MAX_REQUEST_ID} characters, got {len(request_id)}"
        )
    if not _REQUEST_ID.fullmatch(request_id):
        raise InvalidRequest("request_id", "may hold only letters, digits, '.', '_', ':' and '-'")
    return request_id


def _check_epochs(epochs: int, limits: Limits, why: str = "") -> None:
    if epochs > limits.max_epochs:
        raise InvalidRequest(
            "options.epochs", f"at most {limits.max_epochs} (limit max_epochs), got {epochs}{why}"
        )


def _check_hidden(hidden: tuple[int, ...], limits: Limits, why: str = "") -> None:
    if len(hidden) + 1 > limits.max_layers:
        raise InvalidRequest(
            "hidden.units",
            f"at most {limits.max_layers - 1} hidden layers (limit "
            f"max_layers = {limits.max_layers}), got {len(hidden)}{why}",
        )
    for index, units in enumerate(hidden):
        if not 1 <= units <= limits.max_units:
            raise InvalidRequest(
                f"hidden.units[{index}]",
                f"must be 1 to {limits.max_units} (limit max_units), got {units}{why}",
            )


def _config(options: pb.TrainOptions, seed: int, limits: Limits) -> TrainConfig:
    defaults = _DEFAULTS.config
    epochs = options.epochs if options.HasField("epochs") else None  # None: the task's budget
    if epochs is not None:
        _check_epochs(epochs, limits)
    return TrainConfig(
        epochs=epochs,
        batch_size=options.batch_size,
        shuffle=options.shuffle if options.HasField("shuffle") else defaults.shuffle,
        shuffle_seed=seed,
        weight_decay=options.weight_decay,
        stop_when_solved=(
            options.stop_when_solved
            if options.HasField("stop_when_solved")
            else defaults.stop_when_solved
        ),
        margin=options.margin if options.HasField("margin") else defaults.margin,
        loss_target=options.loss_target if options.HasField("loss_target") else None,
        patience=options.patience,
        min_delta=options.min_delta,
        record_every=options.record_every,
        validation_share=options.validation_share,
        max_records=limits.max_history_points,
        progress_interval=(
            options.progress_interval_ms / 1000
            if options.progress_interval_ms
            else defaults.progress_interval
        ),
    )


def _initializer(request: pb.TrainRequest) -> Choice:
    default = Choice("explicit") if request.HasField("weights") else _DEFAULTS.initializer
    picked = choice(request.initializer, default)
    if picked.name != "explicit":
        if request.HasField("weights"):
            raise InvalidRequest("weights", "only used with initializer 'explicit'")
        return picked
    if not request.HasField("weights"):
        return picked  # the weights came as the initializer's own params
    if request.initializer.params.fields:  # one source of weights, or which wins is a guess
        twice = ", ".join(
            f"initializer.params.{key}" for key in sorted(request.initializer.params.fields)
        )
        raise InvalidRequest(
            "weights", f"given together with {twice}; give the initial weights in one of the two"
        )
    dtype = "float32" if request.dtype == pb.FLOAT32 else "float64"
    weights = [
        tensor_array(t, f"weights.weights[{i}]", 2, dtype).tolist()
        for i, t in enumerate(request.weights.weights)
    ]
    biases = [
        tensor_array(t, f"weights.biases[{i}]", 1, dtype).tolist()
        for i, t in enumerate(request.weights.biases)
    ]
    return Choice("explicit", {"weights": weights, "biases": biases or None})


def recipe_from_request(request: pb.TrainRequest, limits: Limits) -> tuple[Recipe, dict[str, Any]]:
    """The recipe a Train request describes, with the task as the model will record it."""
    check_name(request.model_name, limits, "model_name")
    source = request.WhichOneof("source")
    if source is None:
        raise InvalidRequest("task", "required: name a task, or give a table or data")
    if source == "task" and not request.task.name:
        raise InvalidRequest("task.name", "required")
    task_source = getattr(request, source)
    if source != "task":
        _check_inline_size(task_source, source, limits)
    task = task_json(task_source)
    hidden = tuple(request.hidden.units) if request.HasField("hidden") else None
    if hidden is not None:
        _check_hidden(hidden, limits)
    population = request.population or _DEFAULTS.population
    if population > limits.max_population:
        raise InvalidRequest(
            "population",
            f"at most {limits.max_population} (limit max_population), got {population}",
        )
    if request.seed + population > 2**64:
        raise InvalidRequest(
            "seed",
            f"member seeds seed..seed+{population - 1} must fit in 64 bits: "
            f"at most {2**64 - population} with population {population}",
        )
    activations = []
    for index, ref in enumerate(request.activations):
        if not ref.name:
            raise InvalidRequest(f"activations[{index}].name", "required")
        activations.append(Choice(ref.name, params_dict(ref.params)))
    dtype = {pb.FLOAT32: "float32"}.get(request.dtype, _DEFAULTS.dtype)
    if request.dtype not in pb.Dtype.values():
        raise InvalidRequest("dtype", f"unknown value {request.dtype}")
    recipe = Recipe(
        task=Choice(task["name"], task["params"]),
        hidden=hidden,
        activations=tuple(activations),
        bias=request.bias if request.HasField("bias") else _DEFAULTS.bias,
        loss=choice(request.loss, _DEFAULTS.loss),
        optimizer=choice(request.optimizer, _DEFAULTS.optimizer),
        initializer=_initializer(request),
        config=_config(request.options, request.seed, limits),
        seed=request.seed,
        population=population,
        dtype=dtype,
    )
    return recipe, task


def _check_activation_count(request: pb.TrainRequest, limits: Limits) -> None:
    """Refuse more activations than layers can be, before any is read (100,000 took a second
    to build and refuse)."""
    if len(request.activations) > limits.max_layers:
        raise InvalidRequest(
            "activations",
            f"at most {limits.max_layers} (limit max_layers: one per layer), "
            f"got {len(request.activations)}",
        )


def _named_components(request: pb.TrainRequest) -> Iterator[tuple[str, str, pb.ComponentRef]]:
    """(field, kind, reference) of each component a request names."""
    if request.WhichOneof("source") == "task":
        yield "task", "task", request.task
    for kind in ("loss", "optimizer", "initializer"):
        yield kind, kind, getattr(request, kind)
    for index, ref in enumerate(request.activations):
        yield f"activations[{index}]", "activation", ref


def _check_param_names(request: pb.TrainRequest, registry: Registry) -> None:
    """Refuse a parameter that a named component does not declare before any value is read."""
    for field, kind, ref in _named_components(request):
        try:
            check_param_names(ref, kind, registry)
        except ParamError as error:
            named = _request_field(f"{field}.{error.param}", request)
            raise ParamError(named, error.message) from None


def _check_inline_size(source: InlineRows, field: str, limits: Limits) -> None:
    """Refuse rows sent inline that are over the task limits, before any list or array of
    them is built (their rows are checked one by one when the task is built)."""
    for part in source.DESCRIPTOR.fields:
        given = getattr(source, part.name)
        if len(given) > limits.max_task_rows:
            raise InvalidRequest(
                f"{field}.{part.name}",
                f"at most {limits.max_task_rows} rows (limit max_task_rows), got {len(given)}",
            )
        most, limit = (
            (limits.max_arity, "max_arity")
            if part.name == "inputs"
            else (limits.max_units, "max_units")
        )
        if given and len(given[0].values) > most:
            raise InvalidRequest(
                f"{field}.{part.name}",
                f"at most {most} values a row (limit {limit}), got {len(given[0].values)}",
            )


def check_training_size(checked: Checked, limits: Limits) -> None:
    """Refuse a training larger than the limits allow, before any weights are drawn: the task,
    and the memory the population's weights and one pass over the rows would take."""
    check_task_size(checked.rows, checked.sample, limits)
    rows, sizes, population = checked.rows, checked.sizes, checked.recipe.population
    per_network = sum(
        (fan_in + checked.recipe.bias) * fan_out
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    )
    if per_network * population > limits.max_parameters:
        raise InvalidRequest(
            "population" if population > 1 else "hidden.units",
            f"{per_network} weights and biases per network (layer sizes "
            f"{sizes}) x population {population} = "
            f"{per_network * population}; at most {limits.max_parameters} "
            f"(limit max_parameters)",
        )
    field = "population" if population > 1 else "task"
    check_activations(rows, sum(sizes[1:]), population, limits, field)


def check_request(
    request: pb.TrainRequest, registry: Registry, limits: Limits
) -> tuple[Checked, dict[str, Any]]:
    """Check a Train request completely and build its components and data; the task as the
    model will record it."""
    check_request_id(request.request_id)
    _check_activation_count(request, limits)
    _check_param_names(request, registry)
    recipe, task = recipe_from_request(request, limits)
    if not task.get("table"):
        task_exists(registry, recipe.task.name)
    try:
        checked = check(recipe, registry)
    except ParamError as error:
        raise ParamError(_request_field(error.param, request), error.message) from None
    if not request.options.HasField("epochs"):  # the task's budget, under the same limit
        _check_epochs(checked.epoch_limit, limits, " (this task's default budget: set epochs)")
    if not request.HasField("hidden"):  # the task's layers, under the same limits
        _check_hidden(
            tuple(checked.sizes[1:-1]), limits, " (this task's default layers: set hidden)"
        )
    check_training_size(checked, limits)
    _check_answers(request, checked, limits)
    task["seed"] = recipe.seed
    return checked, task


def _check_answers(request: pb.TrainRequest, checked: Checked, limits: Limits) -> None:
    """Refuse a training whose model could not be read back in one message."""
    sizes = checked.sizes
    check_fits("Evaluate", evaluate_bytes(checked.rows, sizes[0], sizes[-1]), "task", limits)
    source_field = request.WhichOneof("source")
    source = getattr(request, source_field)
    # Both answers carry the history and the recipe: what the request gave, plus defaults.
    recipe = recipe_bytes(request.ByteSize())
    history = history_bytes(checked.recipe.config.history_points)
    parts = (
        source.ByteSize()
        + sum(ref.ByteSize() for ref in request.activations)
        + SLACK
        + recipe
        + history
    )
    layers = layers_bytes(sizes, checked.recipe.bias)
    # The field named is what takes most of the answer: the network (explicit weights are as
    # large), or the rows given inline, which the answer holds again in the recipe.
    field = "hidden.units" if layers >= source.ByteSize() else source_field
    check_fits("ExportModel", layers + parts, field, limits)
    check_fits("GetModel", request.ByteSize() + recipe + history + SLACK, "request", limits)


_OPTIONS = frozenset(pb.TrainOptions.DESCRIPTOR.fields_by_name)


def _request_field(param: str, request: pb.TrainRequest) -> str:
    """The TrainRequest field a recipe parameter came from: `margin` is `options.margin`,
    an inline table's `task.outputs` is `table.outputs` (and data's `task.targets` is
    `data.targets`), explicit `initializer.weights[0]` given in `weights` is
    `weights.weights[0]`."""
    if param in _OPTIONS:
        return f"options.{param}"
    head, _, rest = param.partition(".")
    inline = request.WhichOneof("source")
    if head == "task" and inline in ("table", "data"):
        return f"{inline}.{rest}" if rest else inline
    if head == "initializer" and request.HasField("weights") and rest:
        return f"weights.{rest}"
    return param
