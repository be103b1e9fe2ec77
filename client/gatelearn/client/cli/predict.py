"""`gatelearn predict` and `gatelearn eval`: run a stored model on rows, or score it on a table."""

from __future__ import annotations

import argparse
from dataclasses import asdict

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context, UsageError

__all__ = ["add_eval", "add_predict", "cmd_eval", "cmd_predict"]


def cmd_predict(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    if args.rows and args.csv:
        raise UsageError("give rows as arguments or with --csv, not both")
    rows = args.rows or read.read_rows(args.csv or "-")
    with ctx.client() as client:
        prediction = client.predict(name, rows, version=version)
    inputs = [show.numbers(r) for r in rows]
    width = max(len(i) for i in inputs)
    lines = [
        f"{i.ljust(width)}  ->  {show.numbers(out, '.4f')}  ({show.numbers(label)})"
        for i, out, label in zip(inputs, prediction.outputs, prediction.labels, strict=True)
    ]
    ctx.emit({**asdict(prediction), "inputs": rows}, lines)
    return EXIT_OK


def cmd_eval(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    if args.csv is None and args.outputs is not None:
        raise UsageError("--outputs only applies with --csv")
    table = None if args.csv is None else read.read_table(args.csv, args.outputs or 1)
    with ctx.client() as client:
        evaluation = client.evaluate(name, version=version, table=table)
    right = sum(r.correct for r in evaluation.rows)
    lines = show.table(
        ["INPUTS", "TARGETS", "OUTPUTS", "OK"],
        [
            (
                show.numbers(r.inputs),
                show.numbers(r.targets),
                show.numbers(r.outputs, ".4f"),
                "yes" if r.correct else "NO",
            )
            for r in evaluation.rows
        ],
    )
    lines.append(
        f"{evaluation.model}  {right}/{len(evaluation.rows)} rows right  "
        f"accuracy {show.share(evaluation.accuracy)}  "
        f"min margin {show.margin_text(evaluation.min_margin)}"
    )
    ctx.emit(evaluation, lines)
    return EXIT_OK


def add_predict(add: AddCommand) -> None:
    predict = add(
        "predict",
        cmd_predict,
        "run a model on rows of inputs",
        epilog="Rows are given as arguments (0,1 or '0 1'; put -- before rows "
        "starting with -), or as CSV lines with --csv or on stdin.",
    )
    read.add_model_argument(predict)
    predict.add_argument(
        "rows",
        nargs="*",
        type=read.row,
        metavar="ROW",
        help="input values separated by commas, e.g. 0,1",
    )
    predict.add_argument("--csv", metavar="FILE", help="read rows from a CSV file (- = stdin)")


def add_eval(add: AddCommand) -> None:
    evaluate = add("eval", cmd_eval, "check a model on its own task, or on a CSV table")
    read.add_model_argument(evaluate)
    evaluate.add_argument(
        "--csv", metavar="FILE", help="a table: inputs then outputs on each row (- = stdin)"
    )
    evaluate.add_argument(
        "--outputs",
        type=read.count(1),
        metavar="K",
        help="how many trailing columns of --csv are outputs (default: 1)",
    )
