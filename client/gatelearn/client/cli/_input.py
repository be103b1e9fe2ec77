"""Reading what the command line is given: key=value parameters, model names, rows of numbers.

The `argparse` types here raise `ArgumentTypeError`, which argparse turns into a usage error
(exit 2); problems found in files raise `InputError` (exit 1), naming the file and line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import IO, Any

from gatelearn.client.client import ComponentSpec

__all__ = [
    "InputError",
    "add_model_argument",
    "component",
    "count",
    "hidden_units",
    "key_value",
    "model_ref",
    "open_input",
    "positive_float",
    "read_json",
    "read_rows",
    "read_table",
    "row",
    "row_blocks",
]

Rows = list[list[float]]


class InputError(Exception):
    """A file or stdin holds something the command cannot use."""


def parse_value(text: str) -> Any:
    """JSON when it parses (3, 0.5, true, [[1, 0]]), else the text itself as a string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def key_value(text: str) -> tuple[str, Any]:
    """`key=value`, the value read by `parse_value`."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected key=value, got {text!r}")
    return key.strip(), parse_value(value)


def component(text: str) -> ComponentSpec:
    """`NAME` or `NAME:key=value[:key=value...]`, e.g. `leaky_relu:alpha=0.1`."""
    name, *pairs = text.split(":")
    if not name:
        raise argparse.ArgumentTypeError(f"expected NAME[:key=value...], got {text!r}")
    if not pairs:
        return name
    return name, dict(key_value(pair) for pair in pairs)


def model_ref(text: str) -> tuple[str, int]:
    """`NAME` (version 0, the latest), `NAME:VERSION` with VERSION >= 1, or `NAME@ALIAS`,
    which is sent as it is (the server resolves the alias) with version 0."""
    name, at, alias = text.partition("@")
    if at:
        if not name or not alias:
            raise argparse.ArgumentTypeError(f"expected NAME@ALIAS, got {text!r}")
        return text, 0
    name, sep, version = text.rpartition(":")
    if not sep:
        return text, 0
    if not name or not version.isascii() or not version.isdigit() or int(version) < 1:
        raise argparse.ArgumentTypeError(
            f"expected NAME, NAME:VERSION (VERSION a whole number >= 1) or NAME@ALIAS, got {text!r}"
        )
    return name, int(version)


def add_model_argument(parser: argparse.ArgumentParser, what: str = "the latest") -> None:
    """The `NAME[:VERSION|@ALIAS]` positional of the commands that act on one model."""
    parser.add_argument(
        "model",
        type=model_ref,
        metavar="NAME[:VERSION|@ALIAS]",
        help=f"the model, and its version or an alias naming one (default: {what})",
    )


def add_dtype_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """`--dtype`, the element type a training computes in (left out: the server's default)."""
    parser.add_argument(
        "--dtype",
        choices=("float64", "float32"),
        help="the element type to compute in (float32: about twice as fast on a large "
        "population, more on CPUs without AVX-512)",
    )


def positive_float(text: str) -> float:
    """A number > 0, e.g. a number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def count(minimum: int) -> Callable[[str], int]:
    """The type of a whole number >= `minimum`."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number >= {minimum}, got {text!r}")
        return value

    return parse


def hidden_units(text: str) -> list[int]:
    """`8,8` (one width per hidden layer) or `none` (no hidden layer)."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        units = [int(part) for part in text.split(",")]
    except ValueError:
        units = []
    if not units or min(units) < 1:
        raise argparse.ArgumentTypeError(
            f"expected widths >= 1 separated by commas (e.g. 8,8) or 'none', got {text!r}"
        )
    return units


def _numbers(text: str) -> list[float]:
    """Numbers separated by commas, or else by whitespace; ValueError naming the bad one."""
    fields = [f.strip() for f in text.split(",")] if "," in text else text.split()
    values = []
    for field in fields:
        try:
            values.append(float(field))
        except ValueError:
            raise ValueError(f"{field!r} is not a number" if field else "empty value") from None
    return values


def row(text: str) -> list[float]:
    """A row given as an argument: `0,1` or `"0 1"`."""
    try:
        values = _numbers(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"row {text!r}: {error}") from None
    if not values:
        raise argparse.ArgumentTypeError("empty row")
    return values


# A byte order mark some editors (Excel's "CSV UTF-8") put first: not part of the first value.
BOM = "\ufeff"


@contextmanager
def open_input(path: str) -> Iterator[IO[str]]:
    """The file at `path` (UTF-8, with or without a byte order mark), or stdin for `-`."""
    if path == "-":
        yield sys.stdin
    else:
        with open(path, encoding="utf-8-sig") as stream:
            yield stream


def _source_name(path: str) -> str:
    return "<stdin>" if path == "-" else path


def _text_lines(stream: IO[str], name: str) -> Iterator[str]:
    """The lines of `stream`; InputError for bytes that are not UTF-8 text (a binary file)."""
    try:
        yield from stream
    except UnicodeDecodeError as error:
        raise InputError(
            f"{name}: not UTF-8 text ({error.reason}); expected rows of numbers"
        ) from None


def iter_rows(path: str, header: bool = False) -> Iterator[list[float]]:
    """Rows of numbers, one a line, comma-separated, read as they come. Blank lines and `#`
    comments are skipped; with `header`, a first line that is not numbers (column names) is
    skipped too. InputError names the line of a bad row, or says there was none."""
    name = _source_name(path)
    first, any_row = True, False
    if path == "-" and sys.stdin.isatty():
        print("reading rows from stdin, one per line; end with Ctrl-D", file=sys.stderr)
    with open_input(path) as stream:
        for number, line in enumerate(_text_lines(stream, name), 1):
            text = line.removeprefix(BOM) if number == 1 else line
            text = text.split("#", 1)[0].strip()
            if not text:
                continue
            try:
                row = _numbers(text)
            except ValueError as error:
                if not (header and first):
                    raise InputError(f"{name}:{number}: {error}") from None
            else:
                any_row = True
                yield row
            first = False
    if not any_row:
        raise InputError(f"{name}: no rows")


def read_rows(path: str, header: bool = False) -> Rows:
    """Every row of `iter_rows`, read at once."""
    return list(iter_rows(path, header))


def row_blocks(path: str, size: int) -> Iterator[Rows]:
    """The rows of `iter_rows(path)` in lists of at most `size`, each as soon as it is full."""
    block: Rows = []
    for row in iter_rows(path):
        block.append(row)
        if len(block) == size:
            yield block
            block = []
    if block:
        yield block


def read_table(path: str, outputs: int, header: bool = False) -> tuple[Rows, Rows]:
    """A table or dataset from CSV: each row holds its inputs, then its `outputs` output
    values; `header` allows a first line of column names."""
    rows = read_rows(path, header)
    for number, values in enumerate(rows, 1):
        if len(values) <= outputs:
            raise InputError(
                f"{_source_name(path)}: row {number} has {len(values)} values; "
                f"needs at least one input and {outputs} output(s) "
                f"(see --outputs)"
            )
    return [r[:-outputs] for r in rows], [r[-outputs:] for r in rows]


def read_json(path: str) -> dict[str, Any]:
    """A JSON object from a file or stdin."""
    with open_input(path) as stream:
        try:
            data = json.load(stream)
        except ValueError as error:
            raise InputError(f"{_source_name(path)}: not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise InputError(f"{_source_name(path)}: expected a JSON object (an exported model)")
    return data
