"""`gatelearn alias`: name a model version with an alias, move the alias, or delete it."""

from __future__ import annotations

import argparse

from gatelearn.client.cli import _input as read
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context, UsageError

__all__ = ["add_alias", "cmd_alias"]


def cmd_alias(args: argparse.Namespace, ctx: Context) -> int:
    if args.delete == (args.version is not None):
        raise UsageError("give a VERSION to set the alias, or --delete to remove it")
    with ctx.client() as client:
        if args.delete:
            version = client.delete_alias(args.name, args.alias)
            line = f"deleted {args.name}@{args.alias} (it named {args.name}:{version})"
            data = {"name": args.name, "alias": args.alias, "version": version}
        else:
            previous = client.set_alias(args.name, args.alias, args.version)
            moved = f" (was {args.name}:{previous})" if previous else ""
            line = f"{args.name}@{args.alias} -> {args.name}:{args.version}{moved}"
            data = {
                "name": args.name,
                "alias": args.alias,
                "version": args.version,
                "previous_version": previous,
            }
    ctx.emit(data, [line])
    return EXIT_OK


def add_alias(add: AddCommand) -> None:
    alias = add(
        "alias",
        cmd_alias,
        "point an alias (NAME@ALIAS) at a model version, moving it if it exists, or delete it",
    )
    alias.add_argument("name", metavar="NAME", help="the model")
    alias.add_argument("alias", metavar="ALIAS", help="the alias, e.g. stable")
    alias.add_argument(
        "version",
        metavar="VERSION",
        nargs="?",
        type=read.count(1),
        help="the version it is to name",
    )
    alias.add_argument("--delete", action="store_true", help="remove the alias instead")
