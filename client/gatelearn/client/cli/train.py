"""`gatelearn train`: train a model on a task, a CSV truth table or a CSV dataset, with a
progress bar."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import grpc

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
from gatelearn.client.cli._context import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_UNSOLVED,
    PROG,
    AddCommand,
    Context,
    UsageError,
)
from gatelearn.client.cli._progress import ProgressBar
from gatelearn.client.client import ComponentSpec, GateLearnError, TrainOptions

__all__ = ["add_train", "cmd_train"]

TRAIN_EPILOG = """\
Parameter values (-p, --opt, --init-param) are read as JSON when they parse, else as
strings: -p n=3, --opt lr=0.5, --opt nesterov=true, --init-param weights=[[1,0],[0,1]].

A table file (--table FILE, or - for stdin) is CSV: one row per line, its input values
followed by its output values, all 0 or 1; --outputs K (default 1) says how many trailing
columns are outputs. Blank lines and text after # are ignored. E.g. for AND:
  0,0,0
  0,1,0
  1,0,0
  1,1,1
A data file (--data FILE) is CSV the same way, with real-valued inputs and labels that are
all 0/1 or all -1/+1 (--outputs K trailing label columns, default 1); its first line may name
the columns, e.g.:
  x1,x2,label
  0.3,-1.5,1
  -0.75,0.5,0
