"""What Linux's /proc tells of processes: the CPU time they used."""

from __future__ import annotations

import os
import time
from pathlib import Path


def cpu_seconds(pid: int) -> float:
    """User and system time process `pid` has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    """The live child processes of `pid` (a child gone meanwhile is left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry.name))
    return found


def cpu_seconds_here() -> float:
    """CPU time used by this process (every thread: the tests' client and an in-process
    server) and its live children (the server's training workers)."""
    total = time.process_time()
    for child in _children(os.getpid()):
        try:
            total += cpu_seconds(child)
        except OSError:  # ended meanwhile
            continue
    return total
