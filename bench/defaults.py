"""Measure how often the default recipe solves each built-in task: seeds trained as populations.

    python bench/defaults.py                     # 200 seeds per task
    python bench/defaults.py --seeds 1000 --out runs.jsonl    # the issue's count (long)
    python bench/defaults.py --seeds 1000 --out runs.jsonl --resume   # after a stop: the rest
    python bench/defaults.py --hidden 32 parity:n=8       # a width other than the rule's
    python bench/defaults.py --optimizer adam --opt lr=0.05 parity:n=10   # another optimizer
    python bench/defaults.py --init xavier parity:n=12    # another initializer

This is a measurement, not a test: it prints a Markdown table (task, the width, optimizer,
initializer and epoch budget the recipe used, share solved, share with every row right, median
and p90 of the epoch each solved seed was solved at, seconds per solved model and in all) and
exits 0. Seeds
0..S-1 train as populations of at most --block members (tests/core/test_population.py shows a
member trains as it would alone, to rounding); the block is smaller for tasks of many rows, so
that no activation buffer exceeds about 2 MB, and from parity-9 on each seed trains alone
(see BUFFER_VALUES), as does each seed of a task whose rows are drawn from the seed (a
population's members share one draw). Like the server's training workers, it uses one BLAS
thread.

With --out FILE every finished block appends one JSON line per seed (task, resolved recipe,
seed, solved, solved epoch, accuracy, CPU seconds: the block's share), so a stopped run loses
at most its block in flight; --resume first reads FILE and trains only the seeds of each task
and recipe it does not hold, and every row of the table counts each recorded seed once.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from gatelearn.core import TrainConfig, train
from gatelearn.plugins import load_registry
from gatelearn.plugins.recipe import Checked, Choice, Recipe, check
from gatelearn.server.training.pool import WORKER_ENV

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
# Float64 values in one (rows, units, members) buffer: 2 MB. Per member-epoch (one BLAS
# thread, this machine) parity-8 ran fastest in blocks of 16-64 members, parity-9 as fast
# alone as in 14, parity-11 twice as fast alone as in 2; a block's solved members also go on
# computing until its last is done. So: blocks of at least MIN_BLOCK, else one at a time.
BUFFER_VALUES = 2**18
MIN_BLOCK = 16

Record = dict[str, Any]  # one seed's outcome, as a line of the --out file


def task_choice(text: str) -> Choice:
    """`parity:n=8` as a task choice."""
    name, _, params = text.partition(":")
    values = dict(part.split("=") for part in params.split(",") if part)
    return Choice(name, {key: json.loads(value) for key, value in values.items()})


def recipe_key(checked: Checked) -> dict[str, Any]:
    """The resolved recipe without its seed and population: the seeds a record may stand for."""
    settings = checked.settings()
    del settings["seed"], settings["population"]
    return settings


class SeedLog:
    """The --out file: one JSON line per finished seed, appended a block at a time."""

    def __init__(self, path: Path, resume: bool) -> None:
        self.path = path
        self.records = self._read() if resume and path.exists() else []

    def _read(self) -> list[Record]:
        """The records in the file; a line a stop cut short (the last, unterminated) is
        dropped from the file, so the next block appends whole lines."""
        text = self.path.read_text()
        whole, _, torn = text.rpartition("\n")
        if torn:
            with self.path.open("r+") as file:
                file.truncate(len(whole) + 1 if whole else 0)
        return [json.loads(line) for line in whole.splitlines() if line]

    def recorded(self, text: str, key: dict[str, Any]) -> dict[int, Record]:
        """The records of task `text` trained with recipe `key`, by seed."""
        return {r["seed"]: r for r in self.records if r["task"] == text and r["recipe"] == key}

    def append(self, records: list[Record]) -> None:
        """Write a finished block's records through to the disk."""
        with self.path.open("a") as file:
            file.write("".join(json.dumps(record) + "\n" for record in records))
            file.flush()
            os.fsync(file.fileno())
        self.records += records


def train_block(checked: Checked, text: str, key: dict[str, Any]) -> list[Record]:
    """Train one block (one population) and return a record per seed."""
    prepared = checked.prepared()
    started = time.process_time()
    result = train(
        prepared.network, prepared.data, prepared.loss, prepared.optimizer, checked.recipe.config
    )
    share = (time.process_time() - started) / checked.recipe.population
    return [
        {
            "task": text,
            "recipe": key,
            "seed": checked.recipe.seed + member,
            "solved": bool(result.solved[member]),
            "solved_epoch": int(result.solved_epoch[member]),
            "accuracy": float(result.accuracy[member]),
            "cpu_seconds": share,
        }
        for member in range(checked.recipe.population)
    ]


def blocks(missing: list[int], block: int) -> Iterator[tuple[int, int]]:
    """(first seed, members) of each block covering the sorted seeds `missing`, each block a
    run of consecutive seeds (a population's members are seeds first, first + 1, ...)."""
    start = 0
    while start < len(missing):
        end = start + 1
        while end < len(missing) and end - start < block and missing[end] == missing[end - 1] + 1:
            end += 1
        yield missing[start], end - start
        start = end


def initializer_text(checked: Checked) -> str:
    """The initializer's name, with the parameters the rule or the command line set."""
    choice = checked.recipe.initializer
    return " ".join([choice.name, *(f"{k}={v}" for k, v in choice.params.items())])


