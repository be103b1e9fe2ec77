"""How deeply Struct values nest in a request, how many keys an object holds and how many
entries a field has, read from its wire bytes before it is parsed.

The protobuf parser refuses messages nested over 100 levels without saying where, and a
Struct level costs three of them (Struct, map entry, Value): about 32 Struct levels fit. So
requests are held to MAX_STRUCT_DEPTH, checked here first so the refusal can name the field.
The parser also takes time growing faster than the keys of one Struct (1.3 million took 15 s),
so an object is held to MAX_STRUCT_KEYS, refused at the first key over, a repeated field (but
a list's elements) to MAX_LISTED entries, a field sent once to one copy, and a message to
MAX_FIELDS fields of any kind. Only message fields whose type can hold a Struct are read, and of
those only bodies long enough to break a limit;
lists that surely break none (numbers only, say) are passed over by the C regex engine. The
walk still costs a few microseconds per list element it reads (1.3 s for 16 MB of 4-number
lists). Malformed bytes are left to the parser to report, unless what comes before the
malformation already breaks a limit: the walk reads it first, and that limit is named.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Iterator

from google.protobuf.descriptor import Descriptor, FieldDescriptor

__all__ = ["MAX_FIELDS", "MAX_LISTED", "MAX_STRUCT_DEPTH", "MAX_STRUCT_KEYS", "overgrown"]

MAX_STRUCT_DEPTH = 20  # Struct and list levels, the outermost Struct counting as one
MAX_STRUCT_KEYS = 256  # keys of one object (a component's params, or an object inside them)
# Entries of one repeated field of messages that can hold params (activations, layers): far
# over what any request may list (max_layers, a Search's 16 activations), so that a flood of
# them is refused at once rather than walked (8 million empty activations took 9 s).
MAX_LISTED = 1024
# Fields of one message, known or not, scalar or not (a list's elements excepted, which are
# its length): the walk steps through each in Python (8 million empty unknown fields took 4 s).
MAX_FIELDS = 4 * MAX_LISTED
STRUCT, LIST_VALUE = "google.protobuf.Struct", "google.protobuf.ListValue"
_NESTING = (STRUCT, LIST_VALUE)
KEY_CHARS = 64  # of a parameter name echoed in a status message
_LENGTH_DELIMITED = 2
_SKIP = {0: 0, 1: 8, 5: 4}  # wire type -> bytes after the tag (0: a varint)
_GROUP_START, _GROUP_END = 3, 4  # wire types
# Each further level of nesting, and each key of an object, takes at least a field's tag and
# length (two bytes): a shorter body can break neither limit.
_LEVEL_BYTES = _KEY_BYTES = 2
# ListValue bytes that are numbers only: elements (field 1, 9 bytes) each holding
# Value.number_value (field 2, fixed64).
_NUMBERS = re.compile(rb"(?:\x0a\x09\x11.{8})*+", re.DOTALL)
# Bytes holding no Value.struct_value or list_value tag (0x2a, 0x32; written longer, a tag
# holds a byte >= 0x80).
_NO_NESTED_TAG = re.compile(rb"[^\x2a\x32\x80-\xff]*+")


class Overgrown(Exception):
    """A Struct value past a limit: `field` names it and `reason` says which limit."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


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


class _TooManyFields(Exception):
    """A message holds more fields than the walk reads."""


def _fields(data: memoryview, most: int | None = None) -> Iterator[tuple[int, memoryview]]:
    """(field number, body) of each length-delimited field in `data`, outside groups (which no
    message of this API has: the parser keeps one as an unknown field, so the walk steps over
    it to read what follows); _TooManyFields past `most` fields of any kind."""
    position = count = 0
    groups: list[int] = []  # the field numbers of the groups `position` is inside
    while position < len(data):
        count += 1
        if most is not None and count > most:
            raise _TooManyFields
        tag, position = _varint(data, position)
        wire, number = tag & 7, tag >> 3
        if wire == _LENGTH_DELIMITED:
            length, position = _varint(data, position)
            if position + length > len(data):
                raise _Malformed
            if not groups:
                yield number, data[position : position + length]
            position += length
        elif wire == 0:
            _, position = _varint(data, position)
        elif wire in _SKIP:
            position += _SKIP[wire]
        elif wire == _GROUP_START:
            groups.append(number)
        elif wire == _GROUP_END and groups and groups.pop() == number:
            pass
        else:
            raise _Malformed
    if groups:
        raise _Malformed


