"""Which plugin's code raised an error, so the status a user sees names the plugin to blame."""

from __future__ import annotations

import traceback
from types import FrameType

from gatelearn.core import Component
from gatelearn.plugins import Entry, Registry

__all__ = ["culprit", "failure"]


def culprit(error: BaseException, registry: Registry) -> str | None:
    """`plugin 'P' (KIND 'NAME')` for the innermost component whose code `error` passed
    through, or None when no component's code is in its traceback."""
    found = None
    tb = error.__traceback__
    while tb is not None:
        entry = _owner(tb.tb_frame, registry)
        if entry is not None:
            found = f"plugin {entry.plugin!r} ({entry.kind} {entry.name!r})"
        tb = tb.tb_next
    return found


def _owner(frame: FrameType, registry: Registry) -> Entry | None:
    """The component running in `frame`: its `self`, else the class whose body defines the
    frame's code (an optimizer's step is a function `bind` returns, which has no `self`)."""
    owner = frame.f_locals.get("self")
    module = frame.f_globals.get("__name__")
    qualname = frame.f_code.co_qualname
    by_self = by_code = None
    for entry in registry.entries():
        component = entry.component
        if isinstance(owner, Component) and component is type(owner):
            by_self = entry
        elif module == component.__module__ and qualname.startswith(f"{component.__qualname__}."):
            by_code = entry
    return by_self or by_code


def failure(error: BaseException, registry: Registry, where: str) -> str:
    """What raised `error` (a component's plugin, else the line it was raised at, else
    `where`), and what it raised."""
    frames = traceback.extract_tb(error.__traceback__)
    raiser = culprit(error, registry) or (
        f"{frames[-1].filename}:{frames[-1].lineno}" if frames else where
    )
    return f"{raiser} raised {type(error).__name__}: {_message(error)}"


def _message(error: BaseException) -> str:
    """`str(error)`, or a note that it could not be read: a plugin's exception may raise from
    its own `__str__`, and that must not end the call (UNKNOWN) or the worker."""
    try:
        return str(error)
    except BaseException as unreadable:  # whatever it raises, as for the error itself
        return f"(its message could not be read: {type(unreadable).__name__})"
