"""Benchmark: gatelearn end to end, each figure divided by a reference measured in the same run.

    python bench/run.py            # a few minutes
    python bench/run.py --quick    # well under a minute: fewer rows, seeds, rounds (CI)
    python bench/run.py --figure packed    # only the figures whose title holds "packed"

This is a benchmark, not a test: it prints machine information, then ONE table, then notes, and
exits 0 whatever the ratios are. It exits 1 only when a figure could not be measured (an error,
shown in its verdict) or when the core and article 000's loop stop doing the same work (the
equality check shared with bench/core.py).

Every ratio in the table is "higher is better": a figure where less is better (a time, a
latency) is divided the other way round (reference / gatelearn), with its floor and target
inverted to match (a floor of "gatelearn at most 2x the reference" is written 0.5).

Figures, with what each is divided by:
  * one net, 2-3-1 sigmoid: core epochs/s / article 000's loop epochs/s            (bench/core.py)
  * population P=1000: core network-epochs/s / article 000's loop epochs/s         (bench/core.py)
  * population P=1000 in float32: network-epochs/s / the same in float64, on the default
      recipe (XOR) and on article 000's 2-3-1 sigmoid network             (bench/float32.py)
  * Train call to a saved model solving XOR, server defaults, through gRPC:
      scikit-learn MLPClassifier(solver='lbfgs') fit time on XOR / gatelearn time   (same seeds)
  * share of seeds solving XOR with defaults: gatelearn share / scikit-learn lbfgs share
      (gatelearn: one population Train with seed 0, member p being exactly the network seed p
      trains alone -- checked against separate Train calls, see the notes)
  * per task family (the registry's 2-input, 1-output gates; parity-8; majority-9; full
      adder), seeds 0..29 of each task (0..1 with --quick): scikit-learn MLPClassifier()
      (its defaults: adam, hidden (100,), max_iter 200) seconds per solved model / gatelearn's
      (one Train call with only the task and the seed, to a saved model); the floor is a
      solved share at least MLPClassifier()'s, the target also faster; MLPClassifier(solver=
      'lbfgs') is shown beside. Seconds per solved model = all of a side's fit or Train
      seconds / models solved. gatelearn counts Metrics.solved (every output past the
      threshold by the default margin), scikit-learn predict() right on every row (the full
      adder's 2 outputs as a multi-label target), which is looser; 1 BLAS thread as above
  * unary Predict calls/s from 8 client threads (Client.predict, 4 rows) / calls/s of a bare
      synchronous grpcio echo service (generic handler, raw bytes of the same sizes, same
      thread-pool size, same loopback), each server a subprocess (`gatelearn serve`, as users
      run it; bench/_echo.py); the same pair inside this process and a grpc.aio echo in the note
  * Predict rows/s through the packed path (Client.predict_array to a `gatelearn serve`
      subprocess; to this process's own server in the notes) / the same model's in-process
      forward pass (Network.predict)
  * in-process forward rows/s of a 2-4-1 tanh/sigmoid net (Network.predict) / scikit-learn
      predict_proba of the same weights
  * Predict p99 latency: p99 idle / p99 while 2 trainings run (each side's p50 and p99 in ms
      in its cell), against a `gatelearn serve` subprocess with its defaults, idle and busy
      windows alternating (5 rounds of 2 s each; 3 of 0.4 s with --quick)
  * parity-n, n = 2..16: time per epoch; the slope of log(time) against log(2^n rows)
  * resident memory of a server subprocess holding 1000 imported models, 100 of them used

Servers listen on 127.0.0.1 only, on ports the OS picks, and are stopped before exit. Every loop
ends on a count or a clock. Without scikit-learn the rows that need it say so and the rest runs.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import faulthandler
import functools
import math
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Before gRPC loads: pgserver starts initdb and pg_ctl as another user (fork(), not vfork()), and
# gRPC's fork handlers beside busy gRPC threads are the likely cause of this process's one crash
# and of initdb's SIGSEGV (tests/fork_safety.py).
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")

import grpc
import numpy as np
from _common import (
    ARTICLE_NET,
    DEFAULT_XOR,
    NO_RECORDS,
    ONE_NET_BAR,
    POPULATION,
    POPULATION_BAR,
    Core,
    Side,
    add_without_avx512,
    article_side,
    check_equal,
    compare,
    core_side,
    machine_info,
    rate,
    recipe_side,
    rerun_without_avx512,
    spread,
    table,
    verdict,
)
from _echo import handler as echo_handler
from _scaleout import Replicas, cluster, replicas, save_seconds
from _served import Served, echoed, served

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.client.client import DEFAULT_CHUNK_ROWS, DEFAULT_STREAMS
from gatelearn.core import Gate, Layer, Network, TrainConfig, train
from gatelearn.plugins import Registry, load_registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare
from gatelearn.server import ServerConfig, create_server
from gatelearn.server.app import RunningServer
from gatelearn.server.limits import LIMITS_ENV, Limits
from gatelearn.server.stores import PostgresStore, SQLiteStore, pack_arrays
from gatelearn.v1 import gatelearn_pb2 as pb
from gatelearn.v1 import gatelearn_pb2_grpc

try:
    import sklearn
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn
except ImportError:  # the bench extra is not installed: those rows are skipped
    sklearn = None
else:
    # lbfgs on 4 rows often stops at max_iter; its warning would bury the table.
    warnings.filterwarnings("ignore", category=ConvergenceWarning)

SKIPPED = "skipped (pip install .[bench])"
XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([0, 1, 1, 0])
ROWS4 = XOR_X.tolist()
MODEL = "bench-xor"  # trained with the defaults at start-up; Predict figures use it
CLIENT_THREADS = 8


@dataclass(frozen=True)
class Mode:
    """How much work each figure does."""

    rounds: int  # interleaved rounds per comparison
    seconds: float  # per timed run of the core figures
    train_calls: int  # timed Train calls (and scikit-learn fits), seeds 0, 1, ...
    seeds: int  # seeds for the share-of-seeds figure
    alone_seeds: int  # of those, trained alone too, to check member p == seed p
    window: float  # seconds per throughput run and per latency window
    rows: int  # rows for the packed-path and forward-pass figures
    parity_n: range  # parity sizes timed
    parity_fit_from: int  # smallest n in the slope fit
    parity_seconds: float  # per timed run of a parity size
    stored_models: int  # models imported into the subprocess server
    used_models: int  # of those, used by Predict
    sklearn_budget: float  # seconds scikit-learn fits may take in the share figure


QUICK = Mode(
    rounds=3,
    seconds=0.08,
    train_calls=5,
    seeds=40,
    alone_seeds=20,
    window=0.4,
    rows=200_000,
    parity_n=range(2, 15),
    parity_fit_from=8,
    parity_seconds=0.04,
    stored_models=1000,
    used_models=100,
    sklearn_budget=10.0,
)
FULL = Mode(
    rounds=5,
    seconds=0.7,
    train_calls=21,
    seeds=200,
    alone_seeds=200,
    window=2.0,
    rows=1_000_000,
    parity_n=range(2, 17),
    parity_fit_from=8,
    parity_seconds=0.3,
    stored_models=1000,
    used_models=100,
    sklearn_budget=120.0,
)


@dataclass
class Row:
    figure: str
    reference: str
    gatelearn: str
    ratio: str
    floor: str
    target: str
    verdict: str

    def cells(self) -> tuple[str, ...]:
        return dataclasses.astuple(self)


@dataclass
class Bench:
    """What the figures share: the settings, a running server, a client, the notes."""

    mode: Mode
    core: Core
    registry: Registry
    server: RunningServer
    client: Client
    notes: list[str] = field(default_factory=list)
    sklearn_solved: dict[int, bool] = field(default_factory=dict)  # seed -> solved XOR
    resources: contextlib.ExitStack = field(default_factory=contextlib.ExitStack)
    _replicas: Replicas | None = None

    def replicas(self) -> Replicas:
        """Two replica subprocesses on one new PostgreSQL, nginx in front: started once."""
        if self._replicas is None:
            self._replicas = self.resources.enter_context(replicas())
        return self._replicas

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    def note(self, figure: str, text: str) -> None:
        self.notes.append(f"{figure}: {text}")


# ------------------------------------------------------------------ helpers
def ratio_row(
    figure: str,
    reference: str,
    gatelearn: str,
    ratio: float,
    floor: float,
    target: float,
    extra: str = "",
) -> Row:
    judged = verdict(ratio, floor, target) if math.isfinite(ratio) else "BELOW FLOOR"
    return Row(
        figure,
        reference,
        gatelearn,
        f"{ratio:.2f}x",
        f"{floor:.3g}x",
        f"{target:.3g}x",
        judged + extra,
    )


def seconds_text(value: float) -> str:
    if value >= 1:
        return f"{value:.3g} s"
    if value >= 1e-3:
        return f"{value * 1e3:.3g} ms"
    return f"{value * 1e6:.3g} us"


def stopwatch(call: Callable[[], object]) -> Callable[[], float]:
    """`call` as a run for `interleave`: each run returns the seconds the call took."""

    def run() -> float:
        start = time.perf_counter()
        call()
        return time.perf_counter() - start

    return run


def interleave(runs: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Warm each run up once, then `rounds` rounds of all of them, the order rotating by one
    each round (so with two sides it alternates) so machine noise hits every side; each run
    returns its own seconds. Returns the seconds per side."""
    for run in runs.values():
        run()
    names = list(runs)
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(runs[name]())
    return times


