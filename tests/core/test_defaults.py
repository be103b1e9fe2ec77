"""The default recipe trains the basic gates reliably: only the task is changed. Its hidden
width, optimizer, initializer and epoch budget are chosen from the task by one rule (explicit
settings win), which makes parity-6 and parity-8 solve.

200 seeds train at once as a population (seed 0, so member p is seed p; test_population shows
a member trains as it would alone, to rounding) and a few seeds are then trained alone to confirm
the population's verdicts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from conftest import train_prepared

from gatelearn.core import TrainConfig, TrainResult
from gatelearn.plugins import Registry
from gatelearn.plugins.recipe import (
    EPOCHS_RULE,
    INITIALIZER_RULE,
    OPTIMIZER_RULE,
    WIDTH_RULE,
    Choice,
    Prepared,
    Recipe,
    check,
    prepare,
)

SEEDS = 200
WIDE = Choice("xavier", {"gain": 2.0})  # the rule's initializer from 2048 rows (parity-11)
TASKS = {  # every seed solves (bench/defaults.py measures 1000)
    "xor": (Choice("xor"), 1.0),
    "xnor": (Choice("xnor"), 1.0),
    "and": (Choice("and"), 1.0),
    "or": (Choice("or"), 1.0),
    "nand": (Choice("nand"), 1.0),
    "nor": (Choice("nor"), 1.0),
    "implies": (Choice("implies"), 1.0),
    "not": (Choice("not"), 1.0),
    "parity4": (Choice("parity", {"n": 4}), 1.0),
}


@dataclass
class Outcome:
    prepared: Prepared
    result: TrainResult

    def rows_right(self) -> np.ndarray:
        """Per member: is every output on its target's side of the threshold?"""
        data = self.prepared.data
        predicted = self.prepared.network.predict(data.inputs) > data.threshold
        expected = (data.targets > data.threshold)[:, :, None]
        return np.asarray((predicted == expected).all(axis=(0, 1)))


def default_run(registry: Registry, task: str, seed: int = 0, population: int = 1) -> Outcome:
    prepared = prepare(Recipe(task=TASKS[task][0], seed=seed, population=population), registry)
    return Outcome(prepared, train_prepared(prepared))


