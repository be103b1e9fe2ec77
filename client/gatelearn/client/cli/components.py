"""`gatelearn plugins` and `gatelearn tasks`: what the server can build and train on."""

from __future__ import annotations

import argparse
from typing import Any

from gatelearn.api.constants import COMPONENT_KINDS
from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context, UsageError
from gatelearn.client.types import Component

__all__ = ["add_plugins", "add_tasks", "cmd_plugins", "cmd_tasks"]


def _hook(kind: str) -> str:
    """The registration hook of a component kind: gatelearn_ and the kind's plural
    (activations, losses, optimizers, initializers, tasks)."""
    return f"gatelearn_{kind}{'es' if kind.endswith('s') else 's'}"


def _by_plugin(components: list[Component]) -> list[dict[str, Any]]:
    """Each plugin once, as `datasette plugins` lists them: name, version, the hooks it
    implements (those that registered a component) and how many components it added."""
    plugins: dict[str, dict[str, Any]] = {}
    for c in components:
        plugin = plugins.setdefault(
            c.plugin, {"name": c.plugin, "version": c.version, "hooks": [], "components": 0}
        )
        plugin["components"] += 1
        if _hook(c.kind) not in plugin["hooks"]:
            plugin["hooks"].append(_hook(c.kind))
    return sorted(plugins.values(), key=lambda p: p["name"])


def cmd_plugins(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        if args.default_recipe:
            default = client.default_recipe()
            ctx.emit(default, show.recipe_lines(default))
            return EXIT_OK
        components = client.plugins(args.kind or "")
        listing_all = not args.kind and not args.plugins
        recipe = client.default_recipe() if listing_all else None
    if args.plugins:
        plugins = _by_plugin(components)
        lines = show.table(
            ["PLUGIN", "VERSION", "COMPONENTS", "HOOKS"],
            [(p["name"], p["version"], p["components"], ", ".join(p["hooks"])) for p in plugins],
            right=(2,),
        )
        ctx.emit(plugins, lines if plugins else ["no plugins"])
        return EXIT_OK
    lines = show.component_lines(components) or ["no components"]
    if recipe is not None:
        lines += [
            "",
            "default recipe (a training naming only a 2-input task; `tasks NAME` shows any task's)",
            *show.recipe_lines(recipe, indent="  "),
        ]
    ctx.emit(components, lines)
    return EXIT_OK


def _preview(args: argparse.Namespace, ctx: Context) -> int:
    """One task's shape and its first rows, as the parameters and seed given make them."""
    with ctx.client() as client:
        task = client.describe_task(
            args.name, dict(args.param or []), seed=args.seed or 0, preview_rows=args.rows
        )
    lines = [
        f"{task.name}: {task.inputs} inputs -> {task.outputs} outputs, labels "
        f"{task.low:g}/{task.high:g}, {task.total_rows} rows"
    ]
    lines += show.table(
        ["INPUTS", "TARGETS"],
        [
            (show.numbers(i), show.numbers(t))
            for i, t in zip(task.rows_inputs, task.rows_targets, strict=True)
        ],
    )
    if (more := task.total_rows - len(task.rows_inputs)) > 0:
        lines.append(f"    ... ({more} more rows; --rows N shows more)")
    if task.default_recipe is not None:
        lines += [
            "",
            "default recipe (a training that names only this task)",
            *show.recipe_lines(task.default_recipe, indent="  "),
        ]
    ctx.emit(task, lines)
    return EXIT_OK


def cmd_tasks(args: argparse.Namespace, ctx: Context) -> int:
    if args.name is not None:
        return _preview(args, ctx)
    if args.param:
        raise UsageError("-p/--param needs a TASK to preview")
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
    plugins.add_argument(
        "--default-recipe",
        action="store_true",
        help="only the settings a training that names only its task gets",
    )
    plugins.add_argument(
        "--plugins",
        action="store_true",
        help="list each plugin once: its version, how many components it "
        "registered and the hooks it implements",
    )


def add_tasks(add: AddCommand) -> None:
    tasks = add("tasks", cmd_tasks, "list the tasks the server can train on, or preview one")
    tasks.add_argument("name", nargs="?", metavar="TASK", help="preview this task's rows")
    tasks.add_argument(
        "-p",
        "--param",
        action="append",
        type=read.key_value,
        metavar="KEY=VALUE",
        help="a task parameter (repeatable)",
    )
    tasks.add_argument(
        "--seed",
        type=read.count(0),
        metavar="N",
        help="seed of a sampled task's points (default: 0)",
    )
    tasks.add_argument(
        "--rows",
        type=read.count(1),
        default=16,
        metavar="N",
        help="rows to show at most (default: 16)",
    )
