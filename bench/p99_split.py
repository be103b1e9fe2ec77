"""Where a slow Predict's time goes: bench/run.py's p99 protocol with every call split in three.

    python bench/p99_split.py [--rounds 5] [--window 2]

A diagnostic, not a figure. Like bench/run.py's latency figure it alternates idle windows and
windows during 2 parity-10 trainings, calling Predict (4 rows) sequentially from this process,
but against a `gatelearn serve` that times its Predict handlers and garbage collections
(bench/_timed_serve.py). Each call is split by CLOCK_MONOTONIC timestamps into: sent -> handler
start (the client's send, the server's read and hand-off to a thread), the handler, and handler
end -> answer received (the server's send, the client's wake-up and read). For the calls at or
over each side's p99 it prints which part was longest, and how many overlapped a collection in
the server. Run it beside `perf sched record -k CLOCK_MONOTONIC` to see which thread waited.
"""

from __future__ import annotations

import argparse
import bisect
import collections
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _served import _started
from run import MODEL, ROWS4, TRAININGS, trainings_running

from gatelearn.client import Client
from gatelearn.server.limits import LIMITS_ENV

TIMED_SERVE = Path(__file__).with_name("_timed_serve.py")
PARTS = ("to handler", "handler", "to client")

Call = tuple[int, int]  # sent, received (CLOCK_MONOTONIC ns)


def timed_calls(client: Client, seconds: float) -> list[Call]:
    calls = []
    end = time.monotonic_ns() + int(seconds * 1e9)
    while (sent := time.monotonic_ns()) < end:
        client.predict(MODEL, ROWS4)
        calls.append((sent, time.monotonic_ns()))
    return calls


def split(calls: list[Call], handlers: list[list[int]]) -> np.ndarray:
    """Per call, its three parts in microseconds (the handler: the first one starting inside
    the call; sequential calls have exactly one)."""
    starts = [start for start, _ in handlers]
    parts = []
    for sent, received in calls:
        start, end = handlers[bisect.bisect_left(starts, sent)]
        parts.append((start - sent, end - start, received - end))
    return np.array(parts) / 1e3


def report(side: str, calls: list[Call], parts: np.ndarray, collected: list[list[int]]) -> None:
    total = parts.sum(axis=1)
    p99 = np.percentile(total, 99)
    print(f"{side}: {len(calls)} calls, p50 {np.percentile(total, 50):.0f} us, p99 {p99:.0f} us")
    for index, name in enumerate(PARTS):
        column = parts[:, index]
        p50, p99_part = np.percentile(column, 50), np.percentile(column, 99)
        print(f"  {name:10s} p50 {p50:6.0f} us  p99 {p99_part:6.0f} us")
    slow = np.flatnonzero(total >= p99)
    longest = collections.Counter(PARTS[int(np.argmax(parts[i]))] for i in slow)
    in_collection = sum(
        any(start <= calls[i][1] and end >= calls[i][0] for start, end, _ in collected)
        for i in slow
    )
    print(
        f"  {len(slow)} calls at or over p99; longest part: {dict(longest)}; "
        f"overlapping a collection in the server: {in_collection}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--window", type=float, default=2.0, help="seconds per window")
    args = parser.parse_args()
    env = {k: v for k, v in os.environ.items() if k != LIMITS_ENV}
    idle: list[Call] = []
    busy: list[Call] = []
    with tempfile.TemporaryDirectory(prefix="gatelearn-split-") as data_dir:
        timings = Path(data_dir) / "timings.json"
        command = [sys.executable, str(TIMED_SERVE), str(timings), "serve"]
        with (
            _started(command, ("--data-dir", data_dir), env) as server,
            Client(server.address, timeout=120) as client,
        ):
            client.train(MODEL, "xor")
            for _ in range(args.rounds):
                idle += timed_calls(client, args.window)
                with trainings_running(server.address, TRAININGS, args.window * 4 + 60):
                    busy += timed_calls(client, args.window)
        record = json.loads(timings.read_text())  # written as the server exited
    handlers = sorted(record["predict"])
    for side, calls in (("idle", idle), ("busy", busy)):
        report(side, calls, split(calls, handlers), record["gc"])


if __name__ == "__main__":
    main()
