"""Whether the address a server is to listen on is free, asked before gRPC binds it.

gRPC reports a port in use through its own log (several internal lines on stderr) and a
generic error; asking the operating system first gives one plain sentence instead.
"""

from __future__ import annotations

import errno
import socket

__all__ = ["check_free"]


def check_free(address: str) -> None:
    """Raise OSError saying so when another process listens on `address` (`HOST:PORT`).

    Port 0, names that do not resolve and other bind failures are left to gRPC to report.
    """
    host, _, port = address.rpartition(":")
    if not port.isdigit() or int(port) == 0:
        return
    try:
        places = socket.getaddrinfo(
            host.strip("[]") or None, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )
    except OSError:
        return
    for family, kind, proto, _, where in places:
        with socket.socket(family, kind, proto) as probe:
            # As gRPC does: a port whose last connections are closing is free to listen on.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(where)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    raise OSError(
                        f"{address} is already in use (another server listens "
                        "there; pick another --address)"
                    ) from None
