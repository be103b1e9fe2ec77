"""The registry at start-up (duplicates, wrong returns, loading and blocking plugins), the
declarations of every built-in component, parameter checking, and the built-in tasks' data."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pluggy
import pytest
from conftest import start_server

from gatelearn.api.constants import COMPONENT_KINDS
from gatelearn.core import Component, Dataset, Gate, Loss, Optimizer, Param, ParamError, Task
from gatelearn.plugins import (
    BLOCK_ENV,
    DEFAULT_PLUGINS,
    KINDS,
    LOAD_ENV,
    DuplicateComponentError,
    Registry,
    UnknownComponentError,
    build_registry,
    create_manager,
    hookimpl,
)
from gatelearn.plugins.builtin.activations import Sigmoid
from gatelearn.plugins.builtin.losses import MeanSquaredError

HERE = Path(__file__).resolve().parent
FIXTURE_PLUGINS = (
    "bad_params_plugin",
    "buffer_gate_plugin",
    "dup_sigmoid_plugin",
    "wrong_kind_plugin",
)
ACTIVATIONS = "gatelearn.plugins.builtin.activations"
GATES = "gatelearn.plugins.builtin.gates"
RNG = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def no_plugin_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever the developer's shell says, these tests start with no plugins named."""
    monkeypatch.delenv(LOAD_ENV, raising=False)
    monkeypatch.delenv(BLOCK_ENV, raising=False)


@pytest.fixture
def fixture_plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Make this directory's plugin modules importable by name, and forget them afterwards."""
    monkeypatch.syspath_prepend(str(HERE))
    yield
    for name in FIXTURE_PLUGINS:
        sys.modules.pop(name, None)


def _registry(extra: tuple[str, ...] = (), blocked: tuple[str, ...] = ()) -> Registry:
    """A registry of the built-ins and `extra`, ignoring whatever is installed."""
    return build_registry(create_manager(extra, blocked=blocked, entry_points=False))


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _registry()


