"""More client connections than the server has threads: every one is still answered.

Each Client process keeps a health Watch stream open on its connection (client-side health
checking). Served as a blocking generator, each Watch held one of the server's threads for the
connection's life, and with more connected processes than threads calls waited for a thread
until their deadline. Clients in one process share a connection, so this takes processes.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import start_server

from gatelearn.client import Client

THREADS = 2  # the server's threads answering calls
PROCESSES = 5  # client processes connected at once, each with its own connection

# Predicts once, says so, waits for the word, predicts again on the same connection.
CLIENT = """
import sys
from gatelearn.client import Client
client = Client(sys.argv[1], timeout=5)
print(client.predict("m", [[0, 1], [1, 1]]).labels, flush=True)
sys.stdin.readline()
print(client.predict("m", [[0, 1], [1, 1]]).labels, flush=True)
"""


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "calls-observed"])
def test_connections_beyond_the_server_threads_are_all_answered(
    tmp_path: Path, observed: bool
) -> None:
    running = start_server(tmp_path / "data", workers=THREADS, log_calls=observed)
    address = f"127.0.0.1:{running.port}"
    try:
        with Client(address) as client:
            assert client.train("m", "and").metrics.solved
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", CLIENT, address],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(PROCESSES)
        ]
        try:
            # Every process answered once and keeps its connection (and its Watch) open ...
            first = [process.stdout.readline() for process in processes]  # type: ignore[union-attr]
            # ... then all call again at once.
            outputs = [process.communicate("go\n", timeout=30) for process in processes]
        finally:
            for process in processes:
                process.kill()
        assert first == ["[[0.0], [1.0]]\n"] * PROCESSES, [err for _, err in outputs]
        assert [out for out, _ in outputs] == ["[[0.0], [1.0]]\n"] * PROCESSES, [
            err for _, err in outputs
        ]
    finally:
        running.stop(0)
