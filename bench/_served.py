"""`gatelearn serve` in a subprocess, as users run it: the figures that need the server in a
process of its own (its memory, its scheduling, replicas) start it with `served`; `echoed`
starts bench/_echo.py, the bare grpcio service the Predict figures compare with, the same way.

Not a package: the scripts import it as `_served` (their own folder is first on sys.path).
"""

from __future__ import annotations

import contextlib
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

START_SECONDS = 30  # a server that has not said it serves by then is reported, not waited for
ECHO_SCRIPT = Path(__file__).with_name("_echo.py")


@dataclass(frozen=True)
class Served:
    process: subprocess.Popen[str]
    address: str  # 127.0.0.1:PORT


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def served(
    *args: str, env: Mapping[str, str] | None = None, own_session: bool = False
) -> Iterator[Served]:
    """`gatelearn serve ARGS` on a free loopback port, once it says it serves; SIGTERM after.
    `own_session`: in a session of its own, as from another terminal or a service manager
    (Linux then schedules it and its workers as a group apart from this process)."""
    command = [sys.executable, "-m", "gatelearn.client.cli", "serve"]
    with _started(command, args, env, own_session) as server:
        yield server


@contextlib.contextmanager
def echoed(response: bytes, workers: int, aio: bool = False) -> Iterator[Served]:
    """bench/_echo.py answering every call with `response` from `workers` threads (or
    grpc.aio's event loop), in a process of its own; SIGTERM after."""
    args = ("--response", response.hex(), "--workers", str(workers), *(("--aio",) if aio else ()))
    with _started([sys.executable, str(ECHO_SCRIPT)], args, None) as server:
        yield server


@contextlib.contextmanager
def _started(
    command: list[str],
    args: tuple[str, ...],
    env: Mapping[str, str] | None,
    own_session: bool = False,
) -> Iterator[Served]:
    """`COMMAND --address ADDRESS ARGS` on a free loopback port, once it prints "serving on";
    SIGTERM after."""
    address = f"127.0.0.1:{free_port()}"
    process = subprocess.Popen(
        [*command, "--address", address, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=own_session,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True).start()
    try:
        deadline, seen = time.monotonic() + START_SECONDS, ""
        while "serving on" not in seen:
            try:
                seen += lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise RuntimeError(
                    f"{Path(command[-1]).name} did not start in {START_SECONDS} s: {seen[-500:]!r}"
                ) from None
        yield Served(process, address)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