def _well_known(descriptor: Descriptor) -> bool:
    """Whether a message type is protobuf's own (Struct, its map entry, Value, ListValue)."""
    return descriptor.full_name.startswith("google.protobuf.")


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
    if _well_known(descriptor):
        return path
    named = f"{path}.{field.name}" if path else field.name
    return f"{named}[{index}]" if field.is_repeated else named


def _least(depth: int) -> int:
    """The shortest body of a field of a message at `depth` that could nest past
    MAX_STRUCT_DEPTH (the field may be one level itself, its body holding the rest) or hold an
    object over MAX_STRUCT_KEYS."""
    return min(_LEVEL_BYTES * (MAX_STRUCT_DEPTH - depth), _KEY_BYTES * (MAX_STRUCT_KEYS + 1))


@functools.cache
def _short_values(least: int) -> re.Pattern[bytes]:
    """ListValue bytes that are elements (field 1) whose bodies are all shorter than `least`
    (at most 127, a one-byte length): matched by the C regex engine, without backtracking."""
    bodies = b"|".join(re.escape(bytes([length])) + b".{%d}" % length for length in range(least))
    return re.compile(b"(?:\\x0a(?:" + bodies + b"))*+", re.DOTALL)


def _flat(data: memoryview, depth: int) -> bool:
    """Whether a ListValue's bytes at `depth` surely break no limit, checked by the C regex
    engine so that long lists are passed over at once: numbers only; or no byte that could be
    (or lengthen) the tag of a nested value; or elements all too short to break a limit (a
    list of 4 million empty lists took 5 s to walk one by one)."""
    if _NUMBERS.fullmatch(data) or _NO_NESTED_TAG.fullmatch(data):
        return True
    least = _least(depth)
    return least > 0 and _short_values(least).fullmatch(data) is not None


def _walk(data: memoryview, descriptor: Descriptor, path: str, depth: int) -> None:
    if descriptor.full_name in _NESTING:
        depth += 1
        if depth > MAX_STRUCT_DEPTH:
            raise Overgrown(
                path,
                f"Struct and list values nest at most {MAX_STRUCT_DEPTH} levels deep "
                "(limit max_struct_depth)",
            )
        if descriptor.full_name == LIST_VALUE and _flat(data, depth):
            return
    listed = descriptor.full_name == LIST_VALUE  # its elements are its length
    seen: Counter[int] = Counter()
    try:
        for number, body in _fields(data, None if listed else MAX_FIELDS):
            field = descriptor.fields_by_number.get(number)
            if field is None or field.message_type is None or not _can_nest(field.message_type):
                continue
            seen[number] += 1
            _count(descriptor, field, seen[number], path)
            if len(body) >= _least(depth):  # else too short to break a limit
                child = _child_path(path, descriptor, field, seen[number] - 1, body, depth)
                _walk(body, field.message_type, child, depth)
    except _TooManyFields:
        raise Overgrown(
            path or "request",
            f"a message holds at most {MAX_FIELDS} fields (limit max_message_fields)",
        ) from None


def _count(descriptor: Descriptor, field: FieldDescriptor, seen: int, path: str) -> None:
    """Refuse the `seen`th entry of `field` in a message at `path` when it is one too many: an
    object's keys past MAX_STRUCT_KEYS, a repeated field's entries past MAX_LISTED (a list's
    elements excepted), and a second copy of a field sent once, which the parser would merge
    into the first (copies of an object merged their keys past every limit)."""
    if descriptor.full_name == LIST_VALUE:
        return
    if descriptor.full_name == STRUCT and seen > MAX_STRUCT_KEYS:
        raise Overgrown(
            path, f"an object holds at most {MAX_STRUCT_KEYS} keys (limit max_struct_keys)"
        )
    named = f"{path}.{field.name}" if path else field.name
    if field.is_repeated and seen > MAX_LISTED:
        raise Overgrown(named, f"at most {MAX_LISTED} entries (limit max_listed_components)")
    if not field.is_repeated and seen > 1:
        raise Overgrown(named, "a field sent once appears again (its copies would be merged)")


def overgrown(data: bytes, descriptor: Descriptor) -> Overgrown | None:
    """What is wrong with the Struct values of a `descriptor` message in `data`: one nesting
    deeper than MAX_STRUCT_DEPTH, an object over MAX_STRUCT_KEYS keys, a field over MAX_LISTED
    entries or sent twice, or a message over MAX_FIELDS fields; None if none is (also for bytes
    that are not well-formed)."""
    if not _can_nest(descriptor):
        return None
    try:
        _walk(memoryview(data), descriptor, "", 0)
    except Overgrown as found:
        return found
    except _Malformed:
        return None
    return None