@pytest.fixture(scope="module", params=list(TASKS))
def task(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def seeds_together(registry: Registry, task: str) -> Outcome:
    """Seeds 0..199 of the default recipe on `task`, trained once for both tests."""
    return default_run(registry, task, population=SEEDS)


def test_default_recipe_solves(seeds_together: Outcome, task: str) -> None:
    solved = seeds_together.result.min_margin > 0
    np.testing.assert_array_equal(solved, seeds_together.rows_right())
    required = TASKS[task][1]
    assert solved.mean() >= required, f"unsolved seeds: {np.flatnonzero(~solved).tolist()}"


def test_seeds_alone_agree_with_the_population(
    registry: Registry, seeds_together: Outcome, task: str
) -> None:
    solved = seeds_together.result.min_margin > 0
    # A few seeds, and every seed the population left unsolved.
    seeds = sorted({0, 1, 123, SEEDS - 1, *np.flatnonzero(~solved)[:3].tolist()})
    for seed in seeds:
        alone = default_run(registry, task, seed=seed)
        assert bool(alone.result.min_margin[0] > 0) == solved[seed], f"seed {seed}"
        assert alone.rows_right()[0] == solved[seed], f"seed {seed}"


@pytest.mark.parametrize(
    ("task", "width", "optimizer", "initializer", "epochs"),
    [
        (Choice("not"), 8, "adam", "xavier", 5000),
        (Choice("xor"), 8, "adam", "xavier", 5000),
        (Choice("half_adder"), 8, "adam", "xavier", 5000),
        (Choice("full_adder"), 12, "adam", "xavier", 5000),
        (Choice("majority", {"n": 7}), 28, "adam", "xavier", 5000),
        (Choice("region"), 8, "adam", "xavier", 5000),
        (Choice("parity", {"n": 7}), 28, "adam", "xavier", 5000),
        (Choice("parity", {"n": 8}), 32, "rprop", "xavier", 5000),
        (Choice("majority", {"n": 9}), 36, "rprop", "xavier", 5000),
        (Choice("parity", {"n": 10}), 40, "rprop", "xavier", 5000),
        (Choice("parity", {"n": 11}), 44, "rprop", WIDE, 5000),
        (Choice("parity", {"n": 12}), 48, "rprop", WIDE, 8192),
        (Choice("parity", {"n": 14}), 56, "rprop", WIDE, 32768),
    ],
)
def test_a_recipe_leaving_them_out_gets_the_rules_width_optimizer_initializer_and_epochs(
    registry: Registry, task: Choice, width: int, optimizer: str, initializer: Any, epochs: int
) -> None:
    checked = check(Recipe(task=task), registry)
    resolved = checked.recipe
    assert resolved.hidden == (width,)
    assert resolved.optimizer == Choice(optimizer)
    rule = initializer if isinstance(initializer, Choice) else Choice(initializer)
    assert resolved.initializer == rule
    recorded = checked.settings()["initializer"]  # as the model records it
    assert recorded == {"name": rule.name, "params": {"gain": rule.params.get("gain", 1.0)}}
    assert resolved.config.epochs == epochs
    assert "max(8, 4 x task inputs)" in WIDTH_RULE and "rprop" in OPTIMIZER_RULE
    assert "gain 2 for tasks of at least 2048 rows" in INITIALIZER_RULE
    assert "2 x task rows" in EPOCHS_RULE


@pytest.mark.parametrize("epochs", [0, 100, 5000])
def test_an_explicit_epoch_budget_wins_over_the_rule(registry: Registry, epochs: int) -> None:
    recipe = Recipe(task=Choice("parity", {"n": 12}), config=TrainConfig(epochs=epochs))
    assert check(recipe, registry).recipe.config.epochs == epochs


@pytest.mark.parametrize("hidden", [(5,), (), (3, 2)])
def test_explicit_hidden_wins_over_the_rule(registry: Registry, hidden: tuple[int, ...]) -> None:
    recipe = Recipe(task=Choice("parity", {"n": 8}), hidden=hidden)
    assert check(recipe, registry).recipe.hidden == hidden


RULE_TASKS = {
    "xor": Choice("xor"),
    "parity8": Choice("parity", {"n": 8}),
    "parity12": Choice("parity", {"n": 12}),
}


@pytest.mark.parametrize(
    ("task", "part", "given", "resolved"),
    [
        ("xor", "optimizer", Choice("rprop"), Choice("rprop")),
        ("parity8", "optimizer", Choice("adam"), Choice("adam")),
        ("parity8", "optimizer", Choice("momentum", {"lr": 0.2}), Choice("momentum", {"lr": 0.2})),
        # Params without a name tune the rule's optimizer.
        ("parity8", "optimizer", Choice("", {"lr": 0.01}), Choice("rprop", {"lr": 0.01})),
        ("xor", "optimizer", Choice("", {"beta1": 0.8}), Choice("adam", {"beta1": 0.8})),
        ("parity12", "initializer", Choice("xavier"), Choice("xavier")),
        ("parity12", "initializer", Choice("he"), Choice("he")),
        # Params without a name go on top of the rule's.
        ("parity12", "initializer", Choice("", {"gain": 1.5}), Choice("xavier", {"gain": 1.5})),
        ("xor", "initializer", Choice("he"), Choice("he")),
        (
            "parity12",
            "initializer",
            Choice("uniform", {"low": -1.0}),
            Choice("uniform", {"low": -1.0}),
        ),
        # ... and of its initializer.
        ("xor", "initializer", Choice("", {"gain": 2.0}), Choice("xavier", {"gain": 2.0})),
    ],
)
def test_an_explicit_optimizer_or_initializer_wins_over_the_rule(
    registry: Registry, task: str, part: str, given: Choice, resolved: Choice
) -> None:
    checked = check(Recipe(task=RULE_TASKS[task], **{part: given}), registry)
    assert getattr(checked.recipe, part) == resolved
    assert getattr(checked, part).name == resolved.name


def test_the_rules_width_solves_parity6(registry: Registry) -> None:
    """Parity-6 solved 62/100 at the old fixed width of 8; the rule's 24 solves nearly all."""
    prepared = prepare(Recipe(task=Choice("parity", {"n": 6}), population=100), registry)
    assert prepared.recipe.hidden == (24,)
    solved = train_prepared(prepared).solved
    assert solved.mean() >= 0.95, f"unsolved seeds: {np.flatnonzero(~solved).tolist()}"


def test_the_defaults_solve_parity8_for_every_one_of_50_seeds(registry: Registry) -> None:
    """Parity-8 solved 11/200 at the old fixed 8 units with adam; the rule's 32 units and
    rprop solve every seed (and about half as many epochs as adam at 32 units)."""
    prepared = prepare(Recipe(task=Choice("parity", {"n": 8}), population=50), registry)
    assert prepared.recipe.optimizer == Choice("rprop")
    solved = train_prepared(prepared).solved
    assert solved.all(), f"unsolved seeds: {np.flatnonzero(~solved).tolist()}"


def test_the_rules_initializer_solves_parity11_seeds_both_former_initializers_missed(
    registry: Registry,
) -> None:
    """Seed 15 sat at chance for 5000 epochs with xavier's plain range, seed 16 stopped a row
    short with he (bench/defaults.py); twice xavier's range solves both."""
    for seed in (15, 16):  # alone: a population of 2 this size trains at half the speed
        prepared = prepare(Recipe(task=Choice("parity", {"n": 11}), seed=seed), registry)
        assert prepared.recipe.initializer == WIDE
        result = train_prepared(prepared)
        assert result.solved.all(), f"seed {seed}: accuracy {result.accuracy.tolist()}"


def test_a_task_declaring_hidden_sizes_gets_them_unless_hidden_is_given(
    registry: Registry,
) -> None:
    """spiral declares two layers of 16; circle (same inputs and rows, no hint) keeps the rule's
    width; an explicit `hidden` wins over the hint."""
    assert check(Recipe(task=Choice("spiral")), registry).recipe.hidden == (16, 16)
    assert check(Recipe(task=Choice("circle")), registry).recipe.hidden == (8,)
    assert check(Recipe(task=Choice("spiral"), hidden=(5,)), registry).recipe.hidden == (5,)
    assert check(Recipe(task=Choice("spiral"), hidden=()), registry).recipe.hidden == ()
    assert "default_hidden" in WIDTH_RULE
