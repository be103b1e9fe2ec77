"""The `gatelearn` argument parser: global options, then each command group's subcommands."""

from __future__ import annotations

import argparse
from importlib import metadata
from typing import Any

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import (
    aliases,
    components,
    explain,
    models,
    plot,
    predict,
    search,
    serve,
    train,
)
from gatelearn.client.cli._context import PROG, Handler
from gatelearn.client.client import (
    ADDRESS_ENV,
    DEFAULT_ADDRESS,
    DEFAULT_TIMEOUT,
    DEFAULT_TRAIN_TIMEOUT,
    TOKEN_ENV,
)

__all__ = ["build_parser"]

EPILOG = f"""\
examples:
  {PROG} serve --data-dir ./models
  {PROG} train xor --name xor-demo
  {PROG} predict xor-demo 0,0 0,1 1,0 1,1
  {PROG} train parity -p n=3 --name parity3 --hidden 8,8 --lr 0.1
  {PROG} show xor-demo:1
  {PROG} explain xor-demo
  {PROG} alias xor-demo stable 1
  {PROG} predict xor-demo@stable 0,1
  {PROG} plot xor-demo --kind all --out xor.png
  {PROG} search xor --name xor-small

The server address comes from --address, else ${ADDRESS_ENV}, else {DEFAULT_ADDRESS}.
"""

# Each adds its subcommand; in this order they are listed by --help.
COMMANDS = (
    serve.add_serve,
    train.add_train,
    search.add_search,
    predict.add_predict,
    predict.add_eval,
    models.add_models,
    models.add_show,
    explain.add_explain,
    plot.add_plot,
    models.add_delete,
    aliases.add_alias,
    components.add_plugins,
    components.add_tasks,
    models.add_export,
    models.add_import,
)


def _common_options() -> argparse.ArgumentParser:
    """Options accepted before or after the command; SUPPRESS keeps one from erasing another."""
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("global options")

    def option(flag: str, help_text: str, **kwargs: Any) -> None:
        group.add_argument(flag, default=argparse.SUPPRESS, help=help_text, **kwargs)

    option(
        "--address",
        f"the server's address (default: ${ADDRESS_ENV}, else {DEFAULT_ADDRESS}): HOST:PORT, "
        "several IP:PORT separated by commas (calls go round robin over those that are up), "
        "or a gRPC target such as dns:///HOST:PORT; for serve, the address to listen on",
        metavar="HOST:PORT",
    )
    option(
        "--timeout",
        f"deadline of each call (default: {DEFAULT_TIMEOUT:g}, and {DEFAULT_TRAIN_TIMEOUT:g} "
        "for train and search)",
        metavar="SECONDS",
        type=read.positive_float,
    )
    option("--json", "write the result to stdout as one JSON document", action="store_true")
    option(
        "--auth-token",
        f"bearer token to send (for serve: to require); prefer ${TOKEN_ENV}, which is the "
        "default and stays out of `ps`",
        metavar="TOKEN",
    )
    option(
        "--auth-token-file",
        "read the bearer token from this file (wins over --auth-token)",
        metavar="FILE",
    )
    option("--tls-ca", "connect with TLS, trusting this CA certificate (PEM)", metavar="FILE")
    option(
        "--tls-cert",
        "client certificate (PEM), with --tls-key; for serve: the server's certificate, "
        "which turns TLS on",
        metavar="FILE",
    )
    option("--tls-key", "the private key (PEM) of --tls-cert", metavar="FILE")
    return common


def _version() -> str:
    """The installed gatelearn's version."""
    try:
        return metadata.version("gatelearn")
    except metadata.PackageNotFoundError:  # run from a source tree that is not installed
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The whole command line: the global options and every subcommand."""
    common = _common_options()
    parser = argparse.ArgumentParser(
        prog=PROG,
        parents=[common],
        allow_abbrev=False,  # --epoch is a typo, not --epochs
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train small neural networks on truth tables, and use them, on a "
        "gatelearn server.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {_version()}")
    commands = parser.add_subparsers(metavar="COMMAND", required=True)

    def add(name: str, handler: Handler, summary: str, **kwargs: Any) -> argparse.ArgumentParser:
        kwargs.setdefault("description", summary[0].upper() + summary[1:] + ".")
        sub: argparse.ArgumentParser = commands.add_parser(
            name, parents=[common], help=summary, allow_abbrev=False, **kwargs
        )
        sub.set_defaults(handler=handler, subparser=sub)
        return sub

    for add_command in COMMANDS:
        add_command(add)
    return parser
