"""Pieces of the protobuf wire format, for the few messages server and client write by hand
(large or frequent ones, where building them as messages costs copies or time)."""

from __future__ import annotations

__all__ = ["LENGTH_DELIMITED", "field_tag", "varint"]

LENGTH_DELIMITED = 2  # the wire type of bytes, strings, messages and packed repeated numbers


def varint(value: int) -> bytes:
    """`value` (not negative) as a protobuf varint: 7 bits a byte, low first."""
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def field_tag(number: int) -> bytes:
    """The tag of length-delimited field `number`."""
    return varint(number << 3 | LENGTH_DELIMITED)
