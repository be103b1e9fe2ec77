"""The `network` picture: the layers as nodes and the weights as edges.

Edges are blue for positive weights and red for negative ones, as wide as their magnitude
(relative to the largest); each first-layer unit is labelled with what Explain reads it as (its
boolean function, or its half-plane for real inputs), and each output with its formula or region.
The weights come from ExportModel; biases are not drawn.
"""

from __future__ import annotations

from typing import Any

from gatelearn.client.client import Client
from gatelearn.client.plots._figures import (
    FALSE_COLOUR,
    TRUE_COLOUR,
    CannotPlot,
    new_figure,
)
from gatelearn.client.types import Explanation

__all__ = ["MAX_UNITS", "plot_network"]

MAX_UNITS = 32  # units of the widest layer that can still be told apart
LABEL_BOX = {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85}


def plot_network(client: Client, name: str, *, version: int = 0) -> Any:
    """A Figure of model `name`'s layers and weights, its units labelled from Explain."""
    import numpy as np

    explanation = client.explain(name, version=version)
    exported = client.export_model(name, version=explanation.model.version)
    weights = [
        np.array(layer["weights"].get("values", []), dtype=float).reshape(
            [int(n) for n in layer["weights"]["shape"]]
        )
        for layer in exported["layers"]
    ]
    sizes = [weights[0].shape[0], *(w.shape[1] for w in weights)]
    if max(sizes) > MAX_UNITS:
        raise CannotPlot(
            f"{explanation.model} has a layer of {max(sizes)} units: the network picture draws "
            f"at most {MAX_UNITS} a layer"
        )
    figure = new_figure(2.0 * len(sizes) + 2.0, 0.5 * max(sizes) + 1.4)
    axes = figure.subplots()
    places = [_column(layer, size) for layer, size in enumerate(sizes)]
    _edges(axes, weights, places)
    for place in places:
        axes.scatter(place[:, 0], place[:, 1], s=260, c="white", edgecolors="black", zorder=3)
    _labels(axes, explanation, places)
    axes.set_xlim(-0.6, len(sizes) - 1 + 1.2)
    axes.set_ylim(-max(sizes) / 2 - 0.4, max(sizes) / 2 + 0.4)
    axes.set_axis_off()
    axes.set_title(
        f"{explanation.model} ({explanation.trained_task}): blue weights > 0, red < 0",
        fontsize=10,
    )
    return figure


def _column(layer: int, size: int) -> Any:
    """Where a layer's units sit: at x = layer, centred on y = 0, first unit on top."""
    import numpy as np

    return np.column_stack([np.full(size, float(layer)), (size - 1) / 2 - np.arange(size)])


def _edges(axes: Any, weights: list[Any], places: list[Any]) -> None:
    import numpy as np
    from matplotlib.collections import LineCollection

    largest = max(float(np.abs(w).max(initial=0.0)) for w in weights) or 1.0
    for layer, matrix in enumerate(weights):
        sources, targets = places[layer], places[layer + 1]
        segments = [(sources[i], targets[j]) for i, j in np.ndindex(matrix.shape)]
        values = matrix.ravel()
        axes.add_collection(
            LineCollection(
                segments,
                colors=[TRUE_COLOUR if v > 0 else FALSE_COLOUR for v in values],
                linewidths=0.3 + 4.0 * np.abs(values) / largest,
                alpha=0.8,
                zorder=1,
            )
        )


def _labels(axes: Any, explanation: Explanation, places: list[Any]) -> None:
    """Input names, each first-layer unit's reading, and each output's formula or region."""
    for name, (x, y) in zip(explanation.input_names, places[0], strict=True):
        axes.text(x - 0.15, y, name, ha="right", va="center", fontsize=10)
    if len(places) > 2:
        for index, (unit, (x, y)) in enumerate(
            zip(explanation.hidden_units, places[1], strict=True)
        ):
            reading = unit.formula or unit.inequality
            axes.text(
                x,
                y + 0.3,
                f"h{index + 1}: {reading}",
                ha="center",
                va="bottom",
                fontsize=7,
                bbox=LABEL_BOX,
                zorder=4,
            )
    for output, (x, y) in zip(explanation.outputs, places[-1], strict=True):
        reading = output.formula or output.region or ""
        axes.text(x + 0.15, y, reading, ha="left", va="center", fontsize=8, bbox=LABEL_BOX)