def sklearn_fit(seed: int, x: Any = XOR_X, y: Any = XOR_Y, **settings: Any) -> Any:
    """MLPClassifier fitted on (x, y) (XOR by default): lbfgs unless `settings` name a solver."""
    return MLPClassifier(**{"solver": "lbfgs", "random_state": seed, **settings}).fit(x, y)


def sklearn_solves(model: Any, x: Any = XOR_X, y: Any = XOR_Y) -> bool:
    """Does the model predict every row of (x, y) right (every label of it, if several)?"""
    return bool((model.predict(x) == y).all())


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


# ------------------------------------------------------------------ core figures (bench/core.py)
def fig_core(
    bench: Bench, population: int, floor: float, target: float, probes: tuple[int, int], figure: str
) -> Row:
    reference = article_side(bench.core)
    candidate = core_side(bench.core, population)
    ref_rate, cand_rate = compare(
        reference, candidate, bench.mode.rounds, bench.mode.seconds, probes
    )
    assert reference.rates is not None and candidate.rates is not None
    bench.note(
        figure,
        f"{reference.epochs} article epochs and {candidate.epochs} core epochs "
        f"per run; spread article {spread(reference.rates)}, core "
        f"{spread(candidate.rates)}; per-round ratios "
        + " ".join(f"{c / r:.2f}" for r, c in zip(reference.rates, candidate.rates, strict=True)),
    )
    return ratio_row(
        figure,
        rate(ref_rate, " ep/s"),
        rate(cand_rate, " net-ep/s" if population > 1 else " ep/s"),
        cand_rate / ref_rate,
        floor,
        target,
    )


def fig_float32(bench: Bench, recipe: Recipe, figure: str) -> Row:
    """P=1000 network-epochs/s of `recipe` in float32 over the same in float64."""
    double, single = recipe_side(recipe, "float64"), recipe_side(recipe, "float32")
    rate64, rate32 = compare(double, single, bench.mode.rounds, bench.mode.seconds, (20, 20))
    assert double.rates is not None and single.rates is not None
    bench.note(
        figure,
        f"{double.epochs} float64 and {single.epochs} float32 epochs per run; spread float64 "
        f"{spread(double.rates)}, float32 {spread(single.rates)}; per-round ratios "
        + " ".join(f"{s / d:.2f}" for d, s in zip(double.rates, single.rates, strict=True)),
    )
    return ratio_row(
        figure, rate(rate64, " net-ep/s"), rate(rate32, " net-ep/s"), rate32 / rate64, 1.5, 2.0
    )


# ------------------------------------------------------------------ Train and seeds
def fig_train_time(bench: Bench, figure: str) -> Row:
    client, calls = bench.client, bench.mode.train_calls
    unsolved: list[int] = []
    # Each side trains the next seed on every call (the warm-up takes seed 0), so both sides
    # see the same seeds in the same order.
    g_seed, s_seed = iter(range(calls + 1)), iter(range(calls + 1))

    def gatelearn() -> float:
        seed = next(g_seed)
        start = time.perf_counter()
        outcome = client.train("bench-train", "xor", seed=seed)
        elapsed = time.perf_counter() - start
        if not outcome.metrics.solved:
            unsolved.append(seed)
        return elapsed

    def scikit() -> float:
        seed = next(s_seed)
        start = time.perf_counter()
        model = sklearn_fit(seed)
        elapsed = time.perf_counter() - start
        bench.sklearn_solved[seed] = sklearn_solves(model)
        return elapsed

    # One BLAS/OpenMP thread: on 4 rows extra threads only wait for each other, and on a busy
    # machine they made the fits several times slower, which would flatter gatelearn.
    with threadpool_limits(limits=1):
        times = interleave({"gatelearn": gatelearn, "sklearn": scikit}, calls)
    g, s = statistics.median(times["gatelearn"]), statistics.median(times["sklearn"])
    default_threads = []
    for seed in range(calls + 1, calls + 6):
        start = time.perf_counter()
        sklearn_fit(seed)
        default_threads.append(time.perf_counter() - start)
    sk_unsolved = [seed for seed in range(calls + 1) if not bench.sklearn_solved.get(seed, True)]
    bench.note(
        figure,
        f"median of {calls} calls per side after one warm-up (seeds 0..{calls}, "
        f"the warm-up taking seed 0); gatelearn min/max "
        f"{seconds_text(min(times['gatelearn']))}/"
        f"{seconds_text(max(times['gatelearn']))}, scikit-learn min/max "
        f"{seconds_text(min(times['sklearn']))}/"
        f"{seconds_text(max(times['sklearn']))}; seeds not solving XOR: "
        f"gatelearn {unsolved or 'none'}, scikit-learn {sk_unsolved or 'none'}; "
        f"scikit-learn runs with BLAS/OpenMP limited to 1 thread "
        f"(threadpoolctl), its fastest setting here; with the default threads 5 "
        f"more fits took a median "
        f"{seconds_text(statistics.median(default_threads))}",
    )
    return ratio_row(figure, seconds_text(s), seconds_text(g), s / g, 2.0, 3.0)


