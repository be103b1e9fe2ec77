"""`gatelearn serve` with its Predict handlers and garbage collections timed, for p99_split.py.

    python bench/_timed_serve.py OUT.json serve ARGS...

Each Predict handler's start and end and each collection's start, end and generation are kept
in memory (CLOCK_MONOTONIC nanoseconds, the clock of every process on the machine) and written
to OUT.json as the server exits. A diagnostic only: the wrappers add about a microsecond a call.
"""

from __future__ import annotations

import gc
import json
import sys
import time
from collections.abc import Callable
from typing import Any, NoReturn

from gatelearn.client.cli import main as cli_main
from gatelearn.client.cli import serve as serve_command
from gatelearn.server.edge.servicer import GateLearnService

Span = tuple[int, int]


def timed_predicts(spans: list[Span]) -> None:
    """Wrap GateLearnService.Predict so that each call's handler span lands in `spans`."""
    predict = GateLearnService.Predict

    def timed(self: GateLearnService, request: Any, context: Any) -> Any:
        start = time.monotonic_ns()
        try:
            return predict(self, request, context)
        finally:
            spans.append((start, time.monotonic_ns()))

    GateLearnService.Predict = timed  # type: ignore[method-assign]


def timed_collections(spans: list[tuple[int, int, int]]) -> None:
    """Append (start, end, generation) of every collection to `spans`."""
    started = [0]

    def callback(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.monotonic_ns()
        else:
            spans.append((started[0], time.monotonic_ns(), info["generation"]))

    gc.callbacks.append(callback)


def written_at_exit(out: str, record: dict[str, list[Any]]) -> None:
    """`gatelearn serve` ends with os._exit (no atexit): write `record` just before."""
    exit_now: Callable[[int], NoReturn] = serve_command._exit_now

    def exit_writing(code: int) -> NoReturn:
        with open(out, "w") as file:
            json.dump(record, file)
        exit_now(code)

    serve_command._exit_now = exit_writing


if __name__ == "__main__":
    record: dict[str, list[Any]] = {"predict": [], "gc": []}
    timed_predicts(record["predict"])
    timed_collections(record["gc"])
    written_at_exit(sys.argv[1], record)
    sys.exit(cli_main(sys.argv[2:]))
