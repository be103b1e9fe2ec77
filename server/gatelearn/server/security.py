"""Who may talk to the server: TLS credentials, and a bearer token checked on every call.

The token travels as `authorization: Bearer <token>` metadata (the scheme name in any case, as
RFC 7235 has it) and is compared in constant time. A call with more than one `authorization`
entry is refused: which one counts would be a guess. Health checks need no token, so probes
work unchanged.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any

import grpc

__all__ = ["TokenInterceptor", "is_loopback", "server_credentials"]

_OPEN_PREFIXES = ("/grpc.health.v1.Health/",)
_SCHEME = "bearer"  # compared in lower case


async def _deny(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> None:
    await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or wrong bearer token")


# The refusal of each call shape (request streaming, response streaming), made once: the
# same handler every time, which the RpcObserver wraps once too. A coroutine answers any shape.
_REFUSALS = {
    (False, False): grpc.unary_unary_rpc_method_handler(_deny),
    (False, True): grpc.unary_stream_rpc_method_handler(_deny),
    (True, False): grpc.stream_unary_rpc_method_handler(_deny),
    (True, True): grpc.stream_stream_rpc_method_handler(_deny),
}


class TokenInterceptor(grpc.aio.ServerInterceptor):
    """Refuse every call but health checks unless it carries the server's bearer token."""

    def __init__(self, token: str) -> None:
        self._expected = token.encode()

    def _allows(self, metadata: Sequence[tuple[str, str | bytes]]) -> bool:
        """True when the call carries exactly one `authorization` entry, with our token."""
        given = [value for key, value in metadata if key == "authorization"]
        if len(given) != 1 or not isinstance(given[0], str):
            return False
        scheme, _, token = given[0].partition(" ")
        return scheme.lower() == _SCHEME and hmac.compare_digest(token.encode(), self._expected)

    async def intercept_service(
        self, continuation: Callable[[Any], Awaitable[Any]], details: grpc.HandlerCallDetails
    ) -> Any:
        handler = await continuation(details)
        if handler is None or details.method.startswith(_OPEN_PREFIXES):
            return handler
        if self._allows(details.invocation_metadata or ()):
            return handler
        # Answer with the same call shape as the real method, so any client reads the status.
        return _REFUSALS[(handler.request_streaming, handler.response_streaming)]


def server_credentials(
    cert: Path, key: Path, client_ca: Path | None = None
) -> grpc.ServerCredentials:
    """TLS with this certificate and key; with `client_ca`, clients must present a certificate
    signed by it."""
    root = client_ca.read_bytes() if client_ca else None
    return grpc.ssl_server_credentials(
        [(key.read_bytes(), cert.read_bytes())],
        root_certificates=root,
        require_client_auth=client_ca is not None,
    )


def is_loopback(address: str) -> bool:
    """True when `address` (host:port) listens on the loopback interface only."""
    host = address.rsplit(":", 1)[0].strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