def fig_seed_share(bench: Bench, figure: str) -> Row:
    client, mode = bench.client, bench.mode
    n = mode.seeds
    start = time.perf_counter()
    outcome = client.train("bench-seeds", "xor", seed=0, population=n)
    population_time = time.perf_counter() - start
    g_share = outcome.solved_members / n

    # member p of that population is the network seed p trains alone: check it on some seeds
    mismatches = []
    alone_solved = 0
    deadline = time.monotonic() + 120
    checked = 0
    for seed in range(mode.alone_seeds):
        if time.monotonic() > deadline:
            break
        alone = client.train("bench-alone", "xor", seed=seed)
        checked += 1
        alone_solved += alone.metrics.solved
        if alone.metrics.solved_epoch != outcome.member_solved_epochs[seed]:
            mismatches.append(
                (seed, alone.metrics.solved_epoch, outcome.member_solved_epochs[seed])
            )
    alone_note = (
        f"{alone_solved}/{checked} solved alone"
        if checked < n
        else f"alone {alone_solved}/{n} solved vs population {outcome.solved_members}/{n}"
    )
    bench.note(
        figure,
        f"gatelearn: one Train with population={n}, seed=0 "
        f"({seconds_text(population_time)}, {outcome.solved_members} members "
        f"predict all 4 rows right); member p == seed p alone: seeds "
        f"0..{checked - 1} trained by separate Train calls reach the margin at "
        f"the same epoch as "
        f"their member in {checked - len(mismatches)}/{checked} cases; "
        f"{alone_note}"
        + (f"; MISMATCHES (seed, alone, member): {mismatches[:10]}" if mismatches else ""),
    )

    deadline = time.monotonic() + mode.sklearn_budget
    with threadpool_limits(limits=1):
        for seed in range(n):
            if seed not in bench.sklearn_solved:
                if time.monotonic() > deadline:
                    break
                bench.sklearn_solved[seed] = sklearn_solves(sklearn_fit(seed))
    fitted = [seed for seed in range(n) if seed in bench.sklearn_solved]
    s_share = sum(bench.sklearn_solved[seed] for seed in fitted) / len(fitted)
    failed = [seed for seed in fitted if not bench.sklearn_solved[seed]]
    bench.note(
        figure,
        f"scikit-learn: MLPClassifier(solver='lbfgs', random_state=seed), "
        f"hidden (100,), seeds 0..{len(fitted) - 1}"
        + (f" (of {n}: time budget {mode.sklearn_budget:g} s ran out)" if len(fitted) < n else "")
        + f"; seeds not solving: {failed[:20] or 'none'}",
    )
    extra = f"; {len(mismatches)} member/seed MISMATCHES" if mismatches else ""
    return ratio_row(
        figure,
        f"{s_share:.3f} of {len(fitted)}",
        f"{g_share:.3f} of {n}",
        g_share / s_share if s_share else math.inf,
        1.0,
        1.0,
        extra,
    )


# ------------------------------------------------------------------ task families vs scikit-learn
TaskSpec = tuple[str, dict[str, Any]]  # a task as Client.train takes it: (name, params)
Case = tuple[int, int]  # (index into the family's tasks, seed)
# The anchor is MLPClassifier() (its own default solver, adam); lbfgs is shown beside.
SKLEARN_SETTINGS: dict[str, dict[str, Any]] = {
    "MLPClassifier()": {"solver": "adam"},
    "lbfgs": {"solver": "lbfgs"},
}


def two_input_gates(registry: Registry) -> list[TaskSpec]:
    """Every registered gate of two inputs and one output (and, or, xor, ...)."""
    rng = np.random.default_rng(0)
    return [
        (entry.name, {})
        for entry in registry.entries("task")
        if issubclass(entry.component, Gate)
        and getattr(entry.component, "arity", 0) == 2
        and entry.component().dataset(rng).n_outputs == 1
    ]


# One row each: the family and its tasks, resolved from the registry when measured.
FAMILIES: dict[str, Callable[[Registry], list[TaskSpec]]] = {
    "2-input gates": two_input_gates,
    "parity-8": lambda _: [("parity", {"n": 8})],
    "majority-9": lambda _: [("majority", {"n": 9})],
    "full adder": lambda _: [("full_adder", {})],
}


def task_label(task: TaskSpec) -> str:
    name, params = task
    return name + "".join(f" {key}={value}" for key, value in params.items())


def task_table(registry: Registry, task: TaskSpec) -> tuple[np.ndarray, np.ndarray]:
    """The task's whole truth table as scikit-learn takes it: a label per row, or a row of
    labels (a multi-label target) when the task has several outputs."""
    data = registry.build("task", *task).dataset(np.random.default_rng(0))
    labels = data.targets.astype(np.int64)
    return data.inputs, labels.ravel() if data.n_outputs == 1 else labels


@dataclass(frozen=True)
class Fits:
    """One side's timed fits of a family's cases: (case, seconds, solved) each."""

    outcomes: list[tuple[Case, float, bool]]

    @property
    def solved(self) -> int:
        return sum(solved for _, _, solved in self.outcomes)

    def per_solved(self) -> float:
        """Seconds of every fit, solved or not, per solved one; inf when none solved."""
        total = sum(seconds for _, seconds, _ in self.outcomes)
        return total / self.solved if self.solved else math.inf

    def summary(self) -> str:
        share = f"{self.solved}/{len(self.outcomes)} solved"
        return f"{share}, {seconds_text(self.per_solved())}/solved" if self.solved else share

    def unsolved(self, tasks: list[TaskSpec]) -> str:
        """How many cases were not solved, and the first few of them."""
        cases = [f"{task_label(tasks[i])} seed {s}" for (i, s), _, ok in self.outcomes if not ok]
        shown = ", ".join(cases[:5]) + (", ..." if len(cases) > 5 else "")
        return f"{len(cases)} ({shown})" if cases else "0"


def case_run(
    fit: Callable[[int, int], tuple[float, bool]],
    cases: list[Case],
    outcomes: list[tuple[Case, float, bool]],
) -> Callable[[], float]:
    """`fit` as a run for `interleave`: each run fits the next case and records it. The first
    run (interleave's warm-up) fits case 0 an extra time."""
    pending = iter([cases[0], *cases])

    def run() -> float:
        case = next(pending)
        seconds, solved = fit(*case)
        outcomes.append((case, seconds, solved))
        return seconds

    return run


