"""`gatelearn serve`: run a server in this process, configured from flags and the environment."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path
from typing import Any, NoReturn

from gatelearn.api.constants import DATA_DIR_ENV, LIMITS_ENV, STORE_ENV
from gatelearn.client.cli import _input as read
from gatelearn.client.cli._context import EXIT_FAILED, EXIT_OK, AddCommand, Context, UsageError
from gatelearn.client.client import ADDRESS_ENV, TOKEN_ENV

__all__ = ["add_serve", "cmd_serve"]


def cmd_serve(args: argparse.Namespace, ctx: Context) -> NoReturn:
    # Imported here: the server needs NumPy and the rest of the command line does not.
    from gatelearn.server import ServerConfig, serve
    from gatelearn.server.observe.logs import configure_logging

    if ctx.tls_ca is not None:
        raise UsageError(
            "--tls-ca is for clients; a server checks client certificates with --tls-client-ca"
        )
    from gatelearn.server.limits import Limits

    try:
        from_env = [s for s in os.environ.get(LIMITS_ENV, "").split(",") if s.strip()]
        limits = Limits().overridden([*from_env, *(args.limit or ())])
    except ValueError as error:
        raise UsageError(f"--limit: {error}") from None
    settings: dict[str, Any] = {
        "plugins": tuple(args.plugin or ()),
        "limits": limits,
        "grace": args.grace,
        "auth_token": ctx.token or os.environ.get(TOKEN_ENV) or None,
        "tls_cert": ctx.tls_cert,
        "tls_key": ctx.tls_key,
        "tls_client_ca": Path(args.tls_client_ca) if args.tls_client_ca else None,
        "metrics_address": args.metrics_address,
        "log_calls": args.log_format == "json" or args.log_level == "DEBUG",
        "realtime": args.realtime,
    }
    address = getattr(args, "address", None) or os.environ.get(ADDRESS_ENV)
    if address:
        settings["address"] = address
    if args.data_dir:
        settings["data_dir"] = Path(args.data_dir)  # else $GATELEARN_DATA_DIR or the default
    store = args.store or os.environ.get(STORE_ENV)
    if store:
        if args.data_dir:
            raise UsageError(
                "give --store or --data-dir, not both (sqlite:///DIR is the data "
                "directory as a store URL)"
            )
        settings["store"] = store
    configure_logging(args.log_level, args.log_format)
    try:
        ended_cleanly = serve(ServerConfig(**settings))
    except (OSError, ImportError, RuntimeError, TypeError, LookupError, ValueError) as error:
        # Start-up failures: the port is taken, a certificate is unreadable or half given, a
        # plugin is missing, broken or a duplicate.
        raise read.InputError(f"cannot start the server: {error}") from None
    _exit_now(EXIT_OK if ended_cleanly else EXIT_FAILED)


def _exit_now(code: int) -> NoReturn:
    """End the process as soon as the server has stopped: a call still computing (a Predict of a
    large model goes on past its deadline) would otherwise hold the interpreter's exit, which
    joins every thread of gRPC's pool, until it is done, past the bound the README promises."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def add_serve(add: AddCommand) -> None:
    serve = add("serve", cmd_serve, "run a gatelearn server until SIGTERM or Ctrl-C")
    serve.add_argument(
        "--store",
        metavar="URL",
        help=f"where models are stored: sqlite:///DIR, or postgresql://... shared by several "
        f"servers (needs gatelearn[postgres]) (default: ${STORE_ENV}, else SQLite in the data "
        "directory)",
    )
    serve.add_argument(
        "--data-dir",
        metavar="DIR",
        help=f"where models are stored (default: ${DATA_DIR_ENV}, else "
        "$XDG_DATA_HOME/gatelearn or ~/.local/share/gatelearn)",
    )
    serve.add_argument(
        "--plugin",
        action="append",
        metavar="MODULE",
        help="also load this plugin module (repeatable)",
    )
    serve.add_argument(
        "--tls-client-ca",
        metavar="FILE",
        help="require client certificates signed by this CA (needs --tls-cert)",
    )
    serve.add_argument(
        "--limit",
        action="append",
        metavar="NAME=VALUE",
        help="change a limit, e.g. max_epochs=100000 (repeatable; also "
        f"${LIMITS_ENV}, comma-separated); see 'Limits' in the README",
    )
    serve.add_argument(
        "--grace",
        type=read.positive_float,
        default=5.0,
        metavar="SECONDS",
        help="at shutdown, how long running trainings may go on before they "
        "are cancelled (default: 5, at most 86400)",
    )
    serve.add_argument(
        "--realtime",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="answer calls at the lowest real-time priority (SCHED_FIFO 1) where the system "
        "allows it (root, CAP_SYS_NICE or RLIMIT_RTPRIO), so running trainings never delay "
        "them; long computations still take turns (default: on)",
    )
    serve.add_argument(
        "--log-level",
        type=str.upper,
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="default: WARNING",
    )
    serve.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object a line (timestamp, level, logger, message, and the "
        "request id of the call, from its x-request-id metadata); default: text",
    )
    serve.add_argument(
        "--metrics-address",
        metavar="[HOST:]PORT",
        help="serve Prometheus metrics over plain HTTP at http://HOST:PORT/metrics (HOST "
        "defaults to 127.0.0.1; needs gatelearn[metrics])",
    )
