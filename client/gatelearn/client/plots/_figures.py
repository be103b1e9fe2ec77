"""A new figure drawn by Agg, and the colours every picture shares.

matplotlib is the optional extra `gatelearn[plot]`, imported here on first use only, so the
client and the command line start without it (and without NumPy).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "FALSE_COLOUR",
    "TRUE_COLOUR",
    "WRONG_COLOUR",
    "CannotPlot",
    "MissingExtra",
    "new_figure",
    "output_colours",
]

TRUE_COLOUR = "#2166ac"  # the "1" side of the threshold (and positive weights): blue
FALSE_COLOUR = "#b2182b"  # the "0" side (and negative weights): red
WRONG_COLOUR = "black"
DPI = 100


class MissingExtra(ImportError):
    """Plotting was asked for but matplotlib is not installed."""


class CannotPlot(ValueError):
    """The model has nothing this kind of picture can show (e.g. no recorded history)."""


def new_figure(width: float, height: float) -> Any:
    """A matplotlib Figure of `width` x `height` inches at DPI dots per inch, drawn by Agg.

    The figure is not registered with pyplot and gets its own Agg canvas, so it needs no
    display and leaves a notebook's chosen backend alone (notebooks still show it inline).
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as error:
        raise MissingExtra(
            f"plotting needs matplotlib: pip install 'gatelearn[plot]' ({error})"
        ) from None
    figure = Figure(figsize=(width, height), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def output_colours() -> Any:
    """The colour map of a model's output: red below the threshold, blue above."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list("gatelearn", [FALSE_COLOUR, "#f7f7f7", TRUE_COLOUR])
