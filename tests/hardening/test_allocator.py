"""Large messages without page faults: `gatelearn serve` fixes glibc's malloc thresholds, so the
megabyte blocks a packed Predict allocates and frees again are reused, not mapped afresh (each
new page a fault: a fifth of the server's CPU for 10^6 rows)."""

from __future__ import annotations

import platform
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import linear_model
from test_shutdown import end, serve

from gatelearn.client import Client
from gatelearn.server.allocator import ARENAS as ARENA_COUNT

pytestmark = pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc's mallopt")

# Megabyte blocks allocated and freed 50 times, counting this process's page faults: the first
# round grows the heap; the second shows whether the blocks were reused.
CHURN = """
import resource, sys
from gatelearn.server.allocator import keep_freed_memory

def faults_of_churn():
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(50):
        first, second = bytearray(1 << 20), bytearray(1 << 20)
        del first, second
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

kept = "keep" in sys.argv and keep_freed_memory()
faults_of_churn()
print(kept, faults_of_churn())
"""


def churn_faults(*args: str) -> tuple[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", CHURN, *args], capture_output=True, text=True, check=True
    )
    kept, faults = done.stdout.split()
    return kept, int(faults)


def test_freed_megabyte_blocks_are_reused_without_page_faults() -> None:
    """glibc's default maps such blocks afresh (256 faults a block); kept, none fault again."""
    assert churn_faults() == ("False", pytest.approx(25_600, rel=0.2))
    kept, faults = churn_faults("keep")
    assert kept == "True"
    assert faults < 100


# Threads that each allocate a block while the others hold theirs, then glibc's report of its
# arenas (malloc_stats writes one "Arena N:" section per arena to stderr).
ARENAS = """
import ctypes, sys, threading
from gatelearn.server.allocator import keep_freed_memory

kept = "keep" in sys.argv and keep_freed_memory()
hold, ready, done = [], threading.Barrier(5), threading.Event()

def allocate():
    hold.append(bytearray(1 << 20))
    ready.wait()
    done.wait()

threads = [threading.Thread(target=allocate) for _ in range(4)]
for thread in threads:
    thread.start()
ready.wait()
ctypes.CDLL(None).malloc_stats()
done.set()
print(kept)
"""


def arenas_of_threads(*args: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", ARENAS, *args], capture_output=True, text=True, check=True
    )
    return sum(line.startswith("Arena ") for line in done.stderr.splitlines())


def test_threads_share_one_arena_so_the_memory_kept_is_bounded() -> None:
    """Each arena keeps up to TRIM_THRESHOLD of freed memory; threads given arenas of their own
    (glibc's default) would multiply that, so the server keeps one."""
    assert arenas_of_threads() > 1
    assert arenas_of_threads("keep") == ARENA_COUNT


def server_faults(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[7])  # minflt: page faults served without I/O


def test_serve_answers_packed_predicts_without_new_page_faults(tmp_path: Path) -> None:
    """Packed Predicts of 300,000 rows (5 MB in, 2.4 MB out) after the first cost the server
    few page faults: the first one's freed blocks are reused. (The median of five calls: a
    stream's new threads fault in their own stacks, a few hundred faults now and then.)"""
    process, target, _ = serve(tmp_path / "data", tmp_path / "serve.log")
    try:
        with Client(target) as client:
            client.import_model("line", linear_model(0.5))
            rows = np.random.default_rng(0).random((300_000, 2))
            client.predict_array("line", rows)
            faults = []
            for _ in range(5):
                before = server_faults(process.pid)
                client.predict_array("line", rows)
                faults.append(server_faults(process.pid) - before)
            assert statistics.median(faults) < 1000, faults  # 1800-2800 each without
    finally:
        end(process)
