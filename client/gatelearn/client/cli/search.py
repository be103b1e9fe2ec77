"""`gatelearn search`: the smallest network that solves a task, its table printed as it fills."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from gatelearn.client.cli import _input as read
from gatelearn.client.cli._context import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    PROG,
    AddCommand,
    Context,
)
from gatelearn.client.cli._progress import ProgressBar
from gatelearn.client.client import TrainOptions
from gatelearn.client.types import SearchCandidate, SearchProgress, SearchResult

__all__ = ["add_search", "cmd_search"]

# Fixed widths: rows are printed one by one as candidates finish, before the widest is known.
HEADER = (
    f"{'HIDDEN':<12} {'ACT':<10} {'PARAMS':>6} {'SOLVED':>9} {'SHARE':>5} {'MEDIAN':>6} {'P90':>6}"
)

SEARCH_EPILOG = """\
Candidates have 0 to --max-depth hidden layers, each of one of --widths, all with one
--activation (repeat it to try several); each is trained as one population of --seeds
networks for at most --epochs epochs, smallest first (fewest parameters, then fewest layers),
until one solves a --target share of its seeds. That one's best network is saved as --name.
MEDIAN and P90 are the epochs the solved seeds took. Ctrl-C cancels; nothing is saved then.
"""


def row_line(row: SearchCandidate) -> str:
    """One candidate as a line under HEADER."""
    hidden = ",".join(map(str, row.hidden)) or "none"
    median, p90 = ("-" if value is None else value for value in (row.median_epochs, row.p90_epochs))
    solved = f"{row.solved}/{row.seeds}"
    return (
        f"{hidden:<12} {row.activation or '-':<10} {row.parameters:>6} {solved:>9} "
        f"{row.solved_share:>5.2f} {median:>6} {p90:>6}"
    )


def result_line(result: SearchResult) -> str:
    """What the search found, and where it was saved."""
    tried = f"{len(result.table)} of {result.candidates} candidates trained"
    if result.answer is None or result.model is None:
        return f"no candidate solved {result.target:g} of its seeds ({tried}); nothing saved"
    answer = result.answer
    hidden = ",".join(map(str, answer.hidden)) or "no hidden layer"
    activation = f" {answer.activation}" if answer.activation else ""
    return (
        f"smallest: {hidden}{activation} ({answer.parameters} parameters), "
        f"{answer.solved}/{answer.seeds} seeds solved; saved {result.model} ({tried})"
    )


def cmd_search(args: argparse.Namespace, ctx: Context) -> int:
    params = dict(args.param or [])
    settings: dict[str, Any] = dict(
        seeds=args.seeds or 0,
        target=args.target,
        max_depth=args.max_depth,
        widths=args.widths or (),
        activations=args.activation or (),
        seed=args.seed or 0,
        dtype=args.dtype,
        options=TrainOptions(epochs=args.epochs) if args.epochs is not None else None,
    )
    bar = None if args.quiet or ctx.json else ProgressBar(sys.stderr)
    result = None
    if not ctx.json:
        print(HEADER, flush=True)
    with ctx.client() as client:
        events = client.search(args.name, (args.task, params) if params else args.task, **settings)
        try:
            for event in events:
                if isinstance(event, SearchProgress):
                    if bar:
                        bar.update(event.training)
                    continue
                if bar:
                    bar.close()  # before a row, so it starts on a clean line
                if isinstance(event, SearchCandidate) and not ctx.json:
                    print(row_line(event), flush=True)
                elif isinstance(event, SearchResult):
                    result = event
        except KeyboardInterrupt:
            events.close()  # cancels the search on the server
            if bar:
                bar.close()
            print(f"{PROG}: search cancelled; nothing saved", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            if bar:
                bar.close()
    assert result is not None  # the stream ends with it, or raised
    ctx.emit(result, [result_line(result)])
    return EXIT_OK


def add_search(add: AddCommand) -> None:
    p = add(
        "search",
        cmd_search,
        "find the smallest network that solves a task, and save it",
        epilog=SEARCH_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("task", metavar="TASK", help="the task (see 'gatelearn tasks')")
    p.add_argument("--name", required=True, help="the name to save the answer under")
    p.add_argument(
        "-p",
        "--param",
        help="a task parameter (repeatable)",
        action="append",
        type=read.key_value,
        metavar="KEY=VALUE",
    )
    p.add_argument(
        "--seeds", type=read.count(1), metavar="S", help="networks per candidate (default 100)"
    )
    p.add_argument(
        "--target",
        type=float,
        metavar="SHARE",
        help="solved share a candidate needs, above 0 and at most 1 (default 0.95)",
    )
    p.add_argument(
        "--max-depth", type=read.count(0), metavar="D", help="most hidden layers (default 2)"
    )
    p.add_argument(
        "--widths",
        type=read.hidden_units,
        metavar="W,W,...",
        help="widths a hidden layer may have (default 1,2,3,4,6,8,12,16)",
    )
    p.add_argument(
        "--activation",
        action="append",
        metavar="NAME",
        help="hidden activation to try (repeatable; default tanh)",
    )
    p.add_argument(
        "--epochs", type=read.count(0), metavar="N", help="epoch budget of each candidate"
    )
    p.add_argument("--seed", type=read.count(0), metavar="N", help="first seed (default 0)")
    read.add_dtype_argument(p)
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
