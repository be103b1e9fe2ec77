"""`python -m gatelearn.client.cli`: the same as the `gatelearn` script."""

from __future__ import annotations

from gatelearn.client.cli.run import main

raise SystemExit(main())