# ---------------------------------------------------------------- start-up
def test_builtins_are_credited_to_their_modules(registry: Registry) -> None:
    entries = registry.entries()
    assert {entry.plugin for entry in entries} == set(DEFAULT_PLUGINS)
    for entry in entries:
        assert entry.plugin == entry.component.__module__
        assert entry.name == entry.component.name
        assert entry.description == entry.component.description


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_duplicate_name_stops_start_up_naming_both_plugins(
    fixture_plugins: None, monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv(LOAD_ENV, "dup_sigmoid_plugin")
    extra = ("dup_sigmoid_plugin",) if how == "argument" else ()
    with pytest.raises(DuplicateComponentError) as caught:
        _registry(extra)
    message = str(caught.value)
    assert "'sigmoid'" in message
    assert ACTIVATIONS in message
    assert "dup_sigmoid_plugin" in message


def test_blocking_the_builtin_lets_a_plugin_take_its_name(fixture_plugins: None) -> None:
    registry = _registry(("dup_sigmoid_plugin",), blocked=(ACTIVATIONS,))
    assert registry.names("activation") == ["sigmoid"]
    assert registry.entry("activation", "sigmoid").plugin == "dup_sigmoid_plugin"


def test_unknown_component_lists_the_known_names(registry: Registry) -> None:
    with pytest.raises(UnknownComponentError) as caught:
        registry.build("activation", "sigmoyd")
    error = caught.value
    assert (error.kind, error.name) == ("activation", "sigmoyd")
    message = str(error)
    assert "'sigmoyd'" in message
    for name in registry.names("activation"):
        assert name in message
    assert "mse" not in message  # a loss, not an activation


class _Returns:
    """A plugin object whose loss hook returns `value`, whatever it is."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @hookimpl
    def gatelearn_losses(self) -> list[Any]:
        return [self.value]


@pytest.mark.parametrize(
    "value", ["mse", Sigmoid, object, None], ids=["string", "other-kind", "plain-class", "none"]
)
def test_hook_returning_a_non_component_is_a_type_error_naming_the_plugin(value: Any) -> None:
    pm = create_manager(entry_points=False)
    plugin = _Returns(value)
    pm.register(plugin, name="sloppy")
    try:
        with pytest.raises(TypeError, match="plugin 'sloppy'.*gatelearn_losses.*Loss"):
            build_registry(pm)
    finally:
        pm.unregister(plugin)


class _ReturnsRaw:
    """A plugin object whose loss hook returns `value` itself, not wrapped in a list."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @hookimpl
    def gatelearn_losses(self) -> Any:
        return self.value


class _Nameless(Loss):
    description = "a loss that forgot its name"

    def value(self, pred: Any, target: Any) -> Any:
        return pred

    def gradient(self, pred: Any, target: Any, out: Any) -> None:
        return None


class _Undescribed(_Nameless):
    name = "undescribed"
    description = "two\nlines"


class _Misdeclared(Optimizer):
    """An optimizer whose never-negative state is not one of the states it keeps: importing
    state for it raised KeyError, answered UNKNOWN."""

    name = "misdeclared"
    description = "an optimizer with a typo in nonnegative_state"
    state_names = ("v",)
    nonnegative_state = ("vv",)

    def bind(self, params: Any, grads: Any) -> Any:
        return lambda: None


class _UntupledState(_Misdeclared):
    """`nonnegative_state` as None: set() of it raised a TypeError naming no plugin."""

    name = "untupled"
    nonnegative_state = None  # type: ignore[assignment]


class _ReturnsOptimizer:
    """A plugin object whose optimizer hook returns `value`."""

    def __init__(self, value: Any) -> None:
        self.value = value

    @hookimpl
    def gatelearn_optimizers(self) -> list[Any]:
        return [self.value]


@pytest.mark.parametrize(
    ("plugin", "message"),
    [
        (_ReturnsRaw(None), "must return a list"),
        (_ReturnsRaw(_Nameless), "must return a list"),
        (_Returns(_Nameless), "_Nameless without a `name`"),
        (_Returns(_Undescribed), "_Undescribed without a one-line `description`"),
        (
            _ReturnsOptimizer(_Misdeclared),
            r"_Misdeclared whose `nonnegative_state` names \['vv'\], not in its `state_names`",
        ),
        (
            _ReturnsOptimizer(_UntupledState),
            "_UntupledState whose `state_names` or `nonnegative_state` is not a tuple of names",
        ),
    ],
    ids=[
        "none",
        "bare-class",
        "nameless",
        "two-line-description",
        "nonnegative-undeclared",
        "nonnegative-not-a-tuple",
    ],
)
def test_malformed_registration_is_a_type_error_naming_the_plugin(
    plugin: Any, message: str
) -> None:
    pm = create_manager(entry_points=False)
    pm.register(plugin, name="careless")
    try:
        with pytest.raises(TypeError, match=f"plugin 'careless'.*{message}"):
            build_registry(pm)
    finally:
        pm.unregister(plugin)


def test_hook_returning_a_loss_instance_is_a_type_error(registry: Registry) -> None:
    pm = create_manager(entry_points=False)
    plugin = _Returns(registry.build("loss", "mse"))
    pm.register(plugin, name="instances")
    try:
        with pytest.raises(TypeError, match="plugin 'instances'"):
            build_registry(pm)
    finally:
        pm.unregister(plugin)


@contextmanager
def _registered(plugin: object, name: str) -> Iterator[pluggy.PluginManager]:
    """A plugin manager of the built-ins and `plugin`, registered as `name` while in use."""
    pm = create_manager(entry_points=False)
    pm.register(plugin, name=name)
    try:
        yield pm
    finally:
        pm.unregister(plugin)


def _loss_declaring(*params: Any) -> type[Loss]:
    """A built-in loss whose subclass declares `params`."""
    return type("Declared", (MeanSquaredError,), {"name": "declared", "params": params})


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ([{"name": "k"}], "`params` is not a tuple of Param"),
        ((Param("", "float", 1.0, "x"),), "parameter name '' is empty"),
        ((Param("k", "float", 1.0, "x"), Param("k", "int", 2, "y")), "'k' is .* declared twice"),
        ((Param("k", "complex", 1, "x"),), "'k' has type 'complex' \\(known: int, float"),
        ((Param("k", "float", "abc", "x"),), "'k' has a default .*expected float"),
        ((Param("k", "float", 5.0, "x", maximum=1.0),), "'k' has a default .*must be <= 1.0"),
        ((Param("k", "float", float("nan"), "x"),), "'k' has a default .*must be finite"),
        ((Param("k", "str", "z", "x", choices=("a",)),), "'k' has a default .*must be one of a"),
        ((Param("k", "data", object(), "x"),), "'k' has a default .*not JSON serializable"),
        ((Param("k", "data", [float("inf")], "x"),), "'k' has a default .*not JSON compliant"),
        ((Param("k", "int", 1, "x" * 1001),), "'k' has no description of <= 1000 characters"),
    ],
    ids=[
        "not-params",
        "empty-name",
        "twice",
        "unknown-type",
        "default-type",
        "default-range",
        "default-nan",
        "default-choice",
        "default-object",
        "default-inf-data",
        "long-description",
    ],
)
def test_a_bad_params_declaration_is_a_type_error_naming_the_plugin(
    params: tuple[Any, ...], message: str
) -> None:
    # Before, each registered: requests naming the parameter failed later (KeyError, a dead
    # worker), and an unlistable default made ListPlugins end UNKNOWN for every caller.
    with (
        _registered(_Returns(_loss_declaring(*params)), "declarer") as pm,
        pytest.raises(TypeError, match=f"plugin 'declarer'.*Declared whose .*{message}"),
    ):
        build_registry(pm)


