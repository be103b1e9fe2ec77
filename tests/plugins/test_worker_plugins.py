"""A plugin the server loads but its training workers cannot import (a module on the server's
own sys.path, not on PYTHONPATH): every training fails naming the plugin and what to fix, and the
workers are kept, not replaced at each Train."""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest
from conftest import start_server

from gatelearn.client import Client, GateLearnError
from gatelearn.plugins import BLOCK_ENV, LOAD_ENV

PLUGIN = "buffer_gate_plugin"
HERE = Path(__file__).resolve().parent


def test_a_plugin_the_workers_cannot_import_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("PYTHONPATH", LOAD_ENV, BLOCK_ENV):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.syspath_prepend(str(HERE))  # this process imports it; its workers cannot
    running = start_server(tmp_path / "data", plugins=(PLUGIN,))
    try:
        with Client(f"127.0.0.1:{running.port}") as client:
            assert "buffer" in [c.name for c in client.plugins("task")]
            for task in ("buffer", "xor"):
                with pytest.raises(GateLearnError) as raised:
                    client.train(task, task)
                # Before: 'the training worker exited with code 1', and a new worker each time.
                assert raised.value.code == grpc.StatusCode.FAILED_PRECONDITION
                assert f"plugin module '{PLUGIN}'" in raised.value.details
                assert "cannot be imported: ModuleNotFoundError" in raised.value.details
            assert running.pool.restarts == 0
            assert client.models() == []
    finally:
        running.stop(0)
