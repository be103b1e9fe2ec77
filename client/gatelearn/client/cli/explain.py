"""`gatelearn explain`: what a stored model computes, read back from its weights."""

from __future__ import annotations

import argparse

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context
from gatelearn.client.types import ExplainedOutput, Explanation, HiddenUnit

__all__ = ["add_explain", "cmd_explain"]

TABLE_ROWS_SHOWN = 16  # truth-table rows printed per output (4 inputs); --json has more


def _row_bits(index: int, inputs: int) -> str:
    return " ".join(str(index >> (inputs - 1 - i) & 1) for i in range(inputs))


def _output_lines(index: int, output: ExplainedOutput, explanation: Explanation) -> list[str]:
    label = f"output {index + 1}"
    if not explanation.boolean_inputs:
        region = output.region or "not a conjunction or disjunction of the hidden units"
        return [f"{label.ljust(10)} region: {region}"]
    how = "exact" if output.exact else "heuristic, may not be minimal"
    lines = [
        f"{label.ljust(10)} {output.formula}   ({how}; {output.products} products, "
        f"{output.literals} literals)"
    ]
    if output.equals:
        lines.append(f"{'':10} computes {', '.join(output.equals)}")
    names = explanation.input_names
    shown = min(len(output.values), TABLE_ROWS_SHOWN)
    lines += show.table(
        [" ".join(names), "OUT", "MARGIN"],
        [
            (_row_bits(r, len(names)), int(output.values[r]), f"{output.margins[r]:.3g}")
            for r in range(shown)
        ],
        right=(2,),
        indent="  ",
    )
    if explanation.total_rows > shown:
        lines.append(
            f"  ... ({explanation.total_rows} rows; --json has the first {len(output.values)})"
        )
    return lines


def _unit_note(unit: HiddenUnit) -> str:
    notes = ["dead"] if unit.dead else []
    if unit.duplicate_of is not None:
        notes.append(f"same as h{unit.duplicate_of + 1}")
    return ", ".join(notes)


def _lines(explanation: Explanation) -> list[str]:
    matches = "matches" if explanation.matches_trained_task else "does NOT match"
    lines = [
        f"model      {explanation.model}  (trained on {explanation.trained_task}: {matches} it)"
    ]
    if explanation.boolean_inputs:
        lines.append(f"equals     {', '.join(explanation.equals) or 'no installed task'}")
    for index, output in enumerate(explanation.outputs):
        lines += _output_lines(index, output, explanation)
    if explanation.hidden_units:
        lines.append("hidden units (first layer; on when above the activation's midpoint)")
        lines += show.table(
            ["UNIT", "ON WHEN", "COMPUTES", "NOTE"],
            [
                (f"h{i + 1}", u.inequality, u.formula, _unit_note(u))
                for i, u in enumerate(explanation.hidden_units)
            ],
            indent="  ",
        )
    return lines


def cmd_explain(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        explanation = client.explain(name, version=version)
    ctx.emit(explanation, _lines(explanation))
    return EXIT_OK


def add_explain(add: AddCommand) -> None:
    summary = (
        "show what a model computes: its formula, truth table and hidden units, or its "
        "region for real inputs"
    )
    read.add_model_argument(add("explain", cmd_explain, summary))