@pytest.mark.parametrize("name", ["two\nlines", "co:lon", "two words", "red\x1b[31m", "tab\t"])
def test_a_name_the_command_line_cannot_write_is_a_type_error(name: str) -> None:
    # Before, each registered: a newline or an escape sequence broke `serve`'s and
    # `gatelearn plugins`' lines, and `--loss co:lon` was read as loss 'co', parameter 'lon'.
    with (
        _registered(_Returns(type("Odd", (MeanSquaredError,), {"name": name})), "namer") as pm,
        pytest.raises(TypeError, match="plugin 'namer'.*Odd named .*: a name must be"),
    ):
        build_registry(pm)


def test_a_unicode_name_registers() -> None:
    greek = type("Greek", (MeanSquaredError,), {"name": "σ-loss"})
    with _registered(_Returns(greek), "greek") as pm:
        assert build_registry(pm).entry("loss", "σ-loss").plugin == "greek"


def test_a_description_too_long_to_list_is_a_type_error() -> None:
    # Before, it registered, and ListPlugins ended RESOURCE_EXHAUSTED (20 MB over the 16 MB
    # message limit) for every caller.
    wordy = type("Wordy", (MeanSquaredError,), {"name": "wordy", "description": "w" * 1001})
    with (
        _registered(_Returns(wordy), "wordy") as pm,
        pytest.raises(TypeError, match="plugin 'wordy'.*`description` is over 1000 characters"),
    ):
        build_registry(pm)


class _RaisingHook:
    """A plugin whose loss hook raises."""

    @hookimpl
    def gatelearn_losses(self) -> list[Any]:
        raise LookupError("no losses today")


def test_a_hook_raising_stops_start_up_naming_the_plugin() -> None:
    # Before, start-up stopped with the hook's words alone ('no losses today').
    with (
        _registered(_RaisingHook(), "moody") as pm,
        pytest.raises(
            RuntimeError,
            match="plugin 'moody': gatelearn_losses raised LookupError: no losses today",
        ),
    ):
        build_registry(pm)


def test_a_server_refuses_to_start_with_an_unlistable_default(
    fixture_plugins: None, tmp_path: Path
) -> None:
    with pytest.raises(TypeError, match="plugin 'bad_params_plugin'.*parameter 'shape'"):
        start_server(tmp_path / "data", plugins=("bad_params_plugin",))


