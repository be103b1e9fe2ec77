"""Measure how often the default recipe solves each built-in task: seeds trained as populations.

    python bench/defaults.py                     # 200 seeds per task
    python bench/defaults.py --seeds 1000        # the issue's count (long: parity-12 takes hours)
    python bench/defaults.py --hidden 32 parity:n=8       # a width other than the rule's
    python bench/defaults.py --optimizer adam --opt lr=0.05 parity:n=10   # another optimizer

This is a measurement, not a test: it prints a Markdown table (task, the width, optimizer and
epoch budget the recipe used, share solved, share with every row right, median and p90 of the
epoch each solved seed was solved at, seconds per solved model and in all) and exits 0. Seeds
0..S-1 train as populations of at most --block members (tests/core/test_population.py shows a
member trains as it would alone, to rounding); the block is smaller for tasks of many rows, so
that no activation buffer exceeds about 64 MB.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import time
from typing import Any

import numpy as np

from gatelearn.core import TrainConfig, train
from gatelearn.plugins import load_registry
from gatelearn.plugins.recipe import Checked, Choice, Recipe, check

GATES = ("and", "or", "nand", "nor", "implies", "xor", "xnor", "not")
SAMPLED = ("region", "circle", "gauss", "xor_quadrants", "spiral")
TASKS = (
    *GATES,
    *(f"parity:n={n}" for n in range(3, 13)),
    *(f"majority:n={n}" for n in (3, 5, 7, 9, 11)),
    "half_adder",
    "full_adder",
    *SAMPLED,
)
NEAR = 0.99  # the accuracy the Playground datasets must reach (spiral's centre point is 2-way)
BUFFER_VALUES = 2**23  # float64 values in one (rows, units, members) buffer: 64 MB


def task_choice(text: str) -> Choice:
    """`parity:n=8` as a task choice."""
    name, _, params = text.partition(":")
    values = dict(part.split("=") for part in params.split(",") if part)
    return Choice(name, {key: json.loads(value) for key, value in values.items()})


@dataclasses.dataclass
class Tally:
    """What the blocks of one task's seeds add up to."""

    solved: int = 0
    right: int = 0
    near: int = 0  # accuracy >= NEAR: the Playground datasets' target
    seconds: float = 0.0
    epochs: list[int] = dataclasses.field(default_factory=list)

    def add(self, checked: Checked) -> None:
        """Train one block (one population) and count it."""
        prepared = checked.prepared()
        started = time.process_time()
        result = train(
            prepared.network,
            prepared.data,
            prepared.loss,
            prepared.optimizer,
            checked.recipe.config,
        )
        self.seconds += time.process_time() - started
        self.solved += int(result.solved.sum())
        self.right += int((result.accuracy >= 1.0).sum())
        self.near += int((result.accuracy >= NEAR).sum())
        self.epochs += result.solved_epoch[result.solved_epoch >= 0].tolist()


def measure(text: str, seeds: int, block: int, overrides: dict[str, Any]) -> str:
    """One table row: the default recipe (with `overrides`) on `text` over seeds 0..seeds-1."""
    recipe = dataclasses.replace(Recipe(task=task_choice(text)), **overrides)
    registry = load_registry()
    first = check(recipe, registry)
    block = max(1, min(block, BUFFER_VALUES // (first.rows * max(first.sizes))))
    tally = Tally()
    for start in range(0, seeds, block):
        members = min(block, seeds - start)
        tally.add(check(dataclasses.replace(recipe, seed=start, population=members), registry))
    median, p90 = np.percentile(tally.epochs, (50, 90)) if tally.epochs else (np.nan, np.nan)
    per_solved = tally.seconds / tally.solved if tally.solved else np.nan
    settings = first.settings()
    optimizer = settings["optimizer"]
    return (
        f"| {text} | {','.join(map(str, first.hidden))} | {optimizer['name']} "
        f"lr={optimizer['params'].get('lr', '-')} | {settings['options']['epochs']} "
        f"| {tally.solved}/{seeds} ({100 * tally.solved / seeds:.1f}%) "
        f"| {100 * tally.right / seeds:.1f}% | {100 * tally.near / seeds:.1f}% "
        f"| {median:.0f} | {p90:.0f} "
        f"| {1000 * per_solved:.1f} | {tally.seconds:.1f} |"
    )


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe fields the command line sets; the rest stay the defaults."""
    overrides: dict[str, Any] = {}
    if args.hidden is not None:
        overrides["hidden"] = tuple(int(units) for units in args.hidden.split(",") if units)
    params = {k: json.loads(v) for k, _, v in (o.partition("=") for o in args.opt)}
    if args.optimizer is not None or params:
        overrides["optimizer"] = Choice(args.optimizer or "", params)
    if args.epochs is not None:
        overrides["config"] = TrainConfig(epochs=args.epochs)
    return overrides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=TASKS, help="e.g. xor parity:n=8")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--block", type=int, default=1000, help="most members trained at once")
    parser.add_argument("--hidden", help="widths instead of the rule's, e.g. 32 or 16,8")
    parser.add_argument("--optimizer", help="an optimizer instead of the rule's")
    parser.add_argument("--opt", action="append", default=[], help="optimizer param, k=v")
    parser.add_argument("--epochs", type=int, help="an epoch budget instead of the rule's")
    args = parser.parse_args()
    print(
        f"{args.seeds} seeds a task; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        "| task | hidden | optimizer | epochs | solved | all rows right "
        f"| accuracy >= {NEAR} | median epochs "
        "| p90 epochs | CPU ms per solved model | CPU seconds |"
    )
    print("| --- " * 11 + "|")
    for text in args.tasks:
        print(measure(text, args.seeds, args.block, overrides_of(args)), flush=True)


if __name__ == "__main__":
    main()
