"""`gatelearn predict` and `gatelearn eval`: run a stored model on rows, or score it on a table."""

from __future__ import annotations

import argparse
from dataclasses import asdict, replace
from typing import Any

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context, UsageError
from gatelearn.client.client import GateLearnError
from gatelearn.client.types import ModelRef

__all__ = ["add_eval", "add_predict", "cmd_eval", "cmd_predict"]


# Rows of a --csv file read, sent and printed at a time: the file's size does not matter (a
# 2-million-row file held 1.3 GB when read whole), and answers start before it is all read.
CSV_BLOCK_ROWS = 65536


def cmd_predict(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    if args.rows and args.csv:
        raise UsageError("give rows as arguments or with --csv, not both")
    if not args.rows:
        return _predict_csv(args.csv or "-", name, version, ctx)
    with ctx.client() as client:
        prediction = client.predict(name, args.rows, version=version)
    lines, _ = _lines(args.rows, prediction.outputs, prediction.labels, 0)
    ctx.emit({**asdict(prediction), "inputs": args.rows}, lines)
    return EXIT_OK


def _predict_csv(path: str, name: str, version: int, ctx: Context) -> int:
    """Answer a file's rows a block at a time, packed (needs NumPy), every block by the version
    the first row resolved to; printed as each block is answered, or gathered into one JSON
    document with --json. A block refused is named by its rows in the whole input."""
    rows: list[list[float]] = []
    outputs: list[list[float]] = []
    labels: list[list[float]] = []
    width, columns, start = 0, 0, 0
    model: ModelRef | None = None
    with ctx.client() as client:
        for block in read.row_blocks(path, CSV_BLOCK_ROWS):
            if model is None:  # one version answers the whole input, as one call would
                model = client.predict(name, block[:1], version=version).model
                columns = len(block[0])
            try:
                packed_outputs, packed_labels = client.predict_array(
                    model.name, _matrix(block, columns), version=model.version
                )
            except GateLearnError as error:
                where = f"rows[{start}:{start + len(block)}] of the input: " if start else ""
                raise GateLearnError(error.code, where + error.details) from None
            start += len(block)
            if ctx.json:
                rows += block
                outputs += packed_outputs.tolist()
                labels += packed_labels.tolist()
                continue
            lines, width = _lines(block, packed_outputs.tolist(), packed_labels.tolist(), width)
            print("\n".join(lines), flush=True)
    if ctx.json and model is not None:
        result = {"model": asdict(model), "outputs": outputs, "labels": labels, "inputs": rows}
        ctx.emit(result, [])
    return EXIT_OK


def _lines(
    rows: list[list[float]], outputs: list[list[float]], labels: list[list[float]], width: int
) -> tuple[list[str], int]:
    """`inputs  ->  outputs  (labels)` for each row, inputs padded to at least `width`; and
    the width they took (the next block's least)."""
    inputs = [show.numbers(r) for r in rows]
    width = max(width, *(len(i) for i in inputs))
    lines = [
        f"{i.ljust(width)}  ->  {show.numbers(out, '.4f')}  ({show.numbers(label)})"
        for i, out, label in zip(inputs, outputs, labels, strict=True)
    ]
    return lines, width


def _matrix(rows: list[list[float]], columns: int) -> Any:
    """Rows of a file as one float64 array; they must all hold `columns` values, as the first
    row of the file does."""
    import numpy as np  # only here: the rest of the command line runs without NumPy

    if (widths := {len(r) for r in rows}) != {columns}:
        raise read.InputError(
            f"rows of different lengths ({', '.join(map(str, sorted(widths | {columns})))} values)"
        )
    return np.array(rows, dtype=np.float64)


def cmd_eval(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    if args.csv is None and args.outputs is not None:
        raise UsageError("--outputs only applies with --csv")
    table = None if args.csv is None else read.read_table(args.csv, args.outputs or 1)
    with ctx.client() as client:
        evaluation = client.evaluate(name, version=version, table=table)
    right = sum(r.correct for r in evaluation.rows)
    rows = [r for r in evaluation.rows if not (args.wrong and r.correct)]
    shown = rows[: args.limit]
    lines = show.table(
        ["INPUTS", "TARGETS", "OUTPUTS", "OK"],
        [
            (
                show.numbers(r.inputs),
                show.numbers(r.targets),
                show.numbers(r.outputs, ".4f"),
                "yes" if r.correct else "NO",
            )
            for r in shown
        ],
    )
    if len(shown) < len(rows):
        lines.append(
            f"    ... ({len(rows) - len(shown)} more{' wrong' if args.wrong else ''} rows)"
        )
    lines.append(
        f"{evaluation.model}  {right}/{len(evaluation.rows)} rows right  "
        f"accuracy {show.share(evaluation.accuracy)}  "
        f"min margin {show.margin_text(evaluation.min_margin)}"
    )
    ctx.emit(replace(evaluation, rows=shown), lines)
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
    predict.add_argument(
        "--csv",
        metavar="FILE",
        help="read rows from a CSV file (- = stdin), of any size: read, answered and printed "
        "a block at a time (with --json, gathered first), packed",
    )


def add_eval(add: AddCommand) -> None:
    evaluate = add("eval", cmd_eval, "check a model on its own task, or on a CSV table")
    read.add_model_argument(evaluate)
    evaluate.add_argument(
        "--csv", metavar="FILE", help="a table: inputs then outputs on each row (- = stdin)"
    )
    evaluate.add_argument(
        "--limit",
        type=read.count(0),
        metavar="N",
        help="show at most N rows (the summary counts them all)",
    )
    evaluate.add_argument("--wrong", action="store_true", help="show only the wrong rows")
    evaluate.add_argument(
        "--outputs",
        type=read.count(1),
        metavar="K",
        help="how many trailing columns of --csv are outputs (default: 1)",
    )
