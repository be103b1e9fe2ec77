"""An idle cgroup for the training workers, where the server may make one.

SCHED_IDLE makes a worker yield only inside its own scheduling group: Linux schedules each
session (autogroup) and each cgroup as one entity, so a client in another session meets the
server's group at full weight. Measured here with two SCHED_IDLE NumPy spinners in another
session, 0.3% of a sleeper's wake-ups waited a whole 4 ms tick; with the spinners in a cgroup
whose cpu.idle is 1 (idle as a group), 0.03%. Making one needs write access to the server's own
cpu cgroup: root, or a delegated cgroup (systemd's Delegate=yes). Elsewhere the workers keep
SCHED_IDLE alone, as before.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["IdleGroup"]

log = logging.getLogger("gatelearn.server")

PREFIX = "gatelearn-workers-"  # then the server's pid and a count: one group per pool
_counts = itertools.count(1)


@dataclass(frozen=True)
class IdleGroup:
    """A cgroup with cpu.idle 1 (`path`) inside the server's own cpu cgroup (`parent`)."""

    path: Path
    parent: Path

    @classmethod
    def create(cls) -> IdleGroup | None:
        """A new idle group for this process's workers; None (logged) where none can be made."""
        parent = own_cpu_cgroup()
        if parent is None:
            log.info("training workers run under SCHED_IDLE alone: no cpu cgroup found")
            return None
        remove_stale(parent)
        path = parent / f"{PREFIX}{os.getpid()}-{next(_counts)}"
        try:
            path.mkdir()
        except OSError as error:
            log.info("training workers run under SCHED_IDLE alone: %s", error)
            return None
        try:
            (path / "cpu.idle").write_text("1")
        except OSError as error:  # a kernel before 5.15, or a v2 parent without +cpu
            log.info("training workers run under SCHED_IDLE alone: %s", error)
            path.rmdir()
            return None
        return cls(path, parent)

    def admit(self, pid: int) -> None:
        """Move process `pid` (all its threads) into the idle group; a gone one is ignored."""
        _move(pid, self.path)

    def release(self, pid: int) -> None:
        """Move process `pid` back to the server's own group, to run at ordinary weight."""
        _move(pid, self.parent)

    def remove(self) -> None:
        """Remove the group; one still holding a process that is dying stays for the next
        server's `remove_stale`."""
        with contextlib.suppress(OSError):
            self.path.rmdir()


def _move(pid: int, group: Path) -> None:
    with contextlib.suppress(OSError):  # ESRCH: gone already
        (group / "cgroup.procs").write_text(str(pid))


def own_cpu_cgroup() -> Path | None:
    """The directory of this process's cgroup in the hierarchy holding the cpu controller:
    cgroup v1's cpu hierarchy, else the v2 hierarchy when cpu is enabled for its children."""
    mounts = cgroup_mounts()
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if "cpu" in controllers.split(",") and "cpu" in mounts:
                return _inside(mounts["cpu"], path)
        for line in lines:
            _, controllers, path = line.split(":", 2)
            if controllers == "" and "" in mounts:
                v2 = _inside(mounts[""], path)
                if v2 and "cpu" in (v2 / "cgroup.subtree_control").read_text().split():
                    return v2
    except (OSError, ValueError):  # not Linux, or a layout this does not know
        pass
    return None


def _inside(mount: tuple[Path, str], path: str) -> Path | None:
    """Cgroup `path` as a directory under a hierarchy mounted at `mount` (its mount point and
    the cgroup it shows as its root); None when the path lies outside what is mounted."""
    mount_point, root = mount
    relative = os.path.relpath(path, root)
    return None if relative.startswith("..") else (mount_point / relative).resolve()


def cgroup_mounts() -> dict[str, tuple[Path, str]]:
    """Where each cgroup hierarchy is mounted (mount point, and the cgroup it shows as its
    root): v1 ones by controller, v2's under ""."""
    mounts: dict[str, tuple[Path, str]] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields, _, tail = line.partition(" - ")
            fstype, _, options = tail.split(" ")[:3]
            root, mount_point = fields.split(" ")[3:5]
            where = (Path(mount_point), root)
            if fstype == "cgroup2":
                mounts.setdefault("", where)
            elif fstype == "cgroup":
                for option in options.split(","):
                    mounts.setdefault(option, where)
    return mounts


def remove_stale(parent: Path) -> None:
    """Remove the groups earlier servers left behind (killed before they could): empty ones
    whose server is gone."""
    for group in parent.glob(f"{PREFIX}*"):
        pid = group.name.removeprefix(PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                group.rmdir()
