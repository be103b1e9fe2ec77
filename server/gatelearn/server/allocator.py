"""Large messages without page faults: a `gatelearn serve` process keeps freed memory for reuse.

glibc's malloc maps each block over its mmap threshold afresh (128 KiB at first, raised only to
the largest block freed so far) and hands the free top of its heap back to the system once it
exceeds twice that. A packed Predict's megabyte chunks (gRPC's buffers, the parsed request, the
forward pass's arrays, the answer) went through both, and every new page is a fault: 2400
faults and a fifth of the server's CPU for 10^6 rows. Fixed thresholds at the ceiling glibc's
own adjustment may reach keep such blocks in the heap and reuse them; the server then holds up
to TRIM_THRESHOLD of freed memory.
"""

from __future__ import annotations

import ctypes
import logging

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

MMAP_THRESHOLD = 32 * 1024 * 1024  # blocks up to this come from the heap (glibc's own maximum)
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD  # free heap kept before any is returned (the same ratio)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers (malloc.h)

log = logging.getLogger("gatelearn.server")


def keep_freed_memory() -> bool:
    """Set this process's malloc thresholds as above; False (nothing changed) where the C library
    has no glibc `mallopt` or refuses."""
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    kept = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    if not kept:
        log.info("malloc thresholds left as they were: mallopt refused them")
    return kept