def family_fits(bench: Bench, tasks: list[TaskSpec], cases: list[Case]) -> dict[str, Fits]:
    """Every case once on each side: a Train call with only the task and the seed, and each
    scikit-learn setting; the sides interleaved case by case, the warm-up left out."""
    tables = [task_table(bench.registry, task) for task in tasks]

    def gatelearn(index: int, seed: int) -> tuple[float, bool]:
        start = time.perf_counter()
        outcome = bench.client.train(f"bench-family-{tasks[index][0]}", tasks[index], seed=seed)
        return time.perf_counter() - start, outcome.metrics.solved

    def scikit(settings: dict[str, Any]) -> Callable[[int, int], tuple[float, bool]]:
        def fit(index: int, seed: int) -> tuple[float, bool]:
            x, y = tables[index]
            start = time.perf_counter()
            model = sklearn_fit(seed, x, y, **settings)
            return time.perf_counter() - start, sklearn_solves(model, x, y)

        return fit

    sides = {"gatelearn": gatelearn} | {name: scikit(s) for name, s in SKLEARN_SETTINGS.items()}
    outcomes: dict[str, list[tuple[Case, float, bool]]] = {name: [] for name in sides}
    with threadpool_limits(limits=1):  # as in fig_train_time: its fastest setting here
        interleave(
            {name: case_run(fit, cases, outcomes[name]) for name, fit in sides.items()},
            len(cases),
        )
    return {name: Fits(recorded[1:]) for name, recorded in outcomes.items()}


def fig_family(tasks_of: Callable[[Registry], list[TaskSpec]], bench: Bench, figure: str) -> Row:
    """One family's row: judged against MLPClassifier() (the issue's anchor), lbfgs beside."""
    tasks = tasks_of(bench.registry)
    seeds = 2 if bench.mode is QUICK else 30
    cases = [(index, seed) for index in range(len(tasks)) for seed in range(seeds)]
    fits = family_fits(bench, tasks, cases)
    g, adam, lbfgs = fits["gatelearn"], fits["MLPClassifier()"], fits["lbfgs"]
    sizes = [bench.client.model(f"bench-family-{task[0]}").summary.sizes for task in tasks]
    bench.note(
        figure,
        f"{len(cases)} cases, seeds 0..{seeds - 1} of "
        + ", ".join(f"{task_label(t)} {s}" for t, s in zip(tasks, sizes, strict=True))
        + " (the layer sizes gatelearn's defaults chose); unsolved: "
        + "; ".join(f"{name} {fit.unsolved(tasks)}" for name, fit in fits.items()),
    )
    ratio = adam.per_solved() / g.per_solved()
    if g.solved < adam.solved:
        judged = "BELOW FLOOR"
    else:
        judged = "meets target" if ratio >= 1 else "meets floor"
    versus_lbfgs = lbfgs.per_solved() / g.per_solved()
    return Row(
        figure,
        f"MLPClassifier() {adam.summary()}",
        g.summary(),
        f"{ratio:.2f}x" if math.isfinite(ratio) else "-",
        "share >= sklearn's",
        "faster (1x)",
        f"{judged}; lbfgs {lbfgs.summary()}"
        + (f" ({versus_lbfgs:.2f}x)" if math.isfinite(versus_lbfgs) else ""),
    )


# ------------------------------------------------------------------ Predict throughput
@contextlib.contextmanager
def echo_server(response: bytes, workers: int) -> Iterator[str]:
    """bench/_echo.py's service in this process, answering every call with `response`."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=workers),
        handlers=(echo_handler(response),),
        options=[("grpc.so_reuseport", 0)],
    )
    port = server.add_insecure_port("127.0.0.1:0")
    if port == 0:
        raise OSError("echo server: cannot listen on 127.0.0.1")
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        server.stop(0).wait()


def hammer(
    connect: Callable[[], tuple[Callable[[], Any], Callable[[], None]]],
    threads: int,
    seconds: float,
) -> float:
    """`threads` threads, each with its own connection, calling as fast as they can for
    `seconds`; returns the seconds per call overall (1 / calls per second)."""
    ready = threading.Barrier(threads + 1)
    go = threading.Event()
    counts = [0] * threads
    errors: list[BaseException] = []
    end = [0.0]

    def worker(index: int) -> None:
        call, close = connect()
        try:
            call()  # connect and warm up outside the clock
            ready.wait(timeout=30)
            go.wait(timeout=30)
            n = 0
            while time.perf_counter() < end[0]:
                call()
                n += 1
            counts[index] = n
        except BaseException as error:  # noqa: BLE001 - reported after the join
            errors.append(error)
            ready.abort()
        finally:
            close()

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(threads)]
    for thread in workers:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):
        ready.wait(timeout=30)
    start = time.perf_counter()
    end[0] = start + seconds
    go.set()
    for thread in workers:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - start
    if errors:
        raise errors[0]
    return elapsed / max(1, sum(counts))


def raw_caller(
    address: str, request: bytes
) -> Callable[[], tuple[Callable[[], Any], Callable[[], None]]]:
    """`hammer`'s connection to an echo service: raw bytes, no (de)serializers."""

    def connect() -> tuple[Callable[[], Any], Callable[[], None]]:
        channel = grpc.insecure_channel(address)
        call = channel.unary_unary("/bench.Echo/Echo")
        return (lambda: call(request, timeout=30)), channel.close

    return connect


def client_caller(address: str) -> Callable[[], tuple[Callable[[], Any], Callable[[], None]]]:
    """`hammer`'s connection to gatelearn through the Client, as users call it."""

    def connect() -> tuple[Callable[[], Any], Callable[[], None]]:
        client = Client(address)
        return (lambda: client.predict(MODEL, ROWS4)), client.close

    return connect


def stub_caller(
    address: str, request: pb.PredictRequest
) -> Callable[[], tuple[Callable[[], Any], Callable[[], None]]]:
    """`hammer`'s connection to gatelearn through a generated stub sending a prebuilt request."""

    def connect() -> tuple[Callable[[], Any], Callable[[], None]]:
        channel = grpc.insecure_channel(address)
        stub = gatelearn_pb2_grpc.GateLearnStub(channel)
        return (lambda: stub.Predict(request, timeout=30)), channel.close

    return connect


@contextlib.contextmanager
def default_server(own_session: bool = False) -> Iterator[Served]:
    """`gatelearn serve` with the default limits (not this bench's) on a fresh data directory;
    `own_session` as `served` has it."""
    env = {k: v for k, v in os.environ.items() if k != LIMITS_ENV}
    with (
        tempfile.TemporaryDirectory(prefix="gatelearn-bench-") as data_dir,
        served("--data-dir", data_dir, env=env, own_session=own_session) as server,
    ):
        yield server


