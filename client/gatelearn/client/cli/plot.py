"""`gatelearn plot`: a stored model's surface, training curve or network, as a PNG or SVG file.

Drawn from the API alone (Explain, Evaluate, Predict, GetModel, ExportModel), so it works
against a remote server; needs the extra `gatelearn[plot]` (matplotlib), imported only here.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from gatelearn.client import plots
from gatelearn.client.cli import _input as read
from gatelearn.client.cli._context import EXIT_OK, AddCommand, Context, UsageError
from gatelearn.client.client import Client

__all__ = ["KINDS", "add_plot", "cmd_plot"]

KINDS = ("surface", "loss", "network")
FORMATS = (".png", ".svg")


def _outputs(out: Path, kind: str) -> dict[str, Path]:
    """The file of each picture: `out` itself, or for `all` one `STEM-KIND.SUFFIX` each."""
    if out.suffix.lower() not in FORMATS:
        raise UsageError(f"--out {out}: expected a .png or .svg file name")
    if kind != "all":
        return {kind: out}
    return {k: out.with_name(f"{out.stem}-{k}{out.suffix}") for k in KINDS}


def _figure(kind: str, client: Client, name: str, version: int, log: bool) -> Any:
    if kind == "surface":
        return plots.plot_surface(client, name, version=version)
    if kind == "loss":
        return plots.plot_loss(client, name, version=version, log=log)
    return plots.plot_network(client, name, version=version)


def cmd_plot(args: argparse.Namespace, ctx: Context) -> int:
    name, version = args.model
    files = _outputs(Path(args.out), args.kind)
    with ctx.client() as client:
        if not version:  # every picture shows the same version, even if one is saved meanwhile
            version = client.model(name).summary.version
        for kind, path in files.items():
            _figure(kind, client, name, version, args.log).savefig(path)
    written = {kind: str(path) for kind, path in files.items()}
    ctx.emit(
        written, [f"wrote {kind} of {name}:{version} to {path}" for kind, path in written.items()]
    )
    return EXIT_OK


def add_plot(add: AddCommand) -> None:
    summary = "draw a model's output surface, training curve or network to a PNG or SVG file"
    description = (
        "Draw a stored model (needs `pip install 'gatelearn[plot]'`). surface: for 2 inputs, "
        "the output over the inputs' range, the decision boundary, the task's rows (wrong ones "
        "crossed) and the first-layer units' lines; for up to 10 boolean inputs, the truth "
        "table as a heat map. loss: loss and accuracy against epochs, and for a population "
        "the epochs at which its members were solved. network: the layers and weights, each "
        "first-layer unit labelled with what it computes."
    )
    parser = add("plot", cmd_plot, summary, description=description)
    read.add_model_argument(parser)
    parser.add_argument(
        "--kind",
        choices=[*KINDS, "all"],
        default="surface",
        help="which picture (default: surface); all: one file each, named "
        "STEM-KIND.SUFFIX after --out",
    )
    parser.add_argument(
        "--out",
        required=True,
        metavar="FILE.png|FILE.svg",
        help="where to write it; the suffix picks the format",
    )
    parser.add_argument("--log", action="store_true", help="loss: a log scale for the loss")