def test_wrong_kind_from_a_module_plugin_names_the_module(fixture_plugins: None) -> None:
    with pytest.raises(TypeError, match="plugin 'wrong_kind_plugin'.*Tanh.*not a Loss"):
        _registry(("wrong_kind_plugin",))


def test_environment_loads_an_extra_module_by_name(
    fixture_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "buffer" not in _registry().names("task")
    monkeypatch.setenv(LOAD_ENV, " buffer_gate_plugin , ")
    registry = _registry()
    entry = registry.entry("task", "buffer")
    assert entry.plugin == "buffer_gate_plugin"
    data = registry.build("task", "buffer").dataset(RNG)
    assert data.inputs.tolist() == [[0.0], [1.0]]
    assert data.targets.tolist() == [[0.0], [1.0]]


def test_an_extra_module_can_be_blocked(
    fixture_plugins: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LOAD_ENV, "buffer_gate_plugin")
    monkeypatch.setenv(BLOCK_ENV, "buffer_gate_plugin")
    assert "buffer" not in _registry().names("task")


def test_a_missing_extra_module_fails_start_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(LOAD_ENV, "gatelearn_no_such_plugin")
    with pytest.raises(ImportError, match=f"gatelearn_no_such_plugin.*{LOAD_ENV}"):
        _registry()


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_blocking_a_builtin_module_removes_its_components(
    monkeypatch: pytest.MonkeyPatch, how: str
) -> None:
    if how == "environment":
        monkeypatch.setenv(BLOCK_ENV, f"{GATES}, {ACTIVATIONS}")
    blocked = (GATES, ACTIVATIONS) if how == "argument" else ()
    registry = _registry(blocked=blocked)
    assert registry.names("task") == [
        "circle",
        "data",
        "gauss",
        "region",
        "spiral",
        "table",
        "xor_quadrants",
    ]
    assert registry.names("activation") == []
    assert "adam" in registry.names("optimizer")
    with pytest.raises(UnknownComponentError):
        registry.entry("task", "xor")


# ---------------------------------------------------------------- built-in declarations
def test_registry_kinds_are_the_api_component_kinds() -> None:
    """The client offers `plugins --kind` from the API's list, so it must be the registry's."""
    assert tuple(KINDS) == COMPONENT_KINDS


def _builtin_components() -> Iterator[Any]:
    """Every class the built-in modules' hooks return, read from the modules themselves."""
    for module_name in DEFAULT_PLUGINS:
        module = importlib.import_module(module_name)
        for kind, (hook_name, _) in KINDS.items():
            hook = getattr(module, hook_name, None)
            for component in hook() if hook else ():
                yield pytest.param(kind, component, id=f"{kind}-{component.name}")


@pytest.mark.parametrize(("kind", "component"), list(_builtin_components()))
def test_builtin_declaration(kind: str, component: type[Component], registry: Registry) -> None:
    assert issubclass(component, KINDS[kind][1])
    assert isinstance(component.name, str) and component.name.strip() == component.name != ""
    description = component.description
    assert isinstance(description, str) and description.strip() == description != ""
    assert "\n" not in description
    assert registry.entry(kind, component.name).component is component
    names = [param.name for param in component.params]
    assert len(names) == len(set(names))
    for param in component.params:
        assert isinstance(param, Param)
        assert param.name and param.description and "\n" not in param.description
        if param.type == "data":
            continue
        assert param.check(param.default) == param.default
        assert type(param.check(param.default)) is type(param.default)


def test_builtins_without_data_params_build_from_their_defaults(registry: Registry) -> None:
    for entry in registry.entries():
        if not any(
            param.type == "data" and param.default is None for param in entry.component.params
        ):
            registry.build(entry.kind, entry.name)


# ---------------------------------------------------------------- parameter checking
@pytest.mark.parametrize(
    ("kind", "name", "params", "bad", "words"),
    [
        pytest.param(
            "activation",
            "leaky_relu",
            {"alpha": "0.1"},
            "alpha",
            'expected float, got string "0.1"',
            id="str-for-float",
        ),
        pytest.param(
            "task", "parity", {"n": 3.5}, "n", "expected int, got number 3.5", id="float-for-int"
        ),
        pytest.param(
            "task", "parity", {"n": True}, "n", "expected int, got bool true", id="bool-for-int"
        ),
        pytest.param(
            "optimizer",
            "momentum",
            {"nesterov": 1},
            "nesterov",
            "expected bool, got number 1",
            id="int-for-bool",
        ),
        pytest.param("optimizer", "adam", {"lr": float("nan")}, "lr", "finite", id="nan"),
        pytest.param(
            "activation", "leaky_relu", {"alpha": 1.5}, "alpha", "<= 0.999", id="above-max"
        ),
        pytest.param("optimizer", "adam", {"lr": -0.1}, "lr", ">= 0.0", id="below-min"),
        pytest.param("task", "parity", {"n": 17}, "n", "<= 16", id="int-above-max"),
        pytest.param("task", "parity", {"n": 0}, "n", ">= 1", id="int-below-min"),
        pytest.param(
            "activation",
            "sigmoid",
            {"alpha": 0.1},
            "alpha",
            "unknown parameter (accepted: none)",
            id="unknown-none-accepted",
        ),
        pytest.param(
            "optimizer",
            "adam",
            {"learning_rate": 0.1},
            "learning_rate",
            "accepted: lr",
            id="unknown",
        ),
        pytest.param(
            "task",
            "region",
            {"labels": "ternary"},
            "labels",
            "one of binary, sign",
            id="bad-choice",
        ),
    ],
)
def test_param_error_names_the_parameter(
    registry: Registry, kind: str, name: str, params: dict[str, Any], bad: str, words: str
) -> None:
    with pytest.raises(ParamError) as caught:
        registry.build(kind, name, params)
    assert caught.value.param == bad
    assert str(caught.value).startswith(f"{bad}: ")
    assert words in caught.value.message


def test_given_params_become_attributes(registry: Registry) -> None:
    relu = registry.build("activation", "leaky_relu", {"alpha": 0})
    assert relu.alpha == 0.0 and isinstance(relu.alpha, float)
    assert relu.values == {"alpha": 0.0}


# ---------------------------------------------------------------- table task
def _table(registry: Registry, inputs: Any, outputs: Any) -> Dataset:
    task: Task = registry.build("task", "table", {"inputs": inputs, "outputs": outputs})
    return task.dataset(RNG)


def test_table_gives_its_rows(registry: Registry) -> None:
    data = _table(registry, [[0, 0], [0, 1], [1, 1]], [[1, 0], [0, 0], [0, 1]])
    assert data.inputs.tolist() == [[0, 0], [0, 1], [1, 1]]
    assert data.targets.tolist() == [[1, 0], [0, 0], [0, 1]]
    assert data.inputs.dtype == data.targets.dtype == np.float64
    assert (data.low, data.high) == (0.0, 1.0)


def test_table_accepts_repeated_consistent_rows(registry: Registry) -> None:
    data = _table(registry, [[1], [1]], [[0], [0]])
    assert data.targets.tolist() == [[0], [0]]


@pytest.mark.parametrize(
    ("inputs", "outputs", "bad", "words"),
    [
        pytest.param(
            [[0, 1], [1]], [[0], [1]], "inputs", "one common non-zero width", id="ragged-inputs"
        ),
        pytest.param(
            [[0], [1]], [[0, 1], [1]], "outputs", "one common non-zero width", id="ragged-outputs"
        ),
        pytest.param([[], []], [[0], [1]], "inputs", "non-zero width", id="empty-rows"),
        pytest.param([0, 1], [[0], [1]], "inputs", "must be a list", id="not-rows"),
        pytest.param([], [], "inputs", "non-empty", id="no-rows"),
        pytest.param(None, [[0]], "inputs", "non-empty", id="missing"),
        pytest.param([[0, 2]], [[1]], "inputs", "0 or 1", id="two"),
        pytest.param([[0, -1]], [[1]], "inputs", "0 or 1", id="minus-one"),
        pytest.param([[0, 1]], [[0.5]], "outputs", "0 or 1", id="half"),
        pytest.param([[True, False]], [[1]], "inputs", "0 or 1", id="bools"),
        pytest.param([["1", "0"]], [[1]], "inputs", "0 or 1", id="strings"),
        pytest.param([[0], [1]], [[1]], "outputs", "one row per input row (2)", id="row-count"),
        pytest.param(
            [[0, 1], [1, 0], [0, 1]], [[0], [1], [1]], "outputs", "row 2", id="contradiction"
        ),
        pytest.param([[0] * 17], [[1]], "inputs", "at most 16 inputs, got 17", id="17-inputs"),
    ],
)
def test_table_rejects(registry: Registry, inputs: Any, outputs: Any, bad: str, words: str) -> None:
    with pytest.raises(ParamError) as caught:
        _table(registry, inputs, outputs)
    assert caught.value.param == bad
    assert words in caught.value.message


def test_table_accepts_16_inputs(registry: Registry) -> None:
    data = _table(registry, [[1] * 16, [0] * 16], [[1], [0]])
    assert data.n_inputs == 16


def test_table_contradiction_names_both_outputs(registry: Registry) -> None:
    with pytest.raises(ParamError) as caught:
        _table(registry, [[0, 1], [0, 1]], [[0], [1]])
    assert "row 1: input [0, 1] already maps to [0], not [1]" in caught.value.message


# ---------------------------------------------------------------- region task
def test_region_labels_follow_the_article_planes(registry: Registry) -> None:
    region = registry.build("task", "region")
    # Inside is x1 > 1 and x2 < 1, strictly: the edges themselves are outside.
    points = np.array([[1.5, 0.5], [0.5, 0.5], [1.5, 1.5], [1.0, 0.5], [1.5, 1.0], [1.01, 0.99]])
    assert region.label(points)[:, 0].tolist() == [1, 0, 0, 0, 0, 1]
    sign = registry.build("task", "region", {"labels": "sign"})
    assert sign.label(points)[:, 0].tolist() == [1, -1, -1, -1, -1, 1]


def test_region_sampling_is_seeded_and_labelled(registry: Registry) -> None:
    region = registry.build("task", "region", {"points": 500, "low": -1.0, "high": 3.0})
    first = region.dataset(np.random.default_rng(7))
    again = region.dataset(np.random.default_rng(7))
    other = region.dataset(np.random.default_rng(8))
    np.testing.assert_array_equal(first.inputs, again.inputs)
    np.testing.assert_array_equal(first.targets, again.targets)
    assert not np.array_equal(first.inputs, other.inputs)
    assert first.inputs.shape == (500, 2) and first.targets.shape == (500, 1)
    assert ((first.inputs >= -1.0) & (first.inputs < 3.0)).all()
    inside = (first.inputs[:, 0] > 1) & (first.inputs[:, 1] < 1)
    np.testing.assert_array_equal(first.targets[:, 0], inside.astype(float))
    assert 0 < inside.sum() < 500
    assert (first.low, first.high) == (0.0, 1.0)


def test_region_sign_labels(registry: Registry) -> None:
    data = registry.build("task", "region", {"labels": "sign"}).dataset(np.random.default_rng(0))
    assert set(data.targets[:, 0].tolist()) == {-1.0, 1.0}
    assert (data.low, data.high, data.threshold) == (-1.0, 1.0, 0.0)


def test_region_takes_its_own_planes(registry: Registry) -> None:
    region = registry.build("task", "region", {"planes": [[1, 1, -1]]})  # x1 + x2 > 1
    assert region.label(np.array([[0.2, 0.2], [0.8, 0.8]]))[:, 0].tolist() == [0, 1]


@pytest.mark.parametrize(
    ("params", "bad", "words"),
    [
        pytest.param({"planes": [[1, 2]]}, "planes", "rows of three numbers", id="two-numbers"),
        pytest.param({"planes": [1, 2, 3]}, "planes", "rows of three numbers", id="flat"),
        pytest.param({"planes": []}, "planes", "rows of three numbers", id="empty"),
        pytest.param(
            {"planes": [[1, 2, 3], [1, 2]]}, "planes", "rows of three numbers", id="ragged"
        ),
        pytest.param({"planes": [["a", 0, 1]]}, "planes", "rows of three numbers", id="text-entry"),
        pytest.param({"planes": [[float("inf"), 0, 1]]}, "planes", "finite", id="infinite"),
        pytest.param({"planes": "x1 > 1"}, "planes", "rows of three numbers", id="text"),
        pytest.param({"low": 2.0, "high": 2.0}, "high", "greater than low", id="empty-box"),
        pytest.param({"points": 0}, "points", ">= 1", id="no-points"),
        pytest.param({"planes": [[1, 0, -1]] * 65}, "planes", "at most 64", id="too-many"),
    ],
)
def test_region_rejects(registry: Registry, params: dict[str, Any], bad: str, words: str) -> None:
    with pytest.raises(ParamError) as caught:
        registry.build("task", "region", params)
    assert caught.value.param == bad
    assert words in caught.value.message


# ---------------------------------------------------------------- gates
def _gate(registry: Registry, name: str, **params: Any) -> Gate:
    gate: Gate = registry.build("task", name, params)
    return gate


def test_majority_rejects_even_n(registry: Registry) -> None:
    with pytest.raises(ParamError) as caught:
        _gate(registry, "majority", n=4)
    assert caught.value.param == "n"
    assert "odd" in caught.value.message


def test_majority_of_three(registry: Registry) -> None:
    data = _gate(registry, "majority").dataset(RNG)
    assert data.targets[:, 0].tolist() == [0, 0, 0, 1, 0, 1, 1, 1]


def test_parity_of_16_inputs_has_every_row(registry: Registry) -> None:
    data = _gate(registry, "parity", n=16).dataset(RNG)
    assert data.inputs.shape == (65536, 16)
    assert data.targets.shape == (65536, 1)
    # Row r is r in binary, first input most significant.
    rows = np.arange(65536)
    np.testing.assert_array_equal(data.inputs @ (2.0 ** np.arange(15, -1, -1)), rows)
    expected = np.array([bin(r).count("1") % 2 for r in rows], dtype=float)
    np.testing.assert_array_equal(data.targets[:, 0], expected)


def test_half_adder_truth_table(registry: Registry) -> None:
    data = _gate(registry, "half_adder").dataset(RNG)
    assert data.inputs.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    # (sum, carry)
    assert data.targets.tolist() == [[0, 0], [1, 0], [1, 0], [0, 1]]


def test_full_adder_truth_table(registry: Registry) -> None:
    data = _gate(registry, "full_adder").dataset(RNG)
    assert data.inputs.tolist() == [[a, b, c] for a in (0, 1) for b in (0, 1) for c in (0, 1)]
    sums, carries = data.targets.T.tolist()
    assert sums == [0, 1, 1, 0, 1, 0, 0, 1]  # a + b + c is odd
    assert carries == [0, 0, 0, 1, 0, 1, 1, 1]  # a + b + c >= 2


@pytest.mark.parametrize(
    ("name", "column"),
    [
        ("and", [0, 0, 0, 1]),
        ("or", [0, 1, 1, 1]),
        ("nand", [1, 1, 1, 0]),
        ("nor", [1, 0, 0, 0]),
        ("xor", [0, 1, 1, 0]),
        ("xnor", [1, 0, 0, 1]),
        ("implies", [1, 1, 0, 1]),
    ],
)
def test_two_input_gates(registry: Registry, name: str, column: list[int]) -> None:
    data = _gate(registry, name).dataset(RNG)
    assert data.inputs.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    assert data.targets[:, 0].tolist() == column


def test_not_gate(registry: Registry) -> None:
    data = _gate(registry, "not").dataset(RNG)
    assert data.inputs.tolist() == [[0], [1]]
    assert data.targets.tolist() == [[1], [0]]


@pytest.mark.parametrize(
    ("name", "params"),
    [
        pytest.param("region", {"points": 300, "labels": "sign"}, id="region"),
        pytest.param("parity", {"n": 5}, id="gate"),
        pytest.param(
            "table", {"inputs": [[0, 0], [0, 1], [1, 1]], "outputs": [[1], [0], [1]]}, id="table"
        ),
    ],
)
def test_a_task_counts_and_previews_its_rows_as_its_dataset_has_them(
    registry: Registry, name: str, params: dict[str, Any]
) -> None:
    task = registry.build("task", name, params)
    data = task.dataset(np.random.default_rng(3))
    assert task.row_count() == len(data.inputs)
    for rows in (1, 2, len(data.inputs) + 5):
        preview = task.preview(np.random.default_rng(3), rows)
        np.testing.assert_array_equal(preview.inputs, data.inputs[:rows])
        np.testing.assert_array_equal(preview.targets, data.targets[:rows])
        assert (preview.low, preview.high) == (data.low, data.high)


# A plugin's module source failing on import, and what the refusal names.
BROKEN_BODIES = [
    pytest.param("undefined_name + 1", "NameError", id="NameError"),
    pytest.param("import sys\nsys.exit(3)", "SystemExit", id="SystemExit"),
]


@pytest.mark.parametrize(("body", "raised"), BROKEN_BODIES)
def test_an_installed_plugin_failing_to_import_stops_start_up_naming_it(
    tmp_path: Path, body: str, raised: str
) -> None:
    """Installed as pip would (a dist-info with the entry point), seen by `gatelearn serve`
    alone through PYTHONPATH. It printed the plugin's traceback, --json or not, or (SystemExit)
    exited silently with the plugin's code."""
    (tmp_path / "broken_plugin.py").write_text(body + "\n")
    info = tmp_path / "broken_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gatelearn]\nbroken = broken_plugin\n")
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    environment.pop(LOAD_ENV, None)
    environment.pop(BLOCK_ENV, None)
    serve = [sys.executable, "-m", "gatelearn.client.cli", "serve", "--json"]
    serve += ["--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(serve, capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 1, done.stderr
    message = json.loads(done.stderr)["error"]["message"]
    for part in ("plugin 'broken'", "broken-plugin 1.0", raised, f"{BLOCK_ENV}=broken"):
        assert part in message, message


@pytest.mark.parametrize(("body", "raised"), BROKEN_BODIES)
def test_a_plugin_module_failing_to_import_stops_start_up_naming_it(
    tmp_path: Path, body: str, raised: str
) -> None:
    """A `--plugin` module raising on import (not ImportError) printed its traceback."""
    (tmp_path / "broken_module.py").write_text(body + "\n")
    environment = {**os.environ, "PYTHONPATH": str(tmp_path)}
    environment.pop(LOAD_ENV, None)
    serve = [sys.executable, "-m", "gatelearn.client.cli", "serve", "--json"]
    serve += ["--plugin", "broken_module"]
    serve += ["--address", "127.0.0.1:0", "--data-dir", str(tmp_path / "data")]
    done = subprocess.run(serve, capture_output=True, text=True, env=environment, timeout=60)
    assert done.returncode == 1, done.stderr
    message = json.loads(done.stderr)["error"]["message"]
    for part in ("plugin module 'broken_module'", raised):
        assert part in message, message


def test_an_installed_plugin_also_named_by_module_loads_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An installed package (a dist-info on sys.path declaring the entry point) whose module is
    # also given to --plugin: before, start-up stopped with pluggy's 'Plugin already
    # registered under a different name' and a dump of every plugin module.
    (tmp_path / "twice_plugin.py").write_text(
        (HERE / "buffer_gate_plugin.py").read_text(), encoding="utf-8"
    )
    info = tmp_path / "twice_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: twice-plugin\nVersion: 1.0\n")
    (info / "entry_points.txt").write_text("[gatelearn]\ntwice = twice_plugin\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        registry = build_registry(create_manager(("twice_plugin",)))
    finally:
        sys.modules.pop("twice_plugin", None)
    assert registry.entry("task", "buffer").plugin == "twice"
