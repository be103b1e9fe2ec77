"""How large the answers about a model can get, so that a model which could never be read back
(GetModel, ExportModel, Evaluate over max_message_bytes) is refused when it is trained or
imported rather than stored. Sizes are upper bounds of the protobuf wire encoding."""

from __future__ import annotations

from collections.abc import Sequence

from gatelearn.server.errors import InvalidRequest
from gatelearn.server.limits import Limits

__all__ = [
    "SLACK",
    "check_fits",
    "evaluate_bytes",
    "history_bytes",
    "layers_bytes",
    "packed_answer_bytes",
    "recipe_bytes",
    "rows_answer_bytes",
]

SLACK = 4096  # names, metrics, shapes and tags around the arrays
_FIELD = 1 + 5  # a field's tag and its length, at most


def _doubles(count: int) -> int:
    """A packed repeated double field of `count` values."""
    return _FIELD + 8 * count


def evaluate_bytes(rows: int, inputs: int, outputs: int) -> int:
    """An EvaluateResponse over `rows` rows: inputs, targets, outputs and a flag per row."""
    return rows * (_FIELD + _doubles(inputs) + 2 * _doubles(outputs) + 2) + SLACK


def rows_answer_bytes(rows: int, outputs: int) -> int:
    """A PredictResponse answering `rows` rows as Rows: outputs and labels."""
    return rows * 2 * (_FIELD + _doubles(outputs)) + SLACK


def packed_answer_bytes(rows: int, outputs: int, itemsize: int, label_bits: bool) -> int:
    """A PredictResponse answering `rows` packed rows: outputs of `itemsize` bytes each, labels
    as bits or packed like the outputs."""
    values = rows * outputs
    labels = (values + 7) // 8 if label_bits else values * itemsize
    return 2 * _FIELD + values * itemsize + labels + SLACK


def layers_bytes(sizes: Sequence[int], bias: bool) -> int:
    """An export's layers: every weight matrix and bias vector of one network."""
    return sum(
        _FIELD + _doubles(fan_in * fan_out) + (_doubles(fan_out) if bias else 0) + 64
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True)
    )


def recipe_bytes(request: int) -> int:
    """The Recipe a Train request of `request` bytes makes. Its numbers become `Struct` values
    (11 bytes each where a packed double takes 8, plus a list per row): inline rows and explicit
    weights take up to 1.5 times what the request gave them."""
    return request * 3 // 2 + SLACK


def history_bytes(points: int) -> int:
    """A History of `points` recorded epochs (epoch, loss, accuracy)."""
    return 3 * _FIELD + points * (10 + 8 + 8)


def check_fits(answer: str, size: int, field: str, limits: Limits) -> None:
    """Refuse, naming `field`, a model whose `answer` would be over max_message_bytes."""
    if size > limits.max_message_bytes:
        raise InvalidRequest(
            field,
            f"the model's {answer} answer would take up to {size} bytes; at "
            f"most {limits.max_message_bytes} (limit max_message_bytes)",
        )
