"""Load: 32 client threads, each with its own Client, on one server with two training slots,
mixing Predict (most calls), small Trains, ListModels and GetModel for a bounded time.

Correctness only: every call succeeds, except Train answering RESOURCE_EXHAUSTED while both
slots are busy (documented); answers are right (the base models' labels, each thread reading
back its own writes); the store ends up with exactly the versions that were reported saved.
Latencies per RPC are printed as a table (`pytest -s`); the only assertion on speed is a
generous sanity bound. GATELEARN_LOAD_SECONDS sets how long the load runs (default 8).
"""

from __future__ import annotations

import os
import random
import statistics
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TypeVar

import grpc
import pytest
from conftest import start_server

from gatelearn.client import Client, GateLearnError, TrainOptions
from gatelearn.server import Limits
from gatelearn.server.app import RunningServer

THREADS = 32
SLOTS = 2
SECONDS = float(os.environ.get("GATELEARN_LOAD_SECONDS", "8"))
SANITY_P99 = 5.0  # seconds; a correctness test, not a benchmark
ROWS = [[0, 0], [0, 1], [1, 0], [1, 1]]
BASE = {
    "base-xor": ("xor", [[0.0], [1.0], [1.0], [0.0]]),
    "base-and": ("and", [[0.0], [0.0], [0.0], [1.0]]),
}
REFUSED = "Train (RESOURCE_EXHAUSTED)"

T = TypeVar("T")


@dataclass
class Tally:
    """What one client thread did and saw."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    failures: list[str] = field(default_factory=list)
    saved: int = 0  # versions this thread's Train calls reported saved

    def timed(self, rpc: str, call: Callable[[], T]) -> T:
        """`call()`, its latency recorded under `rpc` when it succeeds."""
        started = time.monotonic()
        result = call()
        self.latencies[rpc].append(time.monotonic() - started)
        return result


@pytest.fixture
def running(tmp_path: Path) -> Iterator[RunningServer]:
    server = start_server(tmp_path / "data", limits=Limits(max_concurrent_trainings=SLOTS))
    yield server
    server.stop(0)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def client_thread(
    address: str, index: int, tally: Tally, start: threading.Barrier, stop: threading.Event
) -> None:
    rng = random.Random(index)
    own = f"load-{index}"  # only this thread trains under this name

    with Client(address, timeout=30, train_timeout=60) as client:
        start.wait()
        while not stop.is_set():
            roll = rng.random()
            try:
                if roll < 0.70:
                    predict(client, rng, own, tally)
                elif roll < 0.80:
                    train(client, rng, own, tally)
                elif roll < 0.90:
                    models = tally.timed("ListModels", client.models)
                    latest = {m.name: m.version for m in models}
                    assert set(BASE) <= set(latest), latest
                    assert latest.get(own, 0) == tally.saved, (own, latest.get(own), tally.saved)
                else:
                    name = own if tally.saved and rng.random() < 0.5 else rng.choice(list(BASE))
                    detail = tally.timed("GetModel", partial(client.model, name))
                    summary = detail.summary
                    assert summary.name == name
                    if name == own:
                        assert summary.version == tally.saved
                    else:
                        assert summary.version == 1 and summary.task == BASE[name][0]
            except GateLearnError as error:
                tally.failures.append(f"thread {index}: {error.code.name}: {error.details}")
            except AssertionError as error:
                tally.failures.append(f"thread {index}: wrong answer: {error}")
            except Exception as error:  # anything else must fail the test, not end the thread
                tally.failures.append(f"thread {index}: {error!r}")


def predict(client: Client, rng: random.Random, own: str, tally: Tally) -> None:
    if tally.saved and rng.random() < 0.2:
        prediction = tally.timed("Predict", lambda: client.predict(own, ROWS))
        assert prediction.model.name == own
        assert prediction.model.version == tally.saved  # the latest: this thread's last save
        assert len(prediction.labels) == 4
        return
    name = rng.choice(list(BASE))
    prediction = tally.timed("Predict", lambda: client.predict(name, ROWS))
    assert prediction.labels == BASE[name][1], (name, prediction)


def train(client: Client, rng: random.Random, own: str, tally: Tally) -> None:
    task = rng.choice(["xor", "and"])
    options = TrainOptions(epochs=rng.choice([50, 100, 200]))
    started = time.monotonic()
    try:
        outcome = client.train(own, task, options=options, seed=rng.randrange(100))
    except GateLearnError as error:
        if error.code != grpc.StatusCode.RESOURCE_EXHAUSTED:
            raise
        assert "max_concurrent_trainings" in error.details, error.details
        tally.latencies[REFUSED].append(time.monotonic() - started)
        return
    tally.latencies["Train"].append(time.monotonic() - started)
    tally.saved += 1
    assert (outcome.model.name, outcome.model.version) == (own, tally.saved), outcome.model
    assert outcome.epochs <= (options.epochs or 0)


def test_mixed_load_from_32_clients(running: RunningServer) -> None:
    address = f"127.0.0.1:{running.port}"
    with Client(address) as setup:
        for name, (task, labels) in BASE.items():
            assert setup.train(name, task).metrics.solved
            assert setup.predict(name, ROWS).labels == labels

    tallies = [Tally() for _ in range(THREADS)]
    start, stop = threading.Barrier(THREADS + 1), threading.Event()
    threads = [
        threading.Thread(
            target=client_thread,
            name=f"load-{i}",
            args=(address, i, tallies[i], start, stop),
            daemon=True,
        )
        for i in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    start.wait(30)  # every client connected: go
    began = time.monotonic()
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), f"{thread.name} did not finish"
    wall = time.monotonic() - began

    latencies: dict[str, list[float]] = defaultdict(list)
    for tally in tallies:
        for rpc, values in tally.latencies.items():
            latencies[rpc].extend(values)
    failures = [failure for tally in tallies for failure in tally.failures]

    print(f"\n\nload: {THREADS} client threads, {SLOTS} training slots, {wall:.1f} s")
    print(f"{'RPC':<28} {'count':>6} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for rpc in ("Predict", "Train", REFUSED, "ListModels", "GetModel"):
        values = latencies.get(rpc, [])
        if values:
            print(
                f"{rpc:<28} {len(values):>6} {1000 * statistics.median(values):>8.1f} "
                f"{1000 * percentile(values, 0.99):>8.1f} {1000 * max(values):>8.1f}"
            )
    total = sum(len(v) for v in latencies.values())
    print(f"{'all':<28} {total:>6}   ({total / wall:.0f} calls/s)   failures: {len(failures)}")

    assert failures == [], "\n".join(failures[:20])
    for rpc in ("Predict", "Train", "ListModels", "GetModel"):
        assert latencies[rpc], f"no successful {rpc} in {SECONDS} s"
        assert percentile(latencies[rpc], 0.99) < SANITY_P99, (rpc, max(latencies[rpc]))
    assert all(tally.latencies["Predict"] for tally in tallies), "a thread never predicted"

    # The store holds exactly what was reported saved, every version of every name.
    assert running.pool.busy == 0
    with Client(address) as check:
        for index, tally in enumerate(tallies):
            versions = [m.version for m in check.models(f"load-{index}")]
            assert versions == list(range(1, tally.saved + 1)), (index, versions)
        assert running.store.count() == len(BASE) + sum(t.saved for t in tallies)