def fig_unary(bench: Bench, figure: str) -> Row:
    """Unary Predict calls/s against `gatelearn serve` in a process of its own, as users run
    it, over a bare synchronous grpcio echo in a process of its own; the same pair inside this
    process, and a grpc.aio echo, in the note."""
    mode = bench.mode
    request = pb.PredictRequest(model=MODEL, rows=[pb.Row(values=r) for r in ROWS4])
    with grpc.insecure_channel(bench.address) as channel:
        response = gatelearn_pb2_grpc.GateLearnStub(channel).Predict(request, timeout=30)
    request_bytes, response_bytes = request.SerializeToString(), response.SerializeToString()
    workers = ServerConfig().workers
    with (
        default_server() as server,
        echoed(response_bytes, workers) as echo,
        echoed(response_bytes, workers, aio=True) as echo_aio,
        echo_server(response_bytes, workers) as echo_here,
    ):
        with Client(server.address, timeout=120) as trainer:
            trainer.train(MODEL, "xor")
        sides = {
            "echo": raw_caller(echo.address, request_bytes),
            "client": client_caller(server.address),
            "stub": stub_caller(server.address, request),
            "aio echo": raw_caller(echo_aio.address, request_bytes),
            "echo here": raw_caller(echo_here, request_bytes),
            "client here": client_caller(bench.address),
        }
        times = interleave(
            {
                name: functools.partial(hammer, connect, CLIENT_THREADS, mode.window)
                for name, connect in sides.items()
            },
            mode.rounds,
        )
    rates = {name: 1 / statistics.median(seconds) for name, seconds in times.items()}
    echo_rate, client = rates["echo"], rates["client"]
    bench.note(
        figure,
        f"`gatelearn serve` (defaults) and the echo (bench/_echo.py, {workers} threads, "
        f"scheduled as the server is) each in a process of its own, as users run a server; "
        f"{CLIENT_THREADS} client threads in this process, each its own connection, "
        f"{mode.window:g} s per run, {mode.rounds} rounds, medians; request "
        f"{len(request_bytes)} B, response {len(response_bytes)} B. A generated stub sending a "
        f"prebuilt request (no Client wrapper): {rate(rates['stub'], ' calls/s')} = "
        f"{rates['stub'] / echo_rate:.2f}x echo. A grpc.aio echo: "
        f"{rate(rates['aio echo'], ' calls/s')} = {rates['aio echo'] / echo_rate:.2f}x the "
        f"synchronous echo. In this process (servers, clients and the GIL shared: how this "
        f"figure was measured before): echo {rate(rates['echo here'], ' calls/s')}, "
        f"Client {rate(rates['client here'], ' calls/s')} = "
        f"{rates['client here'] / rates['echo here']:.2f}x",
    )
    return ratio_row(
        figure, rate(echo_rate, " calls/s"), rate(client, " calls/s"), client / echo_rate, 0.8, 1.0
    )


def fig_packed(bench: Bench, figure: str) -> Row:
    """Client.predict_array against `gatelearn serve` in a subprocess, as users run it (the
    server's work and the client's on cores of their own), and against this process's server
    (one GIL for both ends) beside it in the note; both checked equal to Network.predict."""
    rows = bench.mode.rows
    inputs = np.random.default_rng(1).random((rows, 2))
    model = bench.server.service.models.cache.get(MODEL)  # the very model Predict serves
    expected = model.network.predict(inputs)[..., 0]
    with (
        default_server() as server,
        Client(server.address, timeout=120) as client,
    ):
        client.import_model(MODEL, bench.client.export_model(MODEL))  # the same weights
        for side in (client, bench.client):
            if not np.array_equal(side.predict_array(MODEL, inputs)[0], expected):
                raise AssertionError("packed Predict and Network.predict disagree")
        times = interleave(
            {
                "network": stopwatch(functools.partial(model.network.predict, inputs)),
                "served": stopwatch(functools.partial(client.predict_array, MODEL, inputs)),
                "in process": stopwatch(
                    functools.partial(bench.client.predict_array, MODEL, inputs)
                ),
            },
            bench.mode.rounds,
        )
    ref, served_rate, in_process = (
        rows / statistics.median(times[side]) for side in ("network", "served", "in process")
    )
    bench.note(
        figure,
        f"{rows} rows of 2 float64 inputs, model {MODEL} (2-8-1 tanh/sigmoid, defaults), "
        f"imported into a `gatelearn serve` subprocess (the row: {rate(served_rate, ' rows/s')}, "
        f"{served_rate / ref:.2f}x) and served by this process's server too "
        f"({rate(in_process, ' rows/s')}, {in_process / ref:.2f}x: one GIL for both ends); "
        f"Client.predict_array sends {DEFAULT_CHUNK_ROWS}-row chunks over {DEFAULT_STREAMS} "
        f"PredictStream(s), labels answered as bits; outputs checked equal to Network.predict; "
        f"medians of {bench.mode.rounds} rounds",
    )
    return ratio_row(
        figure, rate(ref, " rows/s"), rate(served_rate, " rows/s"), served_rate / ref, 0.5, 0.8
    )


def fig_forward(bench: Bench, figure: str) -> Row:
    rows = bench.mode.rows
    classifier = sklearn_fit(0, hidden_layer_sizes=(4,), activation="tanh")
    tanh = bench.registry.build("activation", "tanh")
    sigmoid = bench.registry.build("activation", "sigmoid")
    network = Network(
        [
            Layer(
                np.ascontiguousarray(classifier.coefs_[0][:, :, None]),
                np.ascontiguousarray(classifier.intercepts_[0][:, None]),
                tanh,
            ),
            Layer(
                np.ascontiguousarray(classifier.coefs_[1][:, :, None]),
                np.ascontiguousarray(classifier.intercepts_[1][:, None]),
                sigmoid,
            ),
        ]
    )
    inputs = np.random.default_rng(2).random((rows, 2))
    ours = network.predict(inputs)[:, 0, 0]
    theirs = classifier.predict_proba(inputs)[:, 1]
    worst = float(np.abs(ours - theirs).max())
    if not worst <= 1e-9:
        raise AssertionError(f"Network.predict and predict_proba differ by {worst:.3g}")

    times = interleave(
        {
            "sklearn": stopwatch(functools.partial(classifier.predict_proba, inputs)),
            "gatelearn": stopwatch(functools.partial(network.predict, inputs)),
        },
        bench.mode.rounds,
    )
    ref = rows / statistics.median(times["sklearn"])
    cand = rows / statistics.median(times["gatelearn"])
    bench.note(
        figure,
        f"{rows} rows; scikit-learn's fitted 2-4-1 weights copied into a "
        f"gatelearn Network (tanh, sigmoid); outputs agree within {worst:.2g}; "
        f"medians of {bench.mode.rounds} rounds",
    )
    return ratio_row(figure, rate(ref, " rows/s"), rate(cand, " rows/s"), cand / ref, 1.0, 1.5)


# ------------------------------------------------------------------ latency under training load
def latencies(client: Client, seconds: float) -> list[float]:
    samples = []
    end = time.perf_counter() + seconds
    while (start := time.perf_counter()) < end:
        client.predict(MODEL, ROWS4)
        samples.append(time.perf_counter() - start)
    return samples


def p50_p99_ms(samples: list[float]) -> str:
    """The issue asks for both percentiles in ms, besides the ratio."""
    return f"p50 {percentile(samples, 50) * 1e3:.2f} / p99 {percentile(samples, 99) * 1e3:.2f} ms"


def fig_latency(bench: Bench, figure: str) -> Row:
    """Predict's latency with nothing else running, then during two long trainings, against a
    `gatelearn serve` subprocess in a session of its own, as a user starts it in another
    terminal: Linux schedules its session (it and its workers) as a group apart from ours."""
    return latency_of_served(bench, figure, own_session=True)


def fig_latency_one_session(bench: Bench, figure: str) -> Row:
    """The same with the server in this process's session, as a program that starts its own
    server has it: one scheduling group for the clients, the server and its workers."""
    return latency_of_served(bench, figure, own_session=False)


def latency_of_served(bench: Bench, figure: str, own_session: bool) -> Row:
    with (
        default_server(own_session) as server,
        Client(server.address, timeout=120) as client,
    ):
        client.train(MODEL, "xor")
        return latency_under_training(bench, figure, server.address, client)


TRAININGS = 2  # the load: as many trainings as a 2-core machine has cores
WORKER_WAIT = 10.0  # seconds a round's training waits for a worker the last round used


