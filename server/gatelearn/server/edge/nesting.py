"""How deeply Struct values nest in a request, read from its wire bytes before it is parsed.

The protobuf parser refuses messages nested over 100 levels without saying where, and a
Struct level costs three of them (Struct, map entry, Value): about 32 Struct levels fit. So
requests are held to MAX_STRUCT_DEPTH, checked here first so the refusal can name the field.
Only message fields whose type can hold a Struct are read; malformed bytes are left to the
parser to report.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor

__all__ = ["MAX_STRUCT_DEPTH", "too_deep"]

MAX_STRUCT_DEPTH = 20  # Struct and list levels, the outermost Struct counting as one
STRUCT, LIST_VALUE = "google.protobuf.Struct", "google.protobuf.ListValue"
_NESTING = (STRUCT, LIST_VALUE)
KEY_CHARS = 64  # of a parameter name echoed in a status message
_LENGTH_DELIMITED = 2
_SKIP = {0: 0, 1: 8, 5: 4}  # wire type -> bytes after the tag (0: a varint)


class _Malformed(Exception):
    """The bytes are not well-formed protobuf; the parser will say so."""


def _varint(data: memoryview, position: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if position >= len(data) or shift > 63:
            raise _Malformed
        byte = data[position]
        value |= (byte & 0x7F) << shift
        position, shift = position + 1, shift + 7
        if not byte & 0x80:
            return value, position


def _fields(data: memoryview) -> Iterator[tuple[int, memoryview]]:
    """(field number, body) of each length-delimited field in `data`."""
    position = 0
    while position < len(data):
        tag, position = _varint(data, position)
        wire = tag & 7
        if wire == _LENGTH_DELIMITED:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise _Malformed
            yield tag >> 3, data[position : position + length]
            position += length
        elif wire == 0:
            _, position = _varint(data, position)
        elif wire in _SKIP:
            position += _SKIP[wire]
        else:  # groups, invalid wire types
            raise _Malformed


@functools.cache
def _can_nest(descriptor: Descriptor) -> bool:
    """Whether a message of this type can hold a Struct at any depth."""
    return _reaches(descriptor, frozenset())


def _reaches(descriptor: Descriptor, seen: frozenset[str]) -> bool:
    if descriptor.full_name in _NESTING:
        return True
    seen |= {descriptor.full_name}
    return any(
        field.message_type is not None
        and field.message_type.full_name not in seen
        and _reaches(field.message_type, seen)
        for field in descriptor.fields
    )


def _key(entry: memoryview) -> str:
    """The key of a Struct's map entry (field 1), cut short: it goes into a status message."""
    for number, body in _fields(entry):
        if number == 1:
            key = bytes(body[: KEY_CHARS * 4]).decode("utf-8", "replace")
            return key if len(key) <= KEY_CHARS else key[:KEY_CHARS] + "…"
    return ""


def _child_path(
    path: str,
    descriptor: Descriptor,
    field: FieldDescriptor,
    index: int,
    body: memoryview,
    depth: int,
) -> str:
    """How a field of a `descriptor` message at `path` is named in a status message: down to
    the key of the outermost Struct (optimizer.params.lr), as its parameter's name."""
    if descriptor.full_name == STRUCT and depth == 1:
        return f"{path}.{_key(body)}"
    if descriptor.full_name.startswith("google.protobuf."):
        return path
    named = f"{path}.{field.name}" if path else field.name
    return f"{named}[{index}]" if field.is_repeated else named


def _deepest(data: memoryview, descriptor: Descriptor, path: str, depth: int) -> str | None:
    if descriptor.full_name in _NESTING:
        depth += 1
        if depth > MAX_STRUCT_DEPTH:
            return path
    seen: Counter[int] = Counter()
    for number, body in _fields(data):
        field = descriptor.fields_by_number.get(number)
        if field is None or field.message_type is None or not _can_nest(field.message_type):
            continue
        child = _child_path(path, descriptor, field, seen[number], body, depth)
        seen[number] += 1
        if found := _deepest(body, field.message_type, child, depth):
            return found
    return None


def too_deep(data: bytes, descriptor: Descriptor) -> str | None:
    """The field of a `descriptor` message in `data` whose Struct values nest deeper than
    MAX_STRUCT_DEPTH, or None (also for bytes that are not well-formed)."""
    if not _can_nest(descriptor):
        return None
    try:
        return _deepest(memoryview(data), descriptor, "", 0)
    except _Malformed:
        return None