def row(text: str, first: Checked, records: list[Record]) -> str:
    """The table row of task `text` over `records`, one per seed."""
    seeds = len(records)
    solved = sum(r["solved"] for r in records)
    right = sum(r["accuracy"] >= 1.0 for r in records)
    near = sum(r["accuracy"] >= NEAR for r in records)
    seconds = sum(r["cpu_seconds"] for r in records)
    epochs = [r["solved_epoch"] for r in records if r["solved_epoch"] >= 0]
    median, p90 = np.percentile(epochs, (50, 90)) if epochs else (np.nan, np.nan)
    per_solved = seconds / solved if solved else np.nan
    settings = first.settings()
    optimizer = settings["optimizer"]
    return (
        f"| {text} | {','.join(map(str, first.hidden))} | {optimizer['name']} "
        f"lr={optimizer['params'].get('lr', '-')} | {initializer_text(first)} "
        f"| {settings['options']['epochs']} "
        f"| {solved}/{seeds} ({100 * solved / seeds:.1f}%) "
        f"| {100 * right / seeds:.1f}% | {100 * near / seeds:.1f}% "
        f"| {median:.0f} | {p90:.0f} "
        f"| {1000 * per_solved:.1f} | {seconds:.1f} |"
    )


def rows_depend_on_seed(checked: Checked) -> bool:
    """Whether the task draws its rows from the seed (region and the Playground datasets): a
    population's members share its first seed's rows, so each such seed trains alone, drawing
    its own rows as a Train with that seed does."""
    first, second = (checked.task.preview(np.random.default_rng(s), 8).inputs for s in (0, 1))
    return not np.array_equal(first, second)


def measure(
    text: str, seeds: int, block: int, overrides: dict[str, Any], log: SeedLog | None
) -> str:
    """One table row: the default recipe (with `overrides`) on `text` over seeds 0..seeds-1,
    training only the seeds `log` does not hold yet."""
    recipe = dataclasses.replace(Recipe(task=task_choice(text)), **overrides)
    registry = load_registry()
    first = check(recipe, registry)
    key = recipe_key(first)
    fits = BUFFER_VALUES // (first.rows * max(first.sizes))
    block = min(block, fits) if fits >= MIN_BLOCK and not rows_depend_on_seed(first) else 1
    done = log.recorded(text, key) if log else {}
    missing = [seed for seed in range(seeds) if seed not in done]
    for start, members in blocks(missing, block):
        checked = check(dataclasses.replace(recipe, seed=start, population=members), registry)
        records = train_block(checked, text, key)
        if log:
            log.append(records)
        done.update((record["seed"], record) for record in records)
    return row(text, first, [done[seed] for seed in range(seeds)])


def overrides_of(args: argparse.Namespace) -> dict[str, Any]:
    """The recipe fields the command line sets; the rest stay the defaults."""
    overrides: dict[str, Any] = {}
    if args.hidden is not None:
        overrides["hidden"] = tuple(int(units) for units in args.hidden.split(",") if units)
    params = {k: json.loads(v) for k, _, v in (o.partition("=") for o in args.opt)}
    if args.optimizer is not None or params:
        overrides["optimizer"] = Choice(args.optimizer or "", params)
    if args.init is not None:
        overrides["initializer"] = Choice(args.init)
    if args.epochs is not None:
        overrides["config"] = TrainConfig(epochs=args.epochs)
    return overrides


def one_blas_thread() -> None:
    """Run again with one BLAS thread, as the server's training workers run: more threads only
    spin on these small products, which made parity-11's CPU time per epoch up to 7x larger."""
    if any(os.environ.get(name) != value for name, value in WORKER_ENV.items()):
        os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, **WORKER_ENV})


def main() -> None:
    one_blas_thread()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("tasks", nargs="*", default=TASKS, help="e.g. xor parity:n=8")
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--block", type=int, default=1000, help="most members trained at once")
    parser.add_argument("--hidden", help="widths instead of the rule's, e.g. 32 or 16,8")
    parser.add_argument("--optimizer", help="an optimizer instead of the rule's")
    parser.add_argument("--opt", action="append", default=[], help="optimizer param, k=v")
    parser.add_argument("--init", help="an initializer instead of the rule's")
    parser.add_argument("--epochs", type=int, help="an epoch budget instead of the rule's")
    parser.add_argument("--out", type=Path, help="append each finished seed to FILE (JSON lines)")
    parser.add_argument(
        "--resume", action="store_true", help="skip the seeds --out's FILE already holds"
    )
    args = parser.parse_args()
    if args.resume and args.out is None:
        parser.error("--resume needs --out FILE")
    if args.out and not args.resume and args.out.exists() and args.out.stat().st_size:
        parser.error(f"{args.out} already holds records: --resume to continue them")
    log = SeedLog(args.out, args.resume) if args.out else None
    print(
        f"{args.seeds} seeds a task; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}"
    )
    print(
        "| task | hidden | optimizer | initializer | epochs | solved | all rows right "
        f"| accuracy >= {NEAR} | median epochs "
        "| p90 epochs | CPU ms per solved model | CPU seconds |"
    )
    print("| --- " * 12 + "|")
    for text in args.tasks:
        print(measure(text, args.seeds, args.block, overrides_of(args), log), flush=True)


if __name__ == "__main__":
    main()