def train_when_a_worker_is_free(client: Client, *args: Any, **kwargs: Any) -> Any:
    """`client.train(...)`, tried again while the server refuses it RESOURCE_EXHAUSTED (for up
    to WORKER_WAIT seconds): the previous round's cancelled trainings may still be handing
    their workers back."""
    give_up = time.monotonic() + WORKER_WAIT
    while True:
        try:
            return client.train(*args, **kwargs)
        except GateLearnError as error:
            if error.code != grpc.StatusCode.RESOURCE_EXHAUSTED or time.monotonic() > give_up:
                raise
        time.sleep(0.05)


@contextlib.contextmanager
def trainings_running(address: str, load: int, bound: float) -> Iterator[None]:
    """`load` long parity-10 trainings, running from the first progress of each until the block
    ends, then cancelled; raises if one ended meanwhile. `bound`: their deadline, in seconds."""
    stop = threading.Event()
    started = [threading.Event() for _ in range(load)]
    outcomes: list[str] = ["not started"] * load

    def training(index: int) -> None:
        def on_progress(progress: Any) -> bool:
            started[index].set()
            return stop.is_set()

        # The deadline bounds the run even if the cancel were lost.
        with Client(address, train_timeout=bound) as trainer:
            try:
                train_when_a_worker_is_free(
                    trainer,
                    f"bench-busy-{index}",
                    ("parity", {"n": 10}),
                    seed=index,
                    options=TrainOptions(epochs=1_000_000, stop_when_solved=False),
                    on_progress=on_progress,
                )
                outcomes[index] = "finished"
            except GateLearnError as error:
                outcomes[index] = error.code.name
            finally:
                started[index].set()

    threads = [threading.Thread(target=training, args=(i,), daemon=True) for i in range(load)]
    for thread in threads:
        thread.start()
    try:
        for event in started:
            event.wait(timeout=30)
        if not all(event.is_set() for event in started):
            raise RuntimeError("the trainings sent no progress within 30 s")
        yield
        if any(outcome != "not started" for outcome in outcomes):
            raise RuntimeError(f"a training ended during the measurement: {outcomes}")
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)


def latency_under_training(bench: Bench, figure: str, address: str, client: Client) -> Row:
    """Idle and busy windows alternate, `rounds` of each, so that both sides see the same
    drift of the machine's other load and each p99 rests on many calls, not a few dozen."""
    window, rounds = bench.mode.window, bench.mode.rounds
    load = min(TRAININGS, Limits().max_concurrent_trainings)
    idle: list[list[float]] = []
    busy: list[list[float]] = []
    for _ in range(rounds):
        idle.append(latencies(client, window))
        with trainings_running(address, load, window * 4 + 60):
            busy.append(latencies(client, window))
    every_idle, every_busy = [s for w in idle for s in w], [s for w in busy for s in w]
    p99_idle, p99_busy = percentile(every_idle, 99), percentile(every_busy, 99)

    def spread(windows: list[list[float]]) -> str:
        each = [percentile(w, 99) * 1e3 for w in windows]
        return f"{min(each):.2f}-{max(each):.2f} ms"

    bench.note(
        figure,
        f"`gatelearn serve` subprocess (defaults: real-time serving where permitted, SCHED_IDLE "
        f"workers); sequential Client.predict calls (4 rows) from this process in {rounds} "
        f"rounds of {window:g} s idle then {window:g} s during {load} trainings (parity n=10, "
        f"defaults, 10^6 epochs, started anew each round, running throughout, then cancelled): "
        f"{len(every_idle)} idle calls, {len(every_busy)} busy; p99 of each window: idle "
        f"{spread(idle)}, busy {spread(busy)}; pooled busy/idle p99 = "
        f"{p99_busy / p99_idle:.2f} (issue 15's floor <= 2, target <= 1.25)",
    )
    return ratio_row(
        figure,
        f"idle {p50_p99_ms(every_idle)}",
        f"busy {p50_p99_ms(every_busy)}",
        p99_idle / p99_busy,
        1 / 2,
        1 / 1.25,
    )


# ------------------------------------------------------------------ parity scaling
def fig_parity(bench: Bench, figure: str) -> Row:
    mode = bench.mode
    per_epoch: dict[int, float] = {}
    for n in mode.parity_n:
        base = Recipe(  # one width for every n: the figure is about rows, not units
            task=Choice("parity", {"n": n}),
            hidden=(8,),
            config=TrainConfig(stop_when_solved=False, record_every=NO_RECORDS),
        )
        prepared = prepare(base, bench.registry)

        def run(epochs: int, prepared: Any = prepared, base: Recipe = base) -> float:
            config = dataclasses.replace(base.config, epochs=epochs)
            network = prepared.network.copy()
            start = time.perf_counter()
            train(network, prepared.data, prepared.loss, prepared.optimizer, config)
            return time.perf_counter() - start

        side = Side(run, 1)
        side.calibrate(mode.parity_seconds, 4)
        assert side.rates is not None
        for _ in range(mode.rounds):
            side.rates.append(side.timed(side.epochs))
        per_epoch[n] = 1 / statistics.median(side.rates)

    def log_slope(times: dict[int, float]) -> float:
        return float(
            np.polyfit([n * math.log(2) for n in times], [math.log(t) for t in times.values()], 1)[
                0
            ]
        )

    fit = [n for n in per_epoch if n >= mode.parity_fit_from]
    slope = log_slope({n: per_epoch[n] for n in fit})
    low, high = fit[0], fit[-1]
    top = fit[-5:]
    # the fixed cost of an epoch: the time at a handful of rows, where rows cost nothing
    fixed = min(t for n, t in per_epoch.items() if n <= 5) if min(per_epoch) <= 5 else 0.0
    beyond = {n: per_epoch[n] - fixed for n in fit if per_epoch[n] > 1.5 * fixed}
    steps = " ".join(f"{per_epoch[n] / per_epoch[n - 1]:.2f}" for n in fit[1:])
    bench.note(
        figure,
        "core train() in-process, server defaults (8 tanh, sigmoid, bce, adam), "
        "full batch, no stop; time per epoch by n: "
        + ", ".join(f"{n}:{seconds_text(t)}" for n, t in per_epoch.items())
        + f"; time ratio per added input, n={low + 1}..{high}: {steps}; slope "
        f"over n={top[0]}..{top[-1]} alone: "
        f"{log_slope({n: per_epoch[n] for n in top}):.2f}"
        + (
            f"; slope of (time - fixed {seconds_text(fixed)}) over "
            f"n={min(beyond)}..{max(beyond)}: {log_slope(beyond):.2f}"
            if len(beyond) >= 2
            else ""
        ),
    )
    if 0.8 <= slope <= 1.2:
        judged = "report: about linear in rows"
    elif slope > 1.2:
        judged = "report: FASTER than linear growth"
    else:
        judged = "report: below linear (fixed costs still weigh)"
    return Row(
        figure,
        "2^n rows",
        f"n={high}: {seconds_text(per_epoch[high])}/epoch",
        f"slope {slope:.2f} (n={low}..{high})",
        "-",
        "~1",
        judged,
    )


# ------------------------------------------------------------------ memory of a server process
def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS line")


