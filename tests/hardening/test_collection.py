"""Short collector pauses: `gatelearn serve` freezes the objects its start-up made, so a full
collection no longer walks them (13-21 ms with the GIL held, measured on `gatelearn serve`,
which every Predict in flight waited for)."""

from __future__ import annotations

import subprocess
import sys

# In a process of its own: freezing is for good, and this test process must keep its collector.
FROZEN = """
import gc
from gatelearn.server.app import create_server  # start-up's imports: gRPC, protobuf, NumPy
from gatelearn.server.collection import freeze_start_up

walked_before = len(gc.get_objects())
frozen = freeze_start_up()
print(walked_before, frozen, len(gc.get_objects()))
"""


def test_start_up_objects_are_frozen_out_of_full_collections() -> None:
    """What a full collection walks after the freeze is what was made since: almost nothing."""
    done = subprocess.run(
        [sys.executable, "-c", FROZEN], capture_output=True, text=True, check=True
    )
    walked_before, frozen, walked_after = map(int, done.stdout.split())
    assert walked_before > 20_000
    assert frozen >= walked_before * 0.9  # garbage found by the collection is not frozen
    assert walked_after < 100
