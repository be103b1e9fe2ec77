"""Who may talk to the server: TLS credentials, and a bearer token checked on every call.

The token travels as `authorization: Bearer <token>` metadata and is compared in constant
time. Health checks need no token, so probes work unchanged.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc

__all__ = ["TokenInterceptor", "is_loopback", "server_credentials"]

_OPEN_PREFIXES = ("/grpc.health.v1.Health/",)


def _deny(request: Any, context: grpc.ServicerContext) -> None:
    context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")


class TokenInterceptor(grpc.ServerInterceptor):
    """Refuse every call but health checks unless it carries the server's bearer token."""

    def __init__(self, token: str) -> None:
        self._expected = f"Bearer {token}".encode()

    def intercept_service(self, continuation: Callable[[Any], Any],
                          details: grpc.HandlerCallDetails) -> Any:
        handler = continuation(details)
        if handler is None or details.method.startswith(_OPEN_PREFIXES):
            return handler
        metadata = dict(details.invocation_metadata or ())
        given = str(metadata.get("authorization", "")).encode()
        if hmac.compare_digest(given, self._expected):
            return handler
        # Answer with the same call shape as the real method, so any client reads the status.
        if handler.request_streaming and handler.response_streaming:
            return grpc.stream_stream_rpc_method_handler(_deny)
        if handler.request_streaming:
            return grpc.stream_unary_rpc_method_handler(_deny)
        if handler.response_streaming:
            return grpc.unary_stream_rpc_method_handler(_deny)
        return grpc.unary_unary_rpc_method_handler(_deny)


def server_credentials(cert: Path, key: Path,
                       client_ca: Path | None = None) -> grpc.ServerCredentials:
    """TLS with this certificate and key; with `client_ca`, clients must present a certificate
    signed by it."""
    root = client_ca.read_bytes() if client_ca else None
    return grpc.ssl_server_credentials([(key.read_bytes(), cert.read_bytes())],
                                       root_certificates=root,
                                       require_client_auth=client_ca is not None)


def is_loopback(address: str) -> bool:
    """True when `address` (host:port) listens on the loopback interface only."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
