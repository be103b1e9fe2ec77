"""Reading a trained network back in the terms of its task.

For boolean inputs: the function it computes at its threshold over the whole truth table (each
row's value and margin) with a minimal formula per output, and what each first-layer unit
computes when read at its activation's midpoint. For real-valued inputs: each first-layer unit
as a half-space of the inputs, and, when the outputs are a conjunction or disjunction of those,
the region as that formula. Pure NumPy, on one network (P = 1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from gatelearn.core.logic import EXACT_MAX_INPUTS, Cube, Sop, minimal_sop
from gatelearn.core.network import Network

__all__ = [
    "MAX_TABLE_VALUES",
    "REGION_MAX_UNITS",
    "OutputReading",
    "TableReading",
    "UnitReading",
    "half_space",
    "input_names",
    "read_region",
    "read_table",
    "truth_table",
]

MAX_TABLE_VALUES = 1 << 18  # rows x outputs of a table read back (16 inputs, 4 outputs)
UNIT_FORMULA_MAX_INPUTS = EXACT_MAX_INPUTS  # first-layer units get a formula up to this many
REGION_MAX_UNITS = EXACT_MAX_INPUTS  # first-layer units a region is read over, at most
UNIT_BLOCK = 4096  # rows whose unit values are computed at once

Array = NDArray[np.float64]
Bits = NDArray[np.bool_]


def input_names(n: int) -> list[str]:
    return [f"x{i + 1}" for i in range(n)]


def truth_table(n: int) -> Array:
    """Every row of n bits, x1 the most significant: 00, 01, 10, 11 for n = 2."""
    rows = np.arange(1 << n)[:, None]
    return ((rows >> np.arange(n - 1, -1, -1)) & 1).astype(np.float64)


@dataclass(frozen=True)
class UnitReading:
    """A first-layer unit: its weights, its half-space `w·x + b > midpoint` in words, and over
    the rows read (the truth table, or a task's points) whether it is ever on and off."""

    weights: Array
    bias: float
    inequality: str
    dead: bool  # the same on every row
    duplicate_of: int | None  # the first earlier unit with the same value on every row
    sop: Sop | None  # boolean inputs only, up to UNIT_FORMULA_MAX_INPUTS of them


@dataclass(frozen=True)
class OutputReading:
    """One output: its value on each row (above the threshold) and how far past it, its
    minimal formula (boolean inputs), or its region over the units' half-spaces (real ones)."""

    values: Bits
    margins: Array
    sop: Sop | None
    region: str  # "" when not a conjunction or disjunction of the first layer's half-spaces


@dataclass(frozen=True)
class TableReading:
    outputs: list[OutputReading]
    units: list[UnitReading]


def read_table(network: Network, threshold: float) -> TableReading:
    """A boolean-input network over its whole truth table."""
    n = network.sizes[0]
    rows = truth_table(n)
    outputs = network.predict(rows)[..., 0].astype(np.float64)
    readings = []
    for column in outputs.T:
        values = column > threshold
        readings.append(OutputReading(values, np.abs(column - threshold), minimal_sop(values), ""))
    with_formulas = n <= UNIT_FORMULA_MAX_INPUTS
    return TableReading(readings, _units(network, rows, with_formulas))


def read_region(network: Network, points: Array, threshold: float) -> TableReading:
    """A real-input network over `points` (a task's rows): its units as half-spaces and each
    output as a formula over them, when the units' on/off pattern decides it on every point and
    that formula is a conjunction or a disjunction (patterns never seen may go either way).
    Regions are read for up to REGION_MAX_UNITS units (2^units patterns to minimise over)."""
    units = _units(network, points, with_formulas=False)
    patterns = None
    if len(units) <= REGION_MAX_UNITS:
        values = np.unpackbits(_unit_values(network, points), axis=0, count=len(points))
        patterns = _patterns(values.astype(bool))
    outputs = network.predict(points)[..., 0].astype(np.float64)
    readings = []
    for column in outputs.T:
        on = column > threshold
        region = "" if patterns is None else _region(patterns, on, units)
        readings.append(OutputReading(on, np.abs(column - threshold), None, region))
    return TableReading(readings, units)


# ---------------------------------------------------------------- first-layer units
def _unit_values(network: Network, rows: Array) -> NDArray[np.uint8]:
    """Each first-layer unit on or off on each row, packed 8 rows a byte: (bytes, units).

    Computed `UNIT_BLOCK` rows at a time, so a 16-input table of 1024 units takes 8 MB."""
    layer = network.layers[0]
    weights = layer.weights[..., 0].astype(np.float64)
    packed = []
    for start in range(0, len(rows), UNIT_BLOCK):
        z = rows[start : start + UNIT_BLOCK] @ weights
        if layer.bias is not None:
            z += layer.bias[:, 0]
        packed.append(np.packbits(z > layer.activation.midpoint_z, axis=0))
    return np.concatenate(packed)


def _units(network: Network, rows: Array, with_formulas: bool) -> list[UnitReading]:
    layer = network.layers[0]
    weights = layer.weights[..., 0].astype(np.float64)
    biases = np.zeros(layer.fan_out) if layer.bias is None else layer.bias[:, 0].astype(float)
    packed = _unit_values(network, rows)
    names = input_names(network.sizes[0])
    readings: list[UnitReading] = []
    seen: dict[bytes, int] = {}
    for unit in range(layer.fan_out):
        column = np.unpackbits(packed[:, unit], count=len(rows)).astype(bool)
        key = packed[:, unit].tobytes()
        duplicate_of = seen.get(key)
        seen.setdefault(key, unit)
        inequality = half_space(
            weights[:, unit], float(biases[unit]), layer.activation.midpoint_z, names
        )
        readings.append(
            UnitReading(
                weights[:, unit],
                float(biases[unit]),
                inequality,
                dead=bool(column.all() or not column.any()),
                duplicate_of=duplicate_of,
                sop=minimal_sop(column) if with_formulas else None,
            )
        )
    return readings


def _number(value: float) -> str:
    """Three significant digits; "0" for what would print as 0 or -0."""
    return f"{value:.3g}" if abs(value) >= 5e-4 else "0"


def half_space(weights: Array, bias: float, midpoint: float, names: Sequence[str]) -> str:
    """`w·x + b > midpoint` in the inputs' terms: `x1 > 1` and `x2 < 1` for one input (divided
    through by its weight), `0.7·x1 - 1.2·x2 > 0.3` for several; `true`/`false` for none."""
    used = [(w, name) for w, name in zip(weights.tolist(), names, strict=True) if w != 0]
    right = midpoint - bias
    if not used:
        return "true" if right < 0 else "false"
    if len(used) == 1:
        weight, name = used[0]
        return f"{name} {'>' if weight > 0 else '<'} {_number(right / weight)}"
    terms = " ".join(f"{'-' if w < 0 else '+'} {_coefficient(abs(w))}{name}" for w, name in used)
    left = terms[2:] if terms.startswith("+") else "-" + terms[2:]
    return f"{left} > {_number(right)}"


def _coefficient(weight: float) -> str:
    return "" if _number(weight) == "1" else f"{_number(weight)}·"


# ---------------------------------------------------------------- regions
def _patterns(values: Bits) -> NDArray[np.int64]:
    """Each row's on/off pattern of the units as a number, unit 1 the most significant bit."""
    width = values.shape[1]
    return values.astype(np.int64) @ (1 << np.arange(width - 1, -1, -1, dtype=np.int64))


def _region(patterns: NDArray[np.int64], values: Bits, units: list[UnitReading]) -> str:
    """The output as a conjunction or disjunction of the units' half-spaces, or ""."""
    size = 1 << len(units)
    seen_on = np.bincount(patterns[values], minlength=size) > 0
    seen_off = np.bincount(patterns[~values], minlength=size) > 0
    if (seen_on & seen_off).any():  # the pattern alone does not decide the output
        return ""
    sop = minimal_sop(seen_on, ~(seen_on | seen_off))
    if len(sop.products) > 1 and any(cube.literals > 1 for cube in sop.products):
        return ""
    joiner = " or " if len(sop.products) > 1 else " and "
    words = [_literals(cube, units) for cube in sop.products]
    return joiner.join(w for ws in words for w in ws) or ("true" if sop.products else "false")


def _literals(cube: Cube, units: list[UnitReading]) -> list[str]:
    """A product's literals as the half-spaces they stand for (`not` flips the inequality)."""
    h = len(units)
    return [
        units[i].inequality if cube.value >> (h - 1 - i) & 1 else _negate(units[i].inequality)
        for i in range(h)
        if cube.fixed >> (h - 1 - i) & 1
    ]


def _negate(text: str) -> str:
    """The complement of a half-space's text: `x1 > 1` -> `x1 <= 1`."""
    for old, new in ((" >= ", " < "), (" <= ", " > "), (" > ", " <= "), (" < ", " >= ")):
        if old in text:
            return text.replace(old, new)
    return {"true": "false", "false": "true"}.get(text, text)
