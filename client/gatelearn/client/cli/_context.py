"""What every command shares: the program name, exit codes, usage errors and the `Context`."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gatelearn.client.cli import _output as show
from gatelearn.client.client import ADDRESS_ENV, DEFAULT_ADDRESS, Client

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNSOLVED",
    "EXIT_USAGE",
    "PROG",
    "AddCommand",
    "Context",
    "Handler",
    "UsageError",
]

PROG = "gatelearn"
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_UNSOLVED, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Arguments that parse but do not go together; reported like argparse's own errors."""


@dataclass(frozen=True)
class Context:
    """What every command needs: where the server is and how to write results."""

    address: str
    timeout: float | None
    json: bool
    token: str | None = None  # None: the client reads $GATELEARN_AUTH_TOKEN
    tls_ca: Path | None = None
    tls_cert: Path | None = None
    tls_key: Path | None = None

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Context:
        def path(name: str) -> Path | None:
            value = getattr(args, name, None)
            return Path(value) if value else None

        token = getattr(args, "auth_token", None)
        token_file = path("auth_token_file")
        if token_file is not None:
            try:
                token = token_file.read_text().strip()
            except OSError as error:
                raise UsageError(f"--auth-token-file: {error}") from None
            if not token:
                raise UsageError(f"--auth-token-file: {token_file} holds no token")
        address = getattr(args, "address", None) or os.environ.get(ADDRESS_ENV) or DEFAULT_ADDRESS
        return cls(
            address=address,
            timeout=getattr(args, "timeout", None),
            json=getattr(args, "json", False),
            token=token,
            tls_ca=path("tls_ca"),
            tls_cert=path("tls_cert"),
            tls_key=path("tls_key"),
        )

    def client(self) -> Client:
        settings: dict[str, Any] = dict(
            token=self.token, tls_ca=self.tls_ca, tls_cert=self.tls_cert, tls_key=self.tls_key
        )
        # --timeout bounds every call, training included; otherwise the client's defaults.
        if self.timeout is not None:
            settings.update(timeout=self.timeout, train_timeout=self.timeout)
        try:
            return Client(self.address, **settings)
        except ValueError as error:  # an address list the client cannot use
            raise UsageError(str(error)) from None

    def emit(self, data: object, lines: Sequence[str]) -> None:
        print(show.to_json(data) if self.json else "\n".join(lines))


Handler = Callable[[argparse.Namespace, Context], int]


class AddCommand(Protocol):
    """Adds subcommand `name`, run by `handler`, with the global options; returns its parser.

    Its description is `summary` as a sentence unless `description` is among `kwargs`.
    """

    def __call__(
        self, name: str, handler: Handler, summary: str, **kwargs: Any
    ) -> argparse.ArgumentParser: ...