def small_model(rng: np.random.Generator) -> dict[str, Any]:
    """A 2-8-1 tanh/sigmoid XOR network with random weights, in the export format."""

    def tensor(*shape: int) -> dict[str, Any]:
        return {"shape": list(shape), "values": rng.normal(size=shape).ravel().tolist()}

    return {
        "layers": [
            {"weights": tensor(2, 8), "bias": tensor(8), "activation": {"name": "tanh"}},
            {"weights": tensor(8, 1), "bias": tensor(1), "activation": {"name": "sigmoid"}},
        ],
        "task": {"name": "xor"},
    }


def fig_memory(bench: Bench, figure: str) -> Row:
    mode = bench.mode
    cache = Limits().cached_models
    with default_server() as server:
        process = server.process
        with Client(server.address) as client:
            client.models()  # a first call: channel and servicer warm
            before = rss_mb(process.pid)
            rng = np.random.default_rng(3)
            deadline = time.monotonic() + 120
            stored = 0
            start = time.perf_counter()
            while stored < mode.stored_models and time.monotonic() < deadline:
                client.import_model(f"m{stored:04d}", small_model(rng))
                stored += 1
            import_time = time.perf_counter() - start
            after_import = rss_mb(process.pid)
            used = min(mode.used_models, stored)
            for index in range(used):
                client.predict(f"m{index:04d}", ROWS4)
            after_use = rss_mb(process.pid)
            more = min(used + mode.used_models, stored)
            for index in range(used, more):
                client.predict(f"m{index:04d}", ROWS4)
            after_more = rss_mb(process.pid)
    bench.note(
        figure,
        f"`gatelearn serve` subprocess (default limits, its 2 training workers "
        f"not counted): VmRSS {before:.1f} MB after start, {after_import:.1f} MB "
        f"after {stored} ImportModel calls ({seconds_text(import_time)}), "
        f"{after_use:.1f} MB after Predict on {used} of them, {after_more:.1f} MB "
        f"after Predict on {more - used} more (cache limit cached_models={cache})",
    )
    growth = after_more - after_use
    judged = f"report; {more - used} more models used: {growth:+.1f} MB" + (
        " (bounded)" if growth < 5 else " (GROWING)"
    )
    return Row(
        figure,
        "-",
        f"{before:.0f} -> {after_use:.0f} MB",
        f"+{after_use - before:.1f} MB",
        "-",
        f"cache {cache} models",
        judged,
    )


# ------------------------------------------------------------------ several servers
def fig_save_latency(bench: Bench, figure: str) -> Row:
    record = bench.server.store.load(MODEL)
    blob, saves = pack_arrays(record.weights, record.biases), 20 if bench.mode is QUICK else 100
    with cluster() as pg, tempfile.TemporaryDirectory(prefix="gatelearn-bench-") as data_dir:
        stores = {"sqlite": SQLiteStore(Path(data_dir)), "postgresql": PostgresStore(pg.database())}
        try:
            seconds = save_seconds(stores, blob, record.meta, saves, bench.mode.rounds, interleave)
        finally:
            for store in stores.values():
                store.close()
    sqlite, postgres = seconds["sqlite"], seconds["postgresql"]
    bench.note(
        figure,
        f"save_packed of {MODEL}'s {len(blob)} B of weights, {saves} in a row "
        f"per round, {bench.mode.rounds} rounds interleaved, medians; SQLite "
        f"in WAL mode with synchronous=FULL (an fsync per save), PostgreSQL 16 "
        f"from pgserver over its Unix socket with its default fsync",
    )
    return Row(
        figure,
        f"SQLite {seconds_text(sqlite)}",
        f"PostgreSQL {seconds_text(postgres)}",
        f"{sqlite / postgres:.2f}x",
        "-",
        "-",
        "report",
    )


def fig_nginx_predict(bench: Bench, figure: str) -> Row:
    mode, running = bench.mode, bench.replicas()
    with Client(running.front, timeout=60) as client:
        client.train(MODEL, "xor")

    def predicting(address: str) -> Callable[[], tuple[Callable[[], Any], Callable[[], None]]]:
        def connect() -> tuple[Callable[[], Any], Callable[[], None]]:
            client = Client(address)
            return (lambda: client.predict(MODEL, ROWS4)), client.close

        return connect

    times = interleave(
        {
            name: functools.partial(hammer, predicting(address), CLIENT_THREADS, mode.window)
            for name, address in (("direct", running.a), ("nginx", running.front))
        },
        mode.rounds,
    )
    direct = 1 / statistics.median(times["direct"])
    through = 1 / statistics.median(times["nginx"])
    bench.note(
        figure,
        f"{CLIENT_THREADS} client threads in this process; replicas are "
        f"`gatelearn serve` subprocesses on one PostgreSQL. On 2 cores the two "
        f"replicas, nginx and the clients share the same two CPUs, so it cannot "
        f"double: the replicas' second core is the clients' and nginx's",
    )
    return Row(
        figure,
        f"1 replica {rate(direct, ' calls/s')}",
        f"nginx+2 {rate(through, ' calls/s')}",
        f"{through / direct:.2f}x",
        "-",
        "-",
        "report",
    )


def trainings_per_second(address: str, clients: int, seconds: float) -> float:
    """Trainings finished per second by `clients` threads each training XOR in a loop
    (a call refused at capacity is retried at once)."""
    finished = [0] * clients
    end = time.perf_counter() + seconds

    def loop(index: int) -> None:
        with Client(address, timeout=60) as client:
            while time.perf_counter() < end:
                try:
                    client.train(f"bench-load-{index}", "xor", seed=index)
                    finished[index] += 1
                except GateLearnError as error:
                    if error.code != grpc.StatusCode.RESOURCE_EXHAUSTED:
                        raise

    start = time.perf_counter()
    with futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(loop, range(clients)))
    return sum(finished) / (time.perf_counter() - start)


def fig_replica_trainings(bench: Bench, figure: str) -> Row:
    running, clients = bench.replicas(), 16
    seconds = max(2.0, bench.mode.window * 3)
    times = interleave(
        {
            name: functools.partial(
                lambda a: 1 / trainings_per_second(a, clients, seconds), address
            )
            for name, address in (("direct", running.a), ("nginx", running.front))
        },
        max(1, bench.mode.rounds - 2),
    )
    direct = 1 / statistics.median(times["direct"])
    through = 1 / statistics.median(times["nginx"])
    bench.note(
        figure,
        f"{clients} client threads each training XOR (defaults) in a loop for "
        f"{seconds:g} s; each replica runs 2 trainings at once "
        f"(max_concurrent_trainings) and answers RESOURCE_EXHAUSTED beyond, which "
        f"the clients retry; 2 replicas have 4 workers on the same 2 cores",
    )
    return Row(
        figure,
        f"1 replica {rate(direct, '/s')}",
        f"nginx+2 {rate(through, '/s')}",
        f"{through / direct:.2f}x",
        "-",
        "-",
        "report",
    )


