"""The registry: every component by kind and name, with the plugin that provided it.

Built once from a plugin manager at start-up; after that, looking a component up is a dict
access and building one checks its parameters before any work starts.
"""

from __future__ import annotations

import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from typing import Any

import pluggy

from gatelearn.core import (
    Activation,
    Component,
    Initializer,
    Loss,
    Optimizer,
    Task,
    declaration_error,
)
from gatelearn.core.params import MAX_DESCRIPTION
from gatelearn.plugins.manager import DEFAULT_PLUGINS

__all__ = [
    "KINDS",
    "DuplicateComponentError",
    "Entry",
    "Registry",
    "UnknownComponentError",
    "build_registry",
]

# kind -> (registration hook, base class every registered class must derive from)
KINDS: dict[str, tuple[str, type[Component]]] = {
    "activation": ("gatelearn_activations", Activation),
    "loss": ("gatelearn_losses", Loss),
    "optimizer": ("gatelearn_optimizers", Optimizer),
    "initializer": ("gatelearn_initializers", Initializer),
    "task": ("gatelearn_tasks", Task),
}


class DuplicateComponentError(RuntimeError):
    """Two plugins registered a component of the same kind under the same name."""


class UnknownComponentError(LookupError):
    """No component of that kind has that name."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        # reprlib shortens a long name: the message goes back to a client in a status.
        super().__init__(f"unknown {kind} {reprlib.repr(name)} (known: {', '.join(known)})")
        self.kind = kind
        self.name = name


@dataclass(frozen=True)
class Entry:
    """One registered component and where it came from."""

    kind: str
    name: str
    component: type[Component]
    plugin: str
    version: str

    @property
    def description(self) -> str:
        return self.component.description


class Registry:
    """Components keyed by kind and name."""

    def __init__(self, entries: list[Entry]) -> None:
        self._entries: dict[str, dict[str, Entry]] = {kind: {} for kind in KINDS}
        for entry in entries:
            by_name = self._entries[entry.kind]
            if entry.name in by_name:
                first = by_name[entry.name]
                raise DuplicateComponentError(
                    f"{entry.kind} {entry.name!r} is registered by both plugin "
                    f"{first.plugin!r} and plugin {entry.plugin!r}"
                )
            by_name[entry.name] = entry

    def entry(self, kind: str, name: str) -> Entry:
        """Return the entry for `name`, or raise `UnknownComponentError` listing the known."""
        try:
            return self._entries[kind][name]
        except KeyError:
            raise UnknownComponentError(kind, name, sorted(self._entries[kind])) from None

    def build(self, kind: str, name: str, params: Mapping[str, Any] | None = None) -> Any:
        """Return a component instance; raises `ParamError` for a bad parameter."""
        return self.entry(kind, name).component(**(params or {}))

    def entries(self, kind: str | None = None) -> list[Entry]:
        """Every entry of `kind` (or of all kinds), sorted by kind then name."""
        kinds = [kind] if kind else list(KINDS)
        return [e for k in kinds for _, e in sorted(self._entries[k].items())]

    def names(self, kind: str) -> list[str]:
        return sorted(self._entries[kind])


def _plugin_versions(pm: pluggy.PluginManager) -> dict[str, str]:
    """Version of each plugin: its distribution's for an installed package, gatelearn's for
    the built-ins, and for a module loaded by name (--plugin) its `__version__`, or
    "unknown" (never gatelearn's: it is not part of gatelearn)."""
    versions = {
        pm.get_name(plugin) or "": dist.version for plugin, dist in pm.list_plugin_distinfo()
    }
    try:
        own = metadata.version("gatelearn")
    except metadata.PackageNotFoundError:
        own = "unknown"
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or ""
        if name not in versions:
            versions[name] = (
                own if name in DEFAULT_PLUGINS else str(getattr(plugin, "__version__", "unknown"))
            )
    return versions


def build_registry(pm: pluggy.PluginManager) -> Registry:
    """Call every registration hook once and key the returned classes by kind and name.

    Each implementation is called on its own so that every class is credited to its plugin.
    """
    versions = _plugin_versions(pm)
    entries = []
    for kind, (hook_name, base) in KINDS.items():
        for impl in getattr(pm.hook, hook_name).get_hookimpls():
            try:
                returned = impl.function()
            except Exception as error:  # stop start-up naming the plugin, not only its words
                raise RuntimeError(
                    f"plugin {impl.plugin_name!r}: {hook_name} raised "
                    f"{type(error).__name__}: {error}"
                ) from error
            if not isinstance(returned, list | tuple):
                raise TypeError(
                    f"plugin {impl.plugin_name!r}: {hook_name} must return a list "
                    f"of {base.__name__} subclasses, got {returned!r}"
                )
            for component in returned:
                _check_component(component, base, f"plugin {impl.plugin_name!r}: {hook_name}")
                entries.append(
                    Entry(
                        kind,
                        component.name,
                        component,
                        impl.plugin_name,
                        versions.get(impl.plugin_name, "unknown"),
                    )
                )
    return Registry(entries)


def _check_component(component: object, base: type[Component], where: str) -> None:
    """Refuse what cannot be registered, saying which plugin returned it."""
    if not (isinstance(component, type) and issubclass(component, base)):
        raise TypeError(f"{where} returned {component!r}, which is not a {base.__name__} subclass")
    name = getattr(component, "name", None)
    description = getattr(component, "description", None)
    if not isinstance(name, str) or not name:
        raise TypeError(f"{where} returned {component.__name__} without a `name`")
    if not name.isprintable() or any(char.isspace() or char == ":" for char in name):
        # Names are printed one to a line and written `NAME:key=value` on the command line.
        raise TypeError(
            f"{where} returned {component.__name__} named {name!r}: a name must be printable, "
            f"without spaces or ':'"
        )
    if not isinstance(description, str) or not description or "\n" in description:
        raise TypeError(f"{where} returned {component.__name__} without a one-line `description`")
    if len(description) > MAX_DESCRIPTION:  # ListPlugins answers every one in one message
        raise TypeError(
            f"{where} returned {component.__name__} whose `description` is over "
            f"{MAX_DESCRIPTION} characters ({len(description)})"
        )
    if wrong := declaration_error(component.params):
        raise TypeError(f"{where} returned {component.__name__} whose {wrong}")
    declared = getattr(component, "state_names", None) or ()
    nonnegative = getattr(component, "nonnegative_state", ())
    if not all(isinstance(names, tuple) for names in (declared, nonnegative)):
        raise TypeError(
            f"{where} returned {component.__name__} whose `state_names` or `nonnegative_state` "
            f"is not a tuple of names"
        )
    if undeclared := sorted(set(nonnegative) - set(declared)):
        raise TypeError(
            f"{where} returned {component.__name__} whose `nonnegative_state` names "
            f"{undeclared}, not in its `state_names` {list(declared)}"
        )