Ctrl-C cancels the training; the server then saves nothing.
"""

# -p, --opt and --init-param: repeatable, each one KEY=VALUE pair.
KEY_VALUES: dict[str, Any] = dict(action="append", type=read.key_value, metavar="KEY=VALUE")


def _train_source(args: argparse.Namespace) -> tuple[ComponentSpec | None, dict[str, Any]]:
    """The task spec, or the rows read from a file as `table=` or `data=` (a task of that
    name), that the arguments ask for."""
    given = [kind for kind in ("table", "data") if getattr(args, kind) is not None]
    if not given:
        if args.outputs is not None:
            raise UsageError("--outputs only applies with --table or --data")
        if args.task is None and args.start_from:
            if args.param:  # they would be dropped: the stored version's task is sent as it is
                raise UsageError("-p/--param with --from needs the TASK they belong to")
            return None, {}  # the stored version's task
        if args.task is None:
            raise UsageError("give a TASK (see 'gatelearn tasks'), --table FILE or --data FILE")
        params = dict(args.param or [])
        return (args.task, params) if params else args.task, {}
    if len(given) > 1:
        raise UsageError("give --table or --data, not both")
    kind = given[0]
    if args.task not in (None, kind):
        raise UsageError(f"with --{kind}, TASK must be {kind!r} or left out, not {args.task!r}")
    if args.param:
        raise UsageError(f"-p/--param does not apply with --{kind}")
    rows = read.read_table(getattr(args, kind), args.outputs or 1, header=kind == "data")
    return None, {kind: rows}


def _with_params(name: str | None, params: dict[str, Any]) -> ComponentSpec | None:
    """A component spec; parameters without a name go to the server's default component
    (sent with an empty name, so the server's defaults stay their one source)."""
    if name is None and not params:
        return None
    return (name or "", params)


def cmd_train(args: argparse.Namespace, ctx: Context) -> int:
    task, rows = _train_source(args)
    opt_params = dict(args.opt or [])
    if args.lr is not None:
        opt_params["lr"] = args.lr
    options = TrainOptions(
        epochs=args.epochs,
        batch_size=args.batch_size or 0,
        shuffle=False if args.no_shuffle else None,
        weight_decay=args.weight_decay or 0.0,
        stop_when_solved=False if args.no_stop_when_solved else None,
        margin=args.margin,
        loss_target=args.loss_target,
        patience=args.patience or 0,
        min_delta=args.min_delta or 0.0,
        validation_share=args.validation_share or 0.0,
        record_every=args.record_every or 0,
    )
    settings: dict[str, Any] = dict(
        **rows,
        hidden=args.hidden,
        activations=args.activation or (),
        bias=False if args.no_bias else None,
        loss=args.loss,
        optimizer=_with_params(args.optimizer, opt_params),
        initializer=_with_params(args.init, dict(args.init_param or [])),
        options=None if options == TrainOptions() else options,  # keep the record minimal
        seed=args.seed or 0,
        population=args.population or 1,
        dtype=args.dtype,
        start_from=args.start_from or "",
    )
    bar = None if args.quiet else ProgressBar(sys.stderr)
    with ctx.client() as client:
        try:
            outcome = client.train(
                args.name, task, on_progress=bar.update if bar else None, **settings
            )
        except GateLearnError as error:
            if error.code == grpc.StatusCode.DEADLINE_EXCEEDED:
                # The deadline is the client's: it may pass while the server saves the model.
                raise GateLearnError(
                    error.code,
                    f"{error.details}; the training ran out of time (--timeout): nothing was "
                    f"saved, unless the time ran out during the save itself (`{PROG} models "
                    f"{args.name}` shows)",
                ) from None
            raise
        except KeyboardInterrupt:
            # Leaving client.train closed the stream, which cancels the run on the server.
            if bar:
                bar.close()  # before the message, so it starts on a clean line
            print(f"{PROG}: training cancelled; nothing saved", file=sys.stderr)
            return EXIT_INTERRUPTED
        finally:
            if bar:
                bar.close()
    ctx.emit(outcome, [show.outcome_line(outcome)])
    if args.require_solved and not outcome.metrics.solved:
        print(f"{PROG}: {outcome.model} is saved but not solved", file=sys.stderr)
        return EXIT_UNSOLVED
    return EXIT_OK


def add_train(add: AddCommand) -> None:
    p = add(
        "train",
        cmd_train,
        "train a model and save it as a new version",
        epilog=TRAIN_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Train a network on a task and save it as the next version of NAME.\n"
        "Options left out take the server's defaults: 'gatelearn plugins' lists the default\n"
        "recipe and every component's parameters, 'gatelearn show' what a model used.",
    )
    p.add_argument(
        "task",
        nargs="?",
        metavar="TASK",
        help="the task to learn (see 'gatelearn tasks'); 'table' or left out with --table, "
        "'data' or left out with --data",
    )
    p.add_argument("--name", required=True, help="the model's name")
    p.add_argument(
        "--from",
        dest="start_from",
        metavar="NAME[:VERSION]",
        help="warm start: continue this stored version (default: its latest) with its "
        "weights, optimizer state and settings; options given here replace its settings",
    )
    p.add_argument("-p", "--param", help="a task parameter (repeatable)", **KEY_VALUES)
    p.add_argument(
        "--table",
        metavar="CSV",
        help="learn the truth table in this CSV file (- for stdin) instead of a task",
    )
    p.add_argument(
        "--data",
        metavar="CSV",
        help="learn the real-valued rows and 0/1 or -1/+1 labels in this CSV file (- for stdin)",
    )
    p.add_argument(
        "--outputs",
        type=read.count(1),
        metavar="K",
        help="with --table or --data: how many trailing columns are outputs (default: 1)",
    )
    net = p.add_argument_group("network")
    net.add_argument(
        "--hidden",
        type=read.hidden_units,
        metavar="8,8|none",
        help="hidden layer widths, or 'none' for no hidden layer",
    )
    net.add_argument(
        "--activation",
        action="append",
        type=read.component,
        metavar="NAME[:KEY=VALUE...]",
        help="given once: every hidden layer's (the output keeps its default); or repeated, "
        "one per layer after the inputs, hidden layers then the output",
    )
    net.add_argument("--no-bias", action="store_true", help="layers without bias vectors")
    dtype = net.add_mutually_exclusive_group()  # two ways to say it: never two answers
    read.add_dtype_argument(dtype)
    dtype.add_argument(
        "--float32", dest="dtype", action="store_const", const="float32", help="--dtype float32"
    )
    fit = p.add_argument_group("fitting")
    fit.add_argument("--loss", type=read.component, metavar="NAME", help="the loss function")
    fit.add_argument("--optimizer", metavar="NAME", help="the optimizer")
    fit.add_argument(
        "--opt",
        help="an optimizer parameter (repeatable; without --optimizer: the default's)",
        **KEY_VALUES,
    )
    fit.add_argument("--lr", type=float, metavar="X", help="learning rate: --opt lr=X")
    fit.add_argument("--init", metavar="NAME", help="the weight initializer")
    fit.add_argument(
        "--init-param",
        help="an initializer parameter (repeatable; without --init: the default's)",
        **KEY_VALUES,
    )
    fit.add_argument(
        "--seed",
        type=read.count(0),
        metavar="N",
        help="seed of the initial weights and sampling",
    )
    fit.add_argument(
        "--population",
        type=read.count(1),
        metavar="N",
        help="train N networks from seeds seed..seed+N-1 and keep the best",
    )
    loop = p.add_argument_group("training loop")
    loop.add_argument("--epochs", type=read.count(0), metavar="N", help="most updates to apply")
    loop.add_argument(
        "--batch-size",
        type=read.count(0),
        metavar="N",
        help="rows per update (0: all rows)",
    )
    loop.add_argument("--no-shuffle", action="store_true", help="keep the row order of minibatches")
    loop.add_argument("--weight-decay", type=float, metavar="X", help="L2 weight decay")
    loop.add_argument(
        "--margin",
        type=float,
        metavar="X",
        help="margin past the threshold that counts as solved, as a fraction of high - low",
    )
    loop.add_argument(
        "--no-stop-when-solved", action="store_true", help="keep training once solved"
    )
    loop.add_argument(
        "--loss-target", type=float, metavar="X", help="stop once the loss is at most X"
    )
    loop.add_argument(
        "--patience",
        type=read.count(0),
        metavar="N",
        help="stop after N epochs without improvement",
    )
    loop.add_argument(
        "--min-delta",
        type=float,
        metavar="X",
        help="the improvement --patience asks for",
    )
    loop.add_argument(
        "--record-every",
        type=read.count(1),
        metavar="N",
        help="record loss and accuracy into the model's history every N epochs "
        "(left out: every epoch, thinned evenly as the history grows)",
    )
    loop.add_argument(
        "--validation-share",
        type=float,
        metavar="X",
        help="hold out this share of the rows (0 to 0.5) and report their loss and accuracy; "
        "--patience then watches their loss",
    )
    p.add_argument("--quiet", action="store_true", help="no progress bar on stderr")
    p.add_argument(
        "--require-solved",
        action="store_true",
        help="exit with status 3 when the saved model is not solved (it is still saved)",
    )
