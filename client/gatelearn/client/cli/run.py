"""Running the command line: parse, call the command, turn every failure into its exit code."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from gatelearn.client.cli import _input as read
from gatelearn.client.cli._context import (
    EXIT_FAILED,
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    Context,
    UsageError,
)
from gatelearn.client.cli.parser import build_parser
from gatelearn.client.client import GateLearnError
from gatelearn.client.plots import CannotPlot, MissingExtra

__all__ = ["main"]


def _error(message: str) -> int:
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error already reported by argparse
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    try:
        ctx = Context.from_args(args)
        return int(args.handler(args, ctx))
    except UsageError as error:
        args.subparser.print_usage(sys.stderr)
        print(f"{args.subparser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GateLearnError as error:
        message = f"{error.code.name}: {error.details}"
        if error.code.name == "UNAVAILABLE":
            message += f" (is the server running at {ctx.address}?)"
        return _error(message)
    except (read.InputError, MissingExtra, CannotPlot) as error:
        return _error(str(error))
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _error(f"{where}{error.strerror or error}")
