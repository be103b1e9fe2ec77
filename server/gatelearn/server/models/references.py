"""Model references as requests write them: "NAME", "NAME:VERSION" or "NAME@ALIAS".

Model and alias names never hold ':' or '@' (see checks.check_name), so the first '@' or the
last ':' marks what follows the name. Only the form is checked here: a name or alias that
breaks the naming rules cannot be stored, so looking it up answers NOT_FOUND, and a stored
name stays reachable even if max_name_length is lowered later.
"""

from __future__ import annotations

import re
import reprlib
from typing import NamedTuple

from gatelearn.server.errors import InvalidRequest

__all__ = ["MAX_VERSION", "Reference", "parse_reference"]

MAX_VERSION = 2**32 - 1  # versions are uint32 in the API
_NUMBER = re.compile(r"[0-9]{1,10}")  # ASCII digits only: int() reads other scripts' too


class Reference(NamedTuple):
    """A model version as a request names it: by number (0: the latest) or by alias."""

    name: str
    version: int = 0
    alias: str = ""


def parse_reference(text: str, version: int, field: str) -> Reference:
    """The reference in request field `field`, given with `version`, the request's version
    field (its sibling: `requests[2].version` beside `requests[2].model`)."""
    if "@" not in text and ":" not in text and text:  # a plain name, as most calls give
        return Reference(text, version)
    shown = reprlib.repr(text)
    version_field = f"{field.rpartition('.')[0]}.version".lstrip(".")
    if not text:
        raise InvalidRequest(field, "required")
    name, at, alias = text.partition("@")
    if at:
        if not name or not alias:
            raise InvalidRequest(field, f"expected NAME@ALIAS, got {shown}")
        if version:
            raise InvalidRequest(
                version_field, f"must be 0 when {field} names an alias, got {version}"
            )
        return Reference(name, alias=alias)
    name, _, number = text.rpartition(":")
    if not name or not _NUMBER.fullmatch(number) or not 1 <= int(number) <= MAX_VERSION:
        raise InvalidRequest(
            field, f"expected NAME:VERSION with VERSION 1 to {MAX_VERSION}, got {shown}"
        )
    if version and version != int(number):
        raise InvalidRequest(
            version_field, f"{version} differs from the version in {field} ({shown})"
        )
    return Reference(name, int(number))
