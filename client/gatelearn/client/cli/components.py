"""`gatelearn plugins` and `gatelearn tasks`: what the server can build and train on."""

from __future__ import annotations

import argparse

from gatelearn.api.constants import COMPONENT_KINDS
from gatelearn.client.cli import _output as show
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context

__all__ = ["add_plugins", "add_tasks", "cmd_plugins", "cmd_tasks"]


def cmd_plugins(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        if args.default_recipe:
            recipe = client.default_recipe()
            ctx.emit(recipe, show.recipe_lines(recipe))
            return EXIT_OK
        components = client.plugins(args.kind or "")
        lines = show.component_lines(components) or ["no components"]
        if not args.kind:
            lines += ["", "default recipe (a training that names only its task)",
                      *show.recipe_lines(client.default_recipe(), indent="  ")]
    ctx.emit(components, lines)
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        tasks = client.tasks()
    lines = show.table(
        ["TASK", "PARAMS", "DESCRIPTION"],
        [(t.name, show.params_summary(t) or "-", t.description) for t in tasks],
    )
    ctx.emit(tasks, lines)
    return EXIT_OK


def add_plugins(add: AddCommand) -> None:
    plugins = add("plugins", cmd_plugins, "list the server's components and their parameters")
    plugins.add_argument("--kind", choices=COMPONENT_KINDS, help="only components of this kind")
    plugins.add_argument("--default-recipe", action="store_true",
                         help="only the settings a training that names only its task gets")


def add_tasks(add: AddCommand) -> None:
    add("tasks", cmd_tasks, "list the tasks the server can train on")
