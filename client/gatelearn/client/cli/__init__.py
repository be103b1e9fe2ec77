"""The `gatelearn` command line: train, use and manage models on a gatelearn server.

Every command except `serve` talks to a server through `Client` only. Results go to stdout, as
aligned text or, with --json, as one JSON document; progress and errors go to stderr (with
--json, errors as JSON too). Exit codes: 0 success, 1 a failed call or unusable input, 2 a
usage error, 3 a training saved but not solved under `train --require-solved`, 130
interrupted.

One module per command group (serve, train, predict, models, components); `parser` assembles
them and `run` maps failures to exit codes.
"""

from __future__ import annotations

from gatelearn.client.cli.parser import build_parser
from gatelearn.client.cli.run import main

__all__ = ["build_parser", "main"]
