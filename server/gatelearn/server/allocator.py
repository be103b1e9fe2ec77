"""Large messages without page faults: a `gatelearn serve` process keeps freed memory for reuse.

glibc's malloc maps each block over its mmap threshold afresh (128 KiB at first, raised only to
the largest block freed so far) and hands the free top of its heap back to the system once it
exceeds twice that. A packed Predict's megabyte chunks (gRPC's buffers, the parsed request, the
forward pass's arrays, the answer) went through both, and every new page is a fault: 2400
faults and a fifth of the server's CPU for 10^6 rows. Fixed thresholds at the ceiling glibc's
own adjustment may reach keep such blocks in the heap and reuse them. One arena for every thread
bounds what that keeps: glibc gives each new thread an arena of its own (up to 8 per core), each
of which would keep up to TRIM_THRESHOLD, so 8 concurrent packed streams held 280-320 MB after
they ended (165-180 MB with one arena or without the thresholds). The free space kept at the top
of the heap is then at most TRIM_THRESHOLD; freed blocks below the top stay mapped for reuse, as
they do with glibc's defaults.
"""

from __future__ import annotations

import ctypes
import logging

__all__ = ["ARENAS", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

MMAP_THRESHOLD = 32 * 1024 * 1024  # blocks up to this come from the heap (glibc's own maximum)
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # free heap kept before any is returned (the same ratio)
ARENAS = 1  # Python allocates under the GIL anyway: one arena costs little waiting
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _M_ARENA_MAX = -1, -3, -8  # mallopt's numbers (malloc.h)

log = logging.getLogger("gatelearn.server")


def keep_freed_memory() -> bool:
    """Set this process's malloc thresholds and arena count as above, before its threads start;
    False where the C library has no glibc `mallopt` or refuses."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    settings = (
        (_M_ARENA_MAX, ARENAS),
        (_M_MMAP_THRESHOLD, MMAP_THRESHOLD),
        (_M_TRIM_THRESHOLD, TRIM_THRESHOLD),
    )
    kept = all(mallopt(parameter, value) for parameter, value in settings)
    if not kept:
        log.info("malloc thresholds left as they were: mallopt refused them")
    return kept
