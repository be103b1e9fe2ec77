"""An explained model as an Explanation message, with its rows capped at `ROWS_ANSWERED`."""

from __future__ import annotations

from gatelearn.core.readback import OutputReading, UnitReading, input_names
from gatelearn.server.models.explain import Explained
from gatelearn.v1 import gatelearn_pb2 as pb

__all__ = ["ROWS_ANSWERED", "explanation"]

ROWS_ANSWERED = 1024  # rows of values and margins per output; the formula covers them all


def _output(reading: OutputReading, equals: list[str], names: list[str]) -> pb.ExplainedOutput:
    message = pb.ExplainedOutput(
        values=reading.values[:ROWS_ANSWERED].tolist(),
        margins=reading.margins[:ROWS_ANSWERED].tolist(),
        equals=equals,
        region=reading.region,
    )
    if reading.sop is not None:
        message.formula, message.exact = reading.sop.text(names), reading.sop.exact
        message.products, message.literals = len(reading.sop.products), reading.sop.literals
    return message


def _unit(unit: UnitReading, names: list[str]) -> pb.HiddenUnit:
    message = pb.HiddenUnit(
        weights=unit.weights.tolist(), bias=unit.bias, inequality=unit.inequality, dead=unit.dead
    )
    if unit.sop is not None:
        message.formula, message.exact = unit.sop.text(names), unit.sop.exact
    if unit.duplicate_of is not None:
        message.duplicate_of = unit.duplicate_of
    return message


def explanation(explained: Explained) -> pb.Explanation:
    reading = explained.reading
    names = input_names(explained.inputs)
    return pb.Explanation(
        model=pb.ModelRef(name=explained.name, version=explained.version),
        boolean_inputs=explained.boolean,
        input_names=names,
        threshold=explained.threshold,
        total_rows=explained.total_rows,
        outputs=[
            _output(o, e, names)
            for o, e in zip(reading.outputs, explained.output_equals, strict=True)
        ],
        hidden_units=[_unit(u, names) for u in reading.units],
        equals=explained.equals,
        trained_task=explained.trained_task,
        matches_trained_task=explained.matches_trained_task,
    )
