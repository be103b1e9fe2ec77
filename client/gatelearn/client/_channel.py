"""How the client reaches its servers: one gRPC target for one or several addresses, and the
service config that spreads calls over the replicas behind it and retries those that failed
UNAVAILABLE.

gRPC does the work: its `round_robin` policy (a replica whose connection broke gets no calls)
and its retry policy (an attempt that fails UNAVAILABLE, such as one refused by a replica that
is shutting down, is retried, on another replica when there is one, within the call's deadline;
a streaming call only until its first answer arrives). No client-side health checking: with it,
grpcio 1.85 crashed the client process (a null pointer read in one of gRPC's threads) within
seconds of load through nginx, which closes a connection after `keepalive_requests` calls.
"""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any

__all__ = ["MAX_RETRIES", "SERVICE_NAME", "channel_options", "target", "target_options"]

SERVICE_NAME = "gatelearn.v1.GateLearn"
MAX_RETRIES = 4  # gRPC caps a retry policy at 5 attempts, the first one included
_BACKOFF_DOUBLINGS = 3  # the longest wait before a retry is retry_backoff * 2**3

# A target URI such as dns:///host:port or ipv4:10.0.0.1:5001,10.0.0.2:5001, told apart from
# a `host:port` list by what follows the first colon (a port is only digits).
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:(?!\d+(,|$))")


def target(address: str) -> str:
    """The gRPC target for `address`: a target URI or one `host:port` as given; several
    comma-separated `IP:port` as one `ipv4:` or `ipv6:` target, which gRPC balances over."""
    address = address.strip()
    if _URI.match(address) or "," not in address:
        return address
    families = {_ip_family(part.strip(), address) for part in address.split(",")}
    if len(families) > 1:
        raise ValueError(
            f"address: {address!r} mixes IPv4 and IPv6 addresses; gRPC takes one "
            "family per list (or give one dns:///NAME:PORT that resolves to both)"
        )
    (family,) = families
    return f"{family}:{','.join(part.strip() for part in address.split(','))}"


def target_options(address: str) -> list[tuple[str, Any]]:
    """Channel options the target of `address` needs.

    An ipv4:/ipv6: target's authority would be the whole list, which no certificate names:
    the first address stands for all (TLS checks every replica's certificate for its host).
    """
    scheme, _, addresses = target(address).partition(":")
    if scheme not in ("ipv4", "ipv6"):
        return []
    return [("grpc.default_authority", addresses.split(",")[0])]


def _ip_family(part: str, address: str) -> str:
    """'ipv4' or 'ipv6' for one `IP:port` (IPv6 in brackets) of the list `address`."""
    host, _, port = part.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    try:
        ip = ipaddress.ip_address(host[1:-1] if bracketed else host)
    except ValueError:
        raise ValueError(
            f"address: {part!r} in {address!r} is not IP:PORT. Several addresses must be IP "
            "literals (127.0.0.1:5001,[::1]:5002): gRPC resolves no host names in a list. "
            "For a host name use dns:///NAME:PORT, which balances over every address the "
            "name resolves to"
        ) from None
    if not port.isdigit() or (ip.version == 6) != bracketed:
        raise ValueError(
            f"address: {part!r} in {address!r} is not IP:PORT (PORT a number, an "
            "IPv6 address in brackets: [::1]:5001)"
        )
    return f"ipv{ip.version}"


def channel_options(retries: int, retry_backoff: float) -> list[tuple[str, Any]]:
    """Channel options for round robin over healthy replicas, with `retries` retries of a
    call that failed UNAVAILABLE, the first after up to `retry_backoff` seconds."""
    if not 0 <= retries <= MAX_RETRIES:
        raise ValueError(
            f"retries: {retries} is not between 0 and {MAX_RETRIES} (gRPC makes "
            f"at most {MAX_RETRIES + 1} attempts of a call)"
        )
    if not retry_backoff > 0:
        raise ValueError(f"retry_backoff: {retry_backoff} is not a positive number of seconds")
    longest = retry_backoff * 2**_BACKOFF_DOUBLINGS
    config: dict[str, Any] = {"loadBalancingConfig": [{"round_robin": {}}]}
    if retries:
        # gRPC waits a random time in [0, backoff] before each retry (full jitter), the
        # backoff doubling from retry_backoff up to `longest`.
        config["methodConfig"] = [
            {
                "name": [{"service": SERVICE_NAME}],
                "retryPolicy": {
                    "maxAttempts": retries + 1,
                    "initialBackoff": f"{retry_backoff:.6f}s",
                    "maxBackoff": f"{longest:.6f}s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ]
    return [
        ("grpc.service_config", json.dumps(config)),
        ("grpc.enable_retries", 1 if retries else 0),
        # Reconnect to a replica that was down on the retries' time scale, not gRPC's default
        # 1 s growing to 120 s, so that a retry can find a replica that came back.
        ("grpc.initial_reconnect_backoff_ms", max(1, round(retry_backoff * 1000))),
        ("grpc.max_reconnect_backoff_ms", max(1, round(longest * 1000))),
    ]