def fig_visibility(bench: Bench, figure: str) -> Row:
    running = bench.replicas()
    rounds = 50 if bench.mode is QUICK else 300
    model = bench.client.export_model(MODEL)
    seen, latency = 0, []
    with Client(running.a) as on_a, Client(running.b) as on_b:
        on_a.import_model("bench-visible", model)
        for _ in range(rounds):
            on_b.predict("bench-visible", ROWS4)  # B now holds the latest version in memory
            saved = on_a.import_model("bench-visible", model).version
            start = time.perf_counter()
            version = on_b.predict("bench-visible", ROWS4).model.version
            latency.append(time.perf_counter() - start)
            seen += version == saved
    bench.note(
        figure,
        f"{rounds} rounds: Predict on replica B (which caches the latest "
        f"version), ImportModel of a new version on replica A, then at once "
        f"Predict (latest) on B; B answered with the version A had just saved "
        f"{seen}/{rounds} times; B's call took median "
        f"{seconds_text(statistics.median(latency))}, p99 "
        f"{seconds_text(percentile(latency, 99))}",
    )
    return Row(
        figure,
        "A's acknowledgement",
        f"seen {seen}/{rounds}",
        f"p50 {seconds_text(statistics.median(latency))}",
        "-",
        "-",
        f"p99 {seconds_text(percentile(latency, 99))}; report",
    )


# ------------------------------------------------------------------ main
FIGURES: list[tuple[str, str, bool, Callable[[Bench, str], Row]]] = [
    # (figure, reference, needs scikit-learn, measure)
    (
        "one-net epochs/s (2-3-1 sigmoid)",
        "article 000 loop",
        False,
        lambda b, f: fig_core(b, 1, *ONE_NET_BAR, (200, 200), f),
    ),
    (
        f"population P={POPULATION} network-epochs/s",
        "article 000 loop",
        False,
        lambda b, f: fig_core(b, POPULATION, *POPULATION_BAR, (200, 20), f),
    ),
    (
        f"P={POPULATION} float32 network-epochs/s, default recipe (XOR 2-8-1)",
        "float64",
        False,
        lambda b, f: fig_float32(b, DEFAULT_XOR, f),
    ),
    (
        f"P={POPULATION} float32 network-epochs/s, 2-3-1 sigmoid",
        "float64",
        False,
        lambda b, f: fig_float32(b, ARTICLE_NET, f),
    ),
    (
        "Train -> saved XOR model, defaults, gRPC (sklearn s / gatelearn s)",
        "sklearn lbfgs fit",
        True,
        fig_train_time,
    ),
    ("share of seeds solving XOR, defaults", "sklearn lbfgs share", True, fig_seed_share),
    *(
        (
            f"{family}, defaults: s per solved model (sklearn / gatelearn)",
            "MLPClassifier() fit",
            True,
            functools.partial(fig_family, tasks_of),
        )
        for family, tasks_of in FAMILIES.items()
    ),
    (f"unary Predict calls/s, {CLIENT_THREADS} client threads", "grpcio echo", False, fig_unary),
    ("Predict rows/s, packed path (`gatelearn serve`)", "Network.predict", False, fig_packed),
    ("in-process forward rows/s, 2-4-1", "sklearn predict_proba", True, fig_forward),
    ("Predict p99 with 2 trainings (idle p99 / busy p99)", "p99 idle", False, fig_latency),
    (
        "Predict p99 with 2 trainings, server in this session",
        "p99 idle",
        False,
        fig_latency_one_session,
    ),
    ("parity-n time per epoch: growth exponent", "2^n rows", False, fig_parity),
    ("server RSS, 1000 stored models, 100 used", "-", False, fig_memory),
    ("save latency, one version (SQLite s / PostgreSQL s)", "SQLite", False, fig_save_latency),
    (
        f"Predict calls/s, {CLIENT_THREADS} threads: nginx + 2 replicas / 1 replica",
        "1 replica",
        False,
        fig_nginx_predict,
    ),
    (
        "trainings/s, 16 Train clients: nginx + 2 replicas / 1 replica",
        "1 replica",
        False,
        fig_replica_trainings,
    ),
    ("replica B sees a version A saved: on B's next call", "A's ack", False, fig_visibility),
]


def main() -> int:
    faulthandler.enable()  # a crash in gRPC's C core then leaves every thread's stack
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer rows, seeds and rounds: well under a minute (for CI)",
    )
    parser.add_argument(
        "--figure",
        default="",
        metavar="TEXT",
        help="measure only the figures whose title holds TEXT (case-insensitive)",
    )
    add_without_avx512(parser)
    args = parser.parse_args()
    rerun_without_avx512(args.without_avx512)
    mode = QUICK if args.quick else FULL
    began = time.perf_counter()

    print("gatelearn benchmark" + (" (--quick)" if args.quick else ""))
    for line in machine_info():
        print("  " + line)
    print(
        f"  grpcio   : {grpc.__version__}; scikit-learn: "
        + (sklearn.__version__ if sklearn is not None else "not installed")
    )
    print(
        f"  method   : {mode.rounds} interleaved rounds per comparison, median per side; "
        f"every ratio: higher is better"
    )
    print(flush=True)

    core = Core()
    for result in check_equal(core):
        print("equality check ok: " + result)
    print()

    rows: list[Row] = []
    errors = 0
    with tempfile.TemporaryDirectory(prefix="gatelearn-bench-") as data_dir:
        server = create_server(ServerConfig(address="127.0.0.1:0", data_dir=Path(data_dir)))
        client = Client(f"127.0.0.1:{server.port}", timeout=120)
        try:
            bench = Bench(mode, core, load_registry(), server, client)
            start = time.perf_counter()
            first = client.train(MODEL, "xor")  # the model Predict figures serve
            bench.notes.append(
                f"start-up: the first Train call of a fresh server took "
                f"{seconds_text(time.perf_counter() - start)} (a training "
                f"worker's imports; later calls reuse the worker); {MODEL} "
                f"solved at epoch {first.metrics.solved_epoch}"
            )
            for figure, reference, needs_sklearn, measure in FIGURES:
                if args.figure.lower() not in figure.lower():
                    continue
                if needs_sklearn and sklearn is None:
                    rows.append(Row(figure, reference, "-", "-", "-", "-", SKIPPED))
                    continue
                try:
                    rows.append(measure(bench, figure))
                except Exception as error:  # noqa: BLE001 - shown in the table, exit 1
                    errors += 1
                    rows.append(
                        Row(
                            figure,
                            reference,
                            "-",
                            "-",
                            "-",
                            "-",
                            f"ERROR {type(error).__name__}: {error}",
                        )
                    )
                    bench.notes.append(f"{figure}: " + traceback.format_exc().strip())
                # The row as it is measured too, so that a run cut short keeps what it had.
                print(
                    f"[bench] {time.perf_counter() - began:4.0f} s  measured: "
                    + " | ".join(rows[-1].cells()),
                    file=sys.stderr,
                    flush=True,
                )
        finally:
            bench.resources.close()
            client.close()
            server.stop(0)

    header = ("figure", "reference", "gatelearn", "ratio", "floor", "target", "verdict")
    for line in table(header, [row.cells() for row in rows]):
        print(line)
    print()
    below = [row.figure for row in rows if "BELOW FLOOR" in row.verdict]
    print("below floor: " + ("; ".join(below) if below else "none"))
    print("notes:")
    for note in bench.notes:
        print("  " + note)
    print(f"total {time.perf_counter() - began:.0f} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
