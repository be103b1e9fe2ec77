"""The HTTP endpoint Prometheus scrapes: a thread per connection, and few of them.

prometheus_client's own server starts a thread for every connection and waits on each without
a time limit, so idle connections piled up threads in the gRPC server's process (3000 of them
took 3000 threads and 75 MB). Here at most SCRAPE_CONNECTIONS are served at once, a connection
beyond them is closed unanswered (a scraper tries again at its next interval), and each read or
write may take SCRAPE_TIMEOUT seconds before its connection is dropped.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

__all__ = ["SCRAPE_CONNECTIONS", "SCRAPE_TIMEOUT", "MetricsEndpoint", "start_endpoint"]

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


class _ScrapeHandler(WSGIRequestHandler):
    """Answers one connection, giving up on a peer silent for SCRAPE_TIMEOUT seconds."""

    timeout = SCRAPE_TIMEOUT

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
