"""Parameters nested deeper than the server accepts are refused before they are sent.

The server refuses them too (INVALID_ARGUMENT), but deeper than about 32 levels protobuf itself
cannot copy or parse them; checking the plain values first names the parameter instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_STRUCT_DEPTH", "too_deep"]

MAX_STRUCT_DEPTH = 20  # the server's fixed max_struct_depth (gatelearn.server.edge.nesting)


def _depth(value: Any) -> int:
    """Levels of mapping and list in a parameter value (0 for a number, string or bool)."""
    if isinstance(value, Mapping):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list | tuple):
        return 1 + max(map(_depth, value), default=0)
    return 0


def too_deep(value: Any, path: str) -> str | None:
    """The first parameter in `value` (plain data shaped like a request, e.g. an exported
    model) whose value nests deeper than MAX_STRUCT_DEPTH, `params` counting as one level:
    named like `model.layers[0].activation.params.alpha`; or None."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "params" and isinstance(item, Mapping):
                found = next(
                    (
                        f"{path}.params.{name}"
                        for name, param in item.items()
                        if 1 + _depth(param) > MAX_STRUCT_DEPTH
                    ),
                    None,
                )
            else:
                found = too_deep(item, f"{path}.{key}")
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            if found := too_deep(item, f"{path}[{index}]"):
                return found
    return None
