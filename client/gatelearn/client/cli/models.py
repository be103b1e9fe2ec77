"""Managing stored models: `models`, `show`, `delete`, `export` and `import`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import grpc

from gatelearn.client.cli import _input as read
from gatelearn.client.cli import _output as show
from gatelearn.client.cli import search
from gatelearn.client.cli._context import (
    EXIT_FAILED,
    EXIT_OK,
    PROG,
    AddCommand,
    Context,
    UsageError,
)
from gatelearn.client.client import Client, GateLearnError
from gatelearn.client.types import ModelDetail

__all__ = [
    "add_delete",
    "add_export",
    "add_import",
    "add_models",
    "add_show",
    "cmd_delete",
    "cmd_export",
    "cmd_import",
    "cmd_models",
    "cmd_show",
]


def cmd_models(args: argparse.Namespace, ctx: Context) -> int:
    with ctx.client() as client:
        models = client.models(args.name or "")
    if not models and args.name:  # a name that is not there fails, as in show and predict
        raise GateLearnError(grpc.StatusCode.NOT_FOUND, f"model {args.name!r} not found")
    if not models:
        lines = ["no models"]
    else:
        lines = show.table(
            [
                "MODEL",
                "TASK",
                "SIZES",
                "CREATED (UTC)",
                "LOSS",
                "ACCURACY",
                "MIN MARGIN",
                "SOLVED",
                "ALIASES",
            ],
            [
                (
                    m.ref,
                    m.task,
                    "-".join(map(str, m.sizes)),
                    show.created(m),
                    f"{m.metrics.loss:.4g}",
                    show.share(m.metrics.accuracy),
                    f"{m.metrics.min_margin + 0.0:.3g}",  # + 0.0: never -0
                    show.solved_text(m.metrics),
                    ", ".join(m.aliases),
                )
                for m in models
            ],
            right=(4, 5, 6),
        )
    ctx.emit(models, lines)
    return EXIT_OK


def cmd_show(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        detail = client.model(name, version=version)
    s, history = detail.summary, detail.history
    layers = " -> ".join(map(str, s.sizes))
    lines = [
        f"model        {s.ref}",
        f"aliases      {', '.join(s.aliases) or 'none'}",
        f"task         {s.task}",
        f"created      {show.created(s)} UTC",
        f"layers       {layers}  ({', '.join(detail.activations)}; "
        f"{'with' if detail.bias else 'no'} bias)",
        f"dtype        {detail.dtype}",
        f"member seed  {detail.member_seed}",
        f"parent       {detail.parent or 'none'}",
        f"metrics      {show.metrics_text(s.metrics)}  solved: {show.solved_text(s.metrics)}",
    ]
    if history.epochs:
        lines.append(f"history      {len(history.epochs)} points, epochs 0 to {history.epochs[-1]}")
        count = len(history.epochs)
        picks = sorted({round(i * (count - 1) / 5) for i in range(6)})  # at most 6 points
        lines += show.table(
            ["EPOCH", "LOSS", "ACCURACY"],
            [
                (history.epochs[i], f"{history.loss[i]:.4g}", show.share(history.accuracy[i]))
                for i in picks
            ],
            right=(0, 1, 2),
            indent="  ",
        )
    else:
        lines.append("history      none (imported)")
    lines += _settings_lines(detail)
    if detail.search is not None:
        searched = detail.search
        lines.append(
            f"search       chosen as the smallest candidate to solve {searched.target:g} "
            f"of its seeds ({len(searched.table)} of {searched.candidates} trained)"
        )
        lines += [f"  {line}" for line in (search.HEADER, *map(search.row_line, searched.table))]
    ctx.emit(detail, lines)
    return EXIT_OK


def _settings_lines(detail: ModelDetail) -> list[str]:
    """What trained the model: every setting it used, or for a model stored before recipes
    were recorded, the request as sent; an import's loss when it has no recipe."""
    if detail.recipe is not None:
        recipe = show.recipe_lines(detail.recipe, indent="  ")
        return ["recipe       every setting used, defaults filled in", *recipe]
    lines = []
    if detail.loss is not None:
        lines.append(f"loss         {show.ref_text(detail.loss)}")
    if detail.request is None:
        return [*lines, "recipe       none (imported)"]
    fields = [f"{key}: {show.value_text(value)}" for key, value in detail.request.items()]
    return lines + [
        f"{('request' if i == 0 else '').ljust(12)} {field}" for i, field in enumerate(fields)
    ]


def _confirmed(client: Client, name: str) -> bool:
    """Whether the person at the terminal agrees to delete every version of `name`."""
    if not sys.stdin.isatty():
        raise UsageError(
            f"deleting every version of {name!r} asks for confirmation on a "
            f"terminal; add --yes to delete without asking"
        )
    versions = [str(m.version) for m in client.models(name)]
    if not versions:
        raise GateLearnError(grpc.StatusCode.NOT_FOUND, f"model {name!r} not found")
    print(
        f"delete every version of {name} ({', '.join(versions)})? [y/N] ",
        end="",
        file=sys.stderr,
        flush=True,
    )
    return sys.stdin.readline().strip().lower() in ("y", "yes")


def cmd_delete(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        if version == 0 and not args.yes and not _confirmed(client, name):
            print(f"{PROG}: nothing deleted", file=sys.stderr)
            return EXIT_FAILED
        deleted = client.delete(name, version=version)
    ctx.emit(
        {"name": name, "deleted_versions": deleted},
        ["deleted " + ", ".join(f"{name}:{v}" for v in deleted)],
    )
    return EXIT_OK


def cmd_export(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    with ctx.client() as client:
        exported = client.export_model(name, version=version)
    text = show.to_json(exported)
    if args.output in (None, "-"):
        print(text)  # the export is JSON already, with or without --json
        return EXIT_OK
    Path(args.output).write_text(text + "\n", encoding="utf-8")
    ref = {"name": exported.get("name", name), "version": exported.get("version", version)}
    ctx.emit(
        {"model": ref, "file": args.output},
        [f"exported {ref['name']}:{ref['version']} to {args.output}"],
    )
    return EXIT_OK


def cmd_import(args: argparse.Namespace, ctx: Context) -> int:
    model = read.read_json(args.file)
    with ctx.client() as client:
        ref = client.import_model(args.name, model)
    ctx.emit(ref, [f"imported {ref}"])
    return EXIT_OK


def add_models(add: AddCommand) -> None:
    models = add(
        "models", cmd_models, "list the latest version of each model, or every version of one"
    )
    models.add_argument("name", nargs="?", metavar="NAME", help="list every version of NAME")


def add_show(add: AddCommand) -> None:
    summary = "describe a model: architecture, metrics, history and every setting that trained it"
    read.add_model_argument(add("show", cmd_show, summary))


def add_delete(add: AddCommand) -> None:
    delete = add("delete", cmd_delete, "delete a model version, or every version")
    read.add_model_argument(delete, "every version")
    delete.add_argument(
        "--yes",
        action="store_true",
        help="delete every version without asking (needed without a terminal)",
    )


def add_export(add: AddCommand) -> None:
    export = add("export", cmd_export, "write a model's weights and task as JSON")
    read.add_model_argument(export)
    export.add_argument("-o", "--output", metavar="FILE", help="write to FILE (default: stdout)")


def add_import(add: AddCommand) -> None:
    imports = add("import", cmd_import, "store an exported model as a new version")
    imports.add_argument("name", metavar="NAME", help="the name to store it under")
    imports.add_argument("file", metavar="FILE", help="the exported JSON (- = stdin)")
