"""bench/defaults.py's --out/--resume: a stopped run, resumed, counts every seed exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

from conftest import poll

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "defaults.py"
TASKS = ("xor", "parity:n=4")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the script to its end; its output and exit status."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, timeout=120
    )


def rows(output: str) -> dict[str, dict[str, str]]:
    """Each task's table row by column, without the CPU columns (which differ from run to run)."""
    header, _, *table = [
        line.strip("| ").split(" | ") for line in output.splitlines() if "|" in line
    ]
    return {cells[0]: dict(zip(header[1:-2], cells[1:-2], strict=True)) for cells in table}


def seeds_of(path: Path) -> Counter[tuple[str, int]]:
    """How many records the file holds for each (task, seed)."""
    lines = path.read_text().splitlines()
    return Counter((record["task"], record["seed"]) for record in map(json.loads, lines))


def test_a_resumed_run_trains_only_the_missing_seeds_and_counts_each_once(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    first = run("--seeds", "2", "--block", "2", *TASKS, "--out", str(out))
    assert first.returncode == 0, first.stderr
    assert seeds_of(out) == Counter({(task, seed): 1 for task in TASKS for seed in (0, 1)})
    with out.open("a") as file:  # a stop in the middle of a write leaves a torn last line
        file.write('{"task": "xor", "rec')

    resumed = run("--seeds", "5", "--block", "2", *TASKS, "--out", str(out), "--resume")

    assert resumed.returncode == 0, resumed.stderr
    assert seeds_of(out) == Counter({(task, seed): 1 for task in TASKS for seed in range(5)})
    fresh = run("--seeds", "5", "--block", "2", *TASKS)
    assert rows(resumed.stdout) == rows(fresh.stdout)
    assert rows(fresh.stdout)["xor"]["solved"] == "5/5 (100.0%)"


def test_a_killed_run_loses_at_most_its_block_in_flight(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    args = ("--seeds", "100", "--block", "1", "parity:n=6", "--out", str(out))
    process = subprocess.Popen([sys.executable, str(SCRIPT), *args], stdout=subprocess.DEVNULL)
    try:
        poll(lambda: out.exists() and out.stat().st_size, timeout=60, what="a first block")
    finally:
        process.kill()
        process.wait(timeout=30)
    assert 0 < sum(seeds_of(out).values()) < 100  # killed part way

    resumed = run(*args, "--resume")

    assert resumed.returncode == 0, resumed.stderr
    assert seeds_of(out) == Counter({("parity:n=6", seed): 1 for seed in range(100)})
    assert rows(resumed.stdout)["parity:n=6"]["solved"] == "100/100 (100.0%)"


def test_out_refuses_a_file_with_records_unless_resuming(tmp_path: Path) -> None:
    out = tmp_path / "runs.jsonl"
    out.write_text('{"task": "xor"}\n')

    refused = run("--seeds", "1", "xor", "--out", str(out))

    assert refused.returncode == 2
    assert "--resume" in refused.stderr
    assert out.read_text() == '{"task": "xor"}\n'
