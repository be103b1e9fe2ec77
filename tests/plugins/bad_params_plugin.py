"""Test fixture plugin: an activation whose parameter's default is no JSON value, so it could be
neither listed (ListPlugins) nor stored with a model; start-up must refuse it."""

from __future__ import annotations

from gatelearn.core import Activation, Param
from gatelearn.plugins import hookimpl
from gatelearn.plugins.builtin.activations import Tanh


class OpaqueDefault(Tanh):
    name = "opaque_default"
    description = "tanh with a parameter whose default is a Python object (test fixture)"
    params = (Param("shape", "data", object(), "anything"),)


@hookimpl
def gatelearn_activations() -> list[type[Activation]]:
    return [OpaqueDefault]
