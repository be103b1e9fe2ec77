"""Memory per request: sizes that drive memory are refused before any array is built.

The server runs as a subprocess (`gatelearn serve`), so its peak resident memory (VmHWM in
/proc) belongs to it alone. Requests for a task far over the row limit, with the most
half-planes a region accepts, sent four at once, must be refused without the server building
their rows: before this was checked, each one held a points x planes matrix (gigabytes).
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import grpc
import pytest
from test_shutdown import end, serve

from gatelearn.client import Client, GateLearnError

GROWTH_BOUND = 150 * 2**20  # bytes: far above a refusal's cost, far below one row matrix
MANY_POINTS = {"points": 1_000_000, "planes": [[1, 0, -1]] * 64}


def refusal(call: Any, *args: Any) -> str:
    """The details of the INVALID_ARGUMENT that `call(*args)` must answer."""
    with pytest.raises(GateLearnError) as caught:
        call(*args)
    assert caught.value.code == grpc.StatusCode.INVALID_ARGUMENT, caught.value.details
    return caught.value.details


def peak_rss(pid: int) -> int:
    """The process's peak resident memory so far, in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def served(tmp_path: Path) -> Any:
    process, target, _ = serve(tmp_path / "data", tmp_path / "server.log")
    yield process, target
    process.terminate()
    try:
        process.wait(timeout=15)
    finally:
        end(process)


def test_oversized_tasks_sent_at_once_are_refused_before_their_rows_exist(served: Any) -> None:
    process, target = served
    details: list[str] = []
    with Client(target) as client:
        client.describe_task("xor")  # the server's own start-up memory is in the baseline
        before = peak_rss(process.pid)

        def refuse(call: Any, *args: Any) -> None:
            details.append(refusal(call, *args))

        calls = [
            (client.describe_task, "region", MANY_POINTS),
            (client.train, "m", ("region", MANY_POINTS)),
        ] * 2
        threads = [threading.Thread(target=refuse, args=call) for call in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        grown = peak_rss(process.pid) - before
    assert len(details) == 4
    assert all("max_task_rows" in text and "1000000" in text for text in details), details
    assert grown < GROWTH_BOUND, f"peak RSS grew by {grown / 2**20:.0f} MiB"


def test_a_region_with_more_half_planes_than_it_accepts_is_refused_naming_them(
    client: Client,
) -> None:
    planes = {"planes": [[1, 0, -1]] * 20_000}
    for call, args in (
        (client.describe_task, ("region", planes)),
        (client.train, ("m", ("region", planes))),
    ):
        text = refusal(call, *args)
        assert "planes" in text and "at most 64" in text, text
    assert client.models() == []


def test_describe_task_previews_the_first_rows_of_the_sample_it_counts(client: Client) -> None:
    small = client.describe_task("region", {"points": 500}, seed=4, preview_rows=500)
    big = client.describe_task("region", {"points": 100_000}, seed=4, preview_rows=3)
    assert (big.total_rows, len(big.rows_inputs)) == (100_000, 3)
    assert big.rows_inputs == small.rows_inputs[:3]
    assert big.rows_targets == small.rows_targets[:3]
