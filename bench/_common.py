"""Pieces shared by the benchmarks (`bench/core.py`, `bench/run.py`, `bench/float32.py`).

  * article 000's XOR training loop, written out inline, and the core driven the same way
    (`Core`), with the check that both do the same work (`check_equal`);
  * the float32 figures' two recipes, a `Side` training a recipe in either dtype, and the
    solved share of a gate over many seeds;
  * the timing method: a `Side` is one thing being timed; `compare` warms both sides up,
    calibrates each run to about the same duration, then interleaves them for some rounds
    (order alternating) and returns each side's median rate;
  * machine information, number formatting, verdicts and a plain-text table.

Not a package: the scripts import it as `_common` (their own folder is first on sys.path).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy._core import _multiarray_umath as _umath  # no public API names the SIMD targets

from gatelearn.core import Dataset, Network, TrainConfig, initialize, train
from gatelearn.plugins import load_registry
from gatelearn.plugins.recipe import Choice, Recipe, prepare

SEED = 1234
POPULATION = 1000
CHECK_EPOCHS = 2000
CHECK_TOLERANCE = 1e-9
# Issue 15's (floor, target) of the core figures, shared by bench/core.py and bench/run.py.
ONE_NET_BAR = (1.5, 2.0)
POPULATION_BAR = (50.0, 100.0)
NO_RECORDS = 10**12  # record_every: history only at the first and last epoch
DISABLE = "NPY_DISABLE_CPU_FEATURES"  # e.g. "X86_V4 AVX512_ICL": AVX2 code on an AVX-512 CPU


# ------------------------------------------------------------------ article 000's loop, inline
def sigmoid(x: Any) -> Any:
    return 1 / (1 + np.exp(-x))  # activation function


def sigmoid_(x: Any) -> Any:
    return x * (1 - x)  # derivative of sigmoid


def article_loop(
    Wh: np.ndarray, Wz: np.ndarray, X: np.ndarray, Y: np.ndarray, epochs: int
) -> np.ndarray | None:
    """Article 000's training loop; updates Wh and Wz in place and returns the last Z."""
    Z = None
    for _ in range(epochs):
        H = sigmoid(np.dot(X, Wh))  # hidden layer results
        Z = sigmoid(np.dot(H, Wz))  # output layer results
        E = Y - Z  # how much we missed (error)
        dZ = E * sigmoid_(Z)  # delta Z
        dH = dZ.dot(Wz.T) * sigmoid_(H)  # delta H
        Wz += H.T.dot(dZ)  # update output layer weights
        Wh += X.T.dot(dH)  # update hidden layer weights
    return Z


def article_outputs(Wh: np.ndarray, Wz: np.ndarray, X: np.ndarray) -> np.ndarray:
    """The article's forward pass alone, for comparing outputs after training."""
    return sigmoid(np.dot(sigmoid(np.dot(X, Wh)), Wz))


# ------------------------------------------------------------------ the core, built as a user would
class Core:
    """Components from the registry, then `initialize` and `train` exactly as a user calls them."""

    def __init__(self) -> None:
        registry = load_registry()
        self.data: Dataset = registry.build("task", "xor").dataset(np.random.default_rng(0))
        self.sigmoid = registry.build("activation", "sigmoid")
        self.uniform = registry.build("initializer", "uniform")
        self.loss = registry.build("loss", "sse_half")
        self.optimizer = registry.build("optimizer", "gd", {"lr": 1.0})

    def network(self, population: int) -> Network:
        return initialize(
            [2, 3, 1],
            [self.sigmoid, self.sigmoid],
            self.uniform,
            bias=False,
            seed=SEED,
            population=population,
        )

    def train(self, network: Network, epochs: int) -> None:
        config = TrainConfig(
            epochs=epochs, batch_size=0, stop_when_solved=False, record_every=NO_RECORDS
        )
        result = train(network, self.data, self.loss, self.optimizer, config)
        if result.epochs != epochs:
            raise RuntimeError(
                f"core stopped after {result.epochs} of {epochs} epochs ({result.stop_reason})"
            )


