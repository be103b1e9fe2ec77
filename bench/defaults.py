"""Measure how often the default recipe solves each built-in task: one population per task.

    python bench/defaults.py                  # 200 seeds per task
    python bench/defaults.py --seeds 1000     # the issue's count (several minutes a task)
    python bench/defaults.py --hidden 32 parity:n=8  # a width other than the rule's

This is a measurement, not a test: it prints a Markdown table (task, width the recipe used,
share solved, median and p90 of the epoch each solved seed was solved at, seconds for the
whole population) and exits 0. Seeds 0..S-1 train at once as one population, which
tests/core/test_population.py shows trains each member as it would alone, to rounding.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import time

import numpy as np

from gatelearn.core import train
from gatelearn.plugins import load_registry
from gatelearn.plugins.recipe import Choice, Recipe, check

GATES = ("and", "or", "nand", "nor", "implies", "xor", "xnor", "not")
TASKS = (
    *GATES,
    *(f"parity:n={n}" for n in range(3, 9)),
    *(f"majority:n={n}" for n in (3, 5, 7)),
    "half_adder",
    "full_adder",
)


def task_choice(text: str) -> Choice:
    """`parity:n=8` as a task choice."""
    name, _, params = text.partition(":")
    values = dict(part.split("=") for part in params.split(",") if part)
    return Choice(name, {key: int(value) for key, value in values.items()})


def measure(text: str, seeds: int, hidden: tuple[int, ...] | None) -> str:
    """One table row: the default recipe on `text` over seeds 0..seeds-1."""
    recipe = Recipe(task=task_choice(text), population=seeds)
    if hidden is not None:
        recipe = dataclasses.replace(recipe, hidden=hidden)
    checked = check(recipe, load_registry())
    prepared = checked.prepared()
    started = time.perf_counter()
    result = train(
        prepared.network, prepared.data, prepared.loss, prepared.optimizer, prepared.recipe.config
    )
    seconds = time.perf_counter() - started
    epochs = result.solved_epoch[result.solved_epoch >= 0]
    median, p90 = np.percentile(epochs, (50, 90)) if epochs.size else (np.nan, np.nan)
    width = ",".join(map(str, checked.hidden))
    return (
        f"| {text} | {width} | {result.solved.sum()}/{seeds} "
        f"({100 * result.solved.mean():.1f}%) | {median:.0f} | {p90:.0f} | {seconds:.2f} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=TASKS, help="e.g. xor parity:n=8")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--hidden", help="widths instead of the rule's, e.g. 32 or 16,8")
    args = parser.parse_args()
    hidden = None if args.hidden is None else tuple(int(u) for u in args.hidden.split(",") if u)
    print(
        f"{args.seeds} seeds a task; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, numpy {np.__version__}"
    )
    print("| task | hidden | solved | median epochs | p90 epochs | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    for text in args.tasks:
        print(measure(text, args.seeds, hidden), flush=True)


if __name__ == "__main__":
    main()
