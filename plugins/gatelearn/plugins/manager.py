"""Builds the plugin manager and, from it, the registry of components.

Nothing happens at import: `create_manager` loads the built-ins, then the installed packages
that declare the `gatelearn` entry point, then extra modules named by the caller or by
`GATELEARN_PLUGINS`. Names listed in `GATELEARN_BLOCK_PLUGINS` are never loaded.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from collections.abc import Iterable

import pluggy

from gatelearn.plugins import hookspecs
from gatelearn.plugins._markers import PROJECT

__all__ = [
    "BLOCK_ENV",
    "DEFAULT_PLUGINS",
    "ENTRY_POINT_GROUP",
    "LOAD_ENV",
    "create_manager",
]

ENTRY_POINT_GROUP = PROJECT
LOAD_ENV = "GATELEARN_PLUGINS"  # comma-separated modules to load as plugins
BLOCK_ENV = "GATELEARN_BLOCK_PLUGINS"  # comma-separated plugin names never to load

DEFAULT_PLUGINS = (
    "gatelearn.plugins.builtin.activations",
    "gatelearn.plugins.builtin.losses",
    "gatelearn.plugins.builtin.optimizers",
    "gatelearn.plugins.builtin.initializers",
    "gatelearn.plugins.builtin.gates",
    "gatelearn.plugins.builtin.regions",
    "gatelearn.plugins.builtin.playground",
    "gatelearn.plugins.builtin.table",
    "gatelearn.plugins.builtin.data",
)


def _names(value: str | None) -> list[str]:
    return [name.strip() for name in (value or "").split(",") if name.strip()]


def _import_entry_points(pm: pluggy.PluginManager) -> None:
    """Import every installed plugin that is not blocked, so that one failing to import stops
    start-up naming it (pluggy's loader lets the plugin's own error through, naming nothing);
    ImportError saying which plugin, from which package, and how to block it."""
    for entry in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if pm.is_blocked(entry.name):
            continue
        try:
            entry.load()
        except (Exception, SystemExit) as error:  # sys.exit() in a plugin must not end us
            package = f"{entry.dist.name} {entry.dist.version}" if entry.dist else "a package"
            raise ImportError(
                f"plugin {entry.name!r} ({entry.value}, installed by {package}) cannot be "
                f"imported: {type(error).__name__}: {error}; uninstall it, or set "
                f"{BLOCK_ENV}={entry.name} to start without it"
            ) from error


def create_manager(
    extra_modules: Iterable[str] = (),
    *,
    blocked: Iterable[str] = (),
    entry_points: bool = True,
) -> pluggy.PluginManager:
    """Return a plugin manager with built-ins, installed plugins and `extra_modules` loaded.

    A module is registered under its dotted name, an entry-point plugin under the entry
    point's name; either name can be blocked.
    """
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for name in [*blocked, *_names(os.environ.get(BLOCK_ENV))]:
        pm.set_blocked(name)
    for module_name in DEFAULT_PLUGINS:
        if not pm.is_blocked(module_name):
            pm.register(importlib.import_module(module_name), name=module_name)
    if entry_points:
        _import_entry_points(pm)
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for module_name in [*extra_modules, *_names(os.environ.get(LOAD_ENV))]:
        if not pm.is_blocked(module_name) and pm.get_plugin(module_name) is None:
            try:
                module = importlib.import_module(module_name)
            except (Exception, SystemExit) as error:  # as for installed plugins, above
                raise ImportError(
                    f"plugin module {module_name!r} (from --plugin or "
                    f"{LOAD_ENV}) cannot be imported: {type(error).__name__}: {error}"
                ) from error
            if not pm.is_registered(module):  # an installed plugin is loaded already
                pm.register(module, name=module_name)
    pm.check_pending()
    return pm
