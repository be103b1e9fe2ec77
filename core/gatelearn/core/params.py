"""Declared parameters: what a component accepts, so a request can be checked before any work.

Every component lists its parameters as `Param` records (name, type, default, allowed range).
`resolve` turns the values a caller gave into the full, validated set, or raises `ParamError`
naming the parameter and the rule it broke.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["MAX_DESCRIPTION", "Param", "ParamError", "check_known", "declaration_error", "resolve"]

MAX_DESCRIPTION = 1000  # characters of a component's or parameter's description (ListPlugins)

_SCALAR_TYPES: dict[str, type | tuple[type, ...]] = {
    "int": int,
    "float": (int, float),
    "bool": bool,
    "str": str,
}


def _received(value: Any) -> str:
    """What a caller sent, in JSON and protobuf Struct terms (a caller never sees Python's
    types): `null`, `number 3.5`, `string "0.1"`, `bool true`, `list`, `object`."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"bool {json.dumps(value)}"
    if isinstance(value, int | float):
        return f"number {value:g}"
    if isinstance(value, str):
        return f"string {json.dumps(value[:40])}"
    return "object" if isinstance(value, Mapping) else "list"


class ParamError(ValueError):
    """A parameter value was missing, unknown, of the wrong type or out of range."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class Param:
    """One parameter a component accepts.

    `type` is "int" (an integral float such as 3.0 counts), "float", "bool", "str" for
    scalars, or "data" for structured values (weight matrices, table rows) that the component
    checks itself. `minimum`/`maximum` are
    inclusive bounds; `choices` limits a "str" to a set of names.
    """

    name: str
    type: str
    default: Any
    description: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()

    def check(self, value: Any) -> Any:
        """Return `value` converted to this parameter's type, or raise `ParamError`."""
        if self.type == "data":
            return value
        expected = _SCALAR_TYPES[self.type]
        # JSON and protobuf Struct carry every number as a double: 3.0 is a fine int.
        if self.type == "int" and isinstance(value, float) and value.is_integer():
            value = int(value)
        # bool is an int subclass; a flag is never a number and a number never a flag.
        if isinstance(value, bool) != (self.type == "bool") or not isinstance(value, expected):
            raise ParamError(self.name, f"expected {self.type}, got {_received(value)}")
        if self.type == "float" and isinstance(value, int | float):  # narrowed for the checker
            value = float(value)
            if not math.isfinite(value):
                raise ParamError(self.name, f"must be finite, got {value}")
        if self.minimum is not None and value < self.minimum:
            raise ParamError(self.name, f"must be >= {self.minimum}, got {value}")
        if self.maximum is not None and value > self.maximum:
            raise ParamError(self.name, f"must be <= {self.maximum}, got {value}")
        if self.choices and value not in self.choices:
            raise ParamError(self.name, f"must be one of {', '.join(self.choices)}, got {value!r}")
        return value


def check_known(params: tuple[Param, ...], names: Iterable[str]) -> None:
    """Refuse the first in sorted order of `names` that no parameter declares (the same one
    whatever order they came in); needs no value, so a caller can refuse an unknown name before
    reading what it was given."""
    declared = [p.name for p in params]
    unknown = sorted(set(names) - set(declared))
    if unknown:
        allowed = ", ".join(declared) or "none"
        raise ParamError(unknown[0], f"unknown parameter (accepted: {allowed})")


def resolve(params: tuple[Param, ...], given: Mapping[str, Any]) -> dict[str, Any]:
    """Return every declared parameter's value: the given one, checked, or its default."""
    check_known(params, given)
    declared = {p.name: p for p in params}
    return {
        name: param.check(given[name]) if name in given else param.default
        for name, param in declared.items()
    }


def declaration_error(params: object) -> str | None:
    """What is wrong with a component's `params` declaration, or None: it must be Param records
    of distinct, non-empty names, descriptions of at most MAX_DESCRIPTION characters and known
    types, each default passing its own rule (a "data" default: JSON without NaN), since
    requests are checked and ListPlugins lists them."""
    if not isinstance(params, tuple | list) or not all(isinstance(p, Param) for p in params):
        return "`params` is not a tuple of Param"
    seen: set[str] = set()
    for param in params:
        if not isinstance(param.name, str) or not param.name or param.name in seen:
            return f"parameter name {param.name!r} is empty, not a string or declared twice"
        seen.add(param.name)
        if not isinstance(param.description, str) or len(param.description) > MAX_DESCRIPTION:
            return f"parameter {param.name!r} has no description of <= {MAX_DESCRIPTION} characters"
        known = (*_SCALAR_TYPES, "data")
        if param.type not in known:  # a tuple: an unhashable type is refused, not raised
            return f"parameter {param.name!r} has type {param.type!r} (known: {', '.join(known)})"
        try:
            if param.type == "data":
                json.dumps(param.default, allow_nan=False)
            else:
                param.check(param.default)
        except (ParamError, TypeError, ValueError) as error:
            return f"parameter {param.name!r} has a default its declaration refuses: {error}"
    return None
