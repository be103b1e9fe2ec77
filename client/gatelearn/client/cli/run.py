"""Running the command line: parse, call the command, turn every failure into its exit code."""

from __future__ import annotations

import argparse
import difflib
import os
import sys
from collections.abc import Sequence

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
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


def _error(message: str, as_json: bool, code: str | None = None) -> int:
    """Report a failure on stderr: one line, or with --json one JSON document
    `{"error": {"code": "NOT_FOUND", "message": "..."}}` (code null for local failures)."""
    message = " ".join(message.split())
    if as_json:
        print(show.to_json({"error": {"code": code, "message": message}}), file=sys.stderr)
    else:
        print(f"{PROG}: error: {f'{code}: ' if code else ''}{message}", file=sys.stderr)
    return EXIT_FAILED


def _unrecognized(command: argparse.ArgumentParser, unknown: list[str]) -> int:
    """Report arguments `command` does not take with its own usage (not the top level's),
    suggesting the closest option for a misspelt one."""
    command.print_usage(sys.stderr)
    message = f"unrecognized arguments: {' '.join(unknown)}"
    flags = [flag for action in command._actions for flag in action.option_strings]
    for given in (arg.split("=", 1)[0] for arg in unknown if arg.startswith("--")):
        if close := difflib.get_close_matches(given, flags, n=1):
            message += f" (did you mean {close[0]}?)"
            break
    print(f"{command.prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    try:
        args, unknown = parser.parse_known_args(argv)
    except SystemExit as stop:  # --help, or a usage error already reported by argparse
        return stop.code if isinstance(stop.code, int) else EXIT_USAGE
    if unknown:
        return _unrecognized(args.subparser, unknown)
    as_json = getattr(args, "json", False)
    try:
        ctx = Context.from_args(args)
        return int(args.handler(args, ctx))
    except UsageError as error:
        if as_json:
            _error(str(error), as_json, "USAGE")
        else:
            args.subparser.print_usage(sys.stderr)
            print(f"{args.subparser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except GateLearnError as error:
        message = error.details
        if error.code.name == "UNAVAILABLE":
            message += f" (is the server running at {ctx.address}?)"
        return _error(message, as_json, error.code.name)
    except (read.InputError, MissingExtra, CannotPlot) as error:
        return _error(str(error), as_json)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`): stop quietly, and keep Python from
        # complaining when it flushes stdout at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _error(f"{where}{error.strerror or error}", as_json)
