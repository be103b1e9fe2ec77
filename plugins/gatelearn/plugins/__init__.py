"""gatelearn's plugin system: hook markers, the plugin manager, and the component registry.

A plugin is a module (or an installed package exposing one through the `gatelearn` entry
point) that implements registration hooks from `hookspecs` with `@hookimpl`.
"""

from gatelearn.plugins._markers import PROJECT, hookimpl, hookspec
from gatelearn.plugins.manager import (
    BLOCK_ENV,
    DEFAULT_PLUGINS,
    ENTRY_POINT_GROUP,
    LOAD_ENV,
    create_manager,
)
from gatelearn.plugins.registry import (
    KINDS,
    DuplicateComponentError,
    Entry,
    Registry,
    UnknownComponentError,
    build_registry,
)


def load_registry(extra_modules: tuple[str, ...] = ()) -> Registry:
    """Return the registry of built-in, installed and `extra_modules` plugins."""
    return build_registry(create_manager(extra_modules))


__all__ = [
    "BLOCK_ENV",
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "KINDS",
    "LOAD_ENV",
    "PROJECT",
    "DuplicateComponentError",
    "Entry",
    "Registry",
    "UnknownComponentError",
    "build_registry",
    "create_manager",
    "hookimpl",
    "hookspec",
    "load_registry",
]