# ------------------------------------------------------------------ equality check
def check_equal(core: Core) -> list[str]:
    """Train the core and the article loop from the same weights; compare weights and outputs.

    Exits with status 1 when they differ by more than CHECK_TOLERANCE.
    """
    X, Y = core.data.inputs, core.data.targets
    article_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    article_Y = np.array([[0], [1], [1], [0]])
    failures: list[str] = []
    lines: list[str] = []
    if not (np.array_equal(X, article_X) and np.array_equal(Y, article_Y)):
        failures.append(f"registry xor rows differ from the article's:\n{X}\n{Y}")

    for population, members in ((1, [0]), (POPULATION, [0, 1, POPULATION // 2, POPULATION - 1])):
        net = core.network(population)
        start = [
            (net.layers[0].weights[..., m].copy(), net.layers[1].weights[..., m].copy())
            for m in members
        ]
        core.train(net, CHECK_EPOCHS)
        outputs = net.predict(X)
        worst = 0.0
        for m, (Wh, Wz) in zip(members, start, strict=True):
            article_loop(Wh, Wz, X, Y, CHECK_EPOCHS)
            diffs = {
                "Wh": np.abs(net.layers[0].weights[..., m] - Wh).max(),
                "Wz": np.abs(net.layers[1].weights[..., m] - Wz).max(),
                "outputs": np.abs(outputs[..., m] - article_outputs(Wh, Wz, X)).max(),
            }
            for what, diff in diffs.items():
                worst = max(worst, float(diff))
                if not diff <= CHECK_TOLERANCE:
                    failures.append(f"P={population} member {m}: {what} differ by {diff:.3g}")
        lines.append(
            f"P={population}: members {members} after {CHECK_EPOCHS} epochs, "
            f"max |core - article| over weights and outputs = {worst:.3g}"
        )
    if failures:
        print(f"EQUALITY CHECK FAILED (tolerance {CHECK_TOLERANCE:g}):", file=sys.stderr)
        for failure in failures:
            print("  " + failure, file=sys.stderr)
        sys.exit(1)
    return lines


# ------------------------------------------------------------------ timing
@dataclass
class Side:
    """One side of a comparison: `run(epochs)` does the work and returns the seconds it took
    (set-up such as building the starting weights is done before its clock starts);
    `units_per_epoch` counts what an epoch produces (1 network, or P of them).

    "Epochs" is the unit of work the run is sized in; for a side that is not a training it is
    whatever `run` repeats (calls, passes over the rows)."""

    run: Callable[[int], float]
    units_per_epoch: int
    epochs: int = 0
    rates: list[float] | None = None

    def timed(self, epochs: int) -> float:
        """Run once and return units per second."""
        return epochs * self.units_per_epoch / self.run(epochs)

    def calibrate(self, seconds: float, probe_epochs: int) -> None:
        """Warm up, then pick the epoch count for a run of about `seconds`."""
        self.run(probe_epochs)  # warm-up: caches, BLAS start-up, first-call costs
        epochs = probe_epochs
        while True:
            elapsed = self.run(epochs)
            if elapsed >= seconds / 4 or epochs >= 10**8:
                break
            epochs *= 4
        self.epochs = max(1, round(epochs * seconds / elapsed))
        self.rates = []


def compare(
    reference: Side, candidate: Side, rounds: int, seconds: float, probes: tuple[int, int]
) -> tuple[float, float]:
    """Interleave the two sides for `rounds` rounds; return each side's median rate."""
    reference.calibrate(seconds, probes[0])
    candidate.calibrate(seconds, probes[1])
    assert reference.rates is not None and candidate.rates is not None
    for r in range(rounds):
        order = (reference, candidate) if r % 2 == 0 else (candidate, reference)
        for side in order:
            assert side.rates is not None
            side.rates.append(side.timed(side.epochs))
    return statistics.median(reference.rates), statistics.median(candidate.rates)


def article_side(core: Core) -> Side:
    """Article 000's loop from the same starting weights as the core's member 0 (P = 1)."""
    X, Y = core.data.inputs, core.data.targets
    net = core.network(1)
    Wh0 = net.layers[0].weights[..., 0].copy()
    Wz0 = net.layers[1].weights[..., 0].copy()

    def run(epochs: int) -> float:
        Wh, Wz = Wh0.copy(), Wz0.copy()
        start = time.perf_counter()
        article_loop(Wh, Wz, X, Y, epochs)
        return time.perf_counter() - start

    return Side(run, 1)


def core_side(core: Core, population: int) -> Side:
    """`gatelearn.core.train` on the article's network, `population` members at once."""
    fresh = core.network(population)

    def run(epochs: int) -> float:
        net = fresh.copy()  # initialize's per-member seeding stays out of the timing
        start = time.perf_counter()
        core.train(net, epochs)  # train() as a user calls it, its set-up included
        return time.perf_counter() - start

    return Side(run, population)


# ------------------------------------------------------------------ float32 against float64
# The two networks the float32 figures train, as recipes: the default recipe (XOR, 2-8-1
# tanh/sigmoid, bce, adam) and article 000's 2-3-1 sigmoid network (no biases, sse_half, gd 1).
DEFAULT_XOR = Recipe()
ARTICLE_NET = Recipe(
    hidden=(3,),
    activations=(Choice("sigmoid"), Choice("sigmoid")),
    bias=False,
    loss=Choice("sse_half"),
    optimizer=Choice("gd", {"lr": 1.0}),
    initializer=Choice("uniform"),
)


def recipe_side(recipe: Recipe, dtype: str, population: int = POPULATION) -> Side:
    """`recipe` trained as `population` members in `dtype`, every epoch run (no stopping when
    solved), each run from the same initial weights."""
    recipe = replace(recipe, population=population, dtype=dtype, seed=SEED)
    prepared = prepare(recipe, load_registry())

    def run(epochs: int) -> float:
        config = TrainConfig(epochs=epochs, stop_when_solved=False, record_every=NO_RECORDS)
        net = prepared.network.copy()
        start = time.perf_counter()
        train(net, prepared.data, prepared.loss, prepared.optimizer, config)
        return time.perf_counter() - start

    return Side(run, population)


def solved_epochs(task: str, dtype: str, seeds: int) -> np.ndarray:
    """The default recipe on `task`, seeds 0..seeds-1 as one population in `dtype`: the epoch
    each seed was solved at, -1 where it was not."""
    prepared = prepare(Recipe(task=Choice(task), population=seeds, dtype=dtype), load_registry())
    result = train(
        prepared.network, prepared.data, prepared.loss, prepared.optimizer, prepared.recipe.config
    )
    return result.solved_epoch


# ------------------------------------------------------------------ reporting
def cpu_name() -> str:
    """The CPU's model name with its vendor, family and model numbers, which tell machine kinds
    apart where a VM's model name does not ("Intel(R) Xeon(R) Processor")."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if not line.strip():  # the first processor's block is enough
                    break
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.strip()
    except OSError:
        return platform.processor() or "unknown"
    numbers = " ".join(
        f"{label}{fields[key]}"
        for key, label in (("vendor_id", ""), ("cpu family", "family "), ("model", "model "))
        if key in fields
    )
    name = fields.get("model name", "unknown")
    return f"{name} [{numbers}]" if numbers else name


def machine_info() -> list[str]:
    cpu = cpu_name()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    try:
        load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        load = "unknown"
    blas = "unknown"
    try:
        blas_info = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas_info.get('name', '?')} {blas_info.get('version', '')}".strip()
    except Exception:  # noqa: BLE001 - informational only
        pass
    return [
        f"platform : {platform.platform()} ({platform.machine()})",
        f"cpu      : {cpu} ({usable} usable of {os.cpu_count()} logical CPUs)",
        f"simd     : {simd_level()}",
        f"python   : {platform.python_implementation()} {platform.python_version()}",
        f"numpy    : {np.__version__} (BLAS: {blas})",
        f"load     : {load} (1/5/15-min load average at start; other work adds noise)",
    ]


def add_without_avx512(parser: argparse.ArgumentParser) -> None:
    """The scripts' `--without-avx512` flag (see `rerun_without_avx512`)."""
    parser.add_argument(
        "--without-avx512",
        action="store_true",
        help="run NumPy's AVX2 code even on a CPU with AVX-512 (as an AVX2 machine would), in "
        "this process and every server and worker it starts",
    )


def avx512_in_use() -> list[str]:
    """NumPy's AVX-512 dispatch targets running here: none on an AVX2 CPU, or once
    NPY_DISABLE_CPU_FEATURES turned them off."""
    features: dict[str, bool] = _umath.__cpu_features__
    return [
        target
        for target in _umath.__cpu_dispatch__
        if (target == "X86_V4" or target.startswith("AVX512")) and features.get(target)
    ]


def rerun_without_avx512(asked: bool) -> None:
    """When `asked` and NumPy here runs AVX-512 code, run this script again (same arguments,
    minus the flag) with every AVX-512 target NumPy dispatches to turned off through
    NPY_DISABLE_CPU_FEATURES, which NumPy reads only when it is first imported."""
    targets = avx512_in_use() if asked else []
    if not targets:
        return  # not asked, or no AVX-512 code to turn off (or already off)
    argv = [arg for arg in sys.argv if arg != "--without-avx512"]
    os.execve(sys.executable, [sys.executable, *argv], {**os.environ, DISABLE: " ".join(targets)})


def simd_level() -> str:
    """The SIMD code NumPy dispatches to here (its figures differ between AVX2 and AVX-512
    machines), and any AVX-512 the CPU has that NPY_DISABLE_CPU_FEATURES turned off."""
    features: dict[str, bool] = _umath.__cpu_features__
    used = [target for target in _umath.__cpu_dispatch__ if features.get(target)]
    text = "NumPy uses " + " ".join([*_umath.__cpu_baseline__, *used])
    if avx512_in_use():
        return text + "; AVX-512 in use"
    text += "; AVX-512 not used"
    if features.get("AVX512F"):
        text += f" (the CPU has it; NPY_DISABLE_CPU_FEATURES={os.environ.get(DISABLE, '')!r})"
    return text


def rate(value: float, unit: str = "/s") -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= scale:
            return f"{value / scale:.3g}{suffix}{unit}"
    return f"{value:.3g}{unit}"


def verdict(ratio: float, floor: float, target: float) -> str:
    """For a ratio where higher is better."""
    if ratio >= target:
        return "meets target"
    if ratio >= floor:
        return "meets floor"
    return "BELOW FLOOR"


def spread(rates: list[float]) -> str:
    return f"{(max(rates) / min(rates) - 1) * 100:.0f}%"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    """A plain-text table: cells padded to their column's width, a rule under the header."""
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return [line(header), "-+-".join("-" * w for w in widths), *(line(row) for row in rows)]
