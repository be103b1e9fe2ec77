"""Test fixture plugin: its loss hook returns an activation class, which must be refused."""

from __future__ import annotations

from typing import Any

from gatelearn.plugins import hookimpl
from gatelearn.plugins.builtin.activations import Tanh


@hookimpl
def gatelearn_losses() -> list[Any]:
    return [Tanh]
