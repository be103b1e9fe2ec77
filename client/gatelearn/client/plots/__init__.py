"""Pictures of a stored model, for notebooks and `gatelearn plot`, drawn from the API alone.

    from gatelearn.client.plots import plot_surface
    figure = plot_surface(client, "xor-demo")   # a matplotlib Figure

Each function takes a `Client`, so it works against a remote server. matplotlib is the extra
`gatelearn[plot]`; without it they raise `MissingExtra` naming it.
"""

from __future__ import annotations

from gatelearn.client.plots._figures import CannotPlot, MissingExtra
from gatelearn.client.plots._loss import plot_loss
from gatelearn.client.plots._network import plot_network
from gatelearn.client.plots._surface import plot_surface

__all__ = ["CannotPlot", "MissingExtra", "plot_loss", "plot_network", "plot_surface"]
