"""Short collector pauses: a `gatelearn serve` process freezes what its start-up made.

CPython's collector walks every tracked object in a full (generation 2) collection; after
start-up that is gRPC's, protobuf's, NumPy's and the plugins' module objects, which live as long
as the process. Measured on `gatelearn serve`, the first full collection then held the GIL for
13-21 ms, and every Predict in flight waited for it. Frozen, they are never walked again.
"""

from __future__ import annotations

import gc

__all__ = ["freeze_start_up"]


def freeze_start_up() -> int:
    """Collect once, then move every object still alive out of the collector's reach (they are
    never freed, as module-level objects are not); the number of objects frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
