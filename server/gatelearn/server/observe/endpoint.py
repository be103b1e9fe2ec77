"""The HTTP endpoint Prometheus scrapes: a thread per connection, and few of them.

prometheus_client's own server starts a thread for every connection and waits on each without
a time limit, so idle connections piled up threads in the gRPC server's process (3000 of them
took 3000 threads and 75 MB). Here at most SCRAPE_CONNECTIONS are served at once, a connection
beyond them is closed unanswered (a scraper tries again at its next interval), and a connection
gets SCRAPE_TIMEOUT seconds in all, however slowly its peer sends, before it is dropped,
without a word on stderr.
"""

from __future__ import annotations

import io
import logging
import socket
import sys
import threading
import time
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = ["SCRAPE_CONNECTIONS", "SCRAPE_TIMEOUT", "MetricsEndpoint", "start_endpoint"]

log = logging.getLogger("gatelearn.server")

SCRAPE_CONNECTIONS = 16  # connections served at once
SCRAPE_TIMEOUT = 5.0  # seconds a connection may wait to send its request or to take the answer


class _ScrapeServer(ThreadingMixIn, WSGIServer):
    """A thread per connection, at most SCRAPE_CONNECTIONS at once."""

    daemon_threads = True  # a scrape in progress does not hold up the server's exit
    request_queue_size = 64  # connections the kernel holds for accept: a flood is closed fast

    def server_activate(self) -> None:
        self._slots = threading.BoundedSemaphore(SCRAPE_CONNECTIONS)
        super().server_activate()

    def process_request(self, request: Any, client_address: Any) -> None:
        if not self._slots.acquire(blocking=False):
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the connection's thread
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A peer that timed out or went away is logged at DEBUG only (a traceback on stderr
        for each let any client flood the server's log); any other error as a warning."""
        error = sys.exc_info()[1]
        if isinstance(error, OSError):  # timeouts, resets, broken pipes
            log.debug("metrics connection from %s ended: %s", client_address, error)
        else:
            log.warning("metrics scrape from %s failed", client_address, exc_info=True)


class _Deadline(socket.SocketIO):
    """A connection's reads, each allowed only what is left of the connection's time."""

    def __init__(self, connection: socket.socket, deadline: float) -> None:
        super().__init__(connection, "rb")
        self._connection, self._deadline = connection, deadline

    def readinto(self, buffer: Any) -> int | None:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"the connection's {SCRAPE_TIMEOUT:g} s are up")
        self._connection.settimeout(left)  # sending the answer gets the rest too
        return super().readinto(buffer)


class _ScrapeHandler(WSGIRequestHandler):
    """Answers one connection within SCRAPE_TIMEOUT seconds in all."""

    def setup(self) -> None:
        super().setup()
        self.rfile.close()  # read through the deadline instead
        deadline = time.monotonic() + SCRAPE_TIMEOUT
        self.rfile = io.BufferedReader(_Deadline(self.connection, deadline))

    def log_message(self, format: str, *args: Any) -> None:
        """Nothing: a scrape is routine, and its failures are the scraper's to report."""


@dataclass
class MetricsEndpoint:
    """The HTTP server answering scrapes, on a thread of its own."""

    httpd: WSGIServer
    thread: threading.Thread

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def start_endpoint(address: tuple[str, int], app: Any) -> MetricsEndpoint:
    """Serve the WSGI `app` (the metrics' exposition) at http://HOST:PORT/ on a daemon thread."""
    host, port = address
    family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
    server_class = type("ScrapeServer", (_ScrapeServer,), {"address_family": family})
    httpd: WSGIServer = make_server(host, port, app, server_class, _ScrapeHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return MetricsEndpoint(httpd, thread)
