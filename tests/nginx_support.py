"""nginx in front of gatelearn replicas, configured from deploy/nginx.conf as users run it.

Not a test module. The test copy of the configuration differs only in its ports; nginx runs in
the foreground under a prefix of its own and is stopped with the test. Under CI=true a missing
nginx fails the test; elsewhere the test is skipped, saying why.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

DEPLOY_CONFIG = Path(__file__).parents[1] / "deploy" / "nginx.conf"
FRONT = "127.0.0.1:50051"  # where deploy/nginx.conf listens ...
REPLICAS = ("127.0.0.1:50061", "127.0.0.1:50062")  # ... and the replicas it forwards to
BODY_TIMEOUT = "10s"  # and how long it waits for a request's next bytes


def nginx_binary() -> str:
    """nginx's path; fails under CI=true when it is missing, else skips."""
    found = shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/sbin/nginx") if os.access(p, os.X_OK)), None
    )
    if found is None:
        if os.environ.get("CI") == "true":
            pytest.fail("nginx is required under CI=true (.ci/run installs it)", pytrace=False)
        pytest.skip("no nginx: apt-get install nginx-light")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True)
class Nginx:
    """A running nginx: the address clients use, and its access log."""

    address: str
    access_log: Path

    def upstreams(self) -> list[str]:
        """The replica that answered each logged call, in order (nginx lists every replica
        it tried, comma-separated: the last one answered)."""
        tried = re.findall(r"upstream=(.*?) grpc_status=", self.access_log.read_text())
        return [replicas.split(", ")[-1] for replicas in tried]


def _accepts(address: str) -> bool:
    host, port = address.rsplit(":", 1)
    try:
        with socket.create_connection((host, int(port)), timeout=0.2):
            return True
    except OSError:
        return False


@contextmanager
def nginx_in_front(
    prefix: Path,
    replicas: Sequence[str],
    body_timeout: str = BODY_TIMEOUT,
    calls_per_connection: int | None = None,
) -> Iterator[Nginx]:
    """deploy/nginx.conf with its front on a free port, its upstream on `replicas`, its
    client_body_timeout `body_timeout` (nginx's notation, e.g. "1s"), and, if given, a client
    connection closed after `calls_per_connection` calls (nginx's keepalive_requests, 1000 by
    default)."""
    binary = nginx_binary()
    assert len(replicas) == len(REPLICAS), "deploy/nginx.conf has two replicas"
    front = f"127.0.0.1:{free_port()}"
    config = DEPLOY_CONFIG.read_text().replace(FRONT, front)
    assert f"client_body_timeout {BODY_TIMEOUT};" in config
    config = config.replace(
        f"client_body_timeout {BODY_TIMEOUT};", f"client_body_timeout {body_timeout};"
    )
    if calls_per_connection is not None:
        config = config.replace(
            f"client_body_timeout {body_timeout};",
            f"client_body_timeout {body_timeout};\n        "
            f"keepalive_requests {calls_per_connection};",
        )
    for deployed, replica in zip(REPLICAS, replicas, strict=True):
        config = config.replace(deployed, replica)
    (prefix / "logs").mkdir(parents=True)
    (prefix / "temp").mkdir()
    (prefix / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [binary, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while not _accepts(front):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                output, _ = process.communicate()
                errors = prefix / "logs" / "error.log"
                raise AssertionError(
                    f"nginx did not start: {output}{errors.read_text() if errors.exists() else ''}"
                )
            time.sleep(0.05)
        yield Nginx(front, prefix / "logs" / "access.log")
    finally:
        process.send_signal(signal.SIGTERM)  # nginx's fast shutdown
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
